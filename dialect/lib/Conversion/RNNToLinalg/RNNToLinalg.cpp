//===- RNNToLinalg.cpp - Lower cell-level rnn ops to linalg on tensors ------===//
//
// Patterns that lower the cell-level rnn ops (and the layer-level ops that do
// not recur) to linalg.generic, tensor, scf, math and arith ops, all on
// tensors. The pass only sets up the conversion target.
//
//===----------------------------------------------------------------------===//
#include "rnn/Conversion/RNNToLinalg/RNNToLinalg.h"
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_CONVERTRNNTOLINALGPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

using IterKinds = SmallVector<utils::IteratorType>;

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

//===----------------------------------------------------------------------===//
// Layer-level ops without recurrence
//===----------------------------------------------------------------------===//

/// out[..., v] = (tokens[...] == v) ? 1 : 0
struct OneHotOpLowering : OpConversionPattern<OneHotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OneHotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resTy = cast<RankedTensorType>(op.getType());
    unsigned rank = resTy.getRank();
    Value out = emptyLike(rewriter, loc, resTy, adaptor.getTokens());
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps = {dropLastMap(ctx, rank),
                                   AffineMap::getMultiDimIdentityMap(rank, ctx)};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resTy, adaptor.getTokens(), out, maps, parallel(rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value cls = linalg::IndexOp::create(b, l, rank - 1);
          Value tok = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value eq = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, tok, cls);
          Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, eq, one, zero)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// out[..., d] = table[tokens[...], d]
struct EmbeddingOpLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resTy = cast<RankedTensorType>(op.getType());
    unsigned rank = resTy.getRank();
    Value table = adaptor.getTable();
    Value out = emptyLike(rewriter, loc, resTy, adaptor.getTokens());
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps = {dropLastMap(ctx, rank),
                                   AffineMap::getMultiDimIdentityMap(rank, ctx)};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resTy, adaptor.getTokens(), out, maps, parallel(rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value col = linalg::IndexOp::create(b, l, rank - 1);
          Value row = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value v = tensor::ExtractOp::create(b, l, table, ValueRange{row, col});
          linalg::YieldOp::create(b, l, v);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// lengths[b] = max over t of (tokens[b, t] != padding ? t + 1 : 0)
struct SequenceLengthsOpLowering : OpConversionPattern<SequenceLengthsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SequenceLengthsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto resTy = cast<RankedTensorType>(op.getType());
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getI32IntegerAttr(0));
    Value init = linalg::FillOp::create(rewriter, loc, zero,
                                        emptyLike(rewriter, loc, resTy, adaptor.getTokens()))
                     .getResult(0);
    int32_t pad = static_cast<int32_t>(op.getPadding());
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(2, ctx),
                                   AffineMap::get(2, 0, getAffineDimExpr(0, ctx))};
    IterKinds iters = {utils::IteratorType::parallel, utils::IteratorType::reduction};
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resTy, adaptor.getTokens(), init, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value t = linalg::IndexOp::create(b, l, 1);
          Value t1 = arith::IndexCastOp::create(
              b, l, b.getI32Type(),
              arith::AddIOp::create(b, l, t, arith::ConstantIndexOp::create(b, l, 1)));
          Value padC = arith::ConstantOp::create(b, l, b.getI32IntegerAttr(pad));
          Value isTok = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, a[0], padC);
          Value z = arith::ConstantOp::create(b, l, b.getI32IntegerAttr(0));
          Value cand = arith::SelectOp::create(b, l, isTok, t1, z);
          linalg::YieldOp::create(b, l, ValueRange{arith::MaxSIOp::create(b, l, a[1], cand)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// out[b, f] = input[b, last(b), f] with last(b) = lengths[b] - 1 or T - 1.
struct LastStepOpLowering : OpConversionPattern<LastStepOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LastStepOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto resTy = cast<RankedTensorType>(op.getType());
    Value input = adaptor.getInput(), lengths = adaptor.getLengths();
    Value out = emptyLike(rewriter, loc, resTy, input);
    Value steps = tensor::DimOp::create(rewriter, loc, input, 1);
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    SmallVector<Value> ins;
    SmallVector<AffineMap> maps;
    if (lengths) {
      ins.push_back(lengths);
      maps.push_back(AffineMap::get(2, 0, getAffineDimExpr(0, ctx)));
    }
    maps.push_back(id);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resTy, ins, out, maps, parallel(2),
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value one = arith::ConstantIndexOp::create(b, l, 1);
          Value len = lengths ? Value(arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]))
                              : steps;
          Value t = arith::SubIOp::create(b, l, len, one);
          Value bi = linalg::IndexOp::create(b, l, 0), fi = linalg::IndexOp::create(b, l, 1);
          linalg::YieldOp::create(b, l, ValueRange{tensor::ExtractOp::create(b, l, input, ValueRange{bi, t, fi})});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// act(input @ weight^T + bias) over the last axis, any input rank.
struct DenseOpLowering : OpConversionPattern<DenseOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DenseOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto resTy = cast<RankedTensorType>(op.getType());
    unsigned rank = resTy.getRank();
    Value input = adaptor.getInput();
    Value acc = emptyLike(rewriter, loc, resTy, input);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);

    // Seed the accumulator with the bias broadcast over the leading axes.
    if (Value bias = adaptor.getBias()) {
      AffineMap lastOnly = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx));
      acc = linalg::GenericOp::create(
                rewriter, loc, resTy, bias, acc, ArrayRef<AffineMap>{lastOnly, id},
                parallel(rank),
                [](OpBuilder &b, Location l, ValueRange args) {
                  linalg::YieldOp::create(b, l, args[0]);
                })
                .getResult(0);
    } else {
      acc = fillWith(rewriter, loc, acc, 0.0f);
    }

    // Contraction over k = d{rank}: out[p..., u] += in[p..., k] * w[u, k].
    SmallVector<AffineExpr> inExprs, outExprs;
    for (unsigned i = 0; i + 1 < rank; ++i)
      inExprs.push_back(getAffineDimExpr(i, ctx));
    inExprs.push_back(getAffineDimExpr(rank, ctx));
    for (unsigned i = 0; i < rank; ++i)
      outExprs.push_back(getAffineDimExpr(i, ctx));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank + 1, 0, inExprs, ctx),
        AffineMap::get(rank + 1, 0,
                       {getAffineDimExpr(rank - 1, ctx), getAffineDimExpr(rank, ctx)},
                       ctx),
        AffineMap::get(rank + 1, 0, outExprs, ctx)};
    IterKinds iters = parallel(rank);
    iters.push_back(utils::IteratorType::reduction);
    Value res = linalg::GenericOp::create(
                    rewriter, loc, resTy, ValueRange{input, adaptor.getWeight()},
                    acc, maps, iters,
                    [](OpBuilder &b, Location l, ValueRange args) {
                      Value m = arith::MulFOp::create(b, l, args[0], args[1]);
                      linalg::YieldOp::create(b, l, ValueRange{arith::AddFOp::create(b, l, args[2], m)});
                    })
                    .getResult(0);

    if (op.getActivation() != Activation::none) {
      Activation act = op.getActivation();
      res = elementwise(rewriter, loc, resTy, res, 1,
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          return SmallVector<Value>{activate(b, l, act, a[0])};
                        })[0];
    }
    rewriter.replaceOp(op, res);
    return success();
  }
};

/// Numerically stable softmax over the last axis.
struct SoftmaxOpLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ty = cast<RankedTensorType>(op.getType());
    unsigned rank = ty.getRank();
    Value x = adaptor.getInput();
    auto redTy = RankedTensorType::get(ty.getShape().drop_back(), ty.getElementType());
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap red = dropLastMap(ctx, rank);
    IterKinds redIters = parallel(rank - 1);
    redIters.push_back(utils::IteratorType::reduction);

    auto reduce = [&](Value in, float init, bool isMax) {
      Value acc = fillWith(rewriter, loc, emptyLike(rewriter, loc, redTy, x), init);
      return linalg::GenericOp::create(
                 rewriter, loc, redTy, in, acc, ArrayRef<AffineMap>{id, red}, redIters,
                 [isMax](OpBuilder &b, Location l, ValueRange a) {
                   Value r = isMax ? Value(arith::MaximumFOp::create(b, l, a[0], a[1]))
                                   : Value(arith::AddFOp::create(b, l, a[0], a[1]));
                   linalg::YieldOp::create(b, l, r);
                 })
          .getResult(0);
    };
    Value mx = reduce(x, -std::numeric_limits<float>::infinity(), true);
    Value exps = linalg::GenericOp::create(
                     rewriter, loc, ty, ValueRange{x, mx}, emptyLike(rewriter, loc, ty, x),
                     ArrayRef<AffineMap>{id, red, id}, parallel(rank),
                     [](OpBuilder &b, Location l, ValueRange a) {
                       Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                       linalg::YieldOp::create(b, l, ValueRange{math::ExpOp::create(b, l, d)});
                     })
                     .getResult(0);
    Value sum = reduce(exps, 0.0f, false);
    Value res = linalg::GenericOp::create(
                    rewriter, loc, ty, ValueRange{exps, sum}, emptyLike(rewriter, loc, ty, x),
                    ArrayRef<AffineMap>{id, red, id}, parallel(rank),
                    [](OpBuilder &b, Location l, ValueRange a) {
                      linalg::YieldOp::create(b, l, ValueRange{arith::DivFOp::create(b, l, a[0], a[1])});
                    })
                    .getResult(0);
    rewriter.replaceOp(op, res);
    return success();
  }
};

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
Value meanOver(OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
               unsigned rank, Value count,
               function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  MLIRContext *ctx = b.getContext();
  auto scalarTy = RankedTensorType::get({}, b.getF32Type());
  Value init = fillWith(b, loc, tensor::EmptyOp::create(b, loc, scalarTy, ValueRange{}), 0.0f);
  SmallVector<AffineMap> maps(inMaps);
  maps.push_back(AffineMap::get(rank, 0, ArrayRef<AffineExpr>{}, ctx));
  Value total = linalg::GenericOp::create(
                    b, loc, scalarTy, ins, init, maps,
                    IterKinds(rank, utils::IteratorType::reduction),
                    [&](OpBuilder &nb, Location l, ValueRange a) {
                      Value v = fn(nb, l, a.drop_back());
                      linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a.back(), v)});
                    })
                    .getResult(0);
  Value sum = tensor::ExtractOp::create(b, loc, total, ValueRange{});
  Value mean = arith::DivFOp::create(b, loc, sum, count);
  return tensor::FromElementsOp::create(b, loc, scalarTy, mean);
}

/// mean over positions of logsumexp(logits) - logits[target].
struct CrossEntropyOpLowering : OpConversionPattern<CrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), target = adaptor.getTarget();
    auto ty = cast<RankedTensorType>(logits.getType());
    unsigned rank = ty.getRank();
    auto redTy = RankedTensorType::get(ty.getShape().drop_back(), ty.getElementType());
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap red = dropLastMap(ctx, rank);
    IterKinds redIters = parallel(rank - 1);
    redIters.push_back(utils::IteratorType::reduction);
    Value mx = linalg::GenericOp::create(
                   rewriter, loc, redTy, logits,
                   fillWith(rewriter, loc, emptyLike(rewriter, loc, redTy, logits),
                            -std::numeric_limits<float>::infinity()),
                   ArrayRef<AffineMap>{id, red}, redIters,
                   [](OpBuilder &b, Location l, ValueRange a) {
                     linalg::YieldOp::create(b, l, ValueRange{arith::MaximumFOp::create(b, l, a[0], a[1])});
                   })
                   .getResult(0);
    Value se = linalg::GenericOp::create(
                   rewriter, loc, redTy, ValueRange{logits, mx},
                   fillWith(rewriter, loc, emptyLike(rewriter, loc, redTy, logits), 0.0f),
                   ArrayRef<AffineMap>{id, red, red}, redIters,
                   [](OpBuilder &b, Location l, ValueRange a) {
                     Value e = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                     linalg::YieldOp::create(b, l, ValueRange{arith::AddFOp::create(b, l, a[2], e)});
                   })
                   .getResult(0);
    unsigned posRank = rank - 1;
    AffineMap posId = AffineMap::getMultiDimIdentityMap(posRank, ctx);
    Value count = numElementsF32(rewriter, loc, target);
    Value loss = meanOver(
        rewriter, loc, ValueRange{target, mx, se}, {posId, posId, posId}, posRank, count,
        [&](OpBuilder &b, Location l, ValueRange a) {
          SmallVector<Value> idx;
          for (unsigned i = 0; i < posRank; ++i)
            idx.push_back(linalg::IndexOp::create(b, l, i));
          idx.push_back(arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]));
          Value picked = tensor::ExtractOp::create(b, l, logits, idx);
          Value lse = arith::AddFOp::create(b, l, math::LogOp::create(b, l, a[2]), a[1]);
          return Value(arith::SubFOp::create(b, l, lse, picked));
        });
    rewriter.replaceOp(op, loss);
    return success();
  }
};

/// mean of (pred - target)^2.
struct MSEOpLowering : OpConversionPattern<MSEOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MSEOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(adaptor.getPred().getType());
    unsigned rank = ty.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, rewriter.getContext());
    Value count = numElementsF32(rewriter, loc, adaptor.getPred());
    Value loss = meanOver(rewriter, loc, ValueRange{adaptor.getPred(), adaptor.getTarget()},
                          {id, id}, rank, count, [](OpBuilder &b, Location l, ValueRange a) {
                            Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                            return Value(arith::MulFOp::create(b, l, d, d));
                          });
    rewriter.replaceOp(op, loss);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Cell-level ops
//===----------------------------------------------------------------------===//

struct RNNGatesOpLowering : OpConversionPattern<RNNGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RNNGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Activation act = op.getActivation();
    auto ty = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), ty,
                        ValueRange{adaptor.getGx(), adaptor.getGh()}, 1,
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          Value s = arith::AddFOp::create(b, l, a[0], a[1]);
                          return SmallVector<Value>{activate(b, l, act, s)};
                        }));
    return success();
  }
};

struct LSTMGatesOpLowering : OpConversionPattern<LSTMGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LSTMGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getC().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins;
    for (Value m : {adaptor.getGx(), adaptor.getGh()})
      for (int64_t k = 0; k < 4; ++k)
        ins.push_back(columnBlock(rewriter, loc, m, k, h));
    ins.push_back(adaptor.getC());
    rewriter.replaceOp(
        op, elementwise(rewriter, loc, ty, ins, 2,
                        [](OpBuilder &b, Location l, ValueRange a) {
                          auto pre = [&](int k) {
                            return arith::AddFOp::create(b, l, a[k], a[4 + k]).getResult();
                          };
                          Value i = sigmoid(b, l, pre(0)), f = sigmoid(b, l, pre(1));
                          Value g = math::TanhOp::create(b, l, pre(2));
                          Value o = sigmoid(b, l, pre(3));
                          Value c2 = arith::AddFOp::create(
                              b, l, arith::MulFOp::create(b, l, f, a[8]),
                              arith::MulFOp::create(b, l, i, g));
                          Value h2 = arith::MulFOp::create(
                              b, l, o, math::TanhOp::create(b, l, c2));
                          return SmallVector<Value>{h2, c2};
                        }));
    return success();
  }
};

struct GRUGatesOpLowering : OpConversionPattern<GRUGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GRUGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getH().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins;
    for (Value m : {adaptor.getGx(), adaptor.getGh()})
      for (int64_t k = 0; k < 3; ++k)
        ins.push_back(columnBlock(rewriter, loc, m, k, h));
    ins.push_back(adaptor.getH());
    rewriter.replaceOp(
        op, elementwise(rewriter, loc, ty, ins, 1,
                        [](OpBuilder &b, Location l, ValueRange a) {
                          Value r = sigmoid(b, l, arith::AddFOp::create(b, l, a[0], a[3]));
                          Value z = sigmoid(b, l, arith::AddFOp::create(b, l, a[1], a[4]));
                          Value n = math::TanhOp::create(
                              b, l, arith::AddFOp::create(
                                        b, l, a[2], arith::MulFOp::create(b, l, r, a[5])));
                          // PyTorch: h' = n + z * (h - n)
                          Value d = arith::SubFOp::create(b, l, a[6], n);
                          Value h2 = arith::AddFOp::create(
                              b, l, n, arith::MulFOp::create(b, l, z, d));
                          return SmallVector<Value>{h2};
                        }));
    return success();
  }
};

/// rnn.recurrence -> scf.for over time. Iteration arguments: the carried
/// states, then one output sequence per per-step output.
struct RecurrenceOpLowering : OpConversionPattern<RecurrenceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RecurrenceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x0 = adaptor.getInputs().front();
    Value batch = tensor::DimOp::create(rewriter, loc, x0, 0);
    Value steps = tensor::DimOp::create(rewriter, loc, x0, 1);
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    unsigned numState = op.getInit().size(), numOut = op.getNumOutputs();

    SmallVector<Value> iterInits(adaptor.getInit());
    for (Value seq : op.getOutputs()) {
      auto t = cast<RankedTensorType>(seq.getType());
      SmallVector<Value> dyn;
      for (int64_t i = 0; i < t.getRank(); ++i)
        if (t.isDynamicDim(i))
          dyn.push_back(i == 0 ? batch : steps);
      iterInits.push_back(tensor::EmptyOp::create(rewriter, loc, t, dyn));
    }
    auto forOp = scf::ForOp::create(rewriter, loc, c0, steps, c1, iterInits);
    Block *loopBody = forOp.getBody();
    rewriter.setInsertionPointToStart(loopBody);
    Value t = forOp.getInductionVar();
    if (op.getReverse()) {
      Value last = arith::SubIOp::create(rewriter, loc, steps, c1);
      t = arith::SubIOp::create(rewriter, loc, last, t);
    }

    // Offsets/sizes of time step `t` of a [B, T, ...] sequence.
    auto stepSlice = [&](RankedTensorType seqTy, SmallVector<OpFoldResult> &offs,
                         SmallVector<OpFoldResult> &sizes,
                         SmallVector<OpFoldResult> &strides) {
      offs.assign(seqTy.getRank(), rewriter.getIndexAttr(0));
      offs[1] = t;
      sizes.clear();
      sizes.push_back(batch);
      sizes.push_back(rewriter.getIndexAttr(1));
      for (int64_t d : seqTy.getShape().drop_front(2))
        sizes.push_back(rewriter.getIndexAttr(d));
      strides.assign(seqTy.getRank(), rewriter.getIndexAttr(1));
    };

    SmallVector<Value> argRepl;
    for (auto [in, arg] : llvm::zip(adaptor.getInputs(), op.getStepInputArgs())) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      stepSlice(cast<RankedTensorType>(in.getType()), offs, sizes, strides);
      argRepl.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(arg.getType()), in, offs, sizes,
          strides));
    }
    for (unsigned i = 0; i < numState; ++i)
      argRepl.push_back(forOp.getRegionIterArgs()[i]);

    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    rewriter.mergeBlocks(&body, loopBody, argRepl);

    rewriter.setInsertionPoint(yield);
    // Padded batches: outside an example's length its states stay as they
    // are and its outputs are zero (pack_padded_sequence semantics; a reversed
    // recurrence therefore starts at each example's own last step).
    Value lengths = adaptor.getLengths();
    SmallVector<Value> next(yield.getValues().drop_front(numOut));
    if (lengths)
      for (unsigned i = 0; i < numState; ++i)
        next[i] = maskRows(rewriter, loc, lengths, t, next[i], forOp.getRegionIterArgs()[i]);
    for (unsigned i = 0; i < numOut; ++i) {
      Value acc = forOp.getRegionIterArgs()[numState + i];
      SmallVector<OpFoldResult> offs, sizes, strides;
      stepSlice(cast<RankedTensorType>(acc.getType()), offs, sizes, strides);
      // Destination style: copy the step into a slice of the sequence, so that
      // bufferization writes it in place (no strided memref.copy).
      Value step = yield.getValues()[i];
      if (lengths)
        step = maskRows(rewriter, loc, lengths, t, step, Value());
      Value slot = tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(step.getType()), acc, offs, sizes, strides);
      Value filled = linalg::CopyOp::create(rewriter, loc, step, slot).getResult(0);
      next.push_back(tensor::InsertSliceOp::create(rewriter, loc, filled, acc, offs, sizes,
                                                   strides));
    }
    scf::YieldOp::create(rewriter, loc, next);
    rewriter.eraseOp(yield);

    SmallVector<Value> results(forOp.getResults().drop_front(numState));
    results.append(forOp.getResults().begin(), forOp.getResults().begin() + numState);
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertRNNToLinalgPass
    : rnn::impl::ConvertRNNToLinalgPassBase<ConvertRNNToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult early = module.walk([](Operation *op) {
      if (isa<RecurrentOp>(op)) {
        op->emitOpError("must be expanded by rnn-expand-recurrent first");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (early.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect, func::FuncDialect>();
    target.addIllegalDialect<RNNDialect>();
    RewritePatternSet patterns(&getContext());
    populateRNNToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::rnn::populateRNNToLinalgConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<OneHotOpLowering, EmbeddingOpLowering, SequenceLengthsOpLowering, LastStepOpLowering,
               DenseOpLowering, CrossEntropyOpLowering, MSEOpLowering,
               SoftmaxOpLowering, RNNGatesOpLowering, LSTMGatesOpLowering,
               GRUGatesOpLowering, RecurrenceOpLowering>(patterns.getContext());
}
