//===- RowsInPlace.cpp - Branches of a forall compute in their rows -------===//
//
// rnn-concurrent-directions and rnn-stacked-wavefront run two recurrences
// side by side as the two iterations of an scf.forall whose body is an
// scf.if, one branch per iteration; each result goes back into its row of a
// stacked shared output:
//
//   scf.forall (%i) in (2) shared_outs(%o = ...) {
//     %r = scf.if (%i == 0) { %e = tensor.empty; <fill %e>; yield } else { ... }
//     scf.forall.in_parallel { tensor.parallel_insert_slice %r into %o[%i, ...] }
//   }
//
// One-shot bufferization does not look through the scf.if: each branch
// fills a fresh buffer that is then copied into the row. When the result
// is built, in both branches, on a tensor.empty (through destination
// operands: scf.for iteration arguments, insert_slice destinations, linalg
// outputs), both empties become the row itself, extracted before the
// scf.if; the branches then write the row in place and the insertion is a
// copy onto itself, which canonicalization drops.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNROWSINPLACEPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// The use of a tensor.empty that the value `yielded` passes on is built on
/// (the yield's operand itself, or one reached through the destinations of
/// the ops that write into one: an scf.for's iteration argument, an
/// insert_slice's destination, a destination-style output, a cast), when
/// that use lies inside `region`; else null. The empty itself may be shared
/// (CSE merges equal empties: the training forward's saved sequences start
/// from one) or defined above: only this use becomes the row, an empty's
/// contents being undefined wherever it is used.
OpOperand *emptyUse(OpOperand &yielded, Region &region) {
  OpOperand *use = &yielded;
  Value v = yielded.get();
  for (int depth = 0; depth < 64; ++depth) {
    if (v.getDefiningOp<tensor::EmptyOp>())
      return region.isAncestor(use->getOwner()->getParentRegion()) ? use : nullptr;
    Operation *def = v.getDefiningOp();
    if (!def)
      return nullptr;
    auto result = cast<OpResult>(v);
    if (auto loop = dyn_cast<scf::ForOp>(def))
      use = &loop.getInitArgsMutable()[result.getResultNumber()];
    else if (auto cast = dyn_cast<tensor::CastOp>(def))
      use = &cast.getSourceMutable();
    else if (auto dps = dyn_cast<DestinationStyleOpInterface>(def))
      use = dps.getTiedOpOperand(result);
    else
      return nullptr;
    v = use->get();
  }
  return nullptr;
}

struct RNNRowsInPlacePass : mlir::rnn::impl::RNNRowsInPlacePassBase<RNNRowsInPlacePass> {
  using Base::Base;
  void runOnOperation() override {
    DominanceInfo dom(getOperation());
    SmallVector<scf::ForallOp> foralls;
    getOperation()->walk([&](scf::ForallOp op) { foralls.push_back(op); });
    for (scf::ForallOp forall : foralls) {
      for (Operation &yielding : forall.getTerminator().getYieldingOps()) {
        auto insert = dyn_cast<tensor::ParallelInsertSliceOp>(&yielding);
        if (!insert)
          continue;
        auto result = dyn_cast<OpResult>(insert.getSource());
        auto branch = result ? dyn_cast<scf::IfOp>(result.getOwner()) : scf::IfOp();
        auto dest = dyn_cast<BlockArgument>(insert.getDest());
        if (!branch || branch->getBlock() != forall.getBody() || !branch.elseBlock() || !dest ||
            dest.getOwner() != forall.getBody())
          continue;
        unsigned r = result.getResultNumber();
        OpOperand *uses[2] = {emptyUse(branch.thenYield()->getOpOperand(r), branch.getThenRegion()),
                              emptyUse(branch.elseYield()->getOpOperand(r), branch.getElseRegion())};
        if (!uses[0] || !uses[1])
          continue;
        auto roots = std::array<tensor::EmptyOp, 2>{uses[0]->get().getDefiningOp<tensor::EmptyOp>(),
                                                    uses[1]->get().getDefiningOp<tensor::EmptyOp>()};
        auto type = cast<RankedTensorType>(insert.getSourceType());
        if (roots[0].getType() != type || roots[1].getType() != type ||
            roots[0].getDynamicSizes() != roots[1].getDynamicSizes())
          continue;
        // The row: the insertion's offsets and strides, its sizes (the
        // dropped unit axes, then the empty's sizes, which are defined
        // above the forall when they are not static).
        SmallVector<OpFoldResult> sizes = insert.getMixedSizes();
        llvm::SmallBitVector dropped = insert.getDroppedDims();
        SmallVector<OpFoldResult> emptySizes = roots[0].getMixedSizes();
        for (unsigned d = 0, s = 0; d < sizes.size(); ++d)
          if (!dropped.test(d))
            sizes[d] = emptySizes[s++];
        auto dominates = [&](OpFoldResult f) {
          auto v = dyn_cast<Value>(f);
          return !v || dom.properlyDominates(v, branch);
        };
        if (!llvm::all_of(insert.getMixedOffsets(), dominates) || !llvm::all_of(sizes, dominates) ||
            !llvm::all_of(insert.getMixedStrides(), dominates))
          continue;
        OpBuilder b(branch);
        auto row = tensor::ExtractSliceOp::create(b, insert.getLoc(), type, dest,
                                                  insert.getMixedOffsets(), sizes,
                                                  insert.getMixedStrides());
        for (OpOperand *use : uses) {
          tensor::EmptyOp empty = use->get().getDefiningOp<tensor::EmptyOp>();
          use->set(row.getResult());
          if (empty->use_empty())
            empty->erase();
        }
      }
    }
  }
};

} // namespace
