//===- ForwardCopies.cpp - Ops write where their results are copied to ----===//
//
// After one-shot bufferization a value assembled from several results of
// one linalg op (a step's gate adjoints: four [B, H] blocks of a [B, 4H] slot
// of the saved sequence) is computed into temporaries and then copied block
// by block: the analysis treats insertions of the op's results into one
// buffer as conflicting with each other. When a temporary exists only to be
// written by that op and copied once, the op can write into the copy's
// destination directly.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNFORWARDCOPIESPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// A copy from a temporary that only `writer` fills.
struct Forward {
  Operation *copy;
  OpOperand *init; // the writer's operand that is the copy's source
  Value dst;
};

/// The source and destination of a buffer copy, or nulls.
std::pair<Value, Value> copyOperands(Operation *op) {
  if (auto c = dyn_cast<memref::CopyOp>(op))
    return {c.getSource(), c.getTarget()};
  if (auto c = dyn_cast<linalg::CopyOp>(op))
    if (c.hasPureBufferSemantics())
      return {c.getInputs()[0], c.getOutputs()[0]};
  return {};
}

/// The candidate for `copy`: its source is (a view of) a memref.alloc whose
/// only other user, through views, is one linalg op writing exactly that
/// source as an output it does not read.
std::optional<Forward> candidate(Operation *copy) {
  auto [src, dst] = copyOperands(copy);
  if (!src)
    return std::nullopt;
  auto alloc = rnn::viewRoot(src).getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return std::nullopt;
  linalg::LinalgOp writer;
  for (OpOperand *use : rnn::nonViewUses(alloc.getResult())) {
    Operation *user = use->getOwner();
    if (user == copy && use->get() == src)
      continue;
    auto op = dyn_cast<linalg::LinalgOp>(user);
    if (!op || writer || use->get() != src || !op.hasPureBufferSemantics() || !op.isDpsInit(use) ||
        op.payloadUsesValueFromOperand(use))
      return std::nullopt;
    writer = op;
  }
  if (!writer || writer->getBlock() != copy->getBlock() || !writer->isBeforeInBlock(copy))
    return std::nullopt;
  for (OpOperand &use : src.getUses())
    if (use.getOwner() == writer.getOperation())
      return Forward{copy, &use, dst};
  return std::nullopt;
}

/// The ops defining `dst`'s view chain that come after `writer` in its
/// block, outermost view first, if they can all be moved before it.
std::optional<SmallVector<Operation *>> viewsToHoist(Value dst, Operation *writer,
                                                    DominanceInfo &dom) {
  SmallVector<Operation *> chain;
  Value v = dst;
  while (!dom.properlyDominates(v, writer)) {
    auto view = v.getDefiningOp<ViewLikeOpInterface>();
    if (!view || view->getBlock() != writer->getBlock() || !isMemoryEffectFree(view))
      return std::nullopt;
    chain.push_back(view);
    for (Value operand : view->getOperands())
      if (operand != view.getViewSource() && !dom.properlyDominates(operand, writer))
        return std::nullopt;
    v = view.getViewSource();
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

struct RNNForwardCopiesPass : mlir::rnn::impl::RNNForwardCopiesPassBase<RNNForwardCopiesPass> {
  void runOnOperation() override {
    // Candidates grouped by their writer, in program order.
    llvm::MapVector<Operation *, SmallVector<Forward>> byWriter;
    getOperation()->walk([&](Operation *op) {
      if (auto f = candidate(op))
        byWriter[f->init->getOwner()].push_back(*f);
    });
    DominanceInfo dom(getOperation());
    for (auto &[writer, forwards] : byWriter) {
      // Between the writer and its last copy: nothing that touches memory
      // except the copies being removed.
      Operation *last = forwards.back().copy;
      for (const Forward &f : forwards)
        if (last->isBeforeInBlock(f.copy))
          last = f.copy;
      llvm::SmallPtrSet<Operation *, 8> removed;
      for (const Forward &f : forwards)
        removed.insert(f.copy);
      bool clean = true;
      for (Operation *op = writer->getNextNode(); op != last; op = op->getNextNode())
        if (!removed.contains(op) && !isMemoryEffectFree(op))
          clean = false;
      if (!clean)
        continue;
      // The writer must not read or write a destination's buffer through
      // its other operands (those that are not themselves forwarded).
      llvm::SmallPtrSet<OpOperand *, 8> forwarded;
      for (const Forward &f : forwards)
        forwarded.insert(f.init);
      llvm::SmallPtrSet<Value, 8> touched;
      for (OpOperand &o : writer->getOpOperands())
        if (!forwarded.contains(&o) && isa<BaseMemRefType>(o.get().getType()))
          touched.insert(rnn::viewRoot(o.get()));
      for (const Forward &f : forwards) {
        if (touched.contains(rnn::viewRoot(f.dst)))
          continue;
        auto views = viewsToHoist(f.dst, writer, dom);
        if (!views)
          continue;
        for (Operation *view : *views)
          view->moveBefore(writer);
        Value tmp = f.init->get();
        f.init->set(f.dst);
        f.copy->erase();
        // The temporary (an alloc, or views of one) is dead now.
        for (Value v = tmp; v && v.use_empty();) {
          Operation *def = v.getDefiningOp();
          auto view = dyn_cast_or_null<ViewLikeOpInterface>(def);
          v = view ? view.getViewSource() : Value();
          if (def)
            def->erase();
        }
      }
    }
  }
};

} // namespace
