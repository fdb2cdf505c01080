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
// The forward function (`rnn.entry`) only.
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

/// A pair of stacked layers: `r2`'s inputs are computed from `r1`'s output
/// sequences by `between` (rnn.dense over the sequence: the hoisted input
/// projection), or are those sequences.
struct Pair {
  RecurrenceOp r1, r2;
  SmallVector<Operation *> between; // block order
};


/// Every dimension of the result types is static but a sequence's batch and
/// time and a state's batch (the chunk rows are built from those two sizes).
bool chunkable(RecurrenceOp rec) {
  if (rec.getReverse() || rec.getLengths() || rec.getInputs().empty())
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

/// The layer feeding `r2`, with the ops in between; none when `r2` is not
/// fed that way or moving the pair would change what other ops see.
std::optional<Pair> matchPair(RecurrenceOp r2) {
  Block *block = r2->getBlock();
  Pair pair;
  pair.r2 = r2;
  llvm::SetVector<Operation *> between;
  for (Value in : r2.getInputs()) {
    Value v = in;
    while (auto dense = v.getDefiningOp<DenseOp>()) {
      if (dense->getBlock() != block || cast<RankedTensorType>(dense.getInput().getType()).getRank() != 3)
        return std::nullopt;
      between.insert(dense);
      v = dense.getInput();
    }
    auto rec = v.getDefiningOp<RecurrenceOp>();
    if (!rec || rec->getBlock() != block || cast<OpResult>(v).getResultNumber() >= rec.getNumOutputs() ||
        (pair.r1 && pair.r1 != rec))
      return std::nullopt;
    pair.r1 = rec;
  }
  if (!pair.r1 || !chunkable(pair.r1) || !chunkable(r2))
    return std::nullopt;
  // The ops in between serve r2 only, and read nothing of r1 but its
  // sequences (as the dense input, which the chain above checked).
  for (Operation *op : between) {
    for (Operation *user : op->getUsers())
      if (user != r2 && !between.contains(user))
        return std::nullopt;
    for (Value v : op->getOperands())
      if (v != cast<DenseOp>(op).getInput() &&
          (v.getDefiningOp() == pair.r1.getOperation() || between.contains(v.getDefiningOp())))
        return std::nullopt;
  }
  // r2 reads r1 (directly or through `between`) only as its inputs.
  SetVector<Value> used;
  getUsedValuesDefinedAbove(r2.getBody(), used);
  used.insert(r2.getInit().begin(), r2.getInit().end());
  for (Value v : used)
    if (v.getDefiningOp() == pair.r1.getOperation() || between.contains(v.getDefiningOp()))
      return std::nullopt;
  // Everything else that reads r1's results comes after r2 (the pair moves
  // to r2's place).
  for (Operation *user : pair.r1->getUsers()) {
    Operation *anc = block->findAncestorOpInBlock(*user);
    if (!anc || (anc != r2 && !between.contains(anc) && anc->isBeforeInBlock(r2)))
      return std::nullopt;
  }
  pair.between.assign(between.begin(), between.end());
  llvm::sort(pair.between, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return pair;
}

/// Offset and length of chunk `k` of `size` steps of `c` each: [min(k c,
/// T), min(k c + c, T)).
std::pair<Value, Value> chunkRange(OpBuilder &b, Location loc, Value k, Value c, Value t) {
  Value off = arith::MinUIOp::create(b, loc, arith::MulIOp::create(b, loc, k, c), t);
  Value len = arith::MinUIOp::create(b, loc, c, arith::SubIOp::create(b, loc, t, off));
  return {off, len};
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
  // Which sequences are read after the pair (assembled in full).
  auto usedAfter = [&](Value v) {
    return llvm::any_of(v.getUsers(), [&](Operation *u) {
      Operation *anc = r2->getBlock()->findAncestorOpInBlock(*u);
      return anc != r2.getOperation() && !llvm::is_contained(p.between, anc);
    });
  };
  SmallVector<unsigned> full1, full2; // r1 / r2 outputs used in full
  for (unsigned r = 0; r < o1; ++r)
    if (usedAfter(r1->getResult(r)))
      full1.push_back(r);
  for (unsigned r = 0; r < o2; ++r)
    if (!r2->getResult(r).use_empty())
      full2.push_back(r);

  // Loop-carried: r1 states, r2 states, r2's inputs for the next chunk
  // (computed from r1's last one), the full sequences.
  SmallVector<Value> inits(r1.getInit());
  llvm::append_range(inits, r2.getInit());
  unsigned nIn = r2.getInputs().size();
  for (Value in : r2.getInputs()) {
    RankedTensorType type = withDynamicTime(cast<RankedTensorType>(in.getType()));
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

  unsigned s1 = n1 - o1, s2 = n2 - o2;
  auto loop = scf::ForOp::create(b, loc, c0, ub, c1, inits);
  loop->setAttr("rnn.chunks", b.getUnitAttr());
  Block *lb = loop.getBody();
  b.setInsertionPointToStart(lb);
  Value k = loop.getInductionVar();
  auto [off1, len1] = chunkRange(b, loc, k, c, t);
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k, c0);
  Value km1 = arith::SelectOp::create(b, loc, first, c0, arith::SubIOp::create(b, loc, k, c1));
  auto [off2, len2raw] = chunkRange(b, loc, km1, c, t);
  Value len2 = arith::SelectOp::create(b, loc, first, c0, len2raw);
  ValueRange iter = loop.getRegionIterArgs();
  ValueRange st1 = iter.take_front(s1), st2 = iter.slice(s1, s2), fedChunks = iter.slice(s1 + s2, nIn);
  ValueRange fulls = iter.drop_front(s1 + s2 + nIn);

  // Rows: r1's results, then r2's.
  SmallVector<RankedTensorType> rowTypes;
  SmallVector<Value> rowLen; // the length of each row's chunk
  for (unsigned r = 0; r < n1; ++r) {
    rowTypes.push_back(chunkType(r1, r));
    rowLen.push_back(len1);
  }
  for (unsigned r = 0; r < n2; ++r) {
    rowTypes.push_back(chunkType(r2, r));
    rowLen.push_back(len2);
  }
  SmallVector<Value> stacks;
  for (RankedTensorType type : rowTypes) {
    SmallVector<int64_t> shape = {2};
    llvm::append_range(shape, type.getShape());
    stacks.push_back(tensor::EmptyOp::create(b, loc, shape, type.getElementType(), dynamicSizes(type, bsz, c)));
  }
  auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(2)}, stacks, std::nullopt);
  forall->setAttr("rnn.wavefront", b.getUnitAttr());
  Value iv = forall.getInductionVars()[0];
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(forall.getTerminator());
    Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, iv, c0);
    SmallVector<Type> types(rowTypes.begin(), rowTypes.end());
    auto ifOp = scf::IfOp::create(b, loc, types, isFirst, /*withElseRegion=*/true);
    // The other iteration's rows: the shape its branch gives them (so that
    // rnn-rows-in-place can make both branches build on the row itself:
    // one branch fills it, the other leaves it untouched, nothing is
    // copied).
    auto empty = [&](unsigned row) -> Value {
      RankedTensorType type = rowTypes[row];
      return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                     dynamicSizes(type, bsz, rowLen[row]));
    };
    auto retype = [](RecurrenceOp clone, RecurrenceOp orig) {
      for (unsigned r = 0; r < clone.getNumOutputs(); ++r)
        clone->getResult(r).setType(chunkType(orig, r));
    };
    // Layer 1 over chunk k.
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      IRMapping map;
      for (Value in : r1.getInputs()) {
        auto type = cast<RankedTensorType>(in.getType());
        SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), strides(type.getRank(), b.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, in);
        offsets[1] = off1;
        sizes[1] = len1;
        map.map(in, tensor::ExtractSliceOp::create(b, loc, in, offsets, sizes, strides).getResult());
      }
      auto clone = cast<RecurrenceOp>(b.clone(*r1, map));
      for (auto [i, v] : llvm::enumerate(st1)) // by position: two states may share an initial value
        clone.getInitMutable()[i].set(v);
      retype(clone, r1);
      SmallVector<Value> results(clone->getResults());
      for (unsigned r = 0; r < n2; ++r)
        results.push_back(empty(n1 + r));
      scf::YieldOp::create(b, loc, results);
    }
    // Layer 2 over chunk k - 1, its inputs computed after the previous
    // iteration's forall.
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.elseBlock());
      // Each fed chunk as a slice of its own [B, len2, ...] (all of it), so
      // that its sizes, and those of the chunk's results, are bsz and len2
      // like the other branch's rows (rnn-rows-in-place needs both
      // branches' rows of one size).
      SmallVector<Value> fed;
      for (Value v : fedChunks) {
        auto type = cast<RankedTensorType>(v.getType());
        SmallVector<OpFoldResult> zeros(type.getRank(), b.getIndexAttr(0)), ones(type.getRank(), b.getIndexAttr(1));
        fed.push_back(tensor::ExtractSliceOp::create(b, loc, type, v, zeros, mixedSizes(b, type, bsz, len2), ones));
      }
      auto clone = cast<RecurrenceOp>(b.clone(*r2));
      for (auto [i, v] : llvm::enumerate(fed)) // by position, like the states
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
      SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)), sizes = {b.getIndexAttr(1)},
                                strides(rank + 1, b.getIndexAttr(1));
      offsets[0] = iv;
      llvm::append_range(sizes, srcSizes[r]);
      tensor::ParallelInsertSliceOp::create(b, loc, v, forall.getBody()->getArgument(1 + r), offsets, sizes,
                                            strides);
    }
  }

  // The rows back out, the chunks into the full sequences.
  b.setInsertionPointAfter(forall);
  auto row = [&](unsigned r) -> Value {
    RankedTensorType type = rowTypes[r];
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
  // r2's inputs for chunk k, from r1's: the ops in between run here, outside
  // the forall, so that their kernels (layer 2's input projection over the
  // chunk) are shared by the threads and neither layer's core carries them.
  {
    IRMapping map;
    for (unsigned r = 0; r < o1; ++r)
      map.map(r1->getResult(r), row(r));
    for (Operation *op : p.between) {
      Operation *clone = b.clone(*op, map);
      for (Value res : clone->getResults())
        res.setType(withDynamicTime(cast<RankedTensorType>(res.getType())));
    }
    for (Value in : r2.getInputs())
      yields.push_back(map.lookup(in));
  }
  unsigned f = 0;
  for (unsigned r : full1)
    yields.push_back(insertChunk(row(r), fulls[f++], off1, len1));
  for (unsigned r : full2)
    yields.push_back(insertChunk(row(n1 + r), fulls[f++], off2, len2));
  scf::YieldOp::create(b, loc, yields);

  // The loop's results stand for the pair's.
  ResultRange res = loop.getResults();
  for (unsigned r = 0; r < s1; ++r)
    r1->getResult(o1 + r).replaceAllUsesWith(res[r]);
  for (unsigned r = 0; r < s2; ++r)
    r2->getResult(o2 + r).replaceAllUsesWith(res[s1 + r]);
  f = s1 + s2 + nIn;
  for (unsigned r : full1)
    r1->getResult(r).replaceUsesWithIf(res[f++], [&](OpOperand &use) {
      return use.getOwner() != r2.getOperation() && !llvm::is_contained(p.between, use.getOwner());
    });
  for (unsigned r : full2)
    r2->getResult(r).replaceAllUsesWith(res[f++]);
  r2->erase();
  for (Operation *op : llvm::reverse(p.between))
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
      // The forward function only. A gradient function saves every step of
      // both layers, and the rows would add a copy of them; the step
      // function (rnn.step_entry) mostly runs one step per call (generation),
      // where the pipeline would be two wake-ups for nothing.
      Operation *parent = block->getParentOp();
      if (parent->hasTrait<OpTrait::IsIsolatedFromAbove>() && parent->hasAttr(attrs::kEntry))
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
