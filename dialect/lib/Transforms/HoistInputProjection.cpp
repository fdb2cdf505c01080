//===- HoistInputProjection.cpp - Input projections out of the time loop -----===//
//
// rnn.dense of a step input with loop-invariant weights becomes one rnn.dense
// over the whole sequence before the recurrence.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNHOISTINPUTPROJECTIONPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

struct HoistInputProjection : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp rec, PatternRewriter &rewriter) const override {
    Block &body = rec.getBody().front();
    unsigned numIn = rec.getInputs().size();
    auto definedOutside = [&](Value v) {
      return !v || !rec.getBody().isAncestor(v.getParentRegion());
    };
    DenseOp dense;
    unsigned argIdx = 0;
    for (auto d : body.getOps<DenseOp>()) {
      auto arg = dyn_cast<BlockArgument>(d.getInput());
      if (!arg || arg.getOwner() != &body || arg.getArgNumber() >= numIn)
        continue;
      if (!definedOutside(d.getWeight()) || !definedOutside(d.getBias()))
        continue;
      dense = d;
      argIdx = arg.getArgNumber();
      break;
    }
    if (!dense)
      return rewriter.notifyMatchFailure(rec, "no per-step projection of an input to hoist");

    Location loc = dense.getLoc();
    Value seq = rec.getInputs()[argIdx];
    auto seqTy = cast<RankedTensorType>(seq.getType());
    auto stepTy = cast<RankedTensorType>(dense.getType());
    auto projTy = RankedTensorType::get(
        {seqTy.getDimSize(0), seqTy.getDimSize(1), stepTy.getDimSize(1)}, stepTy.getElementType());
    rewriter.setInsertionPoint(rec);
    Value proj = DenseOp::create(rewriter, loc, projTy, seq, dense.getWeight(), dense.getBias(),
                                 dense.getActivation());

    SmallVector<Value> inputs(rec.getInputs().begin(), rec.getInputs().end());
    inputs.push_back(proj);
    auto next = RecurrenceOp::create(rewriter, rec.getLoc(), rec.getResultTypes(), inputs,
                                     rec.getInit(), rec.getLengths(), rec.getReverse());
    next.getBody().takeBody(rec.getBody());
    Block &nb = next.getBody().front();
    Value stepArg = nb.insertArgument(numIn, stepTy, loc);
    rewriter.replaceAllUsesWith(dense.getResult(), stepArg);
    rewriter.eraseOp(dense);
    rewriter.replaceOp(rec, next.getResults());
    return success();
  }
};

struct RNNHoistInputProjectionPass
    : rnn::impl::RNNHoistInputProjectionPassBase<RNNHoistInputProjectionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<HoistInputProjection>(&getContext());
    RecurrenceOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
