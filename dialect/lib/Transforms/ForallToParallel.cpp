//===- ForallToParallel.cpp - scf.forall iterations on the runtime's threads ===//
//
// After bufferization, an scf.forall without results (rnn-concurrent-
// directions' pair of directions, rnn-stacked-wavefront's pair of layers
// over a chunk) becomes
//
//   rnn.parallel work(%big) {
//   ^bb0(%tid: i64, %n: i64):
//     scf.for %k = %tid to %count step %n { <iteration lb + k * step> }
//     rnn.parallel_end
//   }
//
// so that thread `tid` of the `n` the runtime gives runs every n-th
// iteration (one thread runs them all, in order).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNFORALLTOPARALLELPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// Work reported to the runtime: always above its threshold for sharing
/// (rnn-concurrent-directions and rnn-stacked-wavefront only make loops
/// worth a second core).
constexpr int64_t kShareAlways = int64_t(1) << 40;

LogicalResult lower(scf::ForallOp op) {
  if (op.getRank() != 1)
    return op.emitOpError("with ") << op.getRank() << " dimensions: rnn-forall-to-parallel handles one";
  if (op.getNumResults() != 0 || !op.getTerminator().getYieldingOps().empty())
    return op.emitOpError("still has shared outputs: rnn-forall-to-parallel runs after bufferization");
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto value = [&](OpFoldResult f) { return getValueOrCreateConstantIndexOp(b, loc, f); };
  Value lb = value(op.getMixedLowerBound()[0]), ub = value(op.getMixedUpperBound()[0]),
        step = value(op.getMixedStep()[0]);
  Value count = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb), step);
  Type i64 = b.getI64Type();
  auto par = rnn::ParallelOp::create(b, loc, arith::ConstantIntOp::create(b, loc, i64, kShareAlways));
  Block *entry = b.createBlock(&par.getBody(), {}, {i64, i64}, {loc, loc});
  b.setInsertionPointToStart(entry);
  Value tid = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), entry->getArgument(0));
  Value n = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), entry->getArgument(1));
  auto loop = scf::ForOp::create(b, loc, tid, count, n);
  rnn::ParallelEndOp::create(b, loc);

  b.setInsertionPointToStart(loop.getBody());
  Value iv = arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, loop.getInductionVar(), step));
  Block *body = op.getBody();
  op.getInductionVars()[0].replaceAllUsesWith(iv);
  Block *dest = loop.getBody();
  dest->getOperations().splice(std::prev(dest->end()), body->getOperations(), body->begin(),
                               std::prev(body->end()));
  op.erase();
  return success();
}

struct RNNForallToParallelPass
    : mlir::rnn::impl::RNNForallToParallelPassBase<RNNForallToParallelPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> ops;
    getOperation()->walk([&](scf::ForallOp op) { ops.push_back(op); });
    for (scf::ForallOp op : ops)
      if (failed(lower(op)))
        return signalPassFailure();
  }
};

} // namespace
