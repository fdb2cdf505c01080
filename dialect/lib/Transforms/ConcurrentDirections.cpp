//===- ConcurrentDirections.cpp - A layer's two directions on two threads -===//
//
// A bidirectional layer is two recurrences that share their input and
// nothing else: the forward one and the reverse one. Each step of either is a chain
// of small kernels, so sharing every kernel between two cores costs a
// barrier per kernel per step; running the directions side by side costs one
// wake-up per layer. This pass puts each such pair, with the ops only it
// needs (the direction's hoisted input projection), into
//
//   %s:N = scf.forall (%i) in (2) shared_outs(%o = <N stacked [2, ...]>) {
//     %r:N = scf.if (%i == 0) { <direction 0>; yield } else { <direction 1> }
//     scf.forall.in_parallel { tensor.parallel_insert_slice %r#k into %o#k[%i, ...] }
//   }
//
// and reads each direction's results back as slices of the stacked results.
// One-shot bufferization knows scf.forall's iterations run concurrently (no
// buffer of one direction is reused by the other); rnn-forall-to-parallel
// then hands the two iterations to the runtime's threads. In every
// function: inference, loss and gradient (the training forward with its
// saved sequences, and the adjoint recurrences).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNCONCURRENTDIRECTIONSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// Where dimension `d` of a tensor comes from: a (value, dimension) pair
/// found by following the ops that pass a dimension on unchanged, or an
/// index value (a tensor.empty's size operand; `dim` is then -1).
struct DimSource {
  Value value;
  int64_t dim = -1;
  bool operator==(const DimSource &o) const { return value == o.value && dim == o.dim; }
};

DimSource dimSource(Value v, int64_t d) {
  for (int depth = 0; depth < 64; ++depth) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || d >= type.getRank())
      break;
    Operation *def = v.getDefiningOp();
    if (!def)
      break;
    if (auto rec = dyn_cast<RecurrenceOp>(def)) {
      unsigned idx = cast<OpResult>(v).getResultNumber();
      if (idx < rec.getNumOutputs()) {
        if (d >= 2 || rec.getInputs().empty())
          break;
        v = rec.getInputs()[0]; // [B, T, ...] like the first input
      } else {
        v = rec.getInit()[idx - rec.getNumOutputs()];
      }
      continue;
    }
    if (auto dense = dyn_cast<DenseOp>(def)) {
      if (d + 1 >= type.getRank())
        break;
      v = dense.getInput(); // the leading dimensions of the input
      continue;
    }
    if (auto emb = dyn_cast<EmbeddingOp>(def)) {
      if (d + 1 >= type.getRank())
        break;
      v = emb.getTokens();
      continue;
    }
    // A size operand: a tensor.dim's source dimension, or itself.
    Value size;
    if (auto empty = dyn_cast<tensor::EmptyOp>(def)) {
      if (!type.isDynamicDim(d))
        break;
      size = empty.getDynamicSize(d);
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
      llvm::SmallBitVector dropped = slice.getDroppedDims();
      SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
      int64_t r = -1;
      for (unsigned i = 0; i < sizes.size(); ++i)
        if (!dropped[i] && ++r == d) {
          size = dyn_cast<Value>(sizes[i]);
          break;
        }
      if (!size)
        break;
    }
    if (size) {
      auto dim = size.getDefiningOp<tensor::DimOp>();
      std::optional<int64_t> idx = dim ? dim.getConstantIndex() : std::nullopt;
      if (!idx)
        return DimSource{size, -1};
      v = dim.getSource();
      d = *idx;
      continue;
    }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(def)) {
      if (!dps.hasPureTensorSemantics() || def->getNumResults() != 1)
        break;
      v = dps.getDpsInitOperand(0)->get();
      continue;
    }
    break;
  }
  return DimSource{v, d};
}

/// A recurrence and the ops of its block that only it needs (directly or
/// through each other), in block order.
struct Task {
  RecurrenceOp rec;
  SmallVector<Operation *> ops;
};

Task taskOf(RecurrenceOp rec) {
  Block *block = rec->getBlock();
  llvm::SetVector<Operation *> members;
  members.insert(rec);
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Operation *> current(members.begin(), members.end());
    for (Operation *op : current) {
      SetVector<Value> used;
      getUsedValuesDefinedAbove(op->getRegions(), used);
      used.insert(op->operand_begin(), op->operand_end());
      for (Value v : used) {
        Operation *def = v.getDefiningOp();
        if (!def || def->getBlock() != block || members.contains(def) ||
            def->hasTrait<OpTrait::ConstantLike>() || !isMemoryEffectFree(def))
          continue;
        bool exclusive = llvm::all_of(def->getUsers(), [&](Operation *user) {
          Operation *anc = block->findAncestorOpInBlock(*user);
          return anc && members.contains(anc);
        });
        if (exclusive && members.insert(def))
          changed = true;
      }
    }
  }
  Task task{rec, SmallVector<Operation *>(members.begin(), members.end())};
  llvm::sort(task.ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return task;
}

/// Values the task's ops use that it does not define.
SetVector<Value> usedFromOutside(const Task &task) {
  llvm::SmallPtrSet<Operation *, 16> set(task.ops.begin(), task.ops.end());
  SetVector<Value> used, outside;
  for (Operation *op : task.ops) {
    getUsedValuesDefinedAbove(op->getRegions(), used);
    used.insert(op->operand_begin(), op->operand_end());
  }
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    if (!def || !set.contains(def))
      outside.insert(v);
  }
  return outside;
}

/// The value is defined before `pos` (in its block or above it).
bool definedBefore(Value v, Operation *pos) {
  Operation *def = v.getDefiningOp();
  Block *owner = def ? def->getBlock() : cast<BlockArgument>(v).getOwner();
  if (owner == pos->getBlock())
    return !def || def->isBeforeInBlock(pos);
  return owner->getParentOp()->isProperAncestor(pos);
}

/// The recurrences can run as mirror images of each other: one forward and
/// one reverse, with the same types, over sequences of the same batch and
/// length and states of the same batch.
bool mirrored(RecurrenceOp a, RecurrenceOp b) {
  if (a.getReverse() == b.getReverse() || a->getOperandTypes() != b->getOperandTypes() ||
      a->getResultTypes() != b->getResultTypes() || a.getInputs().size() != b.getInputs().size() ||
      a.getInputs().empty() || bool(a.getLengths()) != bool(b.getLengths()))
    return false;
  auto sameDims = [](Value x, Value y) {
    auto type = cast<RankedTensorType>(x.getType());
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d) && !(dimSource(x, d) == dimSource(y, d)))
        return false;
    return true;
  };
  if (!sameDims(a.getInputs()[0], b.getInputs()[0]))
    return false;
  for (auto [x, y] : llvm::zip(a.getInit(), b.getInit()))
    if (!sameDims(x, y))
      return false;
  return true;
}


/// Where dimension `d` of result `r` of `rec` comes from.
DimSource resultDim(RecurrenceOp rec, unsigned r, int64_t d) {
  Value src = r < rec.getNumOutputs() ? rec.getInputs()[0] : rec.getInit()[r - rec.getNumOutputs()];
  return dimSource(src, d);
}

/// Replaces the pair by an scf.forall; false (nothing changed) when a size
/// cannot be computed before the pair.
bool concurrent(Task &t0, Task &t1) {
  // The forall goes right after the last op that defines something the
  // tasks use (or where the first task op is, if that is later), and must
  // come before the first op that uses a task's results.
  Block *block = t0.rec->getBlock();
  llvm::SmallPtrSet<Operation *, 32> members;
  members.insert(t0.ops.begin(), t0.ops.end());
  members.insert(t1.ops.begin(), t1.ops.end());
  Operation *lastDef = nullptr;
  for (Task *t : {&t0, &t1})
    for (Value v : usedFromOutside(*t))
      if (Operation *def = v.getDefiningOp(); def && def->getBlock() == block)
        if (!lastDef || lastDef->isBeforeInBlock(def))
          lastDef = def;
  Operation *firstUser = nullptr;
  for (Task *t : {&t0, &t1})
    for (Operation *user : t->rec->getUsers()) {
      Operation *anc = block->findAncestorOpInBlock(*user);
      if (anc && !members.contains(anc) && (!firstUser || anc->isBeforeInBlock(firstUser)))
        firstUser = anc;
    }
  Operation *pos = lastDef ? lastDef->getNextNode() : &block->front();
  Operation *firstOp = t0.ops.front()->isBeforeInBlock(t1.ops.front()) ? t0.ops.front() : t1.ops.front();
  if (pos->isBeforeInBlock(firstOp))
    pos = firstOp;
  if ((lastDef && members.contains(lastDef)) || (firstUser && firstUser->isBeforeInBlock(pos)))
    return false; // one task needs the other's results, or a user comes too early
  RecurrenceOp rec = t0.rec;
  Location loc = rec.getLoc();
  SmallVector<SmallVector<DimSource>> sources;
  for (auto [r, type] : llvm::enumerate(rec->getResultTypes())) {
    auto rt = cast<RankedTensorType>(type);
    SmallVector<DimSource> dims;
    for (int64_t d = 0; d < rt.getRank(); ++d) {
      if (!rt.isDynamicDim(d))
        continue;
      DimSource s = resultDim(rec, r, d);
      if (!definedBefore(s.value, pos))
        return false;
      dims.push_back(s);
    }
    sources.push_back(dims);
  }

  // The stacked results [2, ...] and their sizes.
  OpBuilder b(pos);
  SmallVector<SmallVector<Value>> dynSizes;
  SmallVector<Value> stacks;
  for (auto [r, type] : llvm::enumerate(rec->getResultTypes())) {
    auto rt = cast<RankedTensorType>(type);
    SmallVector<Value> sizes;
    for (const DimSource &s : sources[r])
      sizes.push_back(s.dim < 0 ? s.value : tensor::DimOp::create(b, loc, s.value, s.dim).getResult());
    SmallVector<int64_t> shape = {2};
    llvm::append_range(shape, rt.getShape());
    stacks.push_back(tensor::EmptyOp::create(b, loc, shape, rt.getElementType(), sizes));
    dynSizes.push_back(sizes);
  }

  auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(2)}, stacks, std::nullopt);
  forall->setAttr("rnn.directions", b.getUnitAttr());
  Block *body = forall.getBody();
  Value iv = forall.getInductionVars()[0];
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(forall.getTerminator());
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, iv, arith::ConstantIndexOp::create(b, loc, 0));
    auto ifOp = scf::IfOp::create(b, loc, rec->getResultTypes(), first, /*withElseRegion=*/true);
    for (auto [task, block] : {std::pair{&t0, ifOp.thenBlock()}, std::pair{&t1, ifOp.elseBlock()}}) {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(block);
      IRMapping map;
      for (Operation *op : task->ops)
        b.clone(*op, map);
      SmallVector<Value> results;
      for (Value r : task->rec->getResults())
        results.push_back(map.lookup(r));
      scf::YieldOp::create(b, loc, results);
    }
    // Each iteration's results into its row of the stacks.
    SmallVector<SmallVector<OpFoldResult>> srcSizes;
    for (Value v : ifOp.getResults())
      srcSizes.push_back(tensor::getMixedSizes(b, loc, v)); // tensor.dim for dynamic ones only
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [r, v] : llvm::enumerate(ifOp.getResults())) {
      int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
      SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)), sizes = {b.getIndexAttr(1)},
                                strides(rank + 1, b.getIndexAttr(1));
      offsets[0] = iv;
      llvm::append_range(sizes, srcSizes[r]);
      tensor::ParallelInsertSliceOp::create(b, loc, v, body->getArgument(1 + r), offsets, sizes, strides);
    }
  }

  // Each direction's results: its row of the stacks.
  b.setInsertionPointAfter(forall);
  for (auto [j, task] : llvm::enumerate(std::array<Task *, 2>{&t0, &t1})) {
    for (auto [r, v] : llvm::enumerate(task->rec->getResults())) {
      auto rt = cast<RankedTensorType>(v.getType());
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(j)}, sizes = {b.getIndexAttr(1)},
                                strides(rt.getRank() + 1, b.getIndexAttr(1));
      unsigned dyn = 0;
      for (int64_t d = 0; d < rt.getRank(); ++d) {
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(rt.isDynamicDim(d) ? OpFoldResult(dynSizes[r][dyn++]) : b.getIndexAttr(rt.getDimSize(d)));
      }
      Value row = tensor::ExtractSliceOp::create(b, loc, rt, forall.getResult(r), offsets, sizes, strides);
      v.replaceAllUsesWith(row);
    }
  }
  for (Task *task : {&t0, &t1})
    for (Operation *op : llvm::reverse(task->ops))
      op->erase();
  return true;
}

struct RNNConcurrentDirectionsPass
    : mlir::rnn::impl::RNNConcurrentDirectionsPassBase<RNNConcurrentDirectionsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      // Function bodies. In gradient functions too since rnn-rows-in-place
      // builds the saved sequences in their rows (they were copied there,
      // ~40 MB per bidir-b32 step, and the pass was left to inference).
      Operation *parent = block->getParentOp();
      if (!parent->hasTrait<OpTrait::IsIsolatedFromAbove>())
        return;
      blocks.push_back(block);
    });
    for (Block *block : blocks) {
      bool again = true;
      while (again) {
        again = false;
        SmallVector<RecurrenceOp> recs(block->getOps<RecurrenceOp>());
        for (size_t i = 0; i < recs.size() && !again; ++i)
          for (size_t j = i + 1; j < recs.size() && !again; ++j) {
            if (!mirrored(recs[i], recs[j]) || rnn::staticElementsFromAbove(recs[i].getBody()) < minStepWork)
              continue;
            Task t0 = taskOf(recs[i]), t1 = taskOf(recs[j]);
            // Disjoint (neither needs the other's results: those are used
            // outside a task, never exclusively).
            llvm::SmallPtrSet<Operation *, 16> s0(t0.ops.begin(), t0.ops.end());
            if (llvm::any_of(t1.ops, [&](Operation *op) { return s0.contains(op); }))
              continue;
            again = concurrent(t0, t1);
          }
      }
    }
  }
};

} // namespace
