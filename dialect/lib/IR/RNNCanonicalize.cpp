//===- RNNCanonicalize.cpp - Canonicalization patterns of the rnn ops -------===//
#include "rnn/IR/RNNOps.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// Drops per-step outputs whose sequence result is unused (e.g. the output
/// sequence of a many-to-one layer): the loop then stops writing them.
struct DropUnusedRecurrenceOutputs : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    unsigned numOut = op.getNumOutputs();
    SmallVector<unsigned> kept;
    for (unsigned i = 0; i < numOut; ++i)
      if (!op.getOutputs()[i].use_empty())
        kept.push_back(i);
    if (kept.size() == numOut)
      return rewriter.notifyMatchFailure(op, "every sequence result is used");

    SmallVector<Type> types;
    for (unsigned i : kept)
      types.push_back(op.getOutputs()[i].getType());
    for (Value s : op.getFinalStates())
      types.push_back(s.getType());
    auto newOp = RecurrenceOp::create(rewriter, op.getLoc(), types, op.getInputs(),
                                      op.getInit(), op.getLengths(), op.getReverse());
    rewriter.inlineRegionBefore(op.getBody(), newOp.getBody(), newOp.getBody().end());

    auto yield = cast<YieldOp>(newOp.getBody().front().getTerminator());
    SmallVector<Value> yielded;
    for (unsigned i : kept)
      yielded.push_back(yield.getValues()[i]);
    yielded.append(yield.getValues().begin() + numOut, yield.getValues().end());
    rewriter.setInsertionPoint(yield);
    rewriter.replaceOpWithNewOp<YieldOp>(yield, yielded);

    SmallVector<Value> replacements(op.getNumResults(), Value());
    for (auto [newIdx, oldIdx] : llvm::enumerate(kept))
      replacements[oldIdx] = newOp.getResult(newIdx);
    for (unsigned s = 0; s < op.getFinalStates().size(); ++s)
      replacements[numOut + s] = newOp.getResult(kept.size() + s);
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

} // namespace

void RecurrenceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<DropUnusedRecurrenceOutputs>(context);
}
