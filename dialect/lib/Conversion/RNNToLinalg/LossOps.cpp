//===- LossOps.cpp - Losses to linalg reductions ---===//
//
// Mean cross-entropy and mean squared error (PyTorch reduction='mean').
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

/// Mean over positions of logsumexp(logits) - logits[target]; with weights,
/// sum(w * ce) / sum(w).
struct CrossEntropyOpLowering : OpConversionPattern<CrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CrossEntropyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value logits = adaptor.getLogits(), target = adaptor.getTarget(), w = adaptor.getWeights();
    auto ty = cast<RankedTensorType>(logits.getType());
    unsigned rank = ty.getRank();
    auto [mx, se] = maxAndSumExp(rewriter, loc, logits);
    unsigned posRank = rank - 1;
    AffineMap posId = AffineMap::getMultiDimIdentityMap(posRank, ctx);
    SmallVector<Value> ins = {target, mx, se};
    if (w)
      ins.push_back(w);
    auto ce = [&](OpBuilder &b, Location l, ValueRange a) {
      SmallVector<Value> idx;
      for (unsigned i = 0; i < posRank; ++i)
        idx.push_back(linalg::IndexOp::create(b, l, i));
      idx.push_back(arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]));
      Value picked = tensor::ExtractOp::create(b, l, logits, idx);
      Value lse = arith::AddFOp::create(b, l, math::LogOp::create(b, l, a[2]), a[1]);
      Value v = arith::SubFOp::create(b, l, lse, picked);
      return w ? Value(arith::MulFOp::create(b, l, a[3], v)) : v;
    };
    SmallVector<AffineMap> maps(ins.size(), posId);
    Value loss;
    if (w) {
      Value num = sumOverF64(rewriter, loc, ins, maps, posRank, ce);
      Value den = sumOverF64(rewriter, loc, ValueRange{w}, {posId}, posRank,
                             [](OpBuilder &, Location, ValueRange a) { return a[0]; });
      loss = scalarTensor(rewriter, loc, arith::DivFOp::create(rewriter, loc, num, den));
    } else {
      loss = meanOver(rewriter, loc, ins, maps, posRank, numElementsF32(rewriter, loc, target), ce);
    }
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

} // namespace

void mlir::rnn::populateLossOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<CrossEntropyOpLowering, MSEOpLowering>(patterns.getContext());
}
