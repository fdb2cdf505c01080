//===- AttentionOps.cpp - rnn.attention to linalg ----------------------------===//
//
// Scores (dot / general / additive), masking by source lengths, softmax over
// the source axis, and the weighted sum of the keys. The query may be one step
// [B, H] or a sequence [B, T, H]; its leading axes are the "query axes" q...,
// with the batch first.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::rnn;
using namespace mlir::rnn::detail;

namespace {

/// Dims of an iteration space (q..., x, y): map picking the query axes and
/// then the given extra dims.
AffineMap pick(MLIRContext *ctx, unsigned total, unsigned nq, ArrayRef<unsigned> extra) {
  SmallVector<AffineExpr> e;
  for (unsigned i = 0; i < nq; ++i)
    e.push_back(getAffineDimExpr(i, ctx));
  for (unsigned d : extra)
    e.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(total, 0, e, ctx);
}

AffineMap dims(MLIRContext *ctx, unsigned total, ArrayRef<unsigned> ds) {
  SmallVector<AffineExpr> e;
  for (unsigned d : ds)
    e.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(total, 0, e, ctx);
}

/// out[q..., j] = sum_i in[q..., i] * w[j, i] (in @ w^T), seeded with zero.
Value projectLast(OpBuilder &b, Location loc, Value in, Value w) {
  MLIRContext *ctx = b.getContext();
  auto inTy = cast<RankedTensorType>(in.getType());
  auto wTy = cast<RankedTensorType>(w.getType());
  unsigned nq = inTy.getRank() - 1, total = nq + 2;
  SmallVector<int64_t> shape(inTy.getShape().drop_back());
  shape.push_back(wTy.getDimSize(0));
  auto outTy = RankedTensorType::get(shape, b.getF32Type());
  Value acc = fillWith(b, loc, emptyLike(b, loc, outTy, in), 0.0f);
  IterKinds iters = parallel(nq + 1);
  iters.push_back(utils::IteratorType::reduction);
  return linalg::GenericOp::create(
             b, loc, outTy, ValueRange{in, w}, acc,
             ArrayRef<AffineMap>{pick(ctx, total, nq, {nq + 1}), dims(ctx, total, {nq, nq + 1}),
                                 pick(ctx, total, nq, {nq})},
             iters,
             macBody)
      .getResult(0);
}

struct AttentionOpLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value q = adaptor.getQuery(), keys = adaptor.getKeys(), lengths = adaptor.getLengths();
    auto scoresTy = cast<RankedTensorType>(op.getScores().getType());
    auto ctxTy = cast<RankedTensorType>(op.getContextVector().getType());
    unsigned nq = scoresTy.getRank() - 1; // query axes
    ValueRange w = adaptor.getWeights();
    // Scores need a [B, S] tensor whose sizes come from both operands.
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < scoresTy.getRank(); ++i)
      if (scoresTy.isDynamicDim(i))
        dyn.push_back(static_cast<unsigned>(i) < nq ? tensor::DimOp::create(rewriter, loc, q, i)
                                                    : tensor::DimOp::create(rewriter, loc, keys, 1));
    Value scoresInit = tensor::EmptyOp::create(rewriter, loc, scoresTy, dyn);

    Value scores;
    if (op.getKind() == AttentionKind::additive) {
      // v . tanh(Wq q + Wk k_s): iteration (q..., s, a).
      Value pq = projectLast(rewriter, loc, q, w[0]);
      Value pk = projectLast(rewriter, loc, keys, w[1]);
      unsigned total = nq + 2;
      IterKinds iters = parallel(nq + 1);
      iters.push_back(utils::IteratorType::reduction);
      scores = linalg::GenericOp::create(
                   rewriter, loc, scoresTy, ValueRange{pq, pk, w[2]},
                   fillWith(rewriter, loc, scoresInit, 0.0f),
                   ArrayRef<AffineMap>{pick(ctx, total, nq, {nq + 1}), dims(ctx, total, {0, nq, nq + 1}),
                                       AffineMap::get(total, 0,
                                                      {getAffineConstantExpr(0, ctx),
                                                       getAffineDimExpr(nq + 1, ctx)},
                                                      ctx),
                                       pick(ctx, total, nq, {nq})},
                   iters,
                   [](OpBuilder &nb, Location l, ValueRange a) {
                     Value t = math::TanhOp::create(nb, l, arith::AddFOp::create(nb, l, a[0], a[1]));
                     Value m = arith::MulFOp::create(nb, l, a[2], t);
                     linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, a[3], m)});
                   })
                   .getResult(0);
    } else {
      // q' . k_s, with q' = q (dot) or q W (general): iteration (q..., s, h).
      Value qp = q;
      if (op.getKind() == AttentionKind::general) {
        // q W = q @ (W^T)^T: contract over Hq.
        auto wTy = cast<RankedTensorType>(w[0].getType());
        auto qTy = cast<RankedTensorType>(q.getType());
        SmallVector<int64_t> shape(qTy.getShape().drop_back());
        shape.push_back(wTy.getDimSize(1));
        auto outTy = RankedTensorType::get(shape, rewriter.getF32Type());
        unsigned total = nq + 2;
        IterKinds iters = parallel(nq + 1);
        iters.push_back(utils::IteratorType::reduction);
        qp = linalg::GenericOp::create(
                 rewriter, loc, outTy, ValueRange{q, w[0]},
                 fillWith(rewriter, loc, emptyLike(rewriter, loc, outTy, q), 0.0f),
                 ArrayRef<AffineMap>{pick(ctx, total, nq, {nq + 1}), dims(ctx, total, {nq + 1, nq}),
                                     pick(ctx, total, nq, {nq})},
                 iters,
                 macBody)
                 .getResult(0);
      }
      unsigned total = nq + 2;
      IterKinds iters = parallel(nq + 1);
      iters.push_back(utils::IteratorType::reduction);
      scores = linalg::GenericOp::create(
                   rewriter, loc, scoresTy, ValueRange{qp, keys},
                   fillWith(rewriter, loc, scoresInit, 0.0f),
                   ArrayRef<AffineMap>{pick(ctx, total, nq, {nq + 1}), dims(ctx, total, {0, nq, nq + 1}),
                                       pick(ctx, total, nq, {nq})},
                   iters,
                   macBody)
                   .getResult(0);
    }

    // Softmax over s, with masked positions excluded.
    unsigned rank = nq + 1;
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap red = dropLastMap(ctx, rank);
    AffineMap batch = dims(ctx, rank, {0});
    float negInf = -std::numeric_limits<float>::infinity();
    if (lengths) {
      scores = linalg::GenericOp::create(
                   rewriter, loc, scoresTy, ValueRange{scores, lengths},
                   emptyLike(rewriter, loc, scoresTy, scores), ArrayRef<AffineMap>{id, batch, id},
                   parallel(rank),
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     Value s = arith::IndexCastOp::create(nb, l, nb.getI32Type(),
                                                          linalg::IndexOp::create(nb, l, nq));
                     Value valid = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, s, a[1]);
                     Value ninf = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(negInf));
                     linalg::YieldOp::create(nb, l, ValueRange{arith::SelectOp::create(nb, l, valid, a[0], ninf)});
                   })
                   .getResult(0);
    }
    auto [mx, sum] = maxAndSumExp(rewriter, loc, scores);
    Value weights = linalg::GenericOp::create(
                        rewriter, loc, scoresTy, ValueRange{scores, mx, sum},
                        emptyLike(rewriter, loc, scoresTy, scores),
                        ArrayRef<AffineMap>{id, red, red, id}, parallel(rank),
                        [](OpBuilder &nb, Location l, ValueRange a) {
                          Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                          linalg::YieldOp::create(nb, l, ValueRange{arith::DivFOp::create(nb, l, e, a[2])});
                        })
                        .getResult(0);

    // context[q..., h] = sum_s w[q..., s] * keys[b, s, h]: iteration (q..., h, s).
    unsigned total = nq + 2;
    IterKinds iters = parallel(nq + 1);
    iters.push_back(utils::IteratorType::reduction);
    Value context = linalg::GenericOp::create(
                        rewriter, loc, ctxTy, ValueRange{weights, keys},
                        fillWith(rewriter, loc, emptyLike(rewriter, loc, ctxTy, q), 0.0f),
                        ArrayRef<AffineMap>{pick(ctx, total, nq, {nq + 1}),
                                            dims(ctx, total, {0, nq + 1, nq}),
                                            pick(ctx, total, nq, {nq})},
                        iters,
                        macBody)
                        .getResult(0);
    rewriter.replaceOp(op, {context, weights});
    return success();
  }
};

} // namespace

void mlir::rnn::populateAttentionOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<AttentionOpLowering>(patterns.getContext());
}
