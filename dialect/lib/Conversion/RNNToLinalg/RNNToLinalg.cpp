//===- RNNToLinalg.cpp - The convert-rnn-to-linalg pass --------------------===//
//
// Sets up the conversion target and composes the pattern files (LayerOps,
// CellOps, LossOps, AttentionOps, GradOps); helpers are in LinalgBuilders.
//
//===----------------------------------------------------------------------===//
#include "rnn/Conversion/RNNToLinalg/RNNToLinalg.h"
#include "LinalgBuilders.h"
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_CONVERTRNNTOLINALGPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

struct ConvertRNNToLinalgPass
    : rnn::impl::ConvertRNNToLinalgPassBase<ConvertRNNToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult early = module.walk([](Operation *op) {
      if (isa<RecurrentOp>(op)) {
        op->emitOpError("must be expanded by rnn-expand-recurrent first");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (early.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect, func::FuncDialect>();
    target.addIllegalDialect<RNNDialect>();
    RewritePatternSet patterns(&getContext());
    populateRNNToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();

    // The states and output sequences a time loop carries keep their shape
    // from step to step (an rnn.recurrence/rnn.decode invariant): sizes read
    // from them inside the loop are those of their initial values, defined
    // outside. Per-step temporaries then have loop-invariant sizes and can be
    // allocated once before the loop.
    SmallVector<tensor::DimOp> dims;
    module.walk([&](tensor::DimOp d) {
      auto arg = dyn_cast<BlockArgument>(d.getSource());
      auto loop = arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()) : scf::ForOp();
      if (loop && loop->hasAttr(mlir::rnn::attrs::kShapePreserving) && arg.getArgNumber() > 0)
        dims.push_back(d);
    });
    for (tensor::DimOp d : dims) {
      auto arg = cast<BlockArgument>(d.getSource());
      auto loop = cast<scf::ForOp>(arg.getOwner()->getParentOp());
      Value init = loop.getInitArgs()[arg.getArgNumber() - 1];
      d.getSourceMutable().assign(init);
    }
  }
};

} // namespace

void mlir::rnn::populateRNNToLinalgConversionPatterns(RewritePatternSet &patterns) {
  populateLayerOpsToLinalgPatterns(patterns);
  populateCellOpsToLinalgPatterns(patterns);
  populateLossOpsToLinalgPatterns(patterns);
  populateAttentionOpsToLinalgPatterns(patterns);
  populateGradOpsToLinalgPatterns(patterns);
}
