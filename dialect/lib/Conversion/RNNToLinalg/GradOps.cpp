//===- GradOps.cpp - Adjoint rnn ops to linalg/scf ----------------------------===//
//
// The vector-Jacobian products used by back-propagation through time: each
// recomputes what it needs from the forward values (gates from their
// pre-activations, activations from their outputs) rather than storing it.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::rnn;
using namespace mlir::rnn::detail;

namespace {

Value cst(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// act'(x) expressed with y = act(x).
Value activationDerivative(OpBuilder &b, Location loc, Activation act, Value y) {
  switch (act) {
  case Activation::none:
    return cst(b, loc, 1.0f);
  case Activation::tanh:
    return arith::SubFOp::create(b, loc, cst(b, loc, 1.0f), arith::MulFOp::create(b, loc, y, y));
  case Activation::sigmoid:
    return arith::MulFOp::create(b, loc, y, arith::SubFOp::create(b, loc, cst(b, loc, 1.0f), y));
  case Activation::relu: {
    Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, y, cst(b, loc, 0.0f));
    return arith::SelectOp::create(b, loc, pos, cst(b, loc, 1.0f), cst(b, loc, 0.0f));
  }
  }
  llvm_unreachable("unknown activation");
}

/// Writes `blocks` ([B, H] each) side by side into a new [B, n*H] tensor.
Value concatColumns(OpBuilder &b, Location loc, ArrayRef<Value> blocks) {
  auto bt = cast<RankedTensorType>(blocks.front().getType());
  int64_t h = bt.getDimSize(1);
  auto ty = RankedTensorType::get({bt.getDimSize(0), h * static_cast<int64_t>(blocks.size())},
                                  bt.getElementType());
  Value acc = emptyLike(b, loc, ty, blocks.front());
  for (auto [k, blk] : llvm::enumerate(blocks)) {
    SmallVector<OpFoldResult> offs = {b.getIndexAttr(0), b.getIndexAttr(k * h)};
    SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, blk, 0), b.getIndexAttr(h)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    acc = tensor::InsertSliceOp::create(b, loc, blk, acc, offs, sizes, strides);
  }
  return acc;
}

struct ActivationGradOpLowering : OpConversionPattern<ActivationGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ActivationGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Activation act = op.getActivation();
    rewriter.replaceOp(op, elementwise(rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                                       ValueRange{adaptor.getY(), adaptor.getDy()}, 1,
                                       [&](OpBuilder &b, Location l, ValueRange a) {
                                         Value d = activationDerivative(b, l, act, a[0]);
                                         return SmallVector<Value>{arith::MulFOp::create(b, l, a[1], d)};
                                       }));
    return success();
  }
};

/// dx = dy W; dW = sum_p dy[p]^T x[p]; db = sum_p dy[p].
struct DenseGradOpLowering : OpConversionPattern<DenseGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DenseGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value dy = adaptor.getDy(), x = adaptor.getX(), w = adaptor.getWeight();
    auto xTy = cast<RankedTensorType>(x.getType());
    unsigned np = xTy.getRank() - 1; // leading (position) axes
    auto dimsOf = [&](unsigned total, ArrayRef<unsigned> ds) {
      SmallVector<AffineExpr> e;
      for (unsigned d : ds)
        e.push_back(getAffineDimExpr(d, ctx));
      return AffineMap::get(total, 0, e, ctx);
    };
    SmallVector<unsigned> pos;
    for (unsigned i = 0; i < np; ++i)
      pos.push_back(i);

    // dx: iteration (p..., i, u), reduce u.
    {
      unsigned total = np + 2;
      SmallVector<unsigned> dyDims(pos), outDims(pos);
      dyDims.push_back(np + 1);
      outDims.push_back(np);
      IterKinds iters = parallel(np + 1);
      iters.push_back(utils::IteratorType::reduction);
      // Results nobody reads (the weight adjoints of a step whose sum
      // rnn-hoist-weight-gradients moved after the loop) are not computed.
      Value dx = emptyLike(rewriter, loc, xTy, x);
      if (!op.getDx().use_empty())
        dx = linalg::GenericOp::create(
                 rewriter, loc, xTy, ValueRange{dy, w}, fillWith(rewriter, loc, dx, 0.0f),
                 ArrayRef<AffineMap>{dimsOf(total, dyDims), dimsOf(total, {np + 1, np}),
                                     dimsOf(total, outDims)},
                 iters, macBody)
                 .getResult(0);
      // dW: iteration (u, i, p...), reduce p.
      total = np + 2;
      SmallVector<unsigned> p2, dyW, xW;
      for (unsigned i = 0; i < np; ++i)
        p2.push_back(2 + i);
      dyW.assign(p2.begin(), p2.end());
      dyW.push_back(0);
      xW.assign(p2.begin(), p2.end());
      xW.push_back(1);
      auto wTy = cast<RankedTensorType>(w.getType());
      IterKinds witers = parallel(2);
      witers.append(np, utils::IteratorType::reduction);
      Value dw = tensor::EmptyOp::create(rewriter, loc, wTy, ValueRange{});
      if (!op.getDweight().use_empty())
        dw = linalg::GenericOp::create(
                 rewriter, loc, wTy, ValueRange{dy, x}, fillWith(rewriter, loc, dw, 0.0f),
                 ArrayRef<AffineMap>{dimsOf(total, dyW), dimsOf(total, xW), dimsOf(total, {0, 1})},
                 witers, macBody)
                 .getResult(0);
      // db: iteration (u, p...), reduce p.
      total = np + 1;
      SmallVector<unsigned> dyB;
      for (unsigned i = 0; i < np; ++i)
        dyB.push_back(1 + i);
      dyB.push_back(0);
      auto bTy = RankedTensorType::get({wTy.getDimSize(0)}, rewriter.getF32Type());
      IterKinds biters = parallel(1);
      biters.append(np, utils::IteratorType::reduction);
      Value db = tensor::EmptyOp::create(rewriter, loc, bTy, ValueRange{});
      if (!op.getDbias().use_empty())
        db = linalg::GenericOp::create(
                 rewriter, loc, bTy, dy, fillWith(rewriter, loc, db, 0.0f),
                 ArrayRef<AffineMap>{dimsOf(total, dyB), dimsOf(total, {0})}, biters,
                 [](OpBuilder &b, Location l, ValueRange a) {
                   linalg::YieldOp::create(b, l,
                                           ValueRange{arith::AddFOp::create(b, l, a[1], a[0])});
                 })
                 .getResult(0);
      rewriter.replaceOp(op, {dx, dw, db});
    }
    return success();
  }
};

struct LSTMGatesGradOpLowering : OpConversionPattern<LSTMGatesGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LSTMGatesGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getC().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins = gateBlocks(rewriter, loc, adaptor.getGx(), adaptor.getGh(), 4, h);
    ins.append({adaptor.getC(), adaptor.getDh(), adaptor.getDc()});
    SmallVector<Value> r = elementwise(
        rewriter, loc, ty, ins, 5, [](OpBuilder &b, Location l, ValueRange a) {
          auto pre = [&](int k) { return arith::AddFOp::create(b, l, a[k], a[4 + k]).getResult(); };
          Value one = cst(b, l, 1.0f);
          Value i = sigmoid(b, l, pre(0)), f = sigmoid(b, l, pre(1));
          Value g = math::TanhOp::create(b, l, pre(2));
          Value o = sigmoid(b, l, pre(3));
          Value c = a[8], dh = a[9], dc = a[10];
          Value c2 = arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, f, c),
                                           arith::MulFOp::create(b, l, i, g));
          Value tc = math::TanhOp::create(b, l, c2);
          // dc' = dc + dh * o * (1 - tanh(c')^2)
          Value dtc = arith::SubFOp::create(b, l, one, arith::MulFOp::create(b, l, tc, tc));
          Value dct = arith::AddFOp::create(
              b, l, dc, arith::MulFOp::create(b, l, dh, arith::MulFOp::create(b, l, o, dtc)));
          auto sigd = [&](Value s) {
            return arith::MulFOp::create(b, l, s, arith::SubFOp::create(b, l, one, s)).getResult();
          };
          Value di = arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, dct, g), sigd(i));
          Value df = arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, dct, c), sigd(f));
          Value dg = arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, dct, i),
              arith::SubFOp::create(b, l, one, arith::MulFOp::create(b, l, g, g)));
          Value dO = arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, dh, tc), sigd(o));
          Value dcPrev = arith::MulFOp::create(b, l, dct, f);
          return SmallVector<Value>{di, df, dg, dO, dcPrev};
        });
    Value dgates = concatColumns(rewriter, loc, {r[0], r[1], r[2], r[3]});
    rewriter.replaceOp(op, {dgates, r[4]});
    return success();
  }
};

struct GRUGatesGradOpLowering : OpConversionPattern<GRUGatesGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GRUGatesGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getH().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins = gateBlocks(rewriter, loc, adaptor.getGx(), adaptor.getGh(), 3, h);
    ins.append({adaptor.getH(), adaptor.getDh()});
    // dgx = [dr, dz, dn] and dgh = [dr, dz, dhn]: dr and dz are stored twice
    // so that each block of both is a result of the kernel, which
    // rnn-forward-copies then writes in place, instead of a copy.
    SmallVector<Value> r = elementwise(
        rewriter, loc, ty, ins, 7, [](OpBuilder &b, Location l, ValueRange a) {
          Value one = cst(b, l, 1.0f);
          Value rr = sigmoid(b, l, arith::AddFOp::create(b, l, a[0], a[3]));
          Value z = sigmoid(b, l, arith::AddFOp::create(b, l, a[1], a[4]));
          Value hn = a[5];
          Value n = math::TanhOp::create(
              b, l, arith::AddFOp::create(b, l, a[2], arith::MulFOp::create(b, l, rr, hn)));
          Value hprev = a[6], dh = a[7];
          // h' = n + z (h - n)
          Value dn = arith::MulFOp::create(b, l, dh, arith::SubFOp::create(b, l, one, z));
          Value dz = arith::MulFOp::create(b, l, dh, arith::SubFOp::create(b, l, hprev, n));
          Value dhDirect = arith::MulFOp::create(b, l, dh, z);
          Value dnPre = arith::MulFOp::create(
              b, l, dn, arith::SubFOp::create(b, l, one, arith::MulFOp::create(b, l, n, n)));
          Value dhn = arith::MulFOp::create(b, l, dnPre, rr);
          Value dr = arith::MulFOp::create(b, l, dnPre, hn);
          auto sigd = [&](Value s) {
            return arith::MulFOp::create(b, l, s, arith::SubFOp::create(b, l, one, s)).getResult();
          };
          Value drPre = arith::MulFOp::create(b, l, dr, sigd(rr));
          Value dzPre = arith::MulFOp::create(b, l, dz, sigd(z));
          return SmallVector<Value>{drPre, dzPre, dnPre, drPre, dzPre, dhn, dhDirect};
        });
    Value dgx = concatColumns(rewriter, loc, {r[0], r[1], r[2]});
    Value dgh = concatColumns(rewriter, loc, {r[3], r[4], r[5]});
    rewriter.replaceOp(op, {dgx, dgh, r[6]});
    return success();
  }
};

/// dx = y * (dy - sum(dy * y)) over the last axis.
struct SoftmaxGradOpLowering : OpConversionPattern<SoftmaxGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ty = cast<RankedTensorType>(op.getType());
    unsigned rank = ty.getRank();
    Value y = adaptor.getY(), dy = adaptor.getDy();
    auto redTy = RankedTensorType::get(ty.getShape().drop_back(), ty.getElementType());
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx), red = dropLastMap(ctx, rank);
    IterKinds redIters = parallel(rank - 1);
    redIters.push_back(utils::IteratorType::reduction);
    Value dot = linalg::GenericOp::create(
                    rewriter, loc, redTy, ValueRange{y, dy},
                    fillWith(rewriter, loc, emptyLike(rewriter, loc, redTy, y), 0.0f),
                    ArrayRef<AffineMap>{id, id, red}, redIters,
                    macBody)
                    .getResult(0);
    Value dx = linalg::GenericOp::create(
                   rewriter, loc, ty, ValueRange{y, dy, dot}, emptyLike(rewriter, loc, ty, y),
                   ArrayRef<AffineMap>{id, id, red, id}, parallel(rank),
                   [](OpBuilder &b, Location l, ValueRange a) {
                     Value d = arith::SubFOp::create(b, l, a[1], a[2]);
                     linalg::YieldOp::create(b, l, ValueRange{arith::MulFOp::create(b, l, a[0], d)});
                   })
                   .getResult(0);
    rewriter.replaceOp(op, dx);
    return success();
  }
};

/// dlogits = dloss * (softmax(logits) - onehot(target)) / N; with weights,
/// dloss * w * (softmax - onehot) / sum(w).
struct CrossEntropyGradOpLowering : OpConversionPattern<CrossEntropyGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), target = adaptor.getTarget(), w = adaptor.getWeights();
    auto ty = cast<RankedTensorType>(logits.getType());
    unsigned rank = ty.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx), red = dropLastMap(ctx, rank);
    auto [mx, se] = maxAndSumExp(rewriter, loc, logits);
    Value dl = tensor::ExtractOp::create(rewriter, loc, adaptor.getDloss(), ValueRange{});
    Value count;
    if (w) {
      AffineMap posId = AffineMap::getMultiDimIdentityMap(rank - 1, ctx);
      count = arith::TruncFOp::create(
          rewriter, loc, rewriter.getF32Type(),
          sumOverF64(rewriter, loc, ValueRange{w}, {posId}, rank - 1,
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
    } else {
      count = numElementsF32(rewriter, loc, target);
    }
    Value scale = arith::DivFOp::create(rewriter, loc, dl, count);
    SmallVector<Value> ins = {logits, mx, se, target};
    SmallVector<AffineMap> maps = {id, red, red, red};
    if (w) {
      ins.push_back(w);
      maps.push_back(red);
    }
    maps.push_back(id);
    Value d = linalg::GenericOp::create(
                  rewriter, loc, ty, ins, emptyLike(rewriter, loc, ty, logits), maps, parallel(rank),
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    Value p = arith::DivFOp::create(
                        b, l, math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1])), a[2]);
                    Value cls = arith::IndexCastOp::create(b, l, b.getI32Type(),
                                                           linalg::IndexOp::create(b, l, rank - 1));
                    Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, cls, a[3]);
                    Value oh = arith::SelectOp::create(b, l, hit, cst(b, l, 1.0f), cst(b, l, 0.0f));
                    Value s = w ? Value(arith::MulFOp::create(b, l, a[4], scale)) : scale;
                    Value g = arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, p, oh), s);
                    linalg::YieldOp::create(b, l, g);
                  })
                  .getResult(0);
    rewriter.replaceOp(op, d);
    return success();
  }
};

/// dpred = dloss * 2 (pred - target) / N.
struct MSEGradOpLowering : OpConversionPattern<MSEGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MSEGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dl = tensor::ExtractOp::create(rewriter, loc, adaptor.getDloss(), ValueRange{});
    Value scale = arith::DivFOp::create(
        rewriter, loc, arith::MulFOp::create(rewriter, loc, dl, cst(rewriter, loc, 2.0f)),
        numElementsF32(rewriter, loc, adaptor.getPred()));
    rewriter.replaceOp(op, elementwise(rewriter, loc, cast<RankedTensorType>(op.getType()),
                                       ValueRange{adaptor.getPred(), adaptor.getTarget()}, 1,
                                       [&](OpBuilder &b, Location l, ValueRange a) {
                                         Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                                         return SmallVector<Value>{arith::MulFOp::create(b, l, d, scale)};
                                       }));
    return success();
  }
};

/// Scatter-add with scf loops over positions and columns (in place after
/// bufferization): table[tok[p], d] += dy[p, d].
struct EmbeddingGradOpLowering : OpConversionPattern<EmbeddingGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbeddingGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value tokens = adaptor.getTokens(), dy = adaptor.getDy();
    auto tokTy = cast<RankedTensorType>(tokens.getType());
    auto tableTy = cast<RankedTensorType>(op.getType());
    // Flatten the position axes.
    if (tokTy.getRank() != 1) {
      SmallVector<ReassociationIndices> tokAssoc(1), dyAssoc(2);
      for (int64_t i = 0; i < tokTy.getRank(); ++i) {
        tokAssoc[0].push_back(i);
        dyAssoc[0].push_back(i);
      }
      dyAssoc[1].push_back(tokTy.getRank());
      tokens = tensor::CollapseShapeOp::create(rewriter, loc, tokens, tokAssoc);
      dy = tensor::CollapseShapeOp::create(rewriter, loc, dy, dyAssoc);
    }
    Value table = fillWith(rewriter, loc,
                           tensor::EmptyOp::create(rewriter, loc, tableTy, ValueRange{}), 0.0f);
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value n = tensor::DimOp::create(rewriter, loc, tokens, 0);
    Value dim = arith::ConstantIndexOp::create(rewriter, loc, tableTy.getDimSize(1));
    auto outer = scf::ForOp::create(
        rewriter, loc, c0, n, c1, ValueRange{table},
        [&](OpBuilder &b, Location l, Value p, ValueRange acc) {
          Value tok = tensor::ExtractOp::create(b, l, tokens, ValueRange{p});
          Value row = arith::IndexCastOp::create(b, l, b.getIndexType(), tok);
          // padding_idx: its positions add zero.
          Value keep;
          if (auto pad = op.getPaddingIdx())
            keep = arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::ne, tok,
                arith::ConstantOp::create(b, l, b.getI32IntegerAttr(static_cast<int32_t>(*pad))));
          auto inner = scf::ForOp::create(
              b, l, c0, dim, c1, acc,
              [&](OpBuilder &ib, Location il, Value d, ValueRange tacc) {
                Value cur = tensor::ExtractOp::create(ib, il, tacc[0], ValueRange{row, d});
                Value add = tensor::ExtractOp::create(ib, il, dy, ValueRange{p, d});
                Value sum = arith::AddFOp::create(ib, il, cur, add);
                if (keep)
                  sum = arith::SelectOp::create(ib, il, keep, sum, cur);
                Value upd = tensor::InsertOp::create(ib, il, sum, tacc[0], ValueRange{row, d});
                scf::YieldOp::create(ib, il, upd);
              });
          scf::YieldOp::create(b, l, inner.getResults());
        });
    rewriter.replaceOp(op, outer.getResults());
    return success();
  }
};

} // namespace

void mlir::rnn::populateGradOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ActivationGradOpLowering, DenseGradOpLowering, LSTMGatesGradOpLowering,
               GRUGatesGradOpLowering, SoftmaxGradOpLowering, CrossEntropyGradOpLowering,
               MSEGradOpLowering, EmbeddingGradOpLowering>(patterns.getContext());
}
