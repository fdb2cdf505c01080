//===- UnrollTime.cpp - unroll the time loops ------------------------------===//
//
// The `scf.for` loops lowered from `rnn.recurrence` and `rnn.decode` (marked
// `rnn.shape_preserving`) are unrolled on tensors, before bufferization:
// fully when the number of steps is static and at most `full-max-steps`,
// otherwise by `factor` (the steps past the last multiple of `factor` run
// in an epilogue loop; its trip count is dynamic when the length is). The
// unrolled body chains the states of consecutive steps through SSA values,
// with no loop back-edge between them. Measured neutral on the hosts so far
// (docs/architecture.md), so only -O3 enables it.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNUNROLLTIMEPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

struct RNNUnrollTimePass : mlir::rnn::impl::RNNUnrollTimePassBase<RNNUnrollTimePass> {
  using Base::Base;

  void runOnOperation() override {
    if (factor < 1 || fullMaxSteps < 0) {
      getOperation()->emitError()
          << "rnn-unroll-time: factor must be >= 1 and full-max-steps >= 0 (got "
          << static_cast<int64_t>(factor) << ", " << static_cast<int64_t>(fullMaxSteps) << ")";
      return signalPassFailure();
    }
    // Innermost loops first (post-order), so that an outer time loop is
    // unrolled with its inner loops already unrolled.
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp op) {
      if (op->hasAttr(mlir::rnn::attrs::kShapePreserving))
        loops.push_back(op);
    });
    for (scf::ForOp loop : loops) {
      hoistEmptyTensors(loop);
      std::optional<int64_t> steps = constantTripCount(loop);
      if (steps && *steps <= fullMaxSteps) {
        if (*steps > 1 && failed(loopUnrollFull(loop)))
          loop.emitWarning("rnn-unroll-time: could not unroll fully");
        continue;
      }
      if (factor > 1 && (!steps || *steps > 1) && failed(loopUnrollByFactor(loop, factor)))
        loop.emitWarning("rnn-unroll-time: could not unroll by ") << static_cast<int64_t>(factor);
    }
  }

  /// Moves the loop's `tensor.empty` ops with loop-invariant sizes before
  /// it: the per-step temporaries (gate pre-activations, ...) of the
  /// unrolled copies then start from one value, which bufferization gives
  /// one buffer, as it does for the rolled loop.
  static void hoistEmptyTensors(scf::ForOp loop) {
    SmallVector<tensor::EmptyOp> empties;
    loop.getBody()->walk([&](tensor::EmptyOp op) {
      if (llvm::all_of(op->getOperands(),
                       [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
        empties.push_back(op);
    });
    for (tensor::EmptyOp op : empties)
      op->moveBefore(loop);
  }

  static std::optional<int64_t> constantTripCount(scf::ForOp loop) {
    std::optional<llvm::APInt> n = loop.getStaticTripCount();
    if (!n)
      return std::nullopt;
    return n->getSExtValue();
  }
};

} // namespace
