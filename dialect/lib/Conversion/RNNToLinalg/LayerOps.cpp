//===- LayerOps.cpp - Layer-level rnn ops to linalg ---===//
//
// One-hot, embedding, sequence lengths, last step, dense and softmax.
//
//===----------------------------------------------------------------------===//
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
using namespace mlir::rnn::detail;

namespace {

/// A generic over `resTy` (`[..., D]`) reading the token id of each position
/// (`tokens`, `[...]`); `body(b, loc, token, lastIndex)` gives the element.
Value perToken(OpBuilder &b, Location loc, RankedTensorType resTy, Value tokens,
               function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = resTy.getRank();
  SmallVector<AffineMap> maps = {dropLastMap(ctx, rank),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  return linalg::GenericOp::create(
             b, loc, resTy, tokens, emptyLike(b, loc, resTy, tokens), maps, parallel(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value last = linalg::IndexOp::create(nb, l, rank - 1);
               Value tok = arith::IndexCastOp::create(nb, l, nb.getIndexType(), args[0]);
               linalg::YieldOp::create(nb, l, body(nb, l, tok, last));
             })
      .getResult(0);
}

/// out[..., v] = (tokens[...] == v) ? 1 : 0
struct OneHotOpLowering : OpConversionPattern<OneHotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OneHotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, perToken(rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                                    adaptor.getTokens(),
                                    [](OpBuilder &b, Location l, Value tok, Value cls) {
                                      Value eq = arith::CmpIOp::create(
                                          b, l, arith::CmpIPredicate::eq, tok, cls);
                                      Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
                                      Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
                                      return Value(arith::SelectOp::create(b, l, eq, one, zero));
                                    }));
    return success();
  }
};

/// out[..., d] = table[tokens[...], d]
struct EmbeddingOpLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value table = adaptor.getTable();
    rewriter.replaceOp(op, perToken(rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                                    adaptor.getTokens(),
                                    [&](OpBuilder &b, Location l, Value row, Value col) {
                                      return Value(tensor::ExtractOp::create(
                                          b, l, table, ValueRange{row, col}));
                                    }));
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

/// dx[b, t, f] = dy[b, f] at t = last(b) (lengths[b] - 1, or T - 1), else 0.
struct LastStepGradOpLowering : OpConversionPattern<LastStepGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LastStepGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ty = cast<RankedTensorType>(op.getType());
    Value like = adaptor.getLike(), lengths = adaptor.getLengths();
    Value steps = tensor::DimOp::create(rewriter, loc, like, 1);
    SmallVector<Value> ins = {adaptor.getDy()};
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {getAffineDimExpr(0, ctx),
                                                         getAffineDimExpr(2, ctx)}, ctx)};
    if (lengths) {
      ins.push_back(lengths);
      maps.push_back(AffineMap::get(3, 0, getAffineDimExpr(0, ctx)));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(3, ctx));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, ty, ins, emptyLike(rewriter, loc, ty, like), maps, parallel(3),
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value one = arith::ConstantIndexOp::create(b, l, 1);
          Value len = lengths ? Value(arith::IndexCastOp::create(b, l, b.getIndexType(), a[1]))
                              : steps;
          Value last = arith::SubIOp::create(b, l, len, one);
          Value isLast = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                               linalg::IndexOp::create(b, l, 1), last);
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, isLast, a[0], zero)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// Inverted dropout: while training, element i (its index tuple) is kept when
/// the top 24 bits of h(i) reach rate * 2^24, where h(i) folds the indices
/// into seed * golden + salt with splitmix64's finaliser; kept elements are
/// scaled by 1 / (1 - rate).
struct DropoutOpLowering : OpConversionPattern<DropoutOp> {
  using OpConversionPattern::OpConversionPattern;

  static Value mix(OpBuilder &b, Location l, Value z) {
    auto c = [&](uint64_t v) {
      return arith::ConstantOp::create(b, l, b.getI64IntegerAttr(static_cast<int64_t>(v)));
    };
    auto xorShift = [&](Value v, uint64_t s) {
      return arith::XOrIOp::create(b, l, v, arith::ShRUIOp::create(b, l, v, c(s)));
    };
    z = arith::AddIOp::create(b, l, z, c(0x9E3779B97F4A7C15ull));
    z = arith::MulIOp::create(b, l, xorShift(z, 30), c(0xBF58476D1CE4E5B9ull));
    z = arith::MulIOp::create(b, l, xorShift(z, 27), c(0x94D049BB133111EBull));
    return xorShift(z, 31);
  }

  LogicalResult
  matchAndRewrite(DropoutOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), rng = adaptor.getRng();
    ValueRange offsets = adaptor.getOffsets();
    auto ty = cast<RankedTensorType>(x.getType());
    unsigned rank = ty.getRank();
    double rate = op.getRate().convertToDouble();
    auto i64 = rewriter.getI64Type();
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value seed = tensor::ExtractOp::create(rewriter, loc, rng, ValueRange{c0});
    Value training = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ne,
        tensor::ExtractOp::create(rewriter, loc, rng, ValueRange{c1}),
        arith::ConstantOp::create(rewriter, loc, rewriter.getI64IntegerAttr(0)));
    Value base = arith::AddIOp::create(
        rewriter, loc,
        arith::MulIOp::create(rewriter, loc, seed,
                              arith::ConstantOp::create(rewriter, loc,
                                                        rewriter.getI64IntegerAttr(0x5851F42D4C957F2Dll))),
        arith::ConstantOp::create(rewriter, loc, rewriter.getI64IntegerAttr(op.getSalt())));
    auto threshold = static_cast<int64_t>(rate * 16777216.0);
    float scale = static_cast<float>(1.0 / (1.0 - rate));
    SmallVector<Value> res = elementwise(
        rewriter, loc, ty, ValueRange{x}, 1, [&](OpBuilder &b, Location l, ValueRange a) {
          Value h = base;
          for (unsigned d = 0; d < rank; ++d) {
            Value index = linalg::IndexOp::create(b, l, d);
            if (!offsets.empty()) // the element's position in the whole tensor
              index = arith::AddIOp::create(b, l, index, offsets[d]);
            h = mix(b, l, arith::XOrIOp::create(b, l, h, arith::IndexCastUIOp::create(b, l, i64, index)));
          }
          Value top = arith::ShRUIOp::create(b, l, h,
                                             arith::ConstantOp::create(b, l, b.getI64IntegerAttr(40)));
          Value keep = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::uge, top,
              arith::ConstantOp::create(b, l, b.getI64IntegerAttr(threshold)));
          Value scaled = arith::MulFOp::create(
              b, l, a[0], arith::ConstantOp::create(b, l, b.getF32FloatAttr(scale)));
          Value dropped = arith::SelectOp::create(
              b, l, keep, scaled, arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f)));
          return SmallVector<Value>{arith::SelectOp::create(b, l, training, dropped, a[0])};
        });
    rewriter.replaceOp(op, res);
    return success();
  }
};

/// mask[b, t] = t < lengths[b].
struct StepMaskOpLowering : OpConversionPattern<StepMaskOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StepMaskOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ty = cast<RankedTensorType>(op.getType());
    Value like = adaptor.getLike();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 2; ++i)
      if (ty.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(rewriter, loc, like, i));
    Value out = tensor::EmptyOp::create(rewriter, loc, ty, dyn);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, ty, adaptor.getLengths(), out,
        ArrayRef<AffineMap>{AffineMap::get(2, 0, getAffineDimExpr(0, ctx)),
                            AffineMap::getMultiDimIdentityMap(2, ctx)},
        parallel(2), [](OpBuilder &b, Location l, ValueRange a) {
          Value t = arith::IndexCastOp::create(b, l, b.getI32Type(), linalg::IndexOp::create(b, l, 1));
          Value in = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, t, a[0]);
          Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, in, one, zero)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// result[i, ...] = mask[i] > 0.5 ? a[i, ...] : b[i, ...].
struct SelectRowsOpLowering : OpConversionPattern<SelectRowsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectRowsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ty = cast<RankedTensorType>(op.getType());
    unsigned rank = ty.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, ty, ValueRange{adaptor.getMask(), adaptor.getA(), adaptor.getB()},
        emptyLike(rewriter, loc, ty, adaptor.getA()),
        ArrayRef<AffineMap>{AffineMap::get(rank, 0, getAffineDimExpr(0, ctx)), id, id, id},
        parallel(rank), [](OpBuilder &b, Location l, ValueRange a) {
          Value half = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.5f));
          Value on = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a[0], half);
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, on, a[1], a[2])});
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
                    macBody)
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

/// Numerically stable softmax over the last axis: exp(x - max) / sum.
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
    auto [mx, sum] = maxAndSumExp(rewriter, loc, x);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx), red = dropLastMap(ctx, rank);
    Value res = linalg::GenericOp::create(
                    rewriter, loc, ty, ValueRange{x, mx, sum}, emptyLike(rewriter, loc, ty, x),
                    ArrayRef<AffineMap>{id, red, red, id}, parallel(rank),
                    [](OpBuilder &b, Location l, ValueRange a) {
                      Value e = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                      linalg::YieldOp::create(b, l, ValueRange{arith::DivFOp::create(b, l, e, a[2])});
                    })
                    .getResult(0);
    rewriter.replaceOp(op, res);
    return success();
  }
};

} // namespace

void mlir::rnn::populateLayerOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<StepMaskOpLowering, SelectRowsOpLowering, OneHotOpLowering, EmbeddingOpLowering, SequenceLengthsOpLowering, LastStepOpLowering, LastStepGradOpLowering, DropoutOpLowering, DenseOpLowering, SoftmaxOpLowering>(patterns.getContext());
}
