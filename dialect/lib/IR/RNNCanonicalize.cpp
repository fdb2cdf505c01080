//===- RNNCanonicalize.cpp - Canonicalization patterns of the rnn ops -------===//
#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
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

/// Drops states that every step yields unchanged (its block argument): the
/// final state is the initial one, and the body reads the initial value.
/// rnn-hoist-weight-gradients leaves the adjoint's weight-gradient
/// accumulators so once it has moved their sums after the loop; carried,
/// they were copied in and out of every loop that holds the recurrence (the
/// forall rows of rnn-concurrent-directions and rnn-stacked-wavefront).
struct DropInvariantRecurrenceStates : OpRewritePattern<RecurrenceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrenceOp op,
                                PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    unsigned numIn = op.getInputs().size(), numState = op.getInit().size();
    unsigned numOut = yield.getValues().size() - numState;
    SmallVector<unsigned> dead;
    for (unsigned i = 0; i < numState; ++i)
      if (yield.getValues()[numOut + i] == body.getArgument(numIn + i))
        dead.push_back(i);
    if (dead.empty())
      return rewriter.notifyMatchFailure(op, "every state changes");
    SmallVector<Value> init;
    SmallVector<Type> types(op.getOutputs().getTypes());
    SmallVector<Value> yielded(yield.getValues().take_front(numOut));
    for (unsigned i = 0; i < numState; ++i)
      if (!llvm::is_contained(dead, i)) {
        init.push_back(op.getInit()[i]);
        types.push_back(op.getInit()[i].getType());
        yielded.push_back(yield.getValues()[numOut + i]);
      }
    rewriter.setInsertionPoint(yield);
    rewriter.replaceOpWithNewOp<YieldOp>(yield, yielded);
    for (unsigned i : dead)
      rewriter.replaceAllUsesWith(body.getArgument(numIn + i), op.getInit()[i]);
    rewriter.setInsertionPoint(op);
    auto next = RecurrenceOp::create(rewriter, op.getLoc(), types, op.getInputs(), init,
                                     op.getLengths(), op.getReverse());
    next.getBody().takeBody(op.getBody());
    Block &nb = next.getBody().front();
    for (unsigned i : llvm::reverse(dead))
      nb.eraseArgument(numIn + i);
    SmallVector<Value> replacements(next.getOutputs());
    unsigned kept = 0;
    for (unsigned i = 0; i < numState; ++i)
      replacements.push_back(llvm::is_contained(dead, i) ? op.getInit()[i]
                                                         : next.getFinalStates()[kept++]);
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

/// Whether the extract_slice reads none of the elements the insert_slice
/// writes (disjoint static ranges along some dimension, unit strides).
bool readsNoneOf(tensor::ExtractSliceOp ex, tensor::InsertSliceOp ins) {
  if (!ex.hasUnitStride() || !ins.hasUnitStride())
    return false;
  auto eo = ex.getStaticOffsets(), es = ex.getStaticSizes();
  auto io = ins.getStaticOffsets(), is = ins.getStaticSizes();
  for (size_t d = 0; d < eo.size(); ++d) {
    if (ShapedType::isDynamic(eo[d]) || ShapedType::isDynamic(es[d]) || ShapedType::isDynamic(io[d]) ||
        ShapedType::isDynamic(is[d]))
      continue;
    if (eo[d] + es[d] <= io[d] || io[d] + is[d] <= eo[d])
      return true;
  }
  return false;
}

/// An insert_slice whose result is only read by extract_slices of other
/// elements is dead: they read the same slices of its destination.
/// rnn-bptt's adjoint of an insert_slice zeroes the inserted part of the
/// destination's gradient (the output gradient of a bidirectional layer,
/// before the forward direction reads its half): the fill and the write go,
/// and one-shot bufferization need not copy the gradient when the two halves
/// are read side by side (rnn-concurrent-directions). Only when every user
/// is such a read: otherwise the destination would be read after the write
/// into its buffer, which bufferization would resolve with a copy.
struct ExtractsAroundDeadInsert : OpRewritePattern<tensor::InsertSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::InsertSliceOp ins, PatternRewriter &rewriter) const override {
    if (ins->use_empty() || !llvm::all_of(ins->getUsers(), [&](Operation *user) {
          auto ex = dyn_cast<tensor::ExtractSliceOp>(user);
          return ex && readsNoneOf(ex, ins);
        }))
      return failure();
    for (Operation *user : llvm::to_vector(ins->getUsers()))
      rewriter.modifyOpInPlace(user, [&] {
        cast<tensor::ExtractSliceOp>(user).getSourceMutable().assign(ins.getDest());
      });
    rewriter.eraseOp(ins);
    return success();
  }
};

/// Offsets that are all zero place the input at the origin: the op without
/// them draws the same mask.
struct DropZeroDropoutOffsets : OpRewritePattern<DropoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DropoutOp op, PatternRewriter &rewriter) const override {
    if (op.getOffsets().empty() ||
        !llvm::all_of(op.getOffsets(), [](Value v) { return matchPattern(v, m_Zero()); }))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getOffsetsMutable().clear(); });
    return success();
  }
};

} // namespace

void DropoutOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<DropZeroDropoutOffsets>(context);
}

void RNNDialect::getCanonicalizationPatterns(RewritePatternSet &results) const {
  results.add<ExtractsAroundDeadInsert>(getContext());
}

void RecurrenceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<DropUnusedRecurrenceOutputs, DropUnusedRecurrenceInputs,
              MergeDuplicateRecurrenceOutputs, DropInvariantRecurrenceStates>(context);
}
