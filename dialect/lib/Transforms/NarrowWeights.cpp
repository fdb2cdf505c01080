//===- NarrowWeights.cpp - f16/bf16 copies of the weights read every step -===//
//
// Opt-in (rnnc --weight-storage=f16|bf16). In the inference functions
// (`rnn.entry`, `rnn.step_entry`), every contraction inside a time loop that
// reads a loop-invariant f32 operand (a recurrent weight matrix) reads a
// narrow copy of it instead, converted once per call before the loops:
//
//   %w16 = linalg.generic ins(%w) outs(tensor.empty) { arith.truncf }
//   scf.for ... {
//     linalg.generic ins(%h, %w16) ... {
//     ^bb0(%a: f32, %b: f16, %o: f32):
//       %b32 = arith.extf %b : f16 to f32
//       ... the original multiply-add on %b32 ...
//     }
//   }
//
// The arithmetic stays f32; each step reads half the bytes of the weights.
// rnn-vectorize-kernels loads the narrow operand as vectors and widens them
// (F16C's vcvtph2ps for f16). Gradient and loss functions are left alone:
// training and its validation use the f32 weights.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNNARROWWEIGHTSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// The outermost scf.for around `op` that `v` is defined outside of (null if
/// `op` is in no loop or `v` varies in the innermost one; a chunk loop of
/// rnn-stacked-wavefront alone does not count: its sequence-wide
/// projections read their weights once per chunk, not per step).
scf::ForOp outermostInvariantLoop(Operation *op, Value v) {
  if (!rnn::enclosingLoop(op))
    return scf::ForOp();
  scf::ForOp found;
  for (auto loop = op->getParentOfType<scf::ForOp>(); loop;
       loop = loop->getParentOfType<scf::ForOp>()) {
    if (loop->isAncestor(v.getParentBlock()->getParentOp()))
      break;
    found = loop;
  }
  return found;
}

struct RNNNarrowWeightsPass
    : mlir::rnn::impl::RNNNarrowWeightsPassBase<RNNNarrowWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Type narrow;
    if (type == "f16")
      narrow = Float16Type::get(ctx);
    else if (type == "bf16")
      narrow = BFloat16Type::get(ctx);
    else {
      getOperation()->emitError() << "rnn-narrow-weights: type must be f16 or bf16, got '"
                                  << type << "'";
      return signalPassFailure();
    }
    getOperation()->walk([&](func::FuncOp fn) {
      if (rnn::isInferenceFunction(fn))
        narrowFunction(fn, narrow);
    });
  }

  void narrowFunction(func::FuncOp fn, Type narrow) {
    OpBuilder b(fn.getContext());
    DenseMap<Value, Value> copies; // f32 weight -> its narrow copy
    SmallVector<linalg::GenericOp> ops;
    fn.walk([&](linalg::GenericOp op) {
      if (rnn::isTensorMultiplyAdd(op))
        ops.push_back(op);
    });
    for (linalg::GenericOp op : ops) {
      for (unsigned i = 0; i < 2; ++i) {
        Value w = op.getDpsInputOperand(i)->get();
        auto type = dyn_cast<RankedTensorType>(w.getType());
        if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
            type.getNumElements() < minElements)
          continue;
        scf::ForOp loop = outermostInvariantLoop(op, w);
        if (!loop)
          continue;
        Value &copy = copies[w];
        if (!copy)
          copy = convert(b, w, type, narrow, loop);
        widenInput(op, i, copy);
      }
    }
  }

  /// The narrow copy of `w`, computed just before `loop`.
  static Value convert(OpBuilder &b, Value w, RankedTensorType type, Type narrow,
                       scf::ForOp loop) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(loop);
    Location loc = w.getLoc();
    auto narrowType = RankedTensorType::get(type.getShape(), narrow);
    Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), narrow);
    AffineMap id = b.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
    auto trunc = linalg::GenericOp::create(
        b, loc, TypeRange{narrowType}, ValueRange{w}, ValueRange{empty},
        ArrayRef<AffineMap>{id, id}, iters, [&](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc, arith::TruncFOp::create(b, loc, narrow, args[0]).getResult());
        });
    return trunc.getResult(0);
  }

  /// Input `i` of the contraction becomes `copy`, widened in the body.
  static void widenInput(linalg::GenericOp op, unsigned i, Value copy) {
    op->setOperand(i, copy);
    Block &body = op.getRegion().front();
    BlockArgument arg = body.getArgument(i);
    Type f32 = arg.getType();
    arg.setType(cast<ShapedType>(copy.getType()).getElementType());
    OpBuilder b(op.getContext());
    b.setInsertionPointToStart(&body);
    Value wide = arith::ExtFOp::create(b, op.getLoc(), f32, arg);
    arg.replaceAllUsesExcept(wide, wide.getDefiningOp());
  }
};

} // namespace
