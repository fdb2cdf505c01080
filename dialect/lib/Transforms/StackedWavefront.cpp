//===- StackedWavefront.cpp - Two stacked layers as a pipeline on two cores ===//
//
// Layer 2 of a stacked network reads layer 1's output sequence, so the two
// recurrences cannot run side by side as a whole; but layer 2's step t only
// needs layer 1's steps up to t. This pass cuts time into chunks and runs
// layer 1 on chunk k while layer 2 runs on chunk k - 1:
//
//   C = max(1, ceil(T / chunks)), n = ceil(T / C)
//   %r:M = scf.for %k = 0 to n + 1 iter_args(<layer 1 states>, <layer 2 states>,
//                                            <layer 1's last chunk>, <full outputs>) {
//     %s:N = scf.forall (%i) in (2) shared_outs(<stacked [2, ...] rows>) {
//       scf.if (%i == 0) { layer 1 over chunk k      (zero steps when k = n) }
//       else             { layer 2 over chunk k - 1  (zero steps when k = 0),
//                          its input computed from layer 1's last chunk }
//     }
//     <states and chunks out of the rows; chunk outputs inserted into the
//      full sequences the function uses>
//   } {rnn.chunks}
//
// Each iteration runs its layer's kernels on one thread (a kernel inside an
// rnn.parallel region stays whole), the two layers' weights each in their
// core's cache: one wake-up per chunk instead of a barrier per kernel per
// step, which at batch 1 is what the runtime's kernel sharing pays. A
// recurrence over zero steps yields its initial states, so the first and the
// last chunk need no special case (one core idles for one chunk of n + 1).
//
// The same holds for the adjoints, from the end of the sequence: layer 2's
// adjoint yields its gate gradients dG2, and layer 1's output gradient is
// dG2 W_ih2 (the dx of an rnn.dense_grad) — the pair runs in reverse, its
// chunks counted from T, the adjoints also reading the forward pass's saved
// sequences (sliced per chunk). Every function but the step function.
//
// A sequence read after the pair is a shared output of the forall itself:
// the computing iteration inserts its chunk at the chunk's offset, the
// other zero steps, so that rnn-rows-in-place lets the recurrence write the
// full sequence in place (the saved sequences of a training forward are
// most of its memory traffic; assembled from rows, their copies made a
// training step up to 17% slower on one thread).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNSTACKEDWAVEFRONTPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// A pair of stacked layers: some of `r2`'s inputs are computed from `r1`'s
/// output sequences by the `chain` ops (rnn.dense over the sequence: the
/// hoisted input projection; the input adjoint of an rnn.dense_grad: the
/// output gradient of the layer below, in the adjoint; rnn.dropout between
/// the layers, its clone per chunk offset along time), or are those
/// sequences; its other inputs (`external`: the saved sequences an adjoint
/// reads) do not depend on `r1`. `after` are the other ops between the two
/// that depend on `r1` (the weight gradients summed over the sequence): they
/// move after the pipeline and read the assembled sequences.
struct Pair {
  RecurrenceOp r1, r2;
  SmallVector<Operation *> chain; // block order
  SmallVector<Operation *> after; // block order
  SmallVector<unsigned> fed, external; // r2's input positions
};

/// Every dimension of the result types is static but a sequence's batch and
/// time and a state's batch (the chunk rows are built from those two sizes).
bool chunkable(RecurrenceOp rec) {
  if (rec.getLengths() || rec.getInputs().empty())
    return false;
  for (Value in : rec.getInputs()) {
    auto type = cast<RankedTensorType>(in.getType());
    if (type.getRank() < 2)
      return false;
  }
  for (auto [r, v] : llvm::enumerate(rec.getResults())) {
    auto type = cast<RankedTensorType>(v.getType());
    bool seq = r < rec.getNumOutputs();
    if (type.getRank() < (seq ? 2 : 1))
      return false;
    for (int64_t d = seq ? 2 : 1; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return false;
  }
  return true;
}

/// The per-step value a chain op passes on (its sequence operand) and its
/// result that carries it; none for other ops.
std::optional<std::pair<Value, Value>> chainLink(Operation *op) {
  if (auto dense = dyn_cast<DenseOp>(op))
    return std::make_pair(dense.getInput(), dense.getResult());
  if (auto grad = dyn_cast<DenseGradOp>(op))
    return std::make_pair(grad.getDy(), grad.getDx());
  if (auto drop = dyn_cast<DropoutOp>(op))
    return std::make_pair(drop.getInput(), drop.getResult());
  return std::nullopt;
}

/// Whether `op` (or an op nested in it) reads a value of `defs`.
bool reads(Operation *op, const llvm::SmallPtrSetImpl<Operation *> &defs) {
  return op
      ->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (Operation *d = v.getDefiningOp(); d && defs.contains(d))
            return WalkResult::interrupt();
        return WalkResult::advance();
      })
      .wasInterrupted();
}

/// The layer feeding `r2`, with the ops in between; none when `r2` is not
/// fed that way or moving the pair would change what other ops see.
std::optional<Pair> matchPair(RecurrenceOp r2) {
  Block *block = r2->getBlock();
  if (!chunkable(r2))
    return std::nullopt;
  // r1: the latest recurrence of the block before r2 that an input of r2 is
  // computed from through chain ops (an adjoint also reads the forward
  // layers' saved sequences, which are external).
  auto origin = [&](Value v, SmallVectorImpl<Operation *> *links) -> RecurrenceOp {
    while (Operation *def = v.getDefiningOp()) {
      if (auto rec = dyn_cast<RecurrenceOp>(def))
        return cast<OpResult>(v).getResultNumber() < rec.getNumOutputs() ? rec : RecurrenceOp();
      auto link = chainLink(def);
      if (!link || link->second != v || def->getBlock() != block ||
          cast<RankedTensorType>(v.getType()).getRank() != 3)
        return {};
      if (links)
        links->push_back(def);
      v = link->first;
    }
    return {};
  };
  Pair pair;
  pair.r2 = r2;
  for (Value in : r2.getInputs())
    if (RecurrenceOp rec = origin(in, nullptr);
        rec && rec->getBlock() == block && rec->isBeforeInBlock(r2) &&
        (!pair.r1 || pair.r1->isBeforeInBlock(rec)))
      pair.r1 = rec;
  if (!pair.r1 || !chunkable(pair.r1) || pair.r1.getReverse() != r2.getReverse())
    return std::nullopt;
  RecurrenceOp r1 = pair.r1;

  // What depends on r1 between the two.
  llvm::SmallPtrSet<Operation *, 16> dep = {r1.getOperation()};
  SmallVector<Operation *> between;
  for (Operation *op = r1->getNextNode(); op != r2.getOperation(); op = op->getNextNode())
    if (reads(op, dep)) {
      dep.insert(op);
      between.push_back(op);
    }
  llvm::SetVector<Operation *> chain;
  for (auto [i, in] : llvm::enumerate(r2.getInputs())) {
    SmallVector<Operation *> links;
    if (origin(in, &links) == r1) {
      pair.fed.push_back(i);
      chain.insert(links.begin(), links.end());
    } else if (Operation *def = in.getDefiningOp(); def && dep.contains(def)) {
      return std::nullopt; // computed from r1 some other way
    } else {
      pair.external.push_back(i);
    }
  }
  // Chain ops read nothing that depends on r1 but their sequence operand;
  // a dense_grad's x is sliced per chunk with the chain's chunk.
  for (Operation *op : chain) {
    Value seq = chainLink(op)->first;
    for (Value v : op->getOperands())
      if (v != seq)
        if (Operation *def = v.getDefiningOp(); def && dep.contains(def))
          return std::nullopt;
    if (auto grad = dyn_cast<DenseGradOp>(op);
        grad && cast<RankedTensorType>(grad.getX().getType()).getRank() != 3)
      return std::nullopt;
  }
  // r2 reads r1 (through the chain) only as its fed inputs.
  SetVector<Value> used;
  getUsedValuesDefinedAbove(r2.getBody(), used);
  used.insert(r2.getInit().begin(), r2.getInit().end());
  for (Value v : used)
    if (Operation *def = v.getDefiningOp(); def && dep.contains(def))
      return std::nullopt;
  // The ops between that depend on r1 and are not a dense of the chain run
  // after the pipeline (a chain dense_grad's weight gradients among them).
  for (Operation *op : between)
    if (!chain.contains(op) || isa<DenseGradOp>(op))
      pair.after.push_back(op);
  pair.chain.assign(chain.begin(), chain.end());
  llvm::sort(pair.chain, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return pair;
}

/// Offset and length of chunk `k` of `c` steps each: [min(k c, T), min(k c
/// + c, T)), or counted from the end for a reverse recurrence: [T - min(k c
/// + c, T), T - min(k c, T)). Past the end: zero steps.
std::pair<Value, Value> chunkRange(OpBuilder &b, Location loc, Value k, Value c, Value t, bool reverse) {
  Value lo = arith::MinUIOp::create(b, loc, arith::MulIOp::create(b, loc, k, c), t);
  Value len = arith::MinUIOp::create(b, loc, c, arith::SubIOp::create(b, loc, t, lo));
  if (!reverse)
    return {lo, len};
  Value hi = arith::AddIOp::create(b, loc, lo, len);
  return {arith::SubIOp::create(b, loc, t, hi), len};
}

/// `[B, T, ...]` with a dynamic T.
RankedTensorType withDynamicTime(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape[1] = ShapedType::kDynamic;
  return RankedTensorType::get(shape, type.getElementType());
}

/// The type of a chunk of result `r` of `rec`: sequences get a dynamic
/// time.
RankedTensorType chunkType(RecurrenceOp rec, unsigned r) {
  auto type = cast<RankedTensorType>(rec->getResult(r).getType());
  return r < rec.getNumOutputs() ? withDynamicTime(type) : type;
}

/// Sizes of a tensor of `type` whose dynamic dimensions are the batch `bsz`
/// (dimension 0) and `len` (dimension 1).
SmallVector<Value> dynamicSizes(RankedTensorType type, Value bsz, Value len) {
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(d == 0 ? bsz : len);
  return sizes;
}

SmallVector<OpFoldResult> mixedSizes(OpBuilder &b, RankedTensorType type, Value bsz, Value len) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(d == 0 ? bsz : len) : b.getIndexAttr(type.getDimSize(d)));
  return sizes;
}

void pipeline(Pair &p, int64_t chunks) {
  RecurrenceOp r1 = p.r1, r2 = p.r2;
  Block *block = r2->getBlock();
  bool reverse = r1.getReverse();
  Location loc = r2.getLoc();
  OpBuilder b(r2);
  Value x1 = r1.getInputs()[0];
  Value bsz = tensor::DimOp::create(b, loc, x1, 0);
  Value t = tensor::DimOp::create(b, loc, x1, 1);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0), c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cChunks = arith::ConstantIndexOp::create(b, loc, chunks);
  Value c = arith::MaxUIOp::create(b, loc, arith::CeilDivUIOp::create(b, loc, t, cChunks), c1);
  Value n = arith::CeilDivUIOp::create(b, loc, t, c);
  Value ub = arith::AddIOp::create(b, loc, n, c1);

  unsigned n1 = r1->getNumResults(), n2 = r2->getNumResults();
  unsigned o1 = r1.getNumOutputs(), o2 = r2.getNumOutputs();
  // The chain ops that go (their values are computed per chunk in the
  // loop); a dense_grad whose weight gradients are read stays, after the
  // loop.
  auto goes = [&](Operation *op) {
    return llvm::is_contained(p.chain, op) && !llvm::is_contained(p.after, op);
  };
  // A use of the pair's values after it (assembled in full): not r2's, not
  // a chain op's that goes.
  auto outside = [&](OpOperand &use) {
    Operation *anc = block->findAncestorOpInBlock(*use.getOwner());
    return anc != r2.getOperation() && !goes(anc);
  };
  auto usedOutside = [&](Value v) { return llvm::any_of(v.getUses(), outside); };
  auto chainResult = [](Operation *op) { return chainLink(op)->second; };
  SmallVector<unsigned> full1, full2; // r1 / r2 outputs used in full
  SmallVector<Operation *> fullChain; // chain ops whose sequence is used in full
  for (unsigned r = 0; r < o1; ++r)
    if (usedOutside(r1->getResult(r)))
      full1.push_back(r);
  for (unsigned r = 0; r < o2; ++r)
    if (!r2->getResult(r).use_empty())
      full2.push_back(r);
  for (Operation *op : p.chain)
    if (usedOutside(chainResult(op)))
      fullChain.push_back(op);

  // Loop-carried: r1 states, r2 states, r2's fed inputs for the next chunk
  // (computed from r1's last one), the full sequences.
  SmallVector<Value> inits(r1.getInit());
  llvm::append_range(inits, r2.getInit());
  unsigned nFed = p.fed.size();
  for (unsigned i : p.fed) {
    RankedTensorType type = withDynamicTime(cast<RankedTensorType>(r2.getInputs()[i].getType()));
    inits.push_back(tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                            dynamicSizes(type, bsz, c0)));
  }
  auto fullInit = [&](Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamicSizes(type, bsz, t));
  };
  for (unsigned r : full1)
    inits.push_back(fullInit(r1->getResult(r)));
  for (unsigned r : full2)
    inits.push_back(fullInit(r2->getResult(r)));
  for (Operation *op : fullChain)
    inits.push_back(fullInit(chainResult(op)));

  unsigned s1 = n1 - o1, s2 = n2 - o2;
  auto loop = scf::ForOp::create(b, loc, c0, ub, c1, inits);
  loop->setAttr("rnn.chunks", b.getUnitAttr());
  Block *lb = loop.getBody();
  b.setInsertionPointToStart(lb);
  Value k = loop.getInductionVar();
  auto [off1, len1] = chunkRange(b, loc, k, c, t, reverse);
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k, c0);
  Value km1 = arith::SelectOp::create(b, loc, first, c0, arith::SubIOp::create(b, loc, k, c1));
  auto [off2, len2raw] = chunkRange(b, loc, km1, c, t, reverse);
  Value len2 = arith::SelectOp::create(b, loc, first, c0, len2raw);
  ValueRange iter = loop.getRegionIterArgs();
  ValueRange st1 = iter.take_front(s1), st2 = iter.slice(s1, s2), fedChunks = iter.slice(s1 + s2, nFed);
  ValueRange fulls = iter.drop_front(s1 + s2 + nFed);

  // `[B, len, ...]` at `off` along time of `v`, sized by bsz and len.
  auto slice = [&](Value v, Value off, Value len) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), strides(type.getRank(), b.getIndexAttr(1));
    offsets[1] = off;
    return tensor::ExtractSliceOp::create(b, loc, withDynamicTime(type), v, offsets,
                                          mixedSizes(b, withDynamicTime(type), bsz, len), strides);
  };

  // Rows: r1's results, then r2's. A sequence used in full goes straight
  // into its slice of the full sequence (the forall's shared output is the
  // loop-carried tensor; the other iteration inserts zero steps of it); the
  // states and the chunks read only by the chain go into a row of a stacked
  // [2, ...] shared output.
  SmallVector<RankedTensorType> rowTypes;
  SmallVector<Value> rowLen, rowOff; // each row's chunk, outside the forall
  SmallVector<int> rowFull(n1 + n2, -1); // index into `fulls`, or -1
  for (unsigned r = 0; r < n1; ++r) {
    rowTypes.push_back(chunkType(r1, r));
    rowLen.push_back(len1);
    rowOff.push_back(off1);
  }
  for (unsigned r = 0; r < n2; ++r) {
    rowTypes.push_back(chunkType(r2, r));
    rowLen.push_back(len2);
    rowOff.push_back(off2);
  }
  {
    int f = 0;
    for (unsigned r : full1)
      rowFull[r] = f++;
    for (unsigned r : full2)
      rowFull[n1 + r] = f++;
  }
  SmallVector<Value> shared;
  for (auto [r, type] : llvm::enumerate(rowTypes)) {
    if (rowFull[r] >= 0) {
      shared.push_back(fulls[rowFull[r]]);
      continue;
    }
    SmallVector<int64_t> shape = {2};
    llvm::append_range(shape, type.getShape());
    shared.push_back(tensor::EmptyOp::create(b, loc, shape, type.getElementType(), dynamicSizes(type, bsz, c)));
  }
  auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(2)}, shared, std::nullopt);
  forall->setAttr("rnn.wavefront", b.getUnitAttr());
  Value iv = forall.getInductionVars()[0];
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(forall.getTerminator());
    Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, iv, c0);
    // Inside the forall, each layer's chunk is its length in its own
    // iteration and zero steps in the other: the rows of both branches (and
    // the insertions of a full sequence's chunk) have these sizes.
    Value in1 = arith::SelectOp::create(b, loc, isFirst, len1, c0);
    Value in2 = arith::SelectOp::create(b, loc, isFirst, c0, len2);
    auto lenIn = [&](unsigned row) { return row < n1 ? in1 : in2; };
    SmallVector<Type> types(rowTypes.begin(), rowTypes.end());
    auto ifOp = scf::IfOp::create(b, loc, types, isFirst, /*withElseRegion=*/true);
    // The other iteration's rows: the shape its branch gives them (so that
    // rnn-rows-in-place can make both branches build on the row itself:
    // one branch fills it, the other leaves it untouched, nothing is
    // copied).
    auto empty = [&](unsigned row) -> Value {
      RankedTensorType type = rowTypes[row];
      return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                     dynamicSizes(type, bsz, lenIn(row)));
    };
    auto retype = [](RecurrenceOp clone, RecurrenceOp orig) {
      for (unsigned r = 0; r < clone.getNumOutputs(); ++r)
        clone->getResult(r).setType(chunkType(orig, r));
    };
    // Layer 1 over chunk k.
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> ins;
      for (Value in : r1.getInputs())
        ins.push_back(slice(in, off1, in1));
      auto clone = cast<RecurrenceOp>(b.clone(*r1));
      for (auto [i, v] : llvm::enumerate(ins)) // by position: two inputs may be one value
        clone.getInputsMutable()[i].set(v);
      for (auto [i, v] : llvm::enumerate(st1)) // two states may share an initial value
        clone.getInitMutable()[i].set(v);
      retype(clone, r1);
      SmallVector<Value> results(clone->getResults());
      for (unsigned r = 0; r < n2; ++r)
        results.push_back(empty(n1 + r));
      scf::YieldOp::create(b, loc, results);
    }
    // Layer 2 over chunk k - 1, its fed inputs computed after the previous
    // iteration's forall, its other inputs sliced.
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.elseBlock());
      // Each fed chunk as a slice of its own [B, len2, ...] (all of it), so
      // that its sizes, and those of the chunk's results, are bsz and in2
      // like the other branch's rows (rnn-rows-in-place needs both
      // branches' rows of one size).
      SmallVector<Value> ins(r2.getInputs());
      for (auto [f, i] : llvm::enumerate(p.fed))
        ins[i] = slice(fedChunks[f], c0, in2);
      for (unsigned i : p.external)
        ins[i] = slice(ins[i], off2, in2);
      auto clone = cast<RecurrenceOp>(b.clone(*r2));
      for (auto [i, v] : llvm::enumerate(ins))
        clone.getInputsMutable()[i].set(v);
      for (auto [i, v] : llvm::enumerate(st2))
        clone.getInitMutable()[i].set(v);
      retype(clone, r2);
      SmallVector<Value> results;
      for (unsigned r = 0; r < n1; ++r)
        results.push_back(empty(r));
      llvm::append_range(results, clone->getResults());
      scf::YieldOp::create(b, loc, results);
    }
    SmallVector<SmallVector<OpFoldResult>> srcSizes;
    for (Value v : ifOp.getResults())
      srcSizes.push_back(tensor::getMixedSizes(b, loc, v));
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [r, v] : llvm::enumerate(ifOp.getResults())) {
      int64_t rank = rowTypes[r].getRank();
      Value dest = forall.getBody()->getArgument(1 + r);
      if (rowFull[r] >= 0) { // [0, off, 0...] of the full sequence
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
        offsets[1] = rowOff[r];
        tensor::ParallelInsertSliceOp::create(b, loc, v, dest, offsets, mixedSizes(b, rowTypes[r], bsz, lenIn(r)),
                                              strides);
        continue;
      }
      SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)), sizes = {b.getIndexAttr(1)},
                                strides(rank + 1, b.getIndexAttr(1));
      offsets[0] = iv;
      llvm::append_range(sizes, srcSizes[r]);
      tensor::ParallelInsertSliceOp::create(b, loc, v, dest, offsets, sizes, strides);
    }
  }

  // The rows back out (a full sequence's chunk as its slice).
  b.setInsertionPointAfter(forall);
  auto row = [&](unsigned r) -> Value {
    RankedTensorType type = rowTypes[r];
    if (rowFull[r] >= 0)
      return slice(forall.getResult(r), rowOff[r], rowLen[r]);
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(r < n1 ? 0 : 1)}, sizes = {b.getIndexAttr(1)},
                              strides(type.getRank() + 1, b.getIndexAttr(1));
    offsets.append(type.getRank(), b.getIndexAttr(0));
    llvm::append_range(sizes, mixedSizes(b, type, bsz, rowLen[r]));
    return tensor::ExtractSliceOp::create(b, loc, type, forall.getResult(r), offsets, sizes, strides);
  };
  auto insertChunk = [&](Value chunk, Value into, Value off, Value len) -> Value {
    auto type = cast<RankedTensorType>(chunk.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), strides(type.getRank(), b.getIndexAttr(1));
    offsets[1] = off;
    return tensor::InsertSliceOp::create(b, loc, chunk, into, offsets, mixedSizes(b, type, bsz, len), strides);
  };
  SmallVector<Value> yields;
  for (unsigned r = 0; r < s1; ++r)
    yields.push_back(row(o1 + r));
  for (unsigned r = 0; r < s2; ++r)
    yields.push_back(row(n1 + o2 + r));
  // r2's inputs for chunk k, from r1's: the chain runs here, outside the
  // forall, so that its kernels (layer 2's input projection over the chunk,
  // or the adjoint's input gradient) are shared by the threads and neither
  // layer's core carries them.
  IRMapping map;
  {
    for (unsigned r = 0; r < o1; ++r)
      map.map(r1->getResult(r), row(r));
    for (Operation *op : p.chain) {
      Value x; // a dense_grad's x: only dx is read, x gives its type
      if (auto grad = dyn_cast<DenseGradOp>(op))
        x = slice(grad.getX(), off1, len1);
      // A dropout's clone is offset by the chunk's start along time: the
      // chunk's elements draw the masks they have in the whole sequence.
      SmallVector<Value> offsets;
      if (auto drop = dyn_cast<DropoutOp>(op)) {
        offsets.assign(drop.getOffsets().begin(), drop.getOffsets().end());
        if (offsets.empty()) {
          offsets.assign(cast<RankedTensorType>(drop.getType()).getRank(), c0);
          offsets[1] = off1;
        } else {
          offsets[1] = arith::AddIOp::create(b, loc, offsets[1], off1);
        }
      }
      Operation *clone = b.clone(*op, map);
      if (x)
        cast<DenseGradOp>(clone).getXMutable().assign(x);
      if (auto drop = dyn_cast<DropoutOp>(clone))
        drop.getOffsetsMutable().assign(offsets);
      Value link = chainLink(clone)->second;
      link.setType(withDynamicTime(cast<RankedTensorType>(link.getType())));
    }
    for (unsigned i : p.fed)
      yields.push_back(map.lookup(r2.getInputs()[i]));
  }
  unsigned f = full1.size() + full2.size();
  for (unsigned r : full1)
    yields.push_back(forall.getResult(r));
  for (unsigned r : full2)
    yields.push_back(forall.getResult(n1 + r));
  for (Operation *op : fullChain)
    yields.push_back(insertChunk(map.lookup(chainResult(op)), fulls[f++], off1, len1));
  scf::YieldOp::create(b, loc, yields);

  // The loop's results stand for the pair's.
  ResultRange res = loop.getResults();
  for (unsigned r = 0; r < s1; ++r)
    r1->getResult(o1 + r).replaceAllUsesWith(res[r]);
  for (unsigned r = 0; r < s2; ++r)
    r2->getResult(o2 + r).replaceAllUsesWith(res[s1 + r]);
  f = s1 + s2 + nFed;
  for (unsigned r : full1)
    r1->getResult(r).replaceUsesWithIf(res[f++], outside);
  for (unsigned r : full2)
    r2->getResult(r).replaceAllUsesWith(res[f++]);
  for (Operation *op : fullChain)
    chainResult(op).replaceUsesWithIf(res[f++], outside);
  r2->erase();
  // What read r1 between the two now reads the assembled sequences, after
  // the loop.
  Operation *prev = loop;
  for (Operation *op : p.after) {
    op->moveAfter(prev);
    prev = op;
  }
  for (Operation *op : llvm::reverse(p.chain))
    if (goes(op))
      op->erase();
  r1->erase();
}

struct RNNStackedWavefrontPass : mlir::rnn::impl::RNNStackedWavefrontPassBase<RNNStackedWavefrontPass> {
  using Base::Base;
  void runOnOperation() override {
    if (chunks < 1) {
      getOperation()->emitError("rnn-stacked-wavefront: chunks must be positive");
      return signalPassFailure();
    }
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      // Not the step function (rnn.step_entry): it mostly runs one step per
      // call (generation), where the pipeline would be two wake-ups for
      // nothing.
      Operation *parent = block->getParentOp();
      if (parent->hasTrait<OpTrait::IsIsolatedFromAbove>() && !parent->hasAttr(attrs::kStepEntry))
        blocks.push_back(block);
    });
    for (Block *block : blocks) {
      // Pairs in order: for three layers or more, layers 1 and 2 become a
      // pipeline and layer 3 reads their assembled output (two cores, two
      // stages).
      SmallVector<RecurrenceOp> recs(block->getOps<RecurrenceOp>());
      llvm::SmallPtrSet<Operation *, 8> done;
      for (RecurrenceOp r2 : recs) {
        if (done.contains(r2))
          continue;
        std::optional<Pair> pair = matchPair(r2);
        if (!pair || done.contains(pair->r1))
          continue;
        int64_t w1 = rnn::staticElementsFromAbove(pair->r1.getBody()),
                w2 = rnn::staticElementsFromAbove(r2.getBody());
        if (std::min(w1, w2) < minStepWork || std::max(w1, w2) > maxStepWork)
          continue;
        done.insert(pair->r1);
        done.insert(r2);
        pipeline(*pair, chunks);
      }
    }
  }
};

} // namespace
