//===- TransposeWeights.cpp - [in, out] copies for sequence-wide GEMMs ----===//
//
// A contraction outside every time loop whose rows span batch x time (the
// hoisted input projection, a dense head over a sequence) reads PyTorch's
// `[out, in]` weight in the dot form: every output is a horizontal sum over
// the input axis, and the rows are re-read once per tile of output columns.
// Reading a transposed `[in, out]` copy instead, made once per call, gives
// rnn-vectorize-kernels the broadcast form (the output's last axis
// contiguous in the weight: no horizontal sums, register tiles of rows x
// vectors, GotoBLAS blocking):
//
//   %wt = linalg.transpose ins(%w : tensor<NxK>) outs(tensor<KxN>) [1, 0]
//   linalg.generic {maps = [(.., k), (n, k) -> (k, n), (.., n)]} ins(%x, %wt)
//
// Contractions inside loops (per-step GEMVs at batch 1, where the dot form
// streams the weights fastest) are left alone unless their reduction is at
// most `max-step-reduction` long (tiny hidden sizes: the dot form would fill
// a fraction of a vector and pay a horizontal sum per output).
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNTRANSPOSEWEIGHTSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using mlir::rnn::dimOf;

namespace {

struct RNNTransposeWeightsPass
    : mlir::rnn::impl::RNNTransposeWeightsPassBase<RNNTransposeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (rnn::isTensorMultiplyAdd(op) && op.getNumReductionLoops() == 1)
        ops.push_back(op);
    });
    DenseMap<Value, Value> transposed;
    for (linalg::GenericOp op : ops)
      rewrite(op, transposed);
  }

  void rewrite(linalg::GenericOp op, DenseMap<Value, Value> &transposed) {
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    AffineMap outMap = maps[2];
    // Rows spanning a sequence: an output of rank 3 or more ([B, T, N])
    // outside loops; or a per-step contraction with a tiny reduction.
    scf::ForOp loop = rnn::enclosingLoop(op);
    if (!loop && outMap.getNumResults() < 3)
      return;
    std::optional<int64_t> stepK;
    if (loop) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray()))
        if (it == utils::IteratorType::reduction)
          stepK = ranges[d];
      if (!stepK || ShapedType::isDynamic(*stepK) || *stepK > maxStepReduction)
        return;
    }
    std::optional<unsigned> n = dimOf(outMap.getResults().back());
    unsigned k = 0;
    for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray()))
      if (it == utils::IteratorType::reduction)
        k = d;
    if (!n)
      return;
    for (unsigned w = 0; w < 2; ++w) {
      AffineMap wm = maps[w], xm = maps[1 - w];
      Value weight = op.getDpsInputOperand(w)->get();
      auto type = dyn_cast<RankedTensorType>(weight.getType());
      // The weight [N, K] (K contiguous), the other input also contiguous
      // along K: the dot form.
      if (!type || type.getRank() != 2 || !type.hasStaticShape() || wm.getNumResults() != 2 ||
          (loop && !loop.isDefinedOutsideOfLoop(weight)) ||
          dimOf(wm.getResult(0)) != n || dimOf(wm.getResult(1)) != k ||
          xm.getNumResults() == 0 || dimOf(xm.getResults().back()) != k)
        continue;
      Value &wt = transposed[weight];
      if (!wt) {
        OpBuilder b(op.getContext());
        b.setInsertionPointAfterValue(weight);
        Location loc = weight.getLoc();
        Value init = tensor::EmptyOp::create(
            b, loc, ArrayRef<int64_t>{type.getDimSize(1), type.getDimSize(0)},
            type.getElementType());
        wt = linalg::TransposeOp::create(b, loc, weight, init, ArrayRef<int64_t>{1, 0})
                 .getResult()
                 .front();
      }
      op->setOperand(w, wt);
      maps[w] = AffineMap::get(wm.getNumDims(), 0, {wm.getResult(1), wm.getResult(0)},
                               op.getContext());
      op.setIndexingMapsAttr(OpBuilder(op.getContext()).getAffineMapArrayAttr(maps));
      return;
    }
  }
};

} // namespace
