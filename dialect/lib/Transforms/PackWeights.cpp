//===- PackWeights.cpp - Packed weight panels for contractions -------------===//
//
// A contraction reading a static weight `x[.., k] * W[n, k]` (the dot form:
// horizontal sums) or `x[.., k] * W[k, n]` (the broadcast form, rows of the
// whole weight apart) runs fastest over *panels*: `P` consecutive output
// columns of the weight stored together, `Wp[p, k, q] = W[p*P + q, k]`, so a
// register tile of rows x 2 vectors reads one contiguous panel row per
// reduction step (no horizontal sums, no strided rows aliasing in L1).
//
// Per step, inside a time loop (the weight invariant in it):
//
//   %big = arith.cmpi uge, %rows, min-rows            // before the loop
//   %wp = panels of W, N/P of them if %big else 0
//   scf.for ... {
//     %r = scf.if %big {
//       linalg.generic (m, p, q, k): x(m, k) * wp(p, k, q) -> out(m, p, q)
//       (+ the original form for the N mod P leftover columns)
//     } else { the original contraction }           // GEMV at batch 1-3
//   }
//
// Sequence-wide, outside loops ([B, T, K] -> [B, T, N]): always the panels,
// made once after the weight's definition and shared by its readers.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNPACKWEIGHTSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using mlir::rnn::dimOf;

namespace {

/// A value defined outside `loop` equal to dimension 0 of the tensor `v`
/// (used inside it), following the ops that keep the leading dimension:
/// iteration arguments (of `loop` or of a loop inside it: a recurrence
/// inside rnn-stacked-wavefront's chunk loop starts from the chunk loop's
/// carried states) to their initial values, destination-style ops and
/// insert_slice to their destinations, tensor.empty and extract_slice to
/// their size operands. Null if none is found.
Value leadingDimOutside(OpBuilder &b, Value v, scf::ForOp loop, int depth = 0) {
  if (depth > 16)
    return Value();
  if (loop.isDefinedOutsideOfLoop(v)) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(loop);
    return tensor::DimOp::create(b, loop.getLoc(), v, 0);
  }
  auto size = [&](OpFoldResult s) -> Value {
    if (auto attr = dyn_cast<Attribute>(s)) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop);
      return arith::ConstantIndexOp::create(b, loop.getLoc(), cast<IntegerAttr>(attr).getInt());
    }
    Value sv = cast<Value>(s);
    if (loop.isDefinedOutsideOfLoop(sv))
      return sv;
    if (auto dim = sv.getDefiningOp<tensor::DimOp>()) {
      std::optional<int64_t> idx = dim.getConstantIndex();
      if (idx && *idx == 0)
        return leadingDimOutside(b, dim.getSource(), loop, depth + 1);
    }
    return Value();
  };
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto owner = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
    if (!owner || arg.getOwner() != owner.getBody() || arg.getArgNumber() == 0 ||
        !loop->isAncestor(owner))
      return Value();
    return leadingDimOutside(b, owner.getInitArgs()[arg.getArgNumber() - 1], loop, depth + 1);
  }
  Operation *def = v.getDefiningOp();
  if (auto empty = dyn_cast<tensor::EmptyOp>(def))
    return size(empty.getMixedSizes()[0]);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    if (slice.getDroppedDims().test(0))
      return Value();
    return size(slice.getMixedSizes()[0]);
  }
  if (auto ins = dyn_cast<tensor::InsertSliceOp>(def))
    return leadingDimOutside(b, ins.getDest(), loop, depth + 1);
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(def))
    return leadingDimOutside(b, dps.getTiedOpOperand(cast<OpResult>(v))->get(), loop, depth + 1);
  return Value();
}

/// The multiply-add body `out + in0 * in1` of a new generic.
void macBody(OpBuilder &b, Location loc, ValueRange args) {
  Value p = arith::MulFOp::create(b, loc, args[0], args[1]);
  linalg::YieldOp::create(b, loc, ValueRange{arith::AddFOp::create(b, loc, args[2], p)});
}

struct RNNPackWeightsPass : mlir::rnn::impl::RNNPackWeightsPassBase<RNNPackWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (panel < 1 || minRows < 1 || minElements < 0) {
      getOperation()->emitError(
          "rnn-pack-weights: panel and min-rows must be positive, min-elements not negative");
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (rnn::isTensorMultiplyAdd(op))
        ops.push_back(op);
    });
    DenseMap<std::pair<Value, unsigned>, Value> packs;
    for (linalg::GenericOp op : ops) {
      std::optional<Match> mt = match(op);
      if (!mt || cast<RankedTensorType>(mt->w.getType()).getNumElements() < minElements)
        continue;
      unsigned rank = op.getIndexingMapsArray()[2].getNumResults();
      if (scf::ForOp loop = rnn::enclosingLoop(op)) {
        if (rank == 2)
          rewriteInLoop(op, *mt, loop, packs);
      } else if (rank == 3) {
        rewriteSequence(op, *mt, packs);
      }
    }
  }

  /// The panels of `w` along its axis `nAxis` (0: `[N, K]`, 1: `[K, N]`):
  /// `[?, K, P]`, all `N / P` of them when `big`, else none (a dynamic
  /// count rather than an scf.if, so the buffer keeps its identity layout).
  Value pack(OpBuilder &b, Location loc, Value w, unsigned nAxis, Value big) {
    auto type = cast<RankedTensorType>(w.getType());
    int64_t n = type.getDimSize(nAxis), k = type.getDimSize(1 - nAxis), p = panel;
    int64_t nf = n / p * p;
    Type elt = type.getElementType();
    Value count = arith::SelectOp::create(b, loc, big, arith::ConstantIndexOp::create(b, loc, nf / p),
                                          arith::ConstantIndexOp::create(b, loc, 0));
    Value src = w;
    if (nf < n) {
      SmallVector<OpFoldResult> offs(2, b.getIndexAttr(0)), sizes, strides(2, b.getIndexAttr(1));
      sizes = {b.getIndexAttr(nAxis == 0 ? nf : k), b.getIndexAttr(nAxis == 0 ? k : nf)};
      src = tensor::ExtractSliceOp::create(b, loc, src, offs, sizes, strides);
    }
    // [N/P, P, K] or [K, N/P, P], then the first `count` panels.
    SmallVector<int64_t> eShape = nAxis == 0 ? SmallVector<int64_t>{nf / p, p, k}
                                             : SmallVector<int64_t>{k, nf / p, p};
    SmallVector<ReassociationIndices> reassoc =
        nAxis == 0 ? SmallVector<ReassociationIndices>{{0, 1}, {2}}
                   : SmallVector<ReassociationIndices>{{0}, {1, 2}};
    Value e = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(eShape, elt), src, reassoc);
    unsigned pAxis = nAxis == 0 ? 0 : 1;
    SmallVector<OpFoldResult> offs(3, b.getIndexAttr(0)), strides(3, b.getIndexAttr(1)), sizes;
    for (int64_t s : eShape)
      sizes.push_back(b.getIndexAttr(s));
    sizes[pAxis] = count;
    Value part = tensor::ExtractSliceOp::create(b, loc, e, offs, sizes, strides);
    Value init = tensor::EmptyOp::create(b, loc, RankedTensorType::get({ShapedType::kDynamic, k, p}, elt),
                                         ValueRange{count});
    SmallVector<int64_t> perm = nAxis == 0 ? SmallVector<int64_t>{0, 2, 1} : SmallVector<int64_t>{1, 0, 2};
    return linalg::TransposeOp::create(b, loc, part, init, perm).getResult()[0];
  }

  /// The weight operand of a contraction `x[m.., k] * W -> out[m.., n]`
  /// with `W` a static f32 `[N, K]` or `[K, N]` (`nAxis` 0 or 1) and `x`
  /// indexed by the output's leading axes and the reduction, in order.
  struct Match {
    unsigned wi, nAxis;
    Value w, x;
  };
  static std::optional<Match> match(linalg::GenericOp op) {
    if (op.getNumReductionLoops() != 1)
      return std::nullopt;
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    AffineMap om = maps[2];
    unsigned rank = om.getNumResults();
    unsigned k = 0;
    for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray()))
      if (it == utils::IteratorType::reduction)
        k = d;
    std::optional<unsigned> n = dimOf(om.getResult(rank - 1));
    if (!n)
      return std::nullopt;
    for (unsigned wi = 0; wi < 2; ++wi) {
      Value w = op.getDpsInputOperand(wi)->get(), x = op.getDpsInputOperand(1 - wi)->get();
      AffineMap wm = maps[wi], xm = maps[1 - wi];
      auto type = dyn_cast<RankedTensorType>(w.getType());
      if (!type || type.getRank() != 2 || !type.hasStaticShape() || !type.getElementType().isF32() ||
          wm.getNumResults() != 2 || xm.getNumResults() != rank || dimOf(xm.getResult(rank - 1)) != k)
        continue;
      bool leading = true;
      for (unsigned i = 0; i + 1 < rank; ++i)
        leading &= dimOf(xm.getResult(i)) == dimOf(om.getResult(i)) && dimOf(om.getResult(i));
      if (!leading)
        continue;
      if (dimOf(wm.getResult(0)) == n && dimOf(wm.getResult(1)) == k)
        return Match{wi, 0, w, x};
      if (dimOf(wm.getResult(0)) == k && dimOf(wm.getResult(1)) == n)
        return Match{wi, 1, w, x};
    }
    return std::nullopt;
  }

  /// `x[.., K] * W -> out[.., N]` over the panels `wp` (static `[N/P, K,
  /// P]`) for the first `N/P*P` columns and over `W` itself for the rest.
  Value panelContraction(OpBuilder &b, Location loc, const Match &mt, Value wp, Value out) {
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(mt.w.getType());
    auto outType = cast<RankedTensorType>(out.getType());
    unsigned lead = outType.getRank() - 1;
    int64_t nSize = type.getDimSize(mt.nAxis), kSize = type.getDimSize(1 - mt.nAxis), p = panel;
    int64_t nf = nSize / p * p;
    SmallVector<OpFoldResult> outSizes = tensor::getMixedSizes(b, loc, out);
    auto withCols = [&](int64_t cols) {
      SmallVector<int64_t> shape(outType.getShape());
      shape.back() = cols;
      return RankedTensorType::get(shape, outType.getElementType());
    };
    auto colSlice = [&](int64_t from, int64_t cols) {
      SmallVector<OpFoldResult> offs(lead + 1, b.getIndexAttr(0)), sizes(outSizes);
      offs.back() = b.getIndexAttr(from);
      sizes.back() = b.getIndexAttr(cols);
      return std::make_pair(offs, sizes);
    };
    SmallVector<OpFoldResult> ones(lead + 1, b.getIndexAttr(1));
    auto [fullOff, fullSize] = colSlice(0, nf);
    Value full = out;
    if (nf < nSize)
      full = tensor::ExtractSliceOp::create(b, loc, withCols(nf), out, fullOff, fullSize, ones);
    // The output's last axis as [N/P, P].
    SmallVector<int64_t> eShape(outType.getShape().drop_back());
    eShape.append({nf / p, p});
    auto eType = RankedTensorType::get(eShape, outType.getElementType());
    SmallVector<ReassociationIndices> reassoc;
    for (unsigned i = 0; i < lead; ++i)
      reassoc.push_back({static_cast<int64_t>(i)});
    reassoc.push_back({static_cast<int64_t>(lead), static_cast<int64_t>(lead + 1)});
    SmallVector<OpFoldResult> eSizes(outSizes.begin(), outSizes.end() - 1);
    eSizes.append({b.getIndexAttr(nf / p), b.getIndexAttr(p)});
    Value oe = tensor::ExpandShapeOp::create(b, loc, eType, full, reassoc, eSizes);
    // (lead.., p, q, k): x(lead.., k) * wp(p, k, q) -> out(lead.., p, q)
    unsigned nd = lead + 3;
    SmallVector<AffineExpr> ld;
    for (unsigned i = 0; i < lead; ++i)
      ld.push_back(getAffineDimExpr(i, ctx));
    AffineExpr dp = getAffineDimExpr(lead, ctx), dq = getAffineDimExpr(lead + 1, ctx),
               dk = getAffineDimExpr(lead + 2, ctx);
    SmallVector<AffineExpr> xr(ld), orr(ld);
    xr.push_back(dk);
    orr.append({dp, dq});
    SmallVector<AffineMap> pmaps{AffineMap::get(nd, 0, xr, ctx), AffineMap::get(nd, 0, {dp, dk, dq}, ctx),
                                 AffineMap::get(nd, 0, orr, ctx)};
    SmallVector<utils::IteratorType> iters(nd - 1, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    auto packed = linalg::GenericOp::create(b, loc, TypeRange{eType}, ValueRange{mt.x, wp}, ValueRange{oe}, pmaps,
                                            iters, [](OpBuilder &b, Location loc, ValueRange args) {
                                              macBody(b, loc, args);
                                            });
    Value res = tensor::CollapseShapeOp::create(b, loc, withCols(nf), packed.getResult(0), reassoc);
    if (nf == nSize)
      return res;
    // The N mod P leftover columns: the original form on the weight's last
    // rows (or columns) and the output's last columns.
    int64_t rest = nSize - nf;
    res = tensor::InsertSliceOp::create(b, loc, res, out, fullOff, fullSize, ones);
    SmallVector<OpFoldResult> wOff{b.getIndexAttr(mt.nAxis == 0 ? nf : 0), b.getIndexAttr(mt.nAxis == 0 ? 0 : nf)};
    SmallVector<OpFoldResult> wSize{b.getIndexAttr(mt.nAxis == 0 ? rest : kSize),
                                    b.getIndexAttr(mt.nAxis == 0 ? kSize : rest)};
    SmallVector<OpFoldResult> wOnes(2, b.getIndexAttr(1));
    Value wr = tensor::ExtractSliceOp::create(b, loc, mt.w, wOff, wSize, wOnes);
    auto [restOff, restSize] = colSlice(nf, rest);
    Value ot = tensor::ExtractSliceOp::create(b, loc, withCols(rest), res, restOff, restSize, ones);
    // (lead.., n, k): x(lead.., k) * W(n, k) or W(k, n) -> out(lead.., n)
    AffineExpr en = getAffineDimExpr(lead, ctx), ek = getAffineDimExpr(lead + 1, ctx);
    SmallVector<AffineExpr> txr(ld), tor(ld);
    txr.push_back(ek);
    tor.push_back(en);
    SmallVector<AffineMap> tmaps(3);
    tmaps[1 - mt.wi] = AffineMap::get(lead + 2, 0, txr, ctx);
    tmaps[mt.wi] = AffineMap::get(lead + 2, 0,
                                  mt.nAxis == 0 ? ArrayRef<AffineExpr>{en, ek} : ArrayRef<AffineExpr>{ek, en}, ctx);
    tmaps[2] = AffineMap::get(lead + 2, 0, tor, ctx);
    SmallVector<Value> ins(2);
    ins[mt.wi] = wr;
    ins[1 - mt.wi] = mt.x;
    SmallVector<utils::IteratorType> titers(lead + 1, utils::IteratorType::parallel);
    titers.push_back(utils::IteratorType::reduction);
    auto tail = linalg::GenericOp::create(b, loc, TypeRange{ot.getType()}, ins, ValueRange{ot}, tmaps, titers,
                                          [](OpBuilder &b, Location loc, ValueRange args) {
                                            macBody(b, loc, args);
                                          });
    return tensor::InsertSliceOp::create(b, loc, tail.getResult(0), res, restOff, restSize, ones);
  }

  /// All `N/P` panels of `w`, made right after its definition and shared by
  /// every contraction that reads it along the same axis.
  Value allPanels(OpBuilder &b, Location loc, const Match &mt,
                  DenseMap<std::pair<Value, unsigned>, Value> &packs) {
    Value &wp = packs[{mt.w, mt.nAxis}];
    if (!wp) {
      auto type = cast<RankedTensorType>(mt.w.getType());
      int64_t nf = type.getDimSize(mt.nAxis) / panel * panel, kSize = type.getDimSize(1 - mt.nAxis);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointAfterValue(mt.w);
      Value all = arith::ConstantIntOp::create(b, loc, 1, 1);
      wp = tensor::CastOp::create(b, loc, RankedTensorType::get({nf / panel, kSize, panel}, type.getElementType()),
                                  pack(b, loc, mt.w, mt.nAxis, all));
    }
    return wp;
  }

  /// Per-step contraction (rank-2 output) in a loop, the weight invariant.
  void rewriteInLoop(linalg::GenericOp op, const Match &mt, scf::ForOp loop,
                     DenseMap<std::pair<Value, unsigned>, Value> &packs) {
    auto type = cast<RankedTensorType>(mt.w.getType());
    int64_t nSize = type.getDimSize(mt.nAxis), kSize = type.getDimSize(1 - mt.nAxis), p = panel;
    int64_t nf = nSize / p * p;
    if (nf == 0 || !loop.isDefinedOutsideOfLoop(mt.w))
      return;
    // Hoist the panels above every loop the weight and the row count are
    // invariant in.
    OpBuilder b(op.getContext());
    Value rows = leadingDimOutside(b, mt.x, loop);
    if (!rows)
      return;
    // (The row count is traced through an outer loop's carried states only
    // where the panels are packed here: a prepared inference function reads
    // them packed at load time, and measured 3% slower at batch 1 with the
    // condition hoisted above rnn-stacked-wavefront's chunk loop.)
    bool preparedHere = prepared && rnn::isInferenceFunction(op->getParentOfType<FunctionOpInterface>());
    scf::ForOp top = loop;
    while (auto outer = top->getParentOfType<scf::ForOp>()) {
      if (!outer.isDefinedOutsideOfLoop(mt.w))
        break;
      Value r = outer.isDefinedOutsideOfLoop(rows) ? rows
                : preparedHere                     ? Value()
                                                   : leadingDimOutside(b, mt.x, outer);
      if (!r)
        break;
      rows = r;
      top = outer;
    }
    Location loc = op.getLoc();
    b.setInsertionPoint(top);
    if (Operation *def = rows.getDefiningOp(); def && def->getBlock() == top->getBlock() && top->isBeforeInBlock(def))
      b.setInsertionPointAfter(def);
    Value big = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, rows,
                                      arith::ConstantIndexOp::create(b, loc, minRows));
    Value wp = preparedHere ? allPanels(b, loc, mt, packs) : pack(b, loc, mt.w, mt.nAxis, big);

    b.setInsertionPoint(op);
    Value out = op.getDpsInitOperand(0)->get();
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{out.getType()}, big, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.elseBlock());
      Operation *orig = b.clone(*op);
      scf::YieldOp::create(b, loc, orig->getResults());
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value wps = tensor::CastOp::create(b, loc, RankedTensorType::get({nf / p, kSize, p}, type.getElementType()), wp);
      scf::YieldOp::create(b, loc, ValueRange{panelContraction(b, loc, mt, wps, out)});
    }
    op->replaceAllUsesWith(ifOp->getResults());
    op->erase();
  }

  /// Sequence-wide contraction outside every loop (`[B, T, K] -> [B, T,
  /// N]`: the hoisted input projection, a dense head over a sequence): rows
  /// B x T, always many, so always the panels, packed right after the weight
  /// is defined (shared by every such contraction reading it).
  void rewriteSequence(linalg::GenericOp op, const Match &mt, DenseMap<std::pair<Value, unsigned>, Value> &packs) {
    int64_t nf = cast<RankedTensorType>(mt.w.getType()).getDimSize(mt.nAxis) / panel * panel;
    Value out = op.getDpsInitOperand(0)->get();
    auto outType = cast<RankedTensorType>(out.getType());
    if (nf == 0 || outType.getRank() != 3)
      return;
    OpBuilder b(op.getContext());
    Location loc = op.getLoc();
    Value wp = allPanels(b, loc, mt, packs);
    b.setInsertionPoint(op);
    Value r3 = panelContraction(b, loc, mt, wp, out);
    op->replaceAllUsesWith(ValueRange{r3});
    op->erase();
  }
};

} // namespace
