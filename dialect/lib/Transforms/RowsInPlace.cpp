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

/// The tensor.empty that `v` is built on, through the destinations of the
/// ops that write into one (an scf.for's iteration argument, an
/// insert_slice's destination, a destination-style op's output, a cast),
/// when it lies inside `region` and has no other use; else null.
tensor::EmptyOp emptyRoot(Value v, Region &region) {
  for (int depth = 0; depth < 64 && v; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return {};
    if (auto empty = dyn_cast<tensor::EmptyOp>(def))
      return region.isAncestor(empty->getParentRegion()) && empty->hasOneUse() ? empty
                                                                               : tensor::EmptyOp();
    auto result = cast<OpResult>(v);
    if (auto loop = dyn_cast<scf::ForOp>(def))
      v = loop.getInitArgs()[result.getResultNumber()];
    else if (auto cast = dyn_cast<tensor::CastOp>(def))
      v = cast.getSource();
    else if (auto dps = dyn_cast<DestinationStyleOpInterface>(def))
      v = dps.getTiedOpOperand(result)->get();
    else
      return {};
  }
  return {};
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
        tensor::EmptyOp roots[2] = {emptyRoot(branch.thenYield().getOperand(r), branch.getThenRegion()),
                                    emptyRoot(branch.elseYield().getOperand(r), branch.getElseRegion())};
        auto type = cast<RankedTensorType>(insert.getSourceType());
        if (!roots[0] || !roots[1] || roots[0].getType() != type || roots[1].getType() != type ||
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
        for (tensor::EmptyOp empty : roots) {
          empty.getResult().replaceAllUsesWith(row.getResult());
          empty->erase();
        }
      }
    }
  }
};

} // namespace
