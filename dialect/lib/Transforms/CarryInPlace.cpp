//===- CarryInPlace.cpp - Loop-carried states updated in their own buffer --===//
//
// The lowering computes each step's next state into a fresh tensor.empty;
// after bufferization that is one allocation per state per step (and a
// deallocation of the previous one). When the next value of an scf.for
// iteration argument is computed by a linalg op that does not read that
// output, the op can write into the iteration argument instead: one-shot
// bufferization then updates the state's buffer in place (copying only where
// the old value is still read afterwards, e.g. a saved state).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNCARRYINPLACEPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

struct RNNCarryInPlacePass : mlir::rnn::impl::RNNCarryInPlacePassBase<RNNCarryInPlacePass> {
  void runOnOperation() override {
    getOperation()->walk([](scf::ForOp loop) {
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      // The new value must have the iteration argument's sizes: a static
      // type, or a time loop (`rnn.shape_preserving`, whose states keep
      // their sizes). Other loops may carry tensors whose dynamic sizes
      // change from one iteration to the next (rnn-stacked-wavefront's
      // chunks, the first one of zero steps).
      bool preserving = loop->hasAttr(mlir::rnn::attrs::kShapePreserving);
      for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
        if (auto type = dyn_cast<RankedTensorType>(arg.getType()); !preserving && (!type || !type.hasStaticShape()))
          continue;
        auto res = dyn_cast<OpResult>(yield.getOperand(i));
        auto op = res ? dyn_cast<linalg::LinalgOp>(res.getOwner()) : linalg::LinalgOp();
        if (!op || op->getBlock() != loop.getBody() || !op.hasPureTensorSemantics())
          continue;
        OpOperand *init = op.getDpsInitOperand(res.getResultNumber());
        if (!init->get().getDefiningOp<tensor::EmptyOp>() || init->get().getType() != arg.getType() ||
            op.payloadUsesValueFromOperand(init))
          continue;
        // Another result of the op must not already write into `arg`.
        if (llvm::is_contained(op.getDpsInits(), arg))
          continue;
        init->set(arg);
      }
    });
  }
};

} // namespace
