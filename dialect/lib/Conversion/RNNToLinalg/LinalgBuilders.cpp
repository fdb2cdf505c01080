//===- LinalgBuilders.cpp - Shared builders for the rnn-to-linalg patterns ---===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::rnn;

namespace mlir::rnn::detail {

IterKinds parallel(int64_t n) {
  return IterKinds(n, utils::IteratorType::parallel);
}

/// An uninitialised tensor of `type` whose dynamic sizes are those of `like`
/// at the same positions (`like` must have at least as many leading axes).
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type, Value like) {
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::EmptyOp::create(b, loc, type, dyn);
}

Value einsum(OpBuilder &b, Location loc, StringRef spec, ValueRange ins, Value init,
             function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  MLIRContext *ctx = b.getContext();
  auto [lhs, out] = spec.split("->");
  SmallVector<StringRef> inSpecs;
  lhs.split(inSpecs, ',');
  assert(inSpecs.size() == ins.size() && "one axis string per input");
  // Iteration axes: the result's, then the reductions in order of appearance.
  std::string axes = out.str();
  for (StringRef s : inSpecs)
    for (char c : s)
      if (axes.find(c) == std::string::npos)
        axes.push_back(c);
  auto mapOf = [&](StringRef s) {
    SmallVector<AffineExpr> e;
    for (char c : s)
      e.push_back(getAffineDimExpr(axes.find(c), ctx));
    return AffineMap::get(axes.size(), 0, e, ctx);
  };
  SmallVector<AffineMap> maps;
  for (StringRef s : inSpecs)
    maps.push_back(mapOf(s));
  maps.push_back(mapOf(out));
  IterKinds iters;
  for (size_t i = 0; i < axes.size(); ++i)
    iters.push_back(i < out.size() ? utils::IteratorType::parallel
                                   : utils::IteratorType::reduction);
  if (!init) {
    // Each result axis takes its size from the first input that has it.
    SmallVector<int64_t> shape;
    SmallVector<Value> dyn;
    for (char c : out)
      for (auto [s, v] : llvm::zip(inSpecs, ins)) {
        size_t pos = s.find(c);
        if (pos == StringRef::npos)
          continue;
        auto ty = cast<RankedTensorType>(v.getType());
        shape.push_back(ty.getDimSize(pos));
        if (ty.isDynamicDim(pos))
          dyn.push_back(tensor::DimOp::create(b, loc, v, pos));
        break;
      }
    assert(shape.size() == out.size() && "every result axis must come from an input");
    init = fillWith(b, loc,
                    tensor::EmptyOp::create(b, loc, RankedTensorType::get(shape, b.getF32Type()),
                                            dyn),
                    0.0f);
  }
  return linalg::GenericOp::create(
             b, loc, init.getType(), ins, init, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value r;
               if (fn) {
                 r = fn(nb, l, a);
               } else {
                 Value p = a[0];
                 for (Value v : a.drop_front().drop_back())
                   p = arith::MulFOp::create(nb, l, p, v);
                 r = arith::AddFOp::create(nb, l, a.back(), p);
               }
               linalg::YieldOp::create(nb, l, ValueRange{r});
             })
      .getResult(0);
}

Value fillWith(OpBuilder &b, Location loc, Value tensor, float value) {
  Value c = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  return linalg::FillOp::create(b, loc, c, tensor).getResult(0);
}

/// `(d0, ..., d{n-1}) -> (d0, ..., d{n-2})`: drops the last iteration axis.
AffineMap dropLastMap(MLIRContext *ctx, unsigned n) {
  return AffineMap::getMultiDimIdentityMap(n, ctx).getMajorSubMap(n - 1);
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
  Value neg = arith::NegFOp::create(b, loc, x);
  Value e = math::ExpOp::create(b, loc, neg);
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

Value activate(OpBuilder &b, Location loc, Activation act, Value x) {
  switch (act) {
  case Activation::none:
    return x;
  case Activation::tanh:
    return math::TanhOp::create(b, loc, x);
  case Activation::relu: {
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    return arith::MaximumFOp::create(b, loc, x, zero);
  }
  case Activation::sigmoid:
    return sigmoid(b, loc, x);
  }
  llvm_unreachable("unknown activation");
}

/// Applies `fn` elementwise to same-shaped `inputs`, writing `numResults`
/// tensors of `type`.
SmallVector<Value>
elementwise(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
            unsigned numResults,
            function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> fn) {
  SmallVector<Value> outs;
  for (unsigned i = 0; i < numResults; ++i)
    outs.push_back(emptyLike(b, loc, type, inputs.front()));
  auto id = AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext());
  SmallVector<AffineMap> maps(inputs.size() + numResults, id);
  auto generic = linalg::GenericOp::create(
      b, loc, SmallVector<Type>(numResults, type), inputs, outs, maps,
      parallel(type.getRank()),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, fn(nb, nl, args.take_front(inputs.size())));
      });
  return SmallVector<Value>(generic.getResults().begin(), generic.getResults().end());
}

/// Column block `k` of width `width` of a `[B, n*width]` matrix.
Value columnBlock(OpBuilder &b, Location loc, Value m, int64_t k, int64_t width) {
  auto t = cast<RankedTensorType>(m.getType());
  auto blockTy = RankedTensorType::get({t.getDimSize(0), width}, t.getElementType());
  SmallVector<OpFoldResult> offs = {b.getIndexAttr(0), b.getIndexAttr(k * width)};
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, m, 0),
                                     b.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, blockTy, m, offs, sizes, strides);
}

/// Row-wise select for padded batches: row b of the result is `a`'s where
/// step `t` is inside example b (t < lengths[b]), otherwise `other`'s (zero
/// when `other` is null).
Value maskRows(OpBuilder &b, Location loc, Value lengths, Value t, Value a, Value other) {
  auto ty = cast<RankedTensorType>(a.getType());
  unsigned rank = ty.getRank();
  MLIRContext *ctx = b.getContext();
  Value tI32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), t);
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap row = AffineMap::get(rank, 0, getAffineDimExpr(0, ctx));
  SmallVector<Value> ins = {lengths, a};
  SmallVector<AffineMap> maps = {row, id};
  if (other) {
    ins.push_back(other);
    maps.push_back(id);
  }
  maps.push_back(id);
  bool hasOther = static_cast<bool>(other);
  return linalg::GenericOp::create(
             b, loc, ty, ins, emptyLike(b, loc, ty, a), maps, parallel(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value valid = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, tI32, args[0]);
               Value alt = hasOther ? args[2]
                                    : Value(arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0f)));
               linalg::YieldOp::create(nb, l, ValueRange{arith::SelectOp::create(nb, l, valid, args[1], alt)});
             })
      .getResult(0);
}

/// Number of elements of `v` as an f32 scalar (dynamic sizes read at run time).
Value numElementsF32(OpBuilder &b, Location loc, Value v) {
  auto ty = cast<RankedTensorType>(v.getType());
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < ty.getRank(); ++i)
    n = arith::MulIOp::create(b, loc, n, tensor::DimOp::create(b, loc, v, i));
  Value n64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), n64);
}

/// Sums `fn(args)` over every position of the iteration space of `ins`
/// (identity maps over `rank` axes) into a scalar, then divides by `count`.
Value sumOverF64(OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
                 unsigned rank, function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  MLIRContext *ctx = b.getContext();
  // The sum runs in f64: a loss over 10^5-10^6 terms summed left to right in
  // f32 drifts by ~1e-4 relative (PyTorch sums pairwise); f64 keeps it exact
  // to f32 rounding.
  auto f64 = b.getF64Type();
  auto accTy = RankedTensorType::get({}, f64);
  Value zero = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
  Value empty = tensor::EmptyOp::create(b, loc, accTy, ValueRange{});
  Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  SmallVector<AffineMap> maps(inMaps);
  maps.push_back(AffineMap::get(rank, 0, ArrayRef<AffineExpr>{}, ctx));
  Value total = linalg::GenericOp::create(
                    b, loc, accTy, ins, init, maps,
                    IterKinds(rank, utils::IteratorType::reduction),
                    [&](OpBuilder &nb, Location l, ValueRange a) {
                      Value v = arith::ExtFOp::create(nb, l, f64, fn(nb, l, a.drop_back()));
                      linalg::YieldOp::create(nb, l,
                                              ValueRange{arith::AddFOp::create(nb, l, a.back(), v)});
                    })
                    .getResult(0);
  return tensor::ExtractOp::create(b, loc, total, ValueRange{});
}

Value scalarTensor(OpBuilder &b, Location loc, Value x) {
  if (x.getType().isF64())
    x = arith::TruncFOp::create(b, loc, b.getF32Type(), x);
  return tensor::FromElementsOp::create(b, loc, RankedTensorType::get({}, b.getF32Type()),
                                        ValueRange{x});
}

Value meanOver(OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
               unsigned rank, Value count,
               function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  Value sum = sumOverF64(b, loc, ins, inMaps, rank, fn);
  return scalarTensor(
      b, loc, arith::DivFOp::create(b, loc, sum, arith::ExtFOp::create(b, loc, b.getF64Type(), count)));
}

SmallVector<Value> gateBlocks(OpBuilder &b, Location loc, Value gx, Value gh, int64_t gates,
                              int64_t width) {
  SmallVector<Value> blocks;
  for (Value m : {gx, gh})
    for (int64_t k = 0; k < gates; ++k)
      blocks.push_back(columnBlock(b, loc, m, k, width));
  return blocks;
}

std::pair<Value, Value> maxAndSumExp(OpBuilder &b, Location loc, Value x) {
  MLIRContext *ctx = b.getContext();
  auto ty = cast<RankedTensorType>(x.getType());
  unsigned rank = ty.getRank();
  auto redTy = RankedTensorType::get(ty.getShape().drop_back(), ty.getElementType());
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx), red = dropLastMap(ctx, rank);
  IterKinds iters = parallel(rank - 1);
  iters.push_back(utils::IteratorType::reduction);
  Value mx = linalg::GenericOp::create(
                 b, loc, redTy, x,
                 fillWith(b, loc, emptyLike(b, loc, redTy, x), -std::numeric_limits<float>::infinity()),
                 ArrayRef<AffineMap>{id, red}, iters,
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   linalg::YieldOp::create(nb, l, ValueRange{arith::MaximumFOp::create(nb, l, a[0], a[1])});
                 })
                 .getResult(0);
  Value se = linalg::GenericOp::create(
                 b, loc, redTy, ValueRange{x, mx}, fillWith(b, loc, emptyLike(b, loc, redTy, x), 0.0f),
                 ArrayRef<AffineMap>{id, red, red}, iters,
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                   linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[2], e)});
                 })
                 .getResult(0);
  return {mx, se};
}

void macBody(OpBuilder &b, Location loc, ValueRange args) {
  Value m = arith::MulFOp::create(b, loc, args[0], args[1]);
  linalg::YieldOp::create(b, loc, ValueRange{arith::AddFOp::create(b, loc, args[2], m)});
}

} // namespace mlir::rnn::detail
