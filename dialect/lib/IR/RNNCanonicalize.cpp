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

/// Per-step outputs that yield the same value are the same sequence: the
/// later ones' uses read the first one (DropUnusedRecurrenceOutputs then
/// drops them). The adjoint loop of an LSTM yields the gate adjoints `dG_t`
/// once for the input weights' gradient and once for the recurrent
/// weights'; one sequence saves a copy of `dG_t` per step.
struct MergeDuplicateRecurrenceOutputs : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    auto yield = cast<YieldOp>(op.getBody().front().getTerminator());
    unsigned numOut = op.getNumOutputs();
    bool changed = false;
    for (unsigned j = 1; j < numOut; ++j) {
      Value seq = op.getOutputs()[j];
      if (seq.use_empty())
        continue;
      for (unsigned i = 0; i < j; ++i)
        if (yield.getValues()[i] == yield.getValues()[j] &&
            op.getOutputs()[i].getType() == seq.getType()) {
          rewriter.replaceAllUsesWith(seq, op.getOutputs()[i]);
          changed = true;
          break;
        }
    }
    return success(changed);
  }
};

/// Drops input sequences whose step the body no longer reads (keeping one:
/// it gives the loop its batch and time sizes).
struct DropUnusedRecurrenceInputs : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    unsigned numIn = op.getInputs().size();
    SmallVector<unsigned> dead;
    for (unsigned i = 0; i < numIn; ++i)
      if (body.getArgument(i).use_empty())
        dead.push_back(i);
    if (dead.empty())
      return rewriter.notifyMatchFailure(op, "every input is read");
    if (dead.size() == numIn)
      dead.pop_back();
    if (dead.empty())
      return rewriter.notifyMatchFailure(op, "the only input stays (it sizes the loop)");
    SmallVector<Value> inputs;
    for (unsigned i = 0; i < numIn; ++i)
      if (!llvm::is_contained(dead, i))
        inputs.push_back(op.getInputs()[i]);
    auto next = RecurrenceOp::create(rewriter, op.getLoc(), op.getResultTypes(), inputs,
                                     op.getInit(), op.getLengths(), op.getReverse());
    next.getBody().takeBody(op.getBody());
    Block &nb = next.getBody().front();
    for (unsigned i : llvm::reverse(dead))
      nb.eraseArgument(i);
    rewriter.replaceOp(op, next.getResults());
    return success();
  }
};

} // namespace

void RecurrenceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<DropUnusedRecurrenceOutputs, DropUnusedRecurrenceInputs,
              MergeDuplicateRecurrenceOutputs>(context);
}
