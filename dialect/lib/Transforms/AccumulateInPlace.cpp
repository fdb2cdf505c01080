//===- AccumulateInPlace.cpp - acc + reduce(x) as reduce(x) into acc ------===//
//
// The adjoints of rnn-bptt accumulate: the weights' gradient inside the
// reverse time loop is `dW_acc + (dG^T h)`, where the contraction starts from
// a zero-filled tensor and an elementwise add follows. Starting the
// contraction from `dW_acc` instead computes the same sum with one pass over
// the gradient instead of three (fill, contract, add), and lets bufferization
// update the loop-carried accumulator in place.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNACCUMULATEINPLACEPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// `a + b` elementwise over same-shaped tensors with identity maps.
bool isElementwiseAdd(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0)
    return false;
  for (AffineMap m : op.getIndexingMapsArray())
    if (!m.isIdentity())
      return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || &body.front() != add.getOperation())
    return false;
  Value a0 = body.getArgument(0), a1 = body.getArgument(1);
  return (add.getLhs() == a0 && add.getRhs() == a1) || (add.getLhs() == a1 && add.getRhs() == a0);
}

/// A single-result generic whose body yields `out + f(ins)` (f not reading
/// `out`) and whose init is a fill with 0: it computes a plain sum.
bool isSumFromZero(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return false;
  auto fill = op.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return false;
  Block &body = op.getRegion().front();
  BlockArgument out = body.getArgument(op.getNumDpsInputs());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !out.hasOneUse())
    return false;
  return add.getLhs() == out || add.getRhs() == out;
}

/// The two addends of an elementwise add over same-shaped tensors: a
/// `linalg.add`, or a `linalg.generic` with identity maps yielding `a + b`.
std::optional<std::pair<Value, Value>> addends(Operation *op) {
  if (auto add = dyn_cast<linalg::AddOp>(op)) {
    if (!add.hasPureTensorSemantics() || add.getInputs()[0].getType() != add.getInputs()[1].getType())
      return std::nullopt;
    return std::make_pair(add.getInputs()[0], add.getInputs()[1]);
  }
  auto gen = dyn_cast<linalg::GenericOp>(op);
  if (!gen || !isElementwiseAdd(gen))
    return std::nullopt;
  return std::make_pair(gen.getDpsInputOperand(0)->get(), gen.getDpsInputOperand(1)->get());
}

struct FoldAddIntoReduction : RewritePattern {
  FoldAddIntoReduction(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}

  LogicalResult matchAndRewrite(Operation *add, PatternRewriter &rewriter) const override {
    auto ops = addends(add);
    if (!ops)
      return failure();
    Value in[2] = {ops->first, ops->second};
    for (int i = 0; i < 2; ++i) {
      Value sum = in[i], acc = in[1 - i];
      auto producer = sum.getDefiningOp<linalg::GenericOp>();
      if (!producer || !sum.hasOneUse() || !isSumFromZero(producer) ||
          sum.getType() != add->getResult(0).getType() || acc.getType() != sum.getType())
        continue;
      rewriter.setInsertionPoint(add);
      auto newOp = cast<linalg::GenericOp>(rewriter.clone(*producer));
      newOp.getDpsInitOperand(0)->set(acc);
      rewriter.replaceOp(add, newOp->getResults());
      rewriter.eraseOp(producer);
      return success();
    }
    return failure();
  }
};

struct RNNAccumulateInPlacePass
    : mlir::rnn::impl::RNNAccumulateInPlacePassBase<RNNAccumulateInPlacePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldAddIntoReduction>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
