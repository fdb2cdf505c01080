//===- AttentionOps.cpp - rnn.attention and its adjoint to linalg ------------===//
//
// Scores (dot / general / additive), masking by source lengths, softmax over
// the source axis, and the weighted sum of the keys; the adjoint recomputes
// the weights and runs the chain backwards. The query may be one step [B, H]
// or a sequence [B, T, H]; in the einsum specs below its leading axes are
// "b" or "bt" (Q), keys are "bsh", query features "i", additive units "a".
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

/// tanh(pq + pk) for the additive scores.
Value tanhSum(OpBuilder &b, Location loc, Value pq, Value pk) {
  return math::TanhOp::create(b, loc, arith::AddFOp::create(b, loc, pq, pk));
}

/// The forward computation, kept for the adjoint: the projected query (dot:
/// the query; general: q W) or the additive projections, and the weights.
struct AttentionValues {
  std::string Q;      // einsum letters of the query axes
  Value qp;           // dot / general
  Value pq, pk, v;    // additive: q Wq^T [Q, A], k Wk^T [B, S, A], v as [A]
  Value weights;      // softmax of the masked scores, [Q, S]
};

AttentionValues computeAttention(OpBuilder &b, Location loc, AttentionKind kind, Value q,
                                 Value keys, Value lengths, ValueRange w) {
  AttentionValues r;
  unsigned nq = cast<RankedTensorType>(q.getType()).getRank() - 1;
  const std::string Q = r.Q = nq == 1 ? "b" : "bt";
  Value scores;
  if (kind == AttentionKind::additive) {
    r.pq = einsum(b, loc, Q + "i,ai->" + Q + "a", {q, w[0]});
    r.pk = einsum(b, loc, "bsh,ah->bsa", {keys, w[1]});
    r.v = tensor::CollapseShapeOp::create(b, loc, w[2], ArrayRef<ReassociationIndices>{{0, 1}});
    scores = einsum(b, loc, Q + "a,bsa,a->" + Q + "s", {r.pq, r.pk, r.v}, {},
                    [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      Value m = arith::MulFOp::create(nb, l, a[2], tanhSum(nb, l, a[0], a[1]));
                      return arith::AddFOp::create(nb, l, a[3], m);
                    });
  } else {
    r.qp = kind == AttentionKind::general ? einsum(b, loc, Q + "i,ih->" + Q + "h", {q, w[0]}) : q;
    scores = einsum(b, loc, Q + "h,bsh->" + Q + "s", {r.qp, keys});
  }

  // Softmax over s, with masked positions excluded (weight exactly 0).
  MLIRContext *ctx = b.getContext();
  auto scoresTy = cast<RankedTensorType>(scores.getType());
  unsigned rank = nq + 1;
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap red = dropLastMap(ctx, rank);
  if (lengths) {
    float negInf = -std::numeric_limits<float>::infinity();
    scores = linalg::GenericOp::create(
                 b, loc, scoresTy, ValueRange{scores, lengths},
                 emptyLike(b, loc, scoresTy, scores),
                 ArrayRef<AffineMap>{id, AffineMap::get(rank, 0, getAffineDimExpr(0, ctx)), id},
                 parallel(rank),
                 [&](OpBuilder &nb, Location l, ValueRange a) {
                   Value s = arith::IndexCastOp::create(nb, l, nb.getI32Type(),
                                                        linalg::IndexOp::create(nb, l, nq));
                   Value valid = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, s, a[1]);
                   Value ninf = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(negInf));
                   linalg::YieldOp::create(nb, l,
                                           ValueRange{arith::SelectOp::create(nb, l, valid, a[0], ninf)});
                 })
                 .getResult(0);
  }
  auto [mx, sum] = maxAndSumExp(b, loc, scores);
  r.weights = linalg::GenericOp::create(
                  b, loc, scoresTy, ValueRange{scores, mx, sum}, emptyLike(b, loc, scoresTy, scores),
                  ArrayRef<AffineMap>{id, red, red, id}, parallel(rank),
                  [](OpBuilder &nb, Location l, ValueRange a) {
                    Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                    linalg::YieldOp::create(nb, l, ValueRange{arith::DivFOp::create(nb, l, e, a[2])});
                  })
                  .getResult(0);
  return r;
}

struct AttentionOpLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value keys = adaptor.getKeys();
    AttentionValues a = computeAttention(rewriter, loc, op.getKind(), adaptor.getQuery(), keys,
                                         adaptor.getLengths(), adaptor.getWeights());
    // context[Q, h] = sum_s w[Q, s] keys[b, s, h].
    Value context = einsum(rewriter, loc, a.Q + "s,bsh->" + a.Q + "h", {a.weights, keys});
    rewriter.replaceOp(op, {context, a.weights});
    return success();
  }
};

/// Reverse mode through the context, the softmax and the scores.
struct AttentionGradOpLowering : OpConversionPattern<AttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value q = adaptor.getQuery(), keys = adaptor.getKeys();
    ValueRange w = adaptor.getWeights();
    AttentionValues a = computeAttention(b, loc, op.getKind(), q, keys, adaptor.getLengths(), w);
    const std::string &Q = a.Q;
    Value dctx = adaptor.getDcontext();
    // d weights = dscores + dctx . keys; through the softmax:
    // d scores = w (dw - sum_s w dw). Masked positions have w = 0.
    Value dw = einsum(b, loc, Q + "h,bsh->" + Q + "s", {dctx, keys}, adaptor.getDscores());
    Value wdw = einsum(b, loc, Q + "s," + Q + "s->" + Q, {a.weights, dw});
    Value ds = einsum(b, loc, Q + "s," + Q + "s," + Q + "->" + Q + "s", {a.weights, dw, wdw}, {},
                      [](OpBuilder &nb, Location l, ValueRange v) -> Value {
                        return arith::MulFOp::create(nb, l, v[0],
                                                     arith::SubFOp::create(nb, l, v[1], v[2]));
                      });
    // The keys are also the values: dkeys = sum over the query steps of w dctx.
    Value dkeys = einsum(b, loc, Q + "s," + Q + "h->bsh", {a.weights, dctx});
    SmallVector<Value> results;
    if (op.getKind() == AttentionKind::additive) {
      // scores = sum_a v_a tanh(pq + pk): d pre-activation = ds v (1 - t^2).
      auto dPre = [](OpBuilder &nb, Location l, ValueRange v) -> Value {
        Value t = tanhSum(nb, l, v[1], v[2]);
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0f));
        Value dt = arith::SubFOp::create(nb, l, one, arith::MulFOp::create(nb, l, t, t));
        Value g = arith::MulFOp::create(nb, l, arith::MulFOp::create(nb, l, v[0], v[3]), dt);
        return arith::AddFOp::create(nb, l, v[4], g);
      };
      std::string pre = Q + "s," + Q + "a,bsa,a->";
      Value dpq = einsum(b, loc, pre + Q + "a", {ds, a.pq, a.pk, a.v}, {}, dPre);
      Value dpk = einsum(b, loc, pre + "bsa", {ds, a.pq, a.pk, a.v}, {}, dPre);
      Value dv = einsum(b, loc, Q + "s," + Q + "a,bsa->a", {ds, a.pq, a.pk}, {},
                        [](OpBuilder &nb, Location l, ValueRange v) -> Value {
                          Value m = arith::MulFOp::create(nb, l, v[0], tanhSum(nb, l, v[1], v[2]));
                          return arith::AddFOp::create(nb, l, v[3], m);
                        });
      Value dq = einsum(b, loc, Q + "a,ai->" + Q + "i", {dpq, w[0]});
      dkeys = einsum(b, loc, "bsa,ah->bsh", {dpk, w[1]}, dkeys);
      Value dWq = einsum(b, loc, Q + "a," + Q + "i->ai", {dpq, q});
      Value dWk = einsum(b, loc, "bsa,bsh->ah", {dpk, keys});
      Value dV = tensor::ExpandShapeOp::create(
          b, loc, w[2].getType(), dv, ArrayRef<ReassociationIndices>{{0, 1}});
      results = {dq, dkeys, dWq, dWk, dV};
    } else {
      // scores = qp . k_s.
      Value dqp = einsum(b, loc, Q + "s,bsh->" + Q + "h", {ds, keys});
      dkeys = einsum(b, loc, Q + "s," + Q + "h->bsh", {ds, a.qp}, dkeys);
      if (op.getKind() == AttentionKind::general) {
        // qp = q W.
        Value dq = einsum(b, loc, Q + "h,ih->" + Q + "i", {dqp, w[0]});
        Value dW = einsum(b, loc, Q + "i," + Q + "h->ih", {q, dqp});
        results = {dq, dkeys, dW};
      } else {
        results = {dqp, dkeys};
      }
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::rnn::populateAttentionOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<AttentionOpLowering, AttentionGradOpLowering>(patterns.getContext());
}
