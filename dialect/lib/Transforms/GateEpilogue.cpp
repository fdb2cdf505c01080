//===- GateEpilogue.cpp - Gate arithmetic right after its block's matmul ---===//
//
// A cell's step is, after convert-rnn-to-linalg and rnn-pack-weights,
//
//   %bias = linalg.generic (broadcast of b_hh) outs(tensor.empty [B, G*H])
//   %rec  = (scf.if %batched { panels } else { rows })  contraction h·W_hh^T
//   %g_i  = tensor.extract_slice %rec[0, i*H] [B, H]          (one per gate)
//   %h, %c = linalg.generic (gate map, elementwise over [B, H]) ins(.., %g_i, ..)
//
// The whole [B, G*H] matmul runs first and the gate map reads it back; with
// the runtime's threads the matmul splits its columns (thread 0 gets gates i
// and f, thread 1 g and o) and the gate map needs all of them, so each step
// pays a second fork/join or runs the gate map on one core reading the other
// core's results.
//
// This pass tiles the gate map over blocks of hidden units and computes, in
// each block, the G column blocks of the matmul it reads (each seeded with
// its bias block) right before the block's gate arithmetic:
//
//   scf.forall (%j) in (H / bs) shared_outs(%gates = .., %h = .., %c = ..) {
//     per gate i: %t_i = bias block + h·W_hh[i*H + j*bs .. +bs]^T  into %gates
//     %hb, %cb = gate map on [B, bs] ins(.., %t_i, ..)
//     parallel_insert_slice ...
//   }
//
// so that one thread computes all the gates of its hidden units and applies
// their arithmetic while they are in its L1: one fork/join a step, and no
// pre-activation crosses cores. rnn-forall-to-parallel gives the blocks to
// the runtime's threads (the same blocks, so the same weight rows, to the
// same thread every step).
//
// The state the matmul reads (h) is also the gate map's output when
// rnn-carry-in-place made it update its buffer in place; blocks may not
// overwrite it while others still read it, so that output goes to the row
// of the output sequence it is copied to (or to a fresh tensor) and is copied
// into the state after the blocks.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SmallBitVector.h"

#include <functional>
#include <numeric>

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNGATEEPILOGUEPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

/// One way of computing the pre-activations `[B, N]`: a multiply-add
/// contraction whose init is a bias broadcast (or fill) over the whole
/// `[B, N]`, either directly (rows of W, out `[B, N]`) or in panels
/// (out `[B, N/w, w]` on an expand_shape of the bias, collapsed back).
struct Chain {
  linalg::GenericOp contraction;
  Operation *init = nullptr;          // linalg.generic or linalg.fill, out [B, N]
  tensor::ExpandShapeOp expand;       // panels only
  tensor::CollapseShapeOp collapse;   // panels only
  int64_t panel = 0;                  // w, 0 for the direct form
};

/// An all-parallel generic or fill whose only output is `[B, N]` with the
/// identity map, written into a tensor.empty.
bool isInitFill(Operation *op) {
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(op))
    return fill.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>() != nullptr;
  auto g = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!g || g.getNumDpsInits() != 1 || g.getNumReductionLoops() != 0 || g.getNumLoops() != 2)
    return false;
  if (!g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return false;
  if (!g.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>())
    return false;
  // It only writes its init: a broadcast, not an update.
  if (g.payloadUsesValueFromOperand(g.getDpsInitOperand(0)))
    return false;
  for (OpOperand *in : g.getDpsInputOperands())
    if (!g.getMatchingIndexingMap(in).isProjectedPermutation())
      return false;
  return true;
}

std::optional<Chain> matchChain(Value v) {
  Chain c;
  if (auto col = v.getDefiningOp<tensor::CollapseShapeOp>()) {
    auto reassoc = col.getReassociationIndices();
    auto srcTy = col.getSrcType();
    if (srcTy.getRank() != 3 || reassoc.size() != 2 || reassoc[0].size() != 1 ||
        ShapedType::isDynamic(srcTy.getDimSize(2)))
      return std::nullopt;
    c.collapse = col;
    c.panel = srcTy.getDimSize(2);
    v = col.getSrc();
  }
  c.contraction = v.getDefiningOp<linalg::GenericOp>();
  if (!c.contraction || !rnn::isTensorMultiplyAdd(c.contraction) ||
      c.contraction.getNumReductionLoops() != 1)
    return std::nullopt;
  AffineMap outMap = c.contraction.getMatchingIndexingMap(c.contraction.getDpsInitOperand(0));
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() != (c.panel ? 3u : 2u))
    return std::nullopt;
  Value init = c.contraction.getDpsInits()[0];
  if (c.panel) {
    c.expand = init.getDefiningOp<tensor::ExpandShapeOp>();
    if (!c.expand || c.expand.getReassociationIndices() != c.collapse.getReassociationIndices())
      return std::nullopt;
    init = c.expand.getSrc();
  }
  c.init = init.getDefiningOp();
  if (!isInitFill(c.init))
    return std::nullopt;
  return c;
}

/// The computations of the pre-activations `rec`: one chain, or one per
/// branch of the scf.if yielding it (rnn-pack-weights' panels or rows by
/// batch). Both branches must start from the same init.
struct Producer {
  scf::IfOp ifOp;            // null: a single chain
  SmallVector<Chain, 2> chains;
};

std::optional<Producer> matchProducer(Value rec) {
  Producer p;
  if (auto ifOp = rec.getDefiningOp<scf::IfOp>()) {
    if (ifOp.getNumResults() != 1 || !ifOp.elseBlock())
      return std::nullopt;
    for (Block *blk : {ifOp.thenBlock(), ifOp.elseBlock()}) {
      auto chain = matchChain(cast<scf::YieldOp>(blk->getTerminator()).getOperand(0));
      if (!chain)
        return std::nullopt;
      p.chains.push_back(*chain);
    }
    if (p.chains[0].init != p.chains[1].init)
      return std::nullopt;
    p.ifOp = ifOp;
    return p;
  }
  auto chain = matchChain(rec);
  if (!chain)
    return std::nullopt;
  p.chains.push_back(*chain);
  return p;
}

/// `v` cut to the tile of `op`'s loops given by `offs`/`sizes`, through the
/// indexing map of `v`'s operand (a projected permutation); `v` itself when
/// the tile covers it.
Value sliceOperand(OpBuilder &b, Location loc, Value v, AffineMap map, ArrayRef<OpFoldResult> offs,
                   ArrayRef<OpFoldResult> sizes, ArrayRef<bool> tiled) {
  auto ty = dyn_cast<RankedTensorType>(v.getType());
  if (!ty)
    return v;
  bool cut = false;
  SmallVector<OpFoldResult> o, s, st;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    unsigned d = *rnn::dimOf(e);
    cut |= tiled[d];
    o.push_back(tiled[d] ? offs[d] : b.getIndexAttr(0));
    s.push_back(tiled[d] ? sizes[d] : tensor::getMixedSize(b, loc, v, i));
    st.push_back(b.getIndexAttr(1));
  }
  if (!cut)
    return v;
  return tensor::ExtractSliceOp::create(b, loc, v, o, s, st);
}

/// A copy of the destination-style `op` (a linalg.generic or fill) on the
/// tile of its loops where `tiled[d]` dims take `offs[d]`/`sizes[d]`, its
/// inputs sliced accordingly and writing into `inits`.
/// Inputs go through `map` (copies of the values they were defined as in a
/// branch the tile is not in).
Operation *tileOp(OpBuilder &b, Location loc, linalg::LinalgOp op, ArrayRef<OpFoldResult> offs,
                  ArrayRef<OpFoldResult> sizes, ArrayRef<bool> tiled, ValueRange inits,
                  const IRMapping &map) {
  SmallVector<Value> operands;
  for (OpOperand *in : op.getDpsInputOperands()) {
    Value v = map.lookupOrDefault(in->get());
    if (!isa<RankedTensorType>(v.getType())) {
      operands.push_back(v); // a scalar (a fill's value)
      continue;
    }
    operands.push_back(sliceOperand(b, loc, v, op.getMatchingIndexingMap(in), offs, sizes, tiled));
  }
  llvm::append_range(operands, inits);
  Operation *copy = b.clone(*op.getOperation());
  copy->setOperands(operands);
  for (auto [r, init] : llvm::zip(copy->getResults(), inits))
    r.setType(init.getType());
  return copy;
}

/// All loops untiled but `d`, which covers [off, off + size).
void tileOneDim(OpBuilder &b, unsigned numLoops, unsigned d, OpFoldResult off, OpFoldResult size,
                SmallVector<OpFoldResult> &offs, SmallVector<OpFoldResult> &sizes,
                SmallVector<bool> &tiled) {
  offs.assign(numLoops, b.getIndexAttr(0));
  sizes.assign(numLoops, b.getIndexAttr(0));
  tiled.assign(numLoops, false);
  offs[d] = off;
  sizes[d] = size;
  tiled[d] = true;
}

/// Columns [c0, c0 + bs) of the chain's result, computed into `dest`
/// (`[B, bs]`, a slice of the pre-activation buffer).
Value emitChainTile(OpBuilder &b, Location loc, Chain c, Value c0, int64_t bs, Value dest,
                    const IRMapping &map) {
  SmallVector<OpFoldResult> offs, sizes;
  SmallVector<bool> tiled;
  // The bias (or zero) block.
  tileOneDim(b, 2, 1, c0, b.getIndexAttr(bs), offs, sizes, tiled);
  Value init = tileOp(b, loc, cast<linalg::LinalgOp>(c.init), offs, sizes, tiled, dest, map)->getResult(0);
  linalg::GenericOp k = c.contraction;
  AffineMap outMap = k.getMatchingIndexingMap(k.getDpsInitOperand(0));
  if (!c.panel) {
    tileOneDim(b, k.getNumLoops(), *rnn::dimOf(outMap.getResult(1)), c0, b.getIndexAttr(bs), offs,
               sizes, tiled);
    return tileOp(b, loc, k, offs, sizes, tiled, init, map)->getResult(0);
  }
  // Panels: columns [c0, c0 + bs) are panels [c0 / w, (c0 + bs) / w).
  Value p0 = arith::DivUIOp::create(b, loc, c0, arith::ConstantIndexOp::create(b, loc, c.panel));
  SmallVector<OpFoldResult> outShape = {tensor::getMixedSize(b, loc, init, 0),
                                        b.getIndexAttr(bs / c.panel), b.getIndexAttr(c.panel)};
  auto panelTy = RankedTensorType::get(
      {cast<RankedTensorType>(init.getType()).getDimSize(0), bs / c.panel, c.panel},
      cast<RankedTensorType>(init.getType()).getElementType());
  Value expanded = tensor::ExpandShapeOp::create(b, loc, panelTy, init,
                                                 c.expand.getReassociationIndices(), outShape);
  tileOneDim(b, k.getNumLoops(), *rnn::dimOf(outMap.getResult(1)), p0,
             b.getIndexAttr(bs / c.panel), offs, sizes, tiled);
  Value out = tileOp(b, loc, k, offs, sizes, tiled, expanded, map)->getResult(0);
  return tensor::CollapseShapeOp::create(b, loc, out, c.collapse.getReassociationIndices());
}

/// The op in `block` that is or contains `op`.
Operation *inBlock(Operation *op, Block *block) { return block->findAncestorOpInBlock(*op); }

/// The first column of a unit-stride `tensor.extract_slice` of `width`
/// columns from the first row of a `[B, *]` tensor, or none.
std::optional<int64_t> columnSlice(tensor::ExtractSliceOp s, int64_t width) {
  if (!s || s.getSourceType().getRank() != 2 || s.getType().getRank() != 2 || !s.hasUnitStride())
    return std::nullopt;
  auto offs = s.getStaticOffsets();
  if (offs[0] != 0 || ShapedType::isDynamic(offs[1]) || s.getStaticSizes()[1] != width)
    return std::nullopt;
  return offs[1];
}

/// The only use of `v` that is a `linalg.copy` into an extract_slice (the
/// row of a sequence it is saved into), or null.
linalg::CopyOp rowCopyOf(Value v) {
  linalg::CopyOp found;
  for (OpOperand &use : v.getUses()) {
    auto copy = dyn_cast<linalg::CopyOp>(use.getOwner());
    if (!copy || use.getOperandNumber() != 0 ||
        !copy.getDpsInits()[0].getDefiningOp<tensor::ExtractSliceOp>())
      continue;
    if (found)
      return {};
    found = copy;
  }
  return found;
}

struct Candidate {
  linalg::GenericOp gateMap;
  Value rec;                          // [B, N] pre-activations
  Producer producer;
  int64_t width = 0;                  // H
  int64_t block = 0;                  // bs
  // Per gate map input: its first column of `rec`, or none (another input).
  SmallVector<std::optional<int64_t>> recColumn;
};

struct RNNGateEpiloguePass
    : mlir::rnn::impl::RNNGateEpiloguePassBase<RNNGateEpiloguePass> {
  using Base::Base;

  /// The largest block size <= `block` dividing H into at least two blocks,
  /// a multiple of every panel width and at least 4; 0 when there is none.
  int64_t blockSize(int64_t width, const Producer &p) const {
    int64_t step = 1;
    for (const Chain &c : p.chains)
      if (c.panel)
        step = std::lcm(step, c.panel);
    // (at least 4 units: narrower blocks are mostly loop overhead)
    for (int64_t bs = (block / step) * step; bs >= std::max<int64_t>(step, 4); bs -= step)
      if (width % bs == 0 && width / bs >= 2)
        return bs;
    return 0;
  }

  std::optional<Candidate> match(linalg::GenericOp g) const {
    if (g.getNumReductionLoops() != 0 || g.getNumLoops() != 2 || g->getParentOfType<scf::ForallOp>())
      return std::nullopt;
    for (AffineMap m : g.getIndexingMapsArray())
      if (!m.isIdentity())
        return std::nullopt;
    auto outTy = cast<RankedTensorType>(g.getDpsInits()[0].getType());
    for (Value init : g.getDpsInits())
      if (cast<RankedTensorType>(init.getType()).getShape() != outTy.getShape())
        return std::nullopt;
    Candidate c;
    c.gateMap = g;
    c.width = outTy.getDimSize(1);
    if (ShapedType::isDynamic(c.width))
      return std::nullopt;
    for (OpOperand *in : g.getDpsInputOperands()) {
      Value v = in->get(), src;
      std::optional<int64_t> col;
      if (auto s = v.getDefiningOp<tensor::ExtractSliceOp>())
        if ((col = columnSlice(s, c.width)))
          src = s.getSource();
      if (!col && v.getType() == outTy) { // the pre-activations whole (one gate)
        src = v;
        col = 0;
      }
      std::optional<Producer> producer;
      if (col && (c.rec ? c.rec == src : (producer = matchProducer(src)).has_value())) {
        if (!c.rec)
          c.producer = *producer;
        c.rec = src;
        c.recColumn.push_back(col);
      } else {
        c.recColumn.push_back(std::nullopt);
      }
    }
    if (!c.rec)
      return std::nullopt;
    // Any other read of the pre-activations (a slice that is not a gate's
    // columns) would keep the whole contraction alive next to the blocks.
    for (auto [in, col] : llvm::zip(g.getDpsInputOperands(), c.recColumn))
      if (auto s = in->get().getDefiningOp<tensor::ExtractSliceOp>(); !col && s && s.getSource() == c.rec)
        return std::nullopt;
    // The slices take all the rows: as many as the pre-activations' buffer.
    auto empty = c.producer.chains[0].init->getOperands().back().getDefiningOp<tensor::EmptyOp>();
    OpFoldResult rowsAll = empty.getMixedSizes()[0];
    for (OpOperand *in : g.getDpsInputOperands())
      if (auto s = in->get().getDefiningOp<tensor::ExtractSliceOp>())
        if (s.getSource() == c.rec && s.getMixedSizes()[0] != rowsAll)
          return std::nullopt;
    auto recTy = cast<RankedTensorType>(c.rec.getType());
    int64_t n = recTy.getDimSize(1);
    if (ShapedType::isDynamic(n) || n % c.width)
      return std::nullopt;
    // The gate map reads every gate: the blocks then write all of `rec`.
    llvm::SmallBitVector seen(n / c.width);
    for (auto col : c.recColumn)
      if (col) {
        if (*col % c.width)
          return std::nullopt;
        seen.set(*col / c.width);
      }
    if (!seen.all())
      return std::nullopt;
    // Panels must not straddle gates.
    for (const Chain &ch : c.producer.chains)
      if (ch.panel && c.width % ch.panel)
        return std::nullopt;
    c.block = blockSize(c.width, c.producer);
    if (!c.block)
      return std::nullopt;
    // Worth the threads: the matmul's work at the static batch (or 1).
    linalg::GenericOp k = c.producer.chains.back().contraction;
    int64_t kSize = cast<RankedTensorType>(k.getDpsInputs()[0].getType()).getShape().back();
    int64_t rows = recTy.getDimSize(0);
    if (ShapedType::isDynamic(kSize))
      return std::nullopt;
    if ((ShapedType::isDynamic(rows) ? 1 : rows) * n * kSize < minWork)
      return std::nullopt;
    // Every other use of `rec` comes after the gate map (it is replaced by
    // the blocks' whole result).
    Block *block = g->getBlock();
    for (Operation *user : c.rec.getUsers()) {
      if (user == g)
        continue;
      Operation *anc = inBlock(user, block);
      if (!anc)
        return std::nullopt;
      if (auto s = dyn_cast<tensor::ExtractSliceOp>(user))
        if (llvm::all_of(s->getUsers(), [&](Operation *u) { return u == g; }))
          continue;
      if (!g->isBeforeInBlock(anc))
        return std::nullopt;
    }
    return c;
  }

  void rewrite(Candidate &c) {
    linalg::GenericOp g = c.gateMap;
    OpBuilder b(g);
    Location loc = g.getLoc();
    Block *block = g->getBlock();
    DominanceInfo dom(getOperation());
    Producer &p = c.producer;
    auto recTy = cast<RankedTensorType>(c.rec.getType());
    int64_t bs = c.block, nBlocks = c.width / bs;

    // What the blocks' matmuls read: the gate map's outputs in there must go
    // elsewhere while blocks run.
    llvm::SmallPtrSet<Value, 8> readByMatmul;
    for (Chain ch : p.chains) {
      for (Value v : ch.contraction.getDpsInputs())
        readByMatmul.insert(v);
      for (Value v : ch.init->getOperands())
        readByMatmul.insert(v);
    }

    // Moves a row slice (and nothing it needs) before the gate map.
    auto hoistRow = [&](linalg::CopyOp copy) -> Value {
      auto row = copy.getDpsInits()[0].getDefiningOp<tensor::ExtractSliceOp>();
      if (!row || !row->hasOneUse() ||
          llvm::any_of(row->getOperands(), [&](Value v) { return !dom.properlyDominates(v, g); }))
        return Value();
      if (inBlock(row, block) && g->isBeforeInBlock(row))
        row->moveBefore(g);
      return row.getResult();
    };

    // The gates' first columns in the pre-activations.
    SmallVector<int64_t> cols;
    for (auto col : c.recColumn)
      if (col && !llvm::is_contained(cols, *col))
        cols.push_back(*col);
    llvm::sort(cols);
    int64_t nGates = cols.size();

    // Shared outputs: one per gate (its [B, H] columns of the pre-activations:
    // of the sequence row they are saved into, or fresh), then the gate
    // map's outputs. One per gate, not one for all: one-shot bufferization
    // then sees each block's gate slice taken from and put back into its own
    // tensor, and writes them in place.
    auto empty = p.chains[0].init->getOperands().back().getDefiningOp<tensor::EmptyOp>();
    OpFoldResult rows = empty.getMixedSizes()[0];
    linalg::CopyOp recCopy = rowCopyOf(c.rec);
    Value whole = recCopy ? hoistRow(recCopy) : Value();
    if (!whole) {
      recCopy = {};
      whole = tensor::EmptyOp::create(b, loc, empty.getMixedSizes(), recTy.getElementType());
    }
    SmallVector<Operation *> dead;
    SmallVector<Value> inits;
    SmallVector<OpFoldResult> unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
    for (int64_t col : cols) {
      auto gate = tensor::ExtractSliceOp::create(
          b, loc, whole, ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(col)},
          ArrayRef<OpFoldResult>{rows, b.getIndexAttr(c.width)}, unit);
      inits.push_back(gate);
    }
    SmallVector<linalg::CopyOp> outCopies(g.getNumDpsInits());
    SmallVector<bool> copyBack(g.getNumDpsInits(), false);
    for (auto [k, init] : llvm::enumerate(g.getDpsInits())) {
      if (!readByMatmul.contains(init)) {
        inits.push_back(init);
        continue;
      }
      copyBack[k] = true;
      Value row;
      if (linalg::CopyOp copy = rowCopyOf(g.getResult(k)))
        if ((row = hoistRow(copy)) && row.getType() == init.getType())
          outCopies[k] = copy;
      if (!outCopies[k]) {
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, init);
        row = tensor::EmptyOp::create(b, loc, sizes, recTy.getElementType());
      }
      inits.push_back(row);
    }

    auto forall = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(nBlocks)},
                                        inits, std::nullopt);
    forall->setAttr("rnn.gate_blocks", b.getI64IntegerAttr(bs));
    Block *body = forall.getBody();
    Value iv = forall.getInductionVars()[0];
    SmallVector<Value> shared(body->getArguments().drop_front(1));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(forall.getTerminator());
      Value j0 = arith::MulIOp::create(b, loc, iv, arith::ConstantIndexOp::create(b, loc, bs));
      auto blockOf = [&](Value v) -> Value {
        return tensor::ExtractSliceOp::create(
            b, loc, v, ArrayRef<OpFoldResult>{b.getIndexAttr(0), j0},
            ArrayRef<OpFoldResult>{tensor::getMixedSize(b, loc, v, 0), b.getIndexAttr(bs)}, unit);
      };
      // The gates' blocks, made before any scf.if so that both branches
      // write the same slices.
      SmallVector<Value> colStart, gateSlices;
      for (auto [i, col] : llvm::enumerate(cols)) {
        colStart.push_back(col ? arith::AddIOp::create(b, loc, j0, arith::ConstantIndexOp::create(b, loc, col))
                               : j0);
        gateSlices.push_back(blockOf(shared[i]));
      }
      auto emitTiles = [&](Chain &ch) {
        // Values the chain reads that its old branch defined (a cast of the
        // packed weights) are made again here.
        IRMapping map;
        std::function<void(Value)> materialize = [&](Value v) {
          Operation *def = v.getDefiningOp();
          if (!def || map.contains(v) || !p.ifOp || !p.ifOp->isProperAncestor(def))
            return;
          for (Value operand : def->getOperands())
            materialize(operand);
          b.clone(*def, map);
        };
        for (Operation *op : {ch.contraction.getOperation(), ch.init})
          for (Value v : op->getOperands())
            if (v != ch.contraction.getDpsInits()[0])
              materialize(v);
        SmallVector<Value> tiles;
        for (auto [c0, dest] : llvm::zip(colStart, gateSlices))
          tiles.push_back(emitChainTile(b, loc, ch, c0, bs, dest, map));
        return tiles;
      };
      SmallVector<Value> tiles;
      if (p.ifOp) {
        SmallVector<Type> types;
        for (Value s : gateSlices)
          types.push_back(s.getType());
        auto ifOp = scf::IfOp::create(b, loc, types, p.ifOp.getCondition(), /*withElseRegion=*/true);
        Block *branches[] = {ifOp.thenBlock(), ifOp.elseBlock()};
        for (auto [blk, ch] : llvm::zip(branches, p.chains)) {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(blk);
          scf::YieldOp::create(b, loc, emitTiles(ch));
        }
        tiles.assign(ifOp.getResults().begin(), ifOp.getResults().end());
      } else {
        tiles = emitTiles(p.chains[0]);
      }
      // The gate map on the block. An input that is also an output (the
      // cell state, updated in place) is read from the same block of the
      // shared output that it writes.
      SmallVector<Value> outBlocks;
      for (auto k : llvm::seq<unsigned>(0, g.getNumDpsInits()))
        outBlocks.push_back(blockOf(shared[nGates + k]));
      SmallVector<OpFoldResult> offs = {b.getIndexAttr(0), j0}, sizes = {b.getIndexAttr(0), b.getIndexAttr(bs)};
      SmallVector<bool> tiled = {false, true};
      SmallVector<Value> operands;
      for (auto [in, col] : llvm::zip(g.getDpsInputOperands(), c.recColumn)) {
        if (col) {
          operands.push_back(tiles[llvm::find(cols, *col) - cols.begin()]);
          continue;
        }
        Value v = in->get(), same;
        for (auto [k, init] : llvm::enumerate(g.getDpsInits()))
          if (v == init && !copyBack[k])
            same = outBlocks[k];
        operands.push_back(same ? same
                                : sliceOperand(b, loc, v, g.getMatchingIndexingMap(in), offs, sizes, tiled));
      }
      llvm::append_range(operands, outBlocks);
      Operation *gb = b.clone(*g.getOperation());
      gb->setOperands(operands);
      for (auto [r, o] : llvm::zip(gb->getResults(), outBlocks))
        r.setType(o.getType());

      // (sizes first: tensor.dim may not go into the terminator)
      SmallVector<Value> results(tiles);
      llvm::append_range(results, gb->getResults());
      SmallVector<SmallVector<OpFoldResult>> resultSizes;
      for (Value r : results)
        resultSizes.push_back(tensor::getMixedSizes(b, loc, r));
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      for (auto [i, r] : llvm::enumerate(results))
        tensor::ParallelInsertSliceOp::create(b, loc, r, shared[i],
                                              ArrayRef<OpFoldResult>{b.getIndexAttr(0), j0},
                                              resultSizes[i], unit);
    }

    // The pre-activations whole (saved by training, or read elsewhere): the
    // gates' columns put back together.
    b.setInsertionPointAfter(forall);
    for (auto [i, col] : llvm::enumerate(cols)) {
      auto ins = tensor::InsertSliceOp::create(
          b, loc, forall.getResult(i), whole,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(col)},
          ArrayRef<OpFoldResult>{rows, b.getIndexAttr(c.width)}, unit);
      whole = ins.getResult();
      dead.push_back(ins);
    }
    if (recCopy) {
      recCopy.getResult(0).replaceAllUsesWith(whole);
      recCopy.erase();
    }
    for (auto [k, r] : llvm::enumerate(g.getResults())) {
      Value out = forall.getResult(nGates + k);
      if (outCopies[k]) {
        outCopies[k].getResult(0).replaceAllUsesWith(out);
        outCopies[k].erase();
      }
      if (copyBack[k])
        out = linalg::CopyOp::create(b, loc, out, g.getDpsInits()[k]).getResult(0);
      r.replaceAllUsesWith(out);
    }
    c.rec.replaceUsesWithIf(whole, [&](OpOperand &use) {
      Operation *user = use.getOwner();
      return user != g && !(isa<tensor::ExtractSliceOp>(user) &&
                            llvm::all_of(user->getUsers(), [&](Operation *u) { return u == g; }));
    });
    g.erase();

    // What computed the pre-activations whole, now dead (this pass runs
    // right before bufferization: no canonicalization cleans up after it,
    // and canonicalization would drop the unused shared outputs whose
    // buffers the blocks write into). And the put-together pre-activations
    // when nothing reads them.
    for (Operation *user : c.rec.getUsers())
      if (isa<tensor::ExtractSliceOp>(user))
        dead.push_back(user);
    dead.push_back(c.rec.getDefiningOp());
    if (Operation *e = p.chains[0].init->getOperands().back().getDefiningOp())
      dead.push_back(e);
    // (the chains in an scf.if's branches go with it)
    for (Chain &ch : p.chains)
      for (Operation *op : {ch.collapse.getOperation(), ch.contraction.getOperation(),
                            ch.expand.getOperation(), ch.init})
        if (op && !llvm::is_contained(dead, op) && !(p.ifOp && p.ifOp->isAncestor(op)))
          dead.push_back(op);
    for (bool changed = true; changed;) {
      changed = false;
      for (Operation *&op : dead)
        if (op && op->use_empty()) {
          op->erase();
          op = nullptr;
          changed = true;
        }
    }
  }

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> maps;
    getOperation()->walk([&](linalg::GenericOp g) { maps.push_back(g); });
    for (linalg::GenericOp g : maps)
      if (std::optional<Candidate> c = match(g))
        rewrite(*c);
  }
};

} // namespace
