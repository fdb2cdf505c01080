//===- VectorizeKernels.cpp - Register-tiled vector kernels for linalg ----===//
//
// After bufferization, every linalg.generic that is a contraction (`out +=
// lhs * rhs`, one reduction loop) or an elementwise map becomes scf loops of
// `vector` ops sized for the host's vector registers (8 x f32 for AVX2):
//
//  * dot form (the reduction axis is contiguous in both inputs, as in
//    `x @ W^T` with PyTorch's [out, in] weights): a register tile of
//    `rows x cols` outputs, each a vector accumulator over the reduction
//    axis, reduced horizontally once at the end; no weight packing needed,
//    every weight row streams once per tile;
//  * broadcast form (the output's last axis is contiguous in one input, as
//    in the backward `dG @ W` and `dG^T @ h`): a tile of `rows x vectors`
//    accumulators kept in registers over the whole reduction, each step a
//    scalar broadcast times a vector row;
//  * elementwise maps (gate arithmetic, bias broadcasts, fills, copies):
//    one vector of the last axis at a time, the body's ops cloned on vectors,
//    loop-invariant operands broadcast.
//
// With share-kernels, a kernel that the module repeats (both directions of a
// layer, the loss's forward, the prepare function's transposes) is emitted
// once, in a function that its copies call.
//
// Remainders (rows, columns, reduction steps that do not fill a tile) are
// handled by smaller tiles down to scalar code, so any size is exact. Then
// every `math.tanh`/`math.exp`/`math.log` becomes MLIR's polynomial
// approximation (vector code instead of per-lane libm calls; the scalar
// remainders use the same formulas, so every lane rounds alike).
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNVECTORIZEKERNELSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Small builders: the same code for a vector of `w` lanes or a scalar (w = 1).
//===----------------------------------------------------------------------===//

Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// `w` consecutive elements of `mem` starting at `idx` (its last index), or
/// the scalar at `idx` when w == 1. With `mask` (a vector<w x i1>), only the
/// enabled lanes are read; the others are zero.
Value load(OpBuilder &b, Location loc, Value mem, ValueRange idx, int64_t w,
           Value mask = Value()) {
  if (w == 1)
    return memref::LoadOp::create(b, loc, mem, idx);
  auto elt = cast<MemRefType>(mem.getType()).getElementType();
  auto vt = VectorType::get({w}, elt);
  if (mask) {
    Value zero = arith::ConstantOp::create(b, loc, vt, b.getZeroAttr(vt));
    return vector::MaskedLoadOp::create(b, loc, vt, mem, idx, mask, zero);
  }
  return vector::LoadOp::create(b, loc, vt, mem, idx);
}

/// `v` (a scalar or vector of a narrow float type) as f32.
Value widenF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    return arith::ExtFOp::create(b, loc, VectorType::get(vt.getShape(), f32), v);
  return arith::ExtFOp::create(b, loc, f32, v);
}

void store(OpBuilder &b, Location loc, Value v, Value mem, ValueRange idx, Value mask = Value()) {
  if (mask)
    vector::MaskedStoreOp::create(b, loc, mem, idx, mask, v);
  else if (isa<VectorType>(v.getType()))
    vector::StoreOp::create(b, loc, v, mem, idx);
  else
    memref::StoreOp::create(b, loc, v, mem, idx);
}

/// The first `n` of `w` lanes (n in [0, w]).
Value laneMask(OpBuilder &b, Location loc, Value n, int64_t w) {
  return vector::CreateMaskOp::create(b, loc, VectorType::get({w}, b.getI1Type()), ValueRange{n});
}

Value splat(OpBuilder &b, Location loc, Value scalar, int64_t w) {
  if (w == 1)
    return scalar;
  return vector::BroadcastOp::create(b, loc, VectorType::get({w}, scalar.getType()), scalar);
}

Value zero(OpBuilder &b, Location loc, Type elt, int64_t w) {
  Value z = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, 0.0));
  return splat(b, loc, z, w);
}

/// x * y + acc: a fused multiply-add on vectors; on scalars the separate
/// multiply and add of the scalar loops it replaces.
Value fma(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
  if (isa<VectorType>(x.getType()))
    return vector::FMAOp::create(b, loc, x, y, acc);
  return arith::AddFOp::create(b, loc, acc, arith::MulFOp::create(b, loc, x, y));
}

/// True when the last axis of `mem` has unit stride (vector loads along it
/// are contiguous).
bool unitLastStride(Value mem) {
  auto t = dyn_cast<MemRefType>(mem.getType());
  if (!t || t.getRank() == 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return false;
  return strides.back() == 1;
}

Value rangeLo(OpBuilder &b, Location loc, const Range &r) {
  return getValueOrCreateConstantIndexOp(b, loc, r.offset);
}
/// The loop ranges here start at their offset and end at their size.
Value rangeHi(OpBuilder &b, Location loc, const Range &r) {
  return getValueOrCreateConstantIndexOp(b, loc, r.size);
}

/// `lo + ((hi - lo) / tile) * tile`: where the whole tiles of [lo, hi) end.
Value fullTilesEnd(OpBuilder &b, Location loc, Value lo, Value hi, int64_t tile) {
  Value ct = cIdx(b, loc, tile);
  // (Folded when the bounds are constants: the remainder tiles after it
  // can then be chosen statically.)
  Value n = b.createOrFold<arith::SubIOp>(loc, hi, lo);
  Value whole = b.createOrFold<arith::MulIOp>(loc, b.createOrFold<arith::DivUIOp>(loc, n, ct), ct);
  return b.createOrFold<arith::AddIOp>(loc, lo, whole);
}

/// Emits `for (iv = lo; iv + tile <= hi; iv += tile) body(iv, tile)` for
/// each tile size in `tiles` (largest first; ending with 1 covers every
/// remainder), each loop taking over where the previous one stopped. Returns
/// where the last loop stopped.
Value tiledLoops(OpBuilder &b, Location loc, Value lo, Value hi, ArrayRef<int64_t> tiles,
                function_ref<void(OpBuilder &, Location, Value, int64_t)> body) {
  Value start = lo;
  for (int64_t t : tiles) {
    Value end = t > 1 ? fullTilesEnd(b, loc, start, hi, t) : hi;
    auto loop = scf::ForOp::create(b, loc, start, end, cIdx(b, loc, t));
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      body(b, loc, loop.getInductionVar(), t);
    }
    start = end;
  }
  return start;
}

/// Nested scf.for loops over `dims` (loop dimensions of `ranges`); `ivs` is
/// filled at those positions before `body` runs in the innermost loop.
void outerLoops(OpBuilder &b, Location loc, ArrayRef<Range> ranges, ArrayRef<unsigned> dims,
                SmallVectorImpl<Value> &ivs, function_ref<void(OpBuilder &, Location)> body) {
  if (dims.empty())
    return body(b, loc);
  const Range &r = ranges[dims.front()];
  auto loop = scf::ForOp::create(b, loc, rangeLo(b, loc, r), rangeHi(b, loc, r),
                                 getValueOrCreateConstantIndexOp(b, loc, r.stride));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  ivs[dims.front()] = loop.getInductionVar();
  outerLoops(b, loc, ranges, dims.drop_front(), ivs, body);
}

/// Nested scf.for loops (step 1) over the loop dimensions `dims`, carrying
/// `init`; `body` maps the loop values (one per dim, also written into `vals`
/// at the end) and the carried values to the next ones. Returns the results
/// of the outermost loop.
SmallVector<Value>
reductionNest(OpBuilder &b, Location loc, ArrayRef<Range> ranges, ArrayRef<unsigned> dims,
              MutableArrayRef<Value> vals, ValueRange init,
              function_ref<SmallVector<Value>(OpBuilder &, Location, ArrayRef<Value>, ValueRange)>
                  body,
              unsigned depth = 0) {
  if (depth == dims.size()) {
    SmallVector<Value> kv(vals.begin(), vals.end());
    return body(b, loc, kv, init);
  }
  const Range &r = ranges[dims[depth]];
  auto loop = scf::ForOp::create(
      b, loc, rangeLo(b, loc, r), rangeHi(b, loc, r), cIdx(b, loc, 1), init,
      [&](OpBuilder &b, Location loc, Value iv, ValueRange carried) {
        vals[depth] = iv;
        scf::YieldOp::create(b, loc,
                             reductionNest(b, loc, ranges, dims, vals, carried, body, depth + 1));
      });
  return SmallVector<Value>(loop.getResults());
}

/// Operand indices from loop values through a projected permutation.
SmallVector<Value> apply(AffineMap map, ArrayRef<Value> loopVals) {
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults())
    idx.push_back(loopVals[cast<AffineDimExpr>(e).getPosition()]);
  return idx;
}

bool lastResultIs(AffineMap map, unsigned d) {
  if (map.getNumResults() == 0)
    return false;
  auto e = dyn_cast<AffineDimExpr>(map.getResults().back());
  return e && e.getPosition() == d;
}

//===----------------------------------------------------------------------===//
// Sharing a kernel's outputs among threads
//===----------------------------------------------------------------------===//

/// How kernels are shared among the runtime's threads.
struct ParallelOpts {
  bool enabled = false;
  int64_t minWork = 0; // static work below which a kernel stays whole
};

/// The thread taking part in an rnn.parallel region: its index and the
/// number of threads (null when the kernel runs whole).
struct Share {
  Value tid, count;
  explicit operator bool() const { return bool(tid); }
};

/// The `share.tid`-th of `share.count` contiguous chunks of [lo, hi), each a
/// multiple of `align` long (the last one shorter, some possibly empty).
Range shareOf(OpBuilder &b, Location loc, const Range &r, Share share, int64_t align) {
  Value lo = rangeLo(b, loc, r), hi = rangeHi(b, loc, r);
  Value len = arith::SubIOp::create(b, loc, hi, lo);
  Value per = arith::CeilDivUIOp::create(b, loc, len, share.count);
  Value ca = cIdx(b, loc, align);
  Value chunk = arith::MulIOp::create(b, loc, arith::CeilDivUIOp::create(b, loc, per, ca), ca);
  Value start = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, lo, arith::MulIOp::create(b, loc, share.tid, chunk)), hi);
  Value end = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, start, chunk), hi);
  return Range{start, end, r.stride};
}

/// `cond ? a : b` for loop ranges.
Range selectRange(OpBuilder &b, Location loc, Value cond, const Range &x, const Range &y) {
  auto pick = [&](OpFoldResult p, OpFoldResult q) -> OpFoldResult {
    return arith::SelectOp::create(b, loc, cond, getValueOrCreateConstantIndexOp(b, loc, p),
                                   getValueOrCreateConstantIndexOp(b, loc, q))
        .getResult();
  };
  return Range{pick(x.offset, y.offset), pick(x.size, y.size), x.stride};
}

Value rangeLen(OpBuilder &b, Location loc, const Range &r) {
  return arith::SubIOp::create(b, loc, rangeHi(b, loc, r), rangeLo(b, loc, r));
}

/// a * b, saturating at INT64_MAX (both >= 0).
int64_t satMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(std::min<uint64_t>(
      llvm::SaturatingMultiply(static_cast<uint64_t>(a), static_cast<uint64_t>(b)), INT64_MAX));
}

/// A dynamic loop size (a batch, a sequence length) as counted by
/// staticWork when the static sizes alone give at least kWideKernel
/// elements (a quarter of that over batch x time): a kernel over
/// `[B, 2048]` (a bias broadcast, a copy of a step's gates) is worth
/// parallel code, and the runtime keeps it on one thread when the actual
/// sizes give too little work (batch 1). Narrower kernels count dynamic
/// sizes as 1: parallel code for every small map of a small model doubled
/// its compile time for nothing.
constexpr int64_t kDynamicSizeGuess = 16;
constexpr int64_t kWideKernel = 1024;

/// The product of the loop sizes, dynamic ones counted as above.
int64_t staticWork(ArrayRef<int64_t> sizes) {
  int64_t w = 1, dynamic = 0;
  for (int64_t s : sizes) {
    if (ShapedType::isDynamic(s))
      ++dynamic;
    else
      w = satMul(w, s);
  }
  // Sequences ([B, T, N]: two dynamic sizes) from a quarter of that width.
  if (dynamic && (w >= kWideKernel || (dynamic >= 2 && w >= kWideKernel / 4)))
    for (int64_t i = 0; i < dynamic; ++i)
      w = satMul(w, kDynamicSizeGuess);
  return w;
}

/// Emits `body` for the whole kernel, or, when `opts` allow and the kernel's
/// static work (`staticCost`) is large enough, inside an rnn.parallel region
/// whose `work` is `cost` times the product of the `ranges`' lengths.
void maybeParallel(OpBuilder &b, Location loc, const ParallelOpts &opts, int64_t staticCost,
                   ArrayRef<Range> ranges, int64_t cost,
                   function_ref<void(OpBuilder &, Location, Share)> body) {
  // Inside an rnn.parallel region (an scf.forall's iterations) the threads
  // are busy: the kernel stays whole.
  Operation *parent = b.getInsertionBlock()->getParentOp();
  bool nested = isa<rnn::ParallelOp>(parent) || parent->getParentOfType<rnn::ParallelOp>();
  if (!opts.enabled || staticCost < opts.minWork || nested)
    return body(b, loc, Share{});
  Value work = cIdx(b, loc, cost);
  for (const Range &r : ranges)
    work = arith::MulIOp::create(b, loc, work, rangeLen(b, loc, r));
  Type i64 = b.getI64Type();
  Value work64 = arith::IndexCastUIOp::create(b, loc, i64, work);
  auto par = rnn::ParallelOp::create(b, loc, work64);
  Block *entry = b.createBlock(&par.getBody(), {}, {i64, i64}, {loc, loc});
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(entry);
  Share share{arith::IndexCastUIOp::create(b, loc, b.getIndexType(), entry->getArgument(0)),
              arith::IndexCastUIOp::create(b, loc, b.getIndexType(), entry->getArgument(1))};
  body(b, loc, share);
  rnn::ParallelEndOp::create(b, loc);
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// `out + in0 * in1` (either order of the product and the sum), where an
/// input may first be widened (`arith.extf` of a narrow weight copy, from
/// rnn-narrow-weights); `widened[i]` tells which.
bool isMacBody(linalg::GenericOp op, bool widened[2]) {
  Block &body = op.getRegion().front();
  Value eff[2] = {body.getArgument(0), body.getArgument(1)};
  widened[0] = widened[1] = false;
  Operation *o = &body.front();
  while (auto ext = dyn_cast<arith::ExtFOp>(o)) {
    int i = ext.getIn() == body.getArgument(0) ? 0 : ext.getIn() == body.getArgument(1) ? 1 : -1;
    if (i < 0 || widened[i] || !ext.getType().isF32())
      return false;
    widened[i] = true;
    eff[i] = ext;
    o = o->getNextNode();
  }
  if (body.getOperations().size() != 3u + widened[0] + widened[1])
    return false;
  auto mul = dyn_cast<arith::MulFOp>(o);
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield.getNumOperands() != 1 || yield.getOperand(0) != add)
    return false;
  Value a0 = eff[0], a1 = eff[1], out = body.getArgument(2);
  bool mulOk = (mul.getLhs() == a0 && mul.getRhs() == a1) || (mul.getLhs() == a1 && mul.getRhs() == a0);
  bool addOk = (add.getLhs() == out && add.getRhs() == mul) || (add.getRhs() == out && add.getLhs() == mul);
  return mulOk && addOk;
}

/// A 1-D bias that seeds a contraction's output: the output element whose
/// trailing indices are (i_1, ..., i_r) starts from
/// `bias[offset + i_1 * strides[0] + ... + i_r * strides[r-1]]` (its column
/// of the buffer the bias was broadcast into; the output may be a panel view
/// of some of its columns).
struct Seed {
  Value bias;
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  /// Or a constant every output element starts from (a linalg.fill of the
  /// output: the zero of a gradient accumulator).
  TypedAttr value;
  explicit operator bool() const { return bias || value; }
};

struct Contraction {
  linalg::GenericOp op;
  Value in[2], out;
  bool widen[2];                 // input stored narrow (f16/bf16), widened on load
  AffineMap inMap[2], outMap;
  unsigned k;                    // the innermost reduction loop
  SmallVector<unsigned> ks;      // every reduction loop, outermost first
  unsigned n;                    // the output's last axis
  std::optional<unsigned> m;     // the output's second-to-last axis
  SmallVector<unsigned> outer;   // every other parallel loop
  SmallVector<int64_t> staticSizes; // loop sizes (ShapedType::kDynamic if unknown)
  /// With a seed (a bias broadcast folded into the kernel, see
  /// findSeededContractions): the output's initial values come from the bias
  /// instead of the output's own contents (which are not read).
  Seed seed;

  /// The initial value of the output at `idx` (w lanes, masked like `load`).
  Value initAt(OpBuilder &b, Location loc, ArrayRef<Value> idx, int64_t w, Value mask) const;

  /// The loop values at register-tile entry (i, j): the outer loops' `ivs`,
  /// row `mIdx[i]`, column `nIdx[j]`, and `kv` for the reduction loops `kd`.
  SmallVector<Value> at(ArrayRef<Value> ivs, ArrayRef<Value> mIdx, ArrayRef<Value> nIdx, int64_t i,
                        int64_t j, ArrayRef<unsigned> kd, ArrayRef<Value> kv) const {
    SmallVector<Value> vals(ivs.begin(), ivs.end());
    if (m)
      vals[*m] = mIdx[i];
    vals[n] = nIdx[j];
    for (auto [d, v] : llvm::zip(kd, kv))
      vals[d] = v;
    return vals;
  }
};

Value Contraction::initAt(OpBuilder &b, Location loc, ArrayRef<Value> idx, int64_t w,
                          Value mask) const {
  if (seed.value)
    return splat(b, loc, arith::ConstantOp::create(b, loc, seed.value), w);
  if (!seed.bias)
    return load(b, loc, out, idx, w, mask);
  Value col = cIdx(b, loc, seed.offset);
  for (auto [v, stride] : llvm::zip(idx.take_back(seed.strides.size()), seed.strides))
    col = arith::AddIOp::create(b, loc, col,
                                stride == 1 ? v : arith::MulIOp::create(b, loc, v, cIdx(b, loc, stride)));
  return load(b, loc, seed.bias, col, w, mask);
}

/// `base, base + step, ..., base + (count - 1) * step`.
SmallVector<Value> offsets(OpBuilder &b, Location loc, Value base, int64_t count, int64_t step) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < count; ++i)
    out.push_back(i == 0 ? base : arith::AddIOp::create(b, loc, base, cIdx(b, loc, i * step)));
  return out;
}

std::optional<Contraction> matchContraction(linalg::GenericOp op) {
  Contraction c;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() < 1 || !isMacBody(op, c.widen))
    return std::nullopt;
  c.op = op;
  auto maps = op.getIndexingMapsArray();
  for (int i = 0; i < 2; ++i) {
    c.in[i] = op.getDpsInputOperand(i)->get();
    c.inMap[i] = maps[i];
  }
  c.out = op.getDpsInitOperand(0)->get();
  c.outMap = maps[2];
  for (AffineMap m : maps)
    if (!m.isProjectedPermutation(/*allowZeroInResults=*/false))
      return std::nullopt;
  for (int i = 0; i < 3; ++i) {
    Value v = i < 2 ? c.in[i] : c.out;
    Type elt = cast<MemRefType>(v.getType()).getElementType();
    if (!(i < 2 && c.widen[i] ? isa<Float16Type, BFloat16Type>(elt) : elt.isF32()))
      return std::nullopt;
  }
  auto iters = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iters.size(); ++d)
    if (iters[d] == utils::IteratorType::reduction)
      c.ks.push_back(d);
  c.k = c.ks.back();
  c.staticSizes = op.getStaticLoopRanges();
  unsigned rank = c.outMap.getNumResults();
  if (rank == 0 || !unitLastStride(c.out))
    return std::nullopt;
  c.n = cast<AffineDimExpr>(c.outMap.getResult(rank - 1)).getPosition();
  if (rank >= 2)
    c.m = cast<AffineDimExpr>(c.outMap.getResult(rank - 2)).getPosition();
  for (unsigned d = 0; d < iters.size(); ++d)
    if (iters[d] != utils::IteratorType::reduction && d != c.n && (!c.m || d != *c.m))
      c.outer.push_back(d);
  return c;
}


/// Dot form: out[.., m, n] += sum_k in0[.., k] * in1[.., k].
void emitDot(OpBuilder &b, Location loc, const Contraction &c, ArrayRef<Range> ranges,
             int64_t width) {
  Type f32 = b.getF32Type();
  unsigned numLoops = ranges.size();
  SmallVector<Value> ivs(numLoops);
  auto lo = [&](unsigned d) { return rangeLo(b, loc, ranges[d]); };
  auto hi = [&](unsigned d) { return rangeHi(b, loc, ranges[d]); };
  outerLoops(b, loc, ranges, c.outer, ivs, [&](OpBuilder &b, Location loc) {
    // One register tile of `rows x cols` outputs at (m0, n0).
    auto tile = [&](OpBuilder &b, Location loc, Value m0, int64_t rows, Value n0, int64_t cols,
                    int64_t width) {
      SmallVector<Value> mIdx = offsets(b, loc, m0, rows, 1), nIdx = offsets(b, loc, n0, cols, 1);
      auto loopVals = [&](int64_t i, int64_t j, Value kv) {
        return c.at(ivs, mIdx, nIdx, i, j, c.k, kv);
      };
      // The products of one reduction step (width w) into `accs`, each
      // operand loaded once per distinct index.
      auto step = [&](OpBuilder &b, Location loc, Value kv, int64_t w, ValueRange accs,
                      Value mask = Value()) {
        SmallVector<Value> next;
        // A load is shared by the tile entries that index it the same way.
        DenseMap<std::pair<int64_t, int64_t>, Value> cache[2];
        auto operand = [&](int which, int64_t i, int64_t j) {
          AffineMap map = c.inMap[which];
          auto key = std::make_pair(c.m && map.isFunctionOfDim(*c.m) ? i : -1,
                                    map.isFunctionOfDim(c.n) ? j : -1);
          Value &slot = cache[which][key];
          if (!slot) {
            slot = load(b, loc, c.in[which], apply(map, loopVals(i, j, kv)), w, mask);
            if (c.widen[which])
              slot = widenF32(b, loc, slot);
          }
          return slot;
        };
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j)
            next.push_back(fma(b, loc, operand(0, i, j), operand(1, i, j), accs[i * cols + j]));
        return next;
      };
      int64_t numAcc = rows * cols;
      Value kLo = lo(c.k), kHi = hi(c.k);
      Value cw = cIdx(b, loc, width);
      Value kVecEnd = fullTilesEnd(b, loc, kLo, kHi, width);
      SmallVector<Value> init(numAcc, zero(b, loc, f32, width));
      // The reduction 4 vectors per iteration (each accumulator still adds
      // its products in order), then one vector at a time for the rest.
      // LLVM's unroller is off (compile time), and the one-vector loop
      // streamed the batch-1 GEMV's weights at ~105 GB/s against ~170 for
      // the same loop unrolled: C5a 0.72 -> 0.53 ms, C2 1.03 -> 0.79 ms,
      // C6 0.23 -> 0.195 ms, outputs bit-identical.
      const int64_t unroll = 4;
      Value kUnEnd = fullTilesEnd(b, loc, kLo, kVecEnd, unroll * width);
      auto uloop = scf::ForOp::create(
          b, loc, kLo, kUnEnd, cIdx(b, loc, unroll * width), init,
          [&](OpBuilder &b, Location loc, Value kv, ValueRange accs) {
            SmallVector<Value> cur(accs.begin(), accs.end());
            for (int64_t u = 0; u < unroll; ++u) {
              Value ku = u == 0 ? kv : arith::AddIOp::create(b, loc, kv, cIdx(b, loc, u * width)).getResult();
              cur = step(b, loc, ku, width, cur);
            }
            scf::YieldOp::create(b, loc, cur);
          });
      auto vloop = scf::ForOp::create(
          b, loc, kUnEnd, kVecEnd, cw, uloop.getResults(),
          [&](OpBuilder &b, Location loc, Value kv, ValueRange accs) {
            scf::YieldOp::create(b, loc, step(b, loc, kv, width, accs));
          });
      // The last partial chunk of the reduction: one masked step (the
      // disabled lanes read as zero).
      Value rem = arith::SubIOp::create(b, loc, kHi, kVecEnd);
      Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, cIdx(b, loc, 0));
      auto tail = scf::IfOp::create(
          b, loc, any,
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(
                b, loc, step(b, loc, kVecEnd, width, vloop.getResults(), laneMask(b, loc, rem, width)));
          },
          [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, vloop.getResults()); });
      SmallVector<Value> sums;
      for (Value acc : tail.getResults())
        sums.push_back(vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, acc,
                                                   arith::FastMathFlags::reassoc));
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          SmallVector<Value> idx = apply(c.outMap, loopVals(i, j, Value()));
          Value old = c.initAt(b, loc, idx, 1, Value());
          Value sum = arith::AddFOp::create(b, loc, old, sums[i * cols + j]);
          memref::StoreOp::create(b, loc, sum, c.out, idx);
        }
    };
    auto overN = [&](OpBuilder &b, Location loc, Value m0, int64_t rows) {
      tiledLoops(b, loc, lo(c.n), hi(c.n), {8, 4, 1},
                 [&](OpBuilder &b, Location loc, Value n0, int64_t cols) {
                   tile(b, loc, m0, rows, n0, cols, width);
                 });
    };
    if (!c.m)
      return overN(b, loc, Value(), 1);
    // One row (batch 1, a GEMV): 1 x 8 tiles along n, each weight row
    // streamed once. More rows: 3 x 4 tiles (remainders in 2- and 1-row
    // tiles) with the rows innermost, so the 4 weight rows of a tile stay in
    // L1 while every row block passes over them and the weights are
    // streamed from memory once per call. (4 x 3 measured 4% slower on C4:
    // the rows are re-read once per tile of columns.) Two rows take the
    // 2 x 4 tiles of the second branch: row by row, batch 2 read the weights
    // twice and took longer than batch 3 (a biLSTM H 256 at batch 2: 2.75 ->
    // 2.0 ms; 2 x 6 the same, 2 x 8 2.1, 2 x 12 2.7).
    Value rowsAvail = arith::SubIOp::create(b, loc, hi(*c.m), lo(*c.m));
    Value many = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, rowsAvail, cIdx(b, loc, 2));
    auto branch = scf::IfOp::create(b, loc, many, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(branch.thenBlock());
      tiledLoops(b, loc, lo(c.n), hi(c.n), {4, 1},
                 [&](OpBuilder &b, Location loc, Value n0, int64_t cols) {
                   tiledLoops(b, loc, lo(*c.m), hi(*c.m), {3, 2, 1},
                              [&](OpBuilder &b, Location loc, Value m0, int64_t rows) {
                                tile(b, loc, m0, rows, n0, cols, width);
                              });
                 });
      b.setInsertionPointToStart(branch.elseBlock());
      tiledLoops(b, loc, lo(*c.m), hi(*c.m), {1},
                 [&](OpBuilder &b, Location loc, Value m0, int64_t rows) {
                   overN(b, loc, m0, rows);
                 });
    }
  });
}

/// Whether `op` runs inside a loop: an enclosing scf.for, or, in a shared
/// kernel's function, calls from inside loops (rnn.kernel_in_loop).
bool runsInLoop(Operation *op) {
  if (op->getParentOfType<scf::ForOp>())
    return true;
  auto func = op->getParentOfType<FunctionOpInterface>();
  return func && func->hasAttr(rnn::attrs::kKernelInLoop);
}

/// Broadcast form: out[.., m, n:n+8] += in_s[..] * in_v[.., n:n+8] over k,
/// where `vecIn` is the input whose last axis is the output's last axis.
void emitBroadcast(OpBuilder &b, Location loc, const Contraction &c, ArrayRef<Range> ranges,
                   int vecIn, int64_t width, std::optional<unsigned> panelDim) {
  bool panels = panelDim.has_value();
  unsigned numLoops = ranges.size();
  SmallVector<Value> ivs(numLoops);
  auto lo = [&](unsigned d) { return rangeLo(b, loc, ranges[d]); };
  auto hi = [&](unsigned d) { return rangeHi(b, loc, ranges[d]); };
  int sIn = 1 - vecIn;
  // Does the scalar input vary along n too (both inputs indexed by n)? Then
  // it must be contiguous along n as well and is loaded as a vector.
  bool sVec = c.inMap[sIn].isFunctionOfDim(c.n);
  // The loop over packed panels runs inside the reduction blocks (as the
  // column chunks do), not outside: the broadcast input's block stays in L2
  // while every panel passes over it.
  SmallVector<unsigned> outer;
  for (unsigned d : c.outer)
    if (d != panelDim)
      outer.push_back(d);
  // Long reductions are cut into blocks (outermost reduction loop) of
  // ~256 steps at 8 lanes, ~128 at 16 (a column chunk's block of rows,
  // 24 KiB, stays in L1), the accumulators going through the output
  // between blocks.
  int64_t inner = 1;
  for (unsigned d : ArrayRef<unsigned>(c.ks).drop_front())
    inner *= ShapedType::isDynamic(c.staticSizes[d]) ? 64 : c.staticSizes[d];
  int64_t outerSize = c.staticSizes[c.ks.front()];
  int64_t kBlock = 0;
  // Over packed panels (contiguous rows of 2 vectors) blocks of 256 KiB of
  // the panel, 2048 steps at 16 lanes: every reduction of an RNN layer is
  // one block. The panel then stays in L2 (not L1) while the row tiles pass
  // over it, and each output is loaded and stored once, not once per block:
  // in blocks of 256 steps (32 KiB, L1), C4's [B, T, 2600] projection
  // output went through memory three times (K = 650) and its 6.7 MB of
  // panels were streamed from L3 three times per batch row; whole, C4's
  // inference is ~4% faster (docs/architecture.md).
  if (ShapedType::isDynamic(outerSize) || outerSize * inner > 512)
    kBlock = std::max<int64_t>(1, (panels ? 32768 : 2048) / width / inner);
  // Blocked over rows (below) and not over packed panels, the broadcast
  // input's block (rowBlock rows of the output x one reduction block) is
  // first copied into a contiguous buffer `packed` [kBlock, inner reduction
  // extents..., rowBlock], when its rows are its contiguous last axis (the
  // weight gradients' dG^T of a step sequence, [B, T, 4H]): read in place,
  // each reduction step of a row tile touches a new line of dG at a stride
  // of 4H floats (8 KiB for C3: one L1 set for all of them, a new page at
  // every step, no prefetch), while the packed block is read in order. Each
  // element is copied once (the row blocks and reduction blocks partition
  // the input). Not inside a loop (a per-step kernel of an attention
  // decoder's adjoint): the buffer would be allocated at every step.
  const int64_t rowBlock = 128;
  bool pack = !panels && kBlock > 0 && !runsInLoop(c.op) && c.m &&
              c.inMap[sIn].isFunctionOfDim(*c.m) && !sVec &&
              !c.widen[sIn] && lastResultIs(c.inMap[sIn], *c.m) && unitLastStride(c.in[sIn]) &&
              cast<MemRefType>(c.in[sIn].getType()).getElementType().isF32();
  Value packed;
  if (pack) {
    SmallVector<int64_t> shape = {kBlock};
    SmallVector<Value> dyn;
    for (unsigned d : ArrayRef<unsigned>(c.ks).drop_front()) {
      shape.push_back(c.staticSizes[d]);
      if (ShapedType::isDynamic(c.staticSizes[d]))
        dyn.push_back(rangeLen(b, loc, ranges[d]));
    }
    shape.push_back(rowBlock);
    packed = memref::AllocOp::create(b, loc, MemRefType::get(shape, b.getF32Type()), dyn,
                                     b.getI64IntegerAttr(64));
  }
  // The packed block's indices for reduction values `kv` and row `row` of
  // the row block starting at `m0` (block ranges `rr`).
  auto packedIdx = [&](OpBuilder &b, Location loc, ArrayRef<Range> rr, ArrayRef<Value> kv,
                       Value row) {
    SmallVector<Value> idx;
    for (auto [d, v] : llvm::zip(c.ks, kv))
      idx.push_back(arith::SubIOp::create(b, loc, v, rangeLo(b, loc, rr[d])));
    idx.push_back(arith::SubIOp::create(b, loc, row, rangeLo(b, loc, rr[*c.m])));
    return idx;
  };
  // A per-step kernel whose rows are the batch (known at run time only):
  // more row tiles for the last rows, and, over packed panels (the weights
  // large enough to be packed, where the time goes), the reductions of narrow
  // tiles split (on every kernel: +5% of seq2seq's LLVM IR for kernels of a
  // few hidden units).
  bool perStepRows = c.m && ShapedType::isDynamic(c.staticSizes[*c.m]) && runsInLoop(c.op);
  bool splitNarrow = perStepRows && panels;
  outerLoops(b, loc, ranges, outer, ivs, [&](OpBuilder &b, Location loc) {
    // `rows` output rows x `cols` chunks of `w` lanes at (m0, n0); with
    // `mask`, only its lanes of the last chunk are read and written.
    auto tile = [&](OpBuilder &b, Location loc, Value m0, int64_t rows, Value n0, int64_t cols,
                    int64_t w, ArrayRef<Range> rr, Value mask) {
      auto maskOf = [&](int64_t j) { return j + 1 == cols ? mask : Value(); };
      SmallVector<Value> mIdx = offsets(b, loc, m0, rows, 1), nIdx = offsets(b, loc, n0, cols, w);
      SmallVector<Value> kvs(c.ks.size());
      auto loopVals = [&](int64_t i, int64_t j, ArrayRef<Value> kv) {
        return c.at(ivs, mIdx, nIdx, i, j, c.ks, kv);
      };
      // The accumulators start from the output, or from the seed in the
      // first reduction block (the only one unless the reduction is blocked).
      auto initLoads = [&](OpBuilder &b, Location loc, bool seeded) {
        SmallVector<Value> init;
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) {
            SmallVector<Value> idx = apply(c.outMap, loopVals(i, j, kvs));
            init.push_back(seeded ? c.initAt(b, loc, idx, w, maskOf(j)) : load(b, loc, c.out, idx, w, maskOf(j)));
          }
        return init;
      };
      SmallVector<Value> init;
      if (!c.seed || kBlock == 0) {
        init = initLoads(b, loc, bool(c.seed));
      } else {
        unsigned d = c.ks.front();
        Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rangeLo(b, loc, rr[d]),
                                            rangeLo(b, loc, ranges[d]));
        SmallVector<Type> types(rows * cols, VectorType::get({w}, b.getF32Type()));
        if (w == 1)
          types.assign(rows * cols, b.getF32Type());
        auto pick = scf::IfOp::create(
            b, loc, first,
            [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, initLoads(b, loc, true)); },
            [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, initLoads(b, loc, false)); });
        init.assign(pick.getResults().begin(), pick.getResults().end());
      }
      // The products of one reduction step into `accs`.
      auto stepFn = [&](OpBuilder &b, Location loc, ArrayRef<Value> kv, ValueRange accs) {
            SmallVector<Value> next;
            bool vDependsOnM = c.m && c.inMap[vecIn].isFunctionOfDim(*c.m);
            bool sDependsOnM = c.m && c.inMap[sIn].isFunctionOfDim(*c.m);
            auto vload = [&](int64_t i, int64_t j) {
              Value v = load(b, loc, c.in[vecIn], apply(c.inMap[vecIn], loopVals(i, j, kv)), w, maskOf(j));
              return c.widen[vecIn] ? widenF32(b, loc, v) : v;
            };
            auto sload = [&](int64_t i, int64_t j) {
              SmallVector<Value> idx = apply(c.inMap[sIn], loopVals(i, j, kv));
              if (sVec) {
                Value v = load(b, loc, c.in[sIn], idx, w, maskOf(j));
                return c.widen[sIn] ? widenF32(b, loc, v) : v;
              }
              if (pack) {
                Value v = memref::LoadOp::create(b, loc, packed, packedIdx(b, loc, rr, kv, mIdx[i]));
                return splat(b, loc, v, w);
              }
              Value v = memref::LoadOp::create(b, loc, c.in[sIn], idx);
              return splat(b, loc, c.widen[sIn] ? widenF32(b, loc, v) : v, w);
            };
            DenseMap<std::pair<int64_t, int64_t>, Value> vCache, sCache;
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j) {
                auto vKey = std::make_pair(vDependsOnM ? i : 0, j);
                auto sKey = std::make_pair(sDependsOnM ? i : 0, sVec ? j : 0);
                Value &v = vCache[vKey];
                if (!v)
                  v = vload(i, j);
                Value &s = sCache[sKey];
                if (!s)
                  s = sload(i, j);
                next.push_back(fma(b, loc, s, v, accs[i * cols + j]));
              }
            return next;
          };
      // The accumulators stay in registers across every reduction loop. A
      // narrow tile of a per-step kernel (the rows left after the 4-, 8- or
      // 12-row tiles: batch 5, 6, 7, 13, ...) has too few independent FMA
      // chains to hide the FMA latency (1 x 2 vectors: 2 chains, a quarter
      // of the throughput, as long per panel as the 4-row tile before it):
      // its reduction goes to `split` interleaved sets of accumulators,
      // summed at the end (a different summation order for those rows).
      int64_t chains = rows * cols;
      int64_t split = splitNarrow && c.ks.size() == 1 && chains < 8 ? std::min<int64_t>(4, (8 + chains - 1) / chains) : 1;
      SmallVector<Value> results;
      if (split == 1) {
        results = reductionNest(b, loc, rr, c.ks, kvs, init, stepFn);
      } else {
        const Range &kr = rr[c.ks[0]];
        Value kLo = rangeLo(b, loc, kr), kHi = rangeHi(b, loc, kr);
        Value kMainEnd = fullTilesEnd(b, loc, kLo, kHi, split);
        SmallVector<Value> sets(init.begin(), init.end());
        sets.append((split - 1) * chains, zero(b, loc, b.getF32Type(), w));
        auto main = scf::ForOp::create(
            b, loc, kLo, kMainEnd, cIdx(b, loc, split), sets,
            [&](OpBuilder &b, Location loc, Value kv, ValueRange carried) {
              SmallVector<Value> next;
              for (int64_t u = 0; u < split; ++u) {
                Value ku = u == 0 ? kv : arith::AddIOp::create(b, loc, kv, cIdx(b, loc, u)).getResult();
                llvm::append_range(next, stepFn(b, loc, {ku}, carried.slice(u * chains, chains)));
              }
              scf::YieldOp::create(b, loc, next);
            });
        SmallVector<Value> sum;
        for (int64_t a = 0; a < chains; ++a) {
          SmallVector<Value> parts;
          for (int64_t u = 0; u < split; ++u)
            parts.push_back(main.getResult(u * chains + a));
          while (parts.size() > 1) { // pairwise: (s0 + s1) + (s2 + s3)
            SmallVector<Value> half;
            for (size_t p = 0; p + 1 < parts.size(); p += 2)
              half.push_back(arith::AddFOp::create(b, loc, parts[p], parts[p + 1]));
            parts = half;
          }
          sum.push_back(parts[0]);
        }
        auto rest = scf::ForOp::create(
            b, loc, kMainEnd, kHi, cIdx(b, loc, 1), sum,
            [&](OpBuilder &b, Location loc, Value kv, ValueRange carried) {
              kvs[0] = kv;
              scf::YieldOp::create(b, loc, stepFn(b, loc, {kv}, carried));
            });
        results.assign(rest.getResults().begin(), rest.getResults().end());
      }
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          store(b, loc, results[i * cols + j], c.out, apply(c.outMap, loopVals(i, j, kvs)), maskOf(j));
    };
    // Rows innermost: the `cols` weight columns of a tile (over one block of
    // the reduction) stay in L1 while every row tile of `rr` passes over them.
    // Tiles of 8 rows x 3 vectors (24 accumulators) with AVX-512's 32 vector
    // registers, else 4 x 3 (12 of AVX2's 16). An output axis of exactly two
    // vectors (a packed weight panel, rnn-pack-weights) gets 12 x 2 (6 x 2):
    // one contiguous panel row and 12 broadcasts per 24 FMAs; remainders of
    // 3 and 2 rows keep 6 and 4 FMA chains going instead of 1-row tiles.
    // A per-step kernel with a dynamic row count (dG @ W at a batch below
    // rnn-pack-weights' threshold) gets remainders of 3 and 2 rows too: in
    // 1-row tiles, batch 2 and 3 passed over W two and three times (a biLSTM
    // H 256 training step at batch 3: 10.3 -> 6.5 ms, batch 2 8.1 -> 5.5).
    // Elsewhere (static rows, or sequence-wide) the two variants are not
    // worth their code (+2% of seq2seq's LLVM IR).
    bool twoVectors = c.staticSizes[c.n] == 2 * width;
    SmallVector<int64_t> rowTiles;
    if (twoVectors)
      rowTiles = width >= 16 ? SmallVector<int64_t>{12, 8, 4, 3, 2, 1} : SmallVector<int64_t>{6, 4, 2, 1};
    else if (perStepRows)
      rowTiles = width >= 16 ? SmallVector<int64_t>{8, 4, 3, 2, 1} : SmallVector<int64_t>{4, 3, 2, 1};
    else
      rowTiles = width >= 16 ? SmallVector<int64_t>{8, 4, 1} : SmallVector<int64_t>{4, 1};
    auto overM = [&](OpBuilder &b, Location loc, Value n0, int64_t cols, int64_t w,
                     ArrayRef<Range> rr, Value mask = Value()) {
      if (!c.m)
        return tile(b, loc, Value(), 1, n0, cols, w, rr, mask);
      tiledLoops(b, loc, rangeLo(b, loc, rr[*c.m]), rangeHi(b, loc, rr[*c.m]), rowTiles,
                 [&](OpBuilder &b, Location loc, Value m0, int64_t rows) {
                   tile(b, loc, m0, rows, n0, cols, w, rr, mask);
                 });
    };
    // Column tiles: 3 vectors (or the panel's 2), then the rest (fewer than
    // `chunks` * w columns). With static sizes, the rest is one tile of as
    // many vectors as it touches, the last one masked when partial (disabled
    // lanes neither read nor written): one more pass over the broadcast
    // input's rows instead of a pass per leftover vector (C4's weight
    // gradients: 650 columns = 13 tiles of 3 vectors + 26 columns in one
    // 2-vector tile). With dynamic ones, single vectors, then the last
    // partial one masked (one tile variant per case would cost compile time).
    const int64_t chunks = twoVectors ? 2 : 3;
    auto overChunks = [&](OpBuilder &b, Location loc, ArrayRef<Range> rr) {
      Value nHi = hi(c.n);
      Value end = tiledLoops(b, loc, lo(c.n), nHi, {chunks * width},
                             [&](OpBuilder &b, Location loc, Value n0, int64_t t) {
                               overM(b, loc, n0, t / width, width, rr);
                             });
      Value rem = b.createOrFold<arith::SubIOp>(loc, nHi, end);
      if (std::optional<int64_t> r = getConstantIntValue(rem)) {
        if (*r == 0)
          return;
        int64_t cols = (*r + width - 1) / width, last = *r - (cols - 1) * width;
        overM(b, loc, end, cols, width, rr, last == width ? Value() : laneMask(b, loc, cIdx(b, loc, last), width));
        return;
      }
      end = tiledLoops(b, loc, end, nHi, {width}, [&](OpBuilder &b, Location loc, Value n0, int64_t t) {
        overM(b, loc, n0, 1, width, rr);
      });
      rem = arith::SubIOp::create(b, loc, nHi, end);
      Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, cIdx(b, loc, 0));
      auto tail = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(tail.thenBlock());
      overM(b, loc, end, 1, width, rr, laneMask(b, loc, rem, width));
    };
    auto overN = [&](OpBuilder &b, Location loc, ArrayRef<Range> rr) {
      if (!panelDim)
        return overChunks(b, loc, rr);
      const Range &pr = ranges[*panelDim];
      auto loop = scf::ForOp::create(b, loc, rangeLo(b, loc, pr), rangeHi(b, loc, pr), cIdx(b, loc, 1));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      ivs[*panelDim] = loop.getInductionVar();
      overChunks(b, loc, rr);
    };
    if (kBlock == 0)
      return overN(b, loc, ranges);
    // Blocked (GotoBLAS order): for each block of up to 128 rows and each
    // reduction block, every column chunk, then every row tile. The block of
    // the broadcast input (128 rows x ~256 steps, 128 KiB) stays in L2 while
    // the column chunks pass over it, the chunk's vector rows (~256 x 24) in
    // L1 while the row tiles do. Each output still sums the reduction blocks
    // in order, so the results are those of any other loop order.
    // Copies the broadcast input's block (row block x reduction block of
    // `rr`) into `packed`, one vector of its rows at a time (the last one
    // masked).
    auto packBlock = [&](OpBuilder &b, Location loc, ArrayRef<Range> rr) {
      Value m0 = rangeLo(b, loc, rr[*c.m]), mHi = rangeHi(b, loc, rr[*c.m]);
      SmallVector<Value> kvs(c.ks.size());
      reductionNest(b, loc, rr, c.ks, kvs, ValueRange{},
                    [&](OpBuilder &b, Location loc, ArrayRef<Value> kv, ValueRange) {
                      auto copy = [&](OpBuilder &b, Location loc, Value row, Value mask) {
                        SmallVector<Value> vals(ivs.begin(), ivs.end());
                        vals[*c.m] = row;
                        for (auto [d, v] : llvm::zip(c.ks, kv))
                          vals[d] = v;
                        Value v = load(b, loc, c.in[sIn], apply(c.inMap[sIn], vals), width, mask);
                        store(b, loc, v, packed, packedIdx(b, loc, rr, kv, row), mask);
                      };
                      Value end = tiledLoops(b, loc, m0, mHi, {width},
                                             [&](OpBuilder &b, Location loc, Value row, int64_t) {
                                               copy(b, loc, row, Value());
                                             });
                      Value rem = arith::SubIOp::create(b, loc, mHi, end);
                      Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem,
                                                        cIdx(b, loc, 0));
                      auto tail = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
                      OpBuilder::InsertionGuard g(b);
                      b.setInsertionPointToStart(tail.thenBlock());
                      copy(b, loc, end, laneMask(b, loc, rem, width));
                      return SmallVector<Value>();
                    });
    };
    auto overK = [&](OpBuilder &b, Location loc, ArrayRef<Range> rrM) {
      unsigned d = c.ks.front();
      Value kEnd = rangeHi(b, loc, rrM[d]), step = cIdx(b, loc, kBlock);
      scf::ForOp::create(b, loc, rangeLo(b, loc, rrM[d]), kEnd, step, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value k0, ValueRange) {
                           SmallVector<Range> rr(rrM.begin(), rrM.end());
                           Value k1 = arith::MinUIOp::create(
                               b, loc, arith::AddIOp::create(b, loc, k0, step), kEnd);
                           rr[d] = Range{k0, k1, b.getIndexAttr(1)};
                           if (pack)
                             packBlock(b, loc, rr);
                           overN(b, loc, rr);
                           scf::YieldOp::create(b, loc);
                         });
    };
    if (!c.m || !c.inMap[sIn].isFunctionOfDim(*c.m))
      return overK(b, loc, ranges);
    Value mEnd = hi(*c.m), mStep = cIdx(b, loc, rowBlock);
    scf::ForOp::create(b, loc, lo(*c.m), mEnd, mStep, ValueRange{},
                       [&](OpBuilder &b, Location loc, Value m0, ValueRange) {
                         SmallVector<Range> rr(ranges.begin(), ranges.end());
                         Value m1 = arith::MinUIOp::create(
                             b, loc, arith::AddIOp::create(b, loc, m0, mStep), mEnd);
                         rr[*c.m] = Range{m0, m1, b.getIndexAttr(1)};
                         overK(b, loc, rr);
                         scf::YieldOp::create(b, loc);
                       });
  });
  if (packed)
    memref::DeallocOp::create(b, loc, packed);
}

/// A contraction whose output a bias broadcast has just filled: the
/// broadcast `out[.., n] = bias[n]` is not run; the contraction's
/// accumulators start from the bias instead of from the output.
struct SeededContraction {
  linalg::GenericOp op;
  Seed seed;
};

/// The columns [lo, hi) of `buf`'s last axis that `v` covers, all of its
/// other axes, and the strides of `v`'s trailing axes over those columns: `v`
/// is `buf`, a subview of it that takes some of its columns, or an
/// expand_shape of either that splits only the last axis (panels, from
/// rnn-pack-weights; the leftover columns are a second subview).
struct ColumnView {
  int64_t lo, hi;
  SmallVector<int64_t> strides;
};
std::optional<ColumnView> columnsOf(Value v, Value buf, memref::AllocOp alloc) {
  auto bufType = cast<MemRefType>(buf.getType());
  int64_t n = bufType.getShape().back();
  if (v == buf)
    return ColumnView{0, n, {1}};
  if (auto sv = v.getDefiningOp<memref::SubViewOp>()) {
    // (Whole leading axes checked against the allocation's sizes.)
    if (!alloc || sv.getSource() != buf || !sv.hasUnitStride())
      return std::nullopt;
    auto offs = sv.getMixedOffsets(), sizes = sv.getMixedSizes();
    unsigned rank = bufType.getRank();
    if (offs.size() != rank || sv.getType().getRank() != static_cast<int64_t>(rank))
      return std::nullopt;
    unsigned dyn = 0;
    for (unsigned d = 0; d < rank; ++d) {
      std::optional<int64_t> off = getConstantIntValue(offs[d]), size = getConstantIntValue(sizes[d]);
      if (d + 1 == rank)
        return off && size ? std::optional<ColumnView>(ColumnView{*off, *off + *size, {1}}) : std::nullopt;
      if (off != 0)
        return std::nullopt;
      if (!bufType.isDynamicDim(d) ? size != bufType.getDimSize(d)
                                   : dyn_cast<Value>(sizes[d]) != alloc.getDynamicSizes()[dyn++])
        return std::nullopt;
    }
    return std::nullopt;
  }
  if (auto ex = v.getDefiningOp<memref::ExpandShapeOp>()) {
    auto groups = ex.getReassociationIndices();
    for (size_t g = 0; g + 1 < groups.size(); ++g)
      if (groups[g].size() != 1)
        return std::nullopt;
    std::optional<ColumnView> src = columnsOf(ex.getSrc(), buf, alloc);
    ArrayRef<int64_t> trail = ex.getResultType().getShape().take_back(groups.back().size());
    if (!src || llvm::any_of(trail, ShapedType::isDynamic))
      return std::nullopt;
    src->strides.assign(trail.size(), 1);
    for (int i = static_cast<int>(trail.size()) - 2; i >= 0; --i)
      src->strides[i] = src->strides[i + 1] * trail[i + 1];
    return src;
  }
  return std::nullopt;
}

/// The bias broadcasts `out[.., n] = bias[n]` (a 1-D contiguous input
/// along the last axis of a whole, freshly allocated buffer) whose buffer is
/// next written by contractions that accumulate into all of it: the ops
/// touching memory after the broadcast are such contractions, each on some
/// of the buffer's columns, until every column is covered (the panels and
/// the leftover columns of rnn-pack-weights); or the next one is an scf.if
/// whose branches each begin that way (the per-step recurrent projection:
/// panels or not by batch). Returns the contractions, to be seeded; the
/// broadcast goes when all of them are vectorized. (C3's input projection,
/// `[B, T, 4H]`, seeded this way instead of broadcast and then re-read: see
/// docs/architecture.md.)
/// The f32 constant a generalized `linalg.fill` on buffers writes into its
/// one output (a scalar input, body yielding it), or null.
TypedAttr constantFill(linalg::GenericOp g) {
  if (!g.hasPureBufferSemantics() || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      g.getIndexingMapsArray()[0].getNumResults() != 0)
    return {};
  auto cst = g.getDpsInputOperand(0)->get().getDefiningOp<arith::ConstantOp>();
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!cst || !cst.getType().isF32() || body.getOperations().size() != 1 ||
      yield.getValues()[0] != body.getArgument(0))
    return {};
  return cst.getValue();
}

SmallVector<SeededContraction> findSeededContractions(linalg::GenericOp bcast,
                                                       SmallVectorImpl<Operation *> &refills) {
  if (!bcast.hasPureBufferSemantics() || bcast.getNumDpsInputs() != 1 || bcast.getNumDpsInits() != 1)
    return {};
  Value bias = bcast.getDpsInputOperand(0)->get(), buf = bcast.getDpsInitOperand(0)->get();
  // The buffer: a fresh allocation, or any buffer with contiguous rows (a
  // step's slot of the saved pre-activations: the contractions must then
  // be the very next ops writing it, as the analysis below assumes it may
  // escape).
  auto bufType = dyn_cast<MemRefType>(buf.getType());
  auto alloc = buf.getDefiningOp<memref::AllocOp>();
  if (!bufType || !unitLastStride(buf) || (alloc && !bufType.getLayout().isIdentity()) ||
      !bufType.getElementType().isF32() || bufType.isDynamicDim(bufType.getRank() - 1))
    return {};
  auto maps = bcast.getIndexingMapsArray();
  unsigned rank = bufType.getRank();
  if (!maps[1].isIdentity())
    return {};
  // A fill with a constant (the zero of an accumulator), or a 1-D bias
  // along the last axis.
  TypedAttr value;
  if (maps[0].getNumResults() == 0) {
    value = constantFill(bcast);
    if (!value)
      return {};
    bias = Value();
  } else {
    auto biasType = dyn_cast<MemRefType>(bias.getType());
    if (!biasType || biasType.getRank() != 1 || !biasType.getLayout().isIdentity() ||
        !biasType.getElementType().isF32() || maps[0].getNumResults() != 1 ||
        maps[0].getResult(0) != getAffineDimExpr(rank - 1, bcast.getContext()))
      return {};
  }
  auto yield = cast<linalg::YieldOp>(bcast.getRegion().front().getTerminator());
  if (bcast.getRegion().front().getOperations().size() != 1 ||
      yield.getValues()[0] != bcast.getRegion().front().getArgument(0))
    return {};
  // The buffer's users through its views. When they are only linalg
  // generics (this one, the contractions, refills) and its deallocation, the
  // buffer does not escape and no other op can touch it: the ops between the
  // fill and the contractions need not be free of memory effects (a gradient
  // accumulator zeroed before the backward loop and first accumulated into
  // after it).
  llvm::SmallPtrSet<Operation *, 16> users, holders; // holders: users and their ancestors
  bool escapes = !alloc;
  if (alloc) {
    for (OpOperand *use : rnn::nonViewUses(alloc.getResult())) {
      Operation *u = use->getOwner();
      if (isa<memref::DeallocOp>(u))
        continue;
      if (isa<memref::ExtractAlignedPointerAsIndexOp>(u))
        continue; // the pointer as a number (deallocation's alias checks)
      if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(u)) {
        escapes |= !llvm::all_of(meta.getBaseBuffer().getUsers(),
                                 [](Operation *d) { return isa<memref::DeallocOp>(d); });
        continue;
      }
      // Returned at the end of the block (a gradient, a function result)
      // is after everything here.
      if (u == bcast->getBlock()->getTerminator())
        continue;
      escapes |= !isa<linalg::GenericOp>(u);
      users.insert(u);
      for (Operation *a = u; a; a = a->getParentOp())
        holders.insert(a);
    }
  }
  // Views and pure arithmetic do not touch memory; nor does anything else
  // when the buffer does not escape and the op holds none of its users.
  auto skippable = [&](Operation &op) {
    if (isa<ViewLikeOpInterface>(op))
      return true;
    if (!escapes && !holders.contains(&op))
      return true;
    return isMemoryEffectFree(&op) && op.getNumRegions() == 0 &&
           llvm::none_of(op.getOperandTypes(), [](Type t) { return isa<MemRefType>(t); });
  };
  auto viewsBuf = [&](Value v) { return rnn::viewRoot(v) == buf; };
  // A fill of (a view of) the buffer with the same constant: redundant
  // before any contraction (canonicalization moves an accumulator's fill
  // through the panel reshape, so the packed branch fills its view again).
  auto isRefill = [&](linalg::GenericOp g) {
    return value && constantFill(g) == value && columnsOf(g.getDpsInitOperand(0)->get(), buf, alloc);
  };
  // Contractions from `it` on, up to the first other op touching memory,
  // until they cover every column (each accumulating into its columns
  // without reading the buffer otherwise); none if they do not.
  int64_t n = bufType.getShape().back();
  auto cover = [&](Block::iterator it, Block::iterator end, SmallVectorImpl<Operation *> &refills) {
    SmallVector<SeededContraction> out;
    SmallVector<std::pair<int64_t, int64_t>> cols;
    int64_t covered = 0;
    for (; it != end && covered < n; ++it) {
      if (skippable(*it))
        continue;
      auto g = dyn_cast<linalg::GenericOp>(&*it);
      if (g && out.empty() && isRefill(g)) {
        refills.push_back(g);
        continue;
      }
      std::optional<Contraction> c = g ? matchContraction(g) : std::nullopt;
      std::optional<ColumnView> view = c ? columnsOf(c->out, buf, alloc) : std::nullopt;
      if (!view || viewsBuf(c->in[0]) || viewsBuf(c->in[1]) ||
          llvm::any_of(cols, [&](auto r) { return view->lo < r.second && r.first < view->hi; }))
        return SmallVector<SeededContraction>();
      cols.push_back({view->lo, view->hi});
      covered += view->hi - view->lo;
      out.push_back({g, Seed{bias, view->strides, view->lo, value}});
    }
    return covered == n ? out : SmallVector<SeededContraction>();
  };
  Block::iterator next = std::next(bcast->getIterator()), end = bcast->getBlock()->end();
  SmallVector<SeededContraction> found = cover(next, end, refills);
  if (!found.empty())
    return found;
  refills.clear();
  while (next != end && skippable(*next))
    ++next;
  auto ifOp = next != end ? dyn_cast<scf::IfOp>(&*next) : scf::IfOp();
  if (!ifOp || ifOp.getElseRegion().empty())
    return {};
  for (Region *r : {&ifOp.getThenRegion(), &ifOp.getElseRegion()}) {
    SmallVector<SeededContraction> branch = cover(r->front().begin(), r->front().end(), refills);
    if (branch.empty()) {
      refills.clear();
      return {};
    }
    llvm::append_range(found, branch);
  }
  return found;
}

LogicalResult vectorizeContraction(RewriterBase &rewriter, linalg::GenericOp op, int64_t width,
                                   const ParallelOpts &par, const Seed &seed = Seed()) {
  auto c = matchContraction(op);
  if (!c)
    return failure();
  c->seed = seed;
  bool kLast0 = lastResultIs(c->inMap[0], c->k) && unitLastStride(c->in[0]);
  bool kLast1 = lastResultIs(c->inMap[1], c->k) && unitLastStride(c->in[1]);
  auto nContig = [&](int i) {
    return lastResultIs(c->inMap[i], c->n) && unitLastStride(c->in[i]);
  };
  auto nOk = [&](int i) { // the other input, if indexed by n, must be contiguous along n
    return !c->inMap[i].isFunctionOfDim(c->n) || nContig(i);
  };
  OpBuilder::InsertionGuard g(rewriter);
  rewriter.setInsertionPoint(op);
  int form;
  if (kLast0 && kLast1 && c->ks.size() == 1)
    form = -1; // dot
  else if (nContig(1) && nOk(0))
    form = 1; // broadcast, input 1 along n
  else if (nContig(0) && nOk(1))
    form = 0; // broadcast, input 0 along n
  else
    return failure();
  // Broadcast form: the register tile's rows are the broadcast input's rows.
  // When the output's second-to-last axis does not index the broadcast input
  // but an outer axis does (`x(m, k) * wp(p, k, q) -> out(m, p, q)`, packed
  // weight panels), that outer axis is the rows.
  // The innermost such axis (`x(b, t, k) * wp(p, k, q) -> out(b, t, p, q)`:
  // rows t).
  if (form >= 0 && c->m && !c->inMap[1 - form].isFunctionOfDim(*c->m)) {
    for (unsigned &o : llvm::reverse(c->outer))
      if (c->inMap[1 - form].isFunctionOfDim(o)) {
        std::swap(o, *c->m);
        break;
      }
  }
  // A loop over the panels of a packed weight: an outer loop indexing the
  // vector input and the output but not the broadcast input.
  std::optional<unsigned> panelDim;
  if (form >= 0)
    for (unsigned d : c->outer)
      if (c->inMap[form].isFunctionOfDim(d) && !c->inMap[1 - form].isFunctionOfDim(d) &&
          c->outMap.isFunctionOfDim(d))
        panelDim = d;
  Location loc = op.getLoc();
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  maybeParallel(rewriter, loc, par, staticWork(c->staticSizes), ranges, 1,
                [&](OpBuilder &b, Location loc, Share share) {
    SmallVector<Range> rr(ranges);
    if (share && panelDim) {
      // Packed weight panels (rnn-pack-weights): whole panels per thread,
      // each thread's panels staying in its own L2 across steps.
      rr[*panelDim] = shareOf(b, loc, ranges[*panelDim], share, 1);
    } else if (share) {
      // The rows when there are more rows than columns, else the columns;
      // shares of whole register tiles where that costs little balance:
      // columns in whole vectors (broadcast form) or 8-column GEMV tiles
      // (dot form); rows in multiples of 24 (3-, 4- and 8-row tiles). (Whole
      // 3-vector chunks left one thread 12% more columns of dG @ W at
      // batch 32.)
      Range nShare = shareOf(b, loc, ranges[c->n], share, form < 0 ? 8 : width);
      if (!c->m) {
        rr[c->n] = nShare;
      } else {
        Range mShare = shareOf(b, loc, ranges[*c->m], share, 24);
        Value byRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                             rangeLen(b, loc, ranges[*c->m]),
                                             rangeLen(b, loc, ranges[c->n]));
        rr[*c->m] = selectRange(b, loc, byRows, mShare, ranges[*c->m]);
        rr[c->n] = selectRange(b, loc, byRows, ranges[c->n], nShare);
      }
    }
    if (form < 0)
      emitDot(b, loc, *c, rr, width);
    else
      emitBroadcast(b, loc, *c, rr, form, width, panelDim);
  });
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise maps
//===----------------------------------------------------------------------===//

bool vectorizableBody(linalg::GenericOp op) {
  for (Operation &o : op.getRegion().front().without_terminator()) {
    if (!o.hasTrait<OpTrait::Vectorizable>() || o.getNumRegions() != 0)
      return false;
    for (Type t : o.getResultTypes())
      if (!t.isIntOrFloat())
        return false;
  }
  return true;
}

/// The ops of a generic's `body` (but its terminator and `skip`) on `w`
/// lanes, their operands looked up in `map` (the block arguments mapped by
/// the caller); values defined above the generic are the same for every
/// lane.
void mapBody(OpBuilder &b, Location loc, Block &body, IRMapping &map, int64_t w,
             Operation *skip = nullptr) {
  for (Operation &o : body.without_terminator()) {
    if (&o == skip)
      continue;
    SmallVector<Value> operands;
    for (Value v : o.getOperands()) {
      Value mapped = map.lookupOrNull(v);
      operands.push_back(mapped ? mapped : splat(b, loc, v, w));
    }
    SmallVector<Type> types;
    for (Type t : o.getResultTypes())
      types.push_back(w == 1 ? t : VectorType::get({w}, t));
    OperationState st(loc, o.getName(), operands, types, o.getAttrs());
    map.map(o.getResults(), b.create(st)->getResults());
  }
}

LogicalResult vectorizeElementwise(RewriterBase &rewriter, linalg::GenericOp op, int64_t width,
                                   const ParallelOpts &par) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 || !vectorizableBody(op))
    return failure();
  unsigned numLoops = op.getNumLoops();
  // The vectors run along the loop of the first output's last axis (`last`,
  // usually the last loop); every other loop is a scalar loop around them, in
  // loop order. Reductions too, when that loop is parallel (column sums such
  // as a bias gradient over batch x time): each reduction step reads and
  // writes the output's vector, in the scalar loops' summation order.
  auto iters = op.getIteratorTypesArray();
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.getNumResults() == 0)
    return failure();
  auto lastExpr = dyn_cast<AffineDimExpr>(outMap.getResults().back());
  if (!lastExpr)
    return failure();
  unsigned last = lastExpr.getPosition();
  if (iters[last] != utils::IteratorType::parallel)
    return failure();
  auto maps = op.getIndexingMapsArray();
  SmallVector<bool> asVector;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = maps[operand.getOperandNumber()];
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return failure();
    bool isInit = op.isDpsInit(&operand);
    if (!isInit && operand.get().getType().isIntOrFloat()) { // a scalar input (fill)
      asVector.push_back(false);
      continue;
    }
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.getElementType().isIntOrFloat())
      return failure();
    if (map.isFunctionOfDim(last)) {
      if (!lastResultIs(map, last) || !unitLastStride(operand.get()))
        return failure();
      asVector.push_back(true);
    } else {
      if (isInit)
        return failure();
      asVector.push_back(false);
    }
  }
  // The row's tail runs as one masked vector unless an op could trap on the
  // disabled lanes' zeros (integer division).
  bool maskedTail = llvm::none_of(op.getRegion().front(), [](Operation &o) {
    return isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
               arith::CeilDivSIOp, arith::CeilDivUIOp, arith::FloorDivSIOp>(o);
  });
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard g(rewriter);
  rewriter.setInsertionPoint(op);
  SmallVector<Range> allRanges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  int64_t opsPerElement = std::max<int64_t>(1, op.getRegion().front().getOperations().size() - 1);
  // Threads write disjoint outputs only if every output is indexed by every
  // parallel loop; the rows are shared only when they are a parallel loop.
  ParallelOpts parHere = par;
  for (OpOperand &init : op.getDpsInitsMutable())
    for (unsigned d = 0; d < numLoops; ++d)
      if (iters[d] == utils::IteratorType::parallel &&
          !maps[init.getOperandNumber()].isFunctionOfDim(d))
        parHere.enabled = false;
  SmallVector<unsigned> outer; // the scalar loops, outermost first
  for (unsigned d = 0; d < numLoops; ++d)
    if (d != last)
      outer.push_back(d);
  bool rowsShareable = !outer.empty() && iters[outer[0]] == utils::IteratorType::parallel;
  int64_t staticCost = satMul(staticWork(op.getStaticLoopRanges()), opsPerElement);
  maybeParallel(rewriter, loc, parHere, staticCost, allRanges, opsPerElement,
                [&](OpBuilder &rewriter, Location loc, Share share) {
  SmallVector<Range> ranges(allRanges);
  if (share) {
    // The rows (outermost loop) when there are at least as many as threads,
    // else the last axis in whole vectors.
    Range lastShare = shareOf(rewriter, loc, allRanges[last], share, width);
    if (!rowsShareable) {
      ranges[last] = lastShare;
    } else {
      unsigned rows = outer[0];
      Range rowShare = shareOf(rewriter, loc, allRanges[rows], share, 1);
      Value byRows = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::uge,
                                           rangeLen(rewriter, loc, allRanges[rows]), share.count);
      ranges[rows] = selectRange(rewriter, loc, byRows, rowShare, allRanges[rows]);
      ranges[last] = selectRange(rewriter, loc, byRows, allRanges[last], lastShare);
    }
  }
  SmallVector<Value> ivs(numLoops);
  Block &body = op.getRegion().front();
  outerLoops(rewriter, loc, ranges, outer, ivs, [&](OpBuilder &b, Location loc) {
    auto emit = [&](OpBuilder &b, Location loc, Value iv, int64_t w, Value mask) {
      SmallVector<Value> vals(ivs.begin(), ivs.end());
      vals[last] = iv;
      IRMapping map;
      for (OpOperand &operand : op->getOpOperands()) {
        unsigned i = operand.getOperandNumber();
        BlockArgument arg = body.getArgument(i);
        if (op.isDpsInit(&operand) && !op.payloadUsesValueFromOperand(&operand))
          continue;
        if (!isa<MemRefType>(operand.get().getType())) {
          map.map(arg, splat(b, loc, operand.get(), w));
          continue;
        }
        SmallVector<Value> idx = apply(maps[i], vals);
        if (asVector[i])
          map.map(arg, load(b, loc, operand.get(), idx, w, mask));
        else
          map.map(arg, splat(b, loc, memref::LoadOp::create(b, loc, operand.get(), idx), w));
      }
      mapBody(b, loc, body, map, w);
      auto yield = cast<linalg::YieldOp>(body.getTerminator());
      for (auto [i, v] : llvm::enumerate(yield.getOperands())) {
        OpOperand *init = op.getDpsInitOperand(i);
        Value out = map.lookupOrNull(v);
        if (!out)
          out = splat(b, loc, v, w);
        store(b, loc, out, init->get(), apply(maps[init->getOperandNumber()], vals), mask);
      }
    };
    Value lo = rangeLo(b, loc, ranges[last]), hi = rangeHi(b, loc, ranges[last]);
    if (!maskedTail) {
      tiledLoops(b, loc, lo, hi, {width, 1}, [&](OpBuilder &b, Location loc, Value iv, int64_t t) {
        emit(b, loc, iv, t, Value());
      });
      return;
    }
    // Full vectors, then the rest of the row as one masked vector.
    Value end = tiledLoops(b, loc, lo, hi, {width}, [&](OpBuilder &b, Location loc, Value iv, int64_t) {
      emit(b, loc, iv, width, Value());
    });
    Value rem = arith::SubIOp::create(b, loc, hi, end);
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, cIdx(b, loc, 0));
    scf::IfOp::create(b, loc, any, [&](OpBuilder &b, Location loc) {
      emit(b, loc, end, width, laneMask(b, loc, rem, width));
      scf::YieldOp::create(b, loc);
    });
  });
  });
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// Full reductions (losses)
//===----------------------------------------------------------------------===//

/// A reduction of everything into a 0-d output, `out += f(ins)` (the mean
/// losses' f64 sums over batch x time x features): `f` on vectors along the
/// last loop (the inputs contiguous along it, or not indexed by it), summed
/// into one vector accumulator (the tail as one masked vector whose disabled
/// lanes add zero), the lanes added at the end. The scalar loops summed one
/// term at a time (one dependent f64 add per element: ~1 ms of C3's training
/// step, serial). A different summation order, in the accumulation type.
LogicalResult vectorizeFullReduction(RewriterBase &rewriter, linalg::GenericOp op, int64_t width) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumLoops() == 0 ||
      !vectorizableBody(op))
    return failure();
  auto outT = dyn_cast<MemRefType>(op.getDpsInitOperand(0)->get().getType());
  if (!outT || outT.getRank() != 0 || !isa<FloatType>(outT.getElementType()))
    return failure();
  if (llvm::any_of(op.getIteratorTypesArray(),
                   [](utils::IteratorType t) { return t != utils::IteratorType::reduction; }))
    return failure();
  Block &body = op.getRegion().front();
  BlockArgument outArg = body.getArgument(op.getNumDpsInputs());
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !outArg.hasOneUse() || (add.getLhs() != outArg && add.getRhs() != outArg))
    return failure();
  Value term = add.getLhs() == outArg ? add.getRhs() : add.getLhs();
  unsigned numLoops = op.getNumLoops(), last = numLoops - 1;
  auto maps = op.getIndexingMapsArray();
  SmallVector<bool> asVector;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = maps[in->getOperandNumber()];
    Value v = in->get();
    if (v.getType().isIntOrFloat()) {
      asVector.push_back(false);
      continue;
    }
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.getElementType().isIntOrFloat() ||
        !map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return failure();
    if (map.isFunctionOfDim(last)) {
      if (!lastResultIs(map, last) || !unitLastStride(v))
        return failure();
      asVector.push_back(true);
    } else {
      asVector.push_back(false);
    }
  }
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard g(rewriter);
  rewriter.setInsertionPoint(op);
  Value out = op.getDpsInitOperand(0)->get();
  Type elt = outT.getElementType();
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<unsigned> outer;
  for (unsigned d = 0; d < last; ++d)
    outer.push_back(d);
  // The term at loop values `vals` (vals[last] the first lane) as a vector.
  auto termAt = [&](OpBuilder &b, Location loc, SmallVector<Value> vals, Value mask) {
    IRMapping map;
    for (auto [i, in] : llvm::enumerate(op.getDpsInputOperands())) {
      BlockArgument arg = body.getArgument(i);
      Value v = in->get();
      if (!isa<MemRefType>(v.getType()))
        map.map(arg, splat(b, loc, v, width));
      else if (asVector[i])
        map.map(arg, load(b, loc, v, apply(maps[i], vals), width, mask));
      else
        map.map(arg, splat(b, loc, memref::LoadOp::create(b, loc, v, apply(maps[i], vals)), width));
    }
    mapBody(b, loc, body, map, width, add.getOperation());
    Value t = map.lookupOrNull(term);
    if (!t)
      t = splat(b, loc, term, width);
    if (mask) // disabled lanes add zero
      t = arith::SelectOp::create(b, loc, mask, t, zero(b, loc, elt, width));
    return t;
  };
  SmallVector<Value> vals(numLoops);
  SmallVector<Value> acc = reductionNest(
      rewriter, loc, ranges, outer, vals, ValueRange{zero(rewriter, loc, elt, width)},
      [&](OpBuilder &b, Location loc, ArrayRef<Value> kv, ValueRange carried) {
        SmallVector<Value> base(kv.begin(), kv.end());
        base.resize(numLoops);
        Value lo = rangeLo(b, loc, ranges[last]), hi = rangeHi(b, loc, ranges[last]);
        Value end = fullTilesEnd(b, loc, lo, hi, width);
        auto loop = scf::ForOp::create(
            b, loc, lo, end, cIdx(b, loc, width), ValueRange{carried[0]},
            [&](OpBuilder &b, Location loc, Value iv, ValueRange a) {
              SmallVector<Value> v(base);
              v[last] = iv;
              Value sum = arith::AddFOp::create(b, loc, a[0], termAt(b, loc, v, Value()));
              scf::YieldOp::create(b, loc, sum);
            });
        // The rest of the row: one masked vector (no-op when empty).
        SmallVector<Value> v(base);
        v[last] = end;
        Value mask = laneMask(b, loc, arith::SubIOp::create(b, loc, hi, end), width);
        Value sum = arith::AddFOp::create(b, loc, loop.getResult(0), termAt(b, loc, v, mask));
        return SmallVector<Value>{sum};
      });
  Value total = vector::ReductionOp::create(rewriter, loc, vector::CombiningKind::ADD, acc[0]);
  Value old = memref::LoadOp::create(rewriter, loc, out, ValueRange{});
  memref::StoreOp::create(rewriter, loc, arith::AddFOp::create(rewriter, loc, old, total), out,
                          ValueRange{});
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// Transposes (weight packing)
//===----------------------------------------------------------------------===//

/// The rows of a w x w tile (w a power of two) transposed in registers:
/// log2(w) rounds of two-input shuffles, each swapping the off-diagonal
/// h x h blocks of every 2h x 2h block (h = w/2, ..., 1): [[A, B], [C, D]]
/// becomes [[A, C], [B, D]], and the next rounds transpose within the blocks.
SmallVector<Value> transposeTile(OpBuilder &b, Location loc, SmallVector<Value> rows, int64_t w) {
  for (int64_t h = w / 2; h >= 1; h /= 2) {
    SmallVector<int64_t> top(w), bottom(w);
    for (int64_t c = 0; c < w; ++c) {
      bool left = (c % (2 * h)) < h;
      top[c] = left ? c : w + (c - h);   // A | C (C from the row h below)
      bottom[c] = left ? c + h : w + c;  // B | D
    }
    for (int64_t i = 0; i < w; ++i) {
      if (i % (2 * h) >= h)
        continue;
      Value a = rows[i], d = rows[i + h];
      rows[i] = vector::ShuffleOp::create(b, loc, a, d, top);
      rows[i + h] = vector::ShuffleOp::create(b, loc, a, d, bottom);
    }
  }
  return rows;
}

/// A copy whose input is contiguous along another axis than the output's
/// last one (`linalg.transpose`: rnn-pack-weights' panels, the transposed
/// weights of rnn-transpose-weights): tiles of `width` x `width` elements,
/// `width` vector loads along the input's last axis, a transpose in
/// registers, `width` vector stores along the output's; the edges that do not
/// fill a tile are scalar copies. Without this LLVM vectorizes the scalar
/// loops with one gather per vector (3.4% of C3's inference, serial).
LogicalResult vectorizeTranspose(RewriterBase &rewriter, linalg::GenericOp op, int64_t width,
                                 const ParallelOpts &par) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1)
    return failure();
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body.getArgument(0))
    return failure();
  if (llvm::any_of(op.getIteratorTypesArray(),
                   [](utils::IteratorType t) { return t != utils::IteratorType::parallel; }))
    return failure();
  Value in = op.getDpsInputOperand(0)->get(), out = op.getDpsInitOperand(0)->get();
  auto inT = dyn_cast<MemRefType>(in.getType());
  auto outT = dyn_cast<MemRefType>(out.getType());
  if (!inT || !outT || !inT.getElementType().isF32() || !outT.getElementType().isF32())
    return failure();
  AffineMap inMap = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!inMap.isPermutation() || !outMap.isPermutation() || inMap.getNumResults() < 2)
    return failure();
  unsigned last = cast<AffineDimExpr>(outMap.getResults().back()).getPosition();
  unsigned j = cast<AffineDimExpr>(inMap.getResults().back()).getPosition();
  if (j == last || !unitLastStride(in) || !unitLastStride(out))
    return failure();
  unsigned numLoops = op.getNumLoops();
  SmallVector<unsigned> outer;
  for (unsigned d = 0; d < numLoops; ++d)
    if (d != j && d != last)
      outer.push_back(d);

  Location loc = op.getLoc();
  OpBuilder::InsertionGuard g(rewriter);
  rewriter.setInsertionPoint(op);
  SmallVector<Range> allRanges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  maybeParallel(rewriter, loc, par, staticWork(op.getStaticLoopRanges()), allRanges, 1,
                [&](OpBuilder &b, Location loc, Share share) {
    SmallVector<Range> ranges(allRanges);
    if (share) {
      // Panels (the outermost other loop) when there is one, else whole
      // tiles of the input's last axis.
      if (!outer.empty())
        ranges[outer[0]] = shareOf(b, loc, allRanges[outer[0]], share, 1);
      else
        ranges[j] = shareOf(b, loc, allRanges[j], share, width);
    }
    SmallVector<Value> ivs(numLoops);
    outerLoops(b, loc, ranges, outer, ivs, [&](OpBuilder &b, Location loc) {
      auto at = [&](AffineMap m, Value jv, Value lv) {
        SmallVector<Value> vals(ivs);
        vals[j] = jv;
        vals[last] = lv;
        return apply(m, vals);
      };
      auto copyOne = [&](OpBuilder &b, Location loc, Value jv, Value lv) {
        Value v = memref::LoadOp::create(b, loc, in, at(inMap, jv, lv));
        memref::StoreOp::create(b, loc, v, out, at(outMap, jv, lv));
      };
      Value c1 = cIdx(b, loc, 1);
      // Element by element over [j0, j1) x [l0, l1).
      auto copyRect = [&](OpBuilder &b, Location loc, Value j0, Value j1, Value l0, Value l1) {
        scf::ForOp::create(b, loc, j0, j1, c1, ValueRange{},
                           [&](OpBuilder &b, Location loc, Value jv, ValueRange) {
          scf::ForOp::create(b, loc, l0, l1, c1, ValueRange{},
                             [&](OpBuilder &b, Location loc, Value lv, ValueRange) {
            copyOne(b, loc, jv, lv);
            scf::YieldOp::create(b, loc);
          });
          scf::YieldOp::create(b, loc);
        });
      };
      Value jlo = rangeLo(b, loc, ranges[j]), jhi = rangeHi(b, loc, ranges[j]);
      Value llo = rangeLo(b, loc, ranges[last]), lhi = rangeHi(b, loc, ranges[last]);
      Value jEnd = fullTilesEnd(b, loc, jlo, jhi, width);
      Value lEnd = fullTilesEnd(b, loc, llo, lhi, width);
      Value cw = cIdx(b, loc, width);
      scf::ForOp::create(b, loc, jlo, jEnd, cw, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value jb, ValueRange) {
        scf::ForOp::create(b, loc, llo, lEnd, cw, ValueRange{},
                           [&](OpBuilder &b, Location loc, Value lb, ValueRange) {
          SmallVector<Value> rows;
          for (int64_t i = 0; i < width; ++i) {
            Value l = arith::AddIOp::create(b, loc, lb, cIdx(b, loc, i));
            rows.push_back(load(b, loc, in, at(inMap, jb, l), width));
          }
          rows = transposeTile(b, loc, rows, width);
          for (int64_t r = 0; r < width; ++r) {
            Value jr = arith::AddIOp::create(b, loc, jb, cIdx(b, loc, r));
            store(b, loc, rows[r], out, at(outMap, jr, lb));
          }
          scf::YieldOp::create(b, loc);
        });
        // The columns past the last whole tile, for this block of rows.
        copyRect(b, loc, jb, arith::AddIOp::create(b, loc, jb, cw), lEnd, lhi);
        scf::YieldOp::create(b, loc);
      });
      // The rows past the last whole block.
      copyRect(b, loc, jEnd, jhi, llo, lhi);
    });
  });
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// One function per repeated kernel
//===----------------------------------------------------------------------===//

/// A kernel to emit: its op, the seed its accumulators start from (and the
/// broadcast that seed replaces), and where it runs, which changes the code
/// (inside a loop: no packed block per call; inside an rnn.parallel region:
/// not shared among the threads).
struct Job {
  linalg::GenericOp op;
  Seed seed;
  Operation *bcast = nullptr;
  bool inLoop = false, nested = false;
  /// For a shared kernel: its distinct memref operands (then the seed's
  /// bias), the arguments of its function; operand i (the bias last) is
  /// args[argOf[i]].
  SmallVector<Value> args;
  SmallVector<unsigned> argOf;
};

/// Static work of `op` (the product of its static loop sizes) from which a
/// repeated kernel gets a function: any that runs once per call of its
/// function; inside a loop, where the call is paid at every step, only
/// kernels of enough work that a call (its memref descriptors passed as
/// scalars) is lost in it.
constexpr int64_t kShareMinWork = 256;
constexpr int64_t kShareMinWorkInLoop = 2048;

/// Whether `job` may be a call to a shared function, filling its arguments:
/// a kernel of sizable code (a contraction or reduction, a transpose, a map
/// of more than three body ops; a copy or an add costs less inline than a
/// call) on memref operands only, using only constants from above.
bool shareable(Job &job) {
  linalg::GenericOp op = job.op;
  bool permutes = llvm::any_of(op.getIndexingMapsArray(),
                               [](AffineMap m) { return m.isPermutation() && !m.isIdentity(); });
  if (op.getNumReductionLoops() == 0 && !permutes &&
      op.getRegion().front().getOperations().size() <= 4)
    return false;
  int64_t work = 1;
  for (int64_t size : op.getStaticLoopRanges())
    if (!ShapedType::isDynamic(size))
      work = satMul(work, size);
  if (work < (job.inLoop ? kShareMinWorkInLoop : kShareMinWork))
    return false;
  SmallVector<Value> operands(op->getOperands());
  if (job.seed.bias)
    operands.push_back(job.seed.bias);
  for (Value v : operands) {
    if (!isa<MemRefType>(v.getType()))
      return false;
    auto *it = llvm::find(job.args, v);
    job.argOf.push_back(it - job.args.begin());
    if (it == job.args.end())
      job.args.push_back(v);
  }
  SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegions(), above);
  return llvm::all_of(above, [](Value v) { return v.getDefiningOp<arith::ConstantOp>(); });
}

llvm::hash_code kernelHash(const Job &job) {
  return llvm::hash_combine(
      OperationEquivalence::computeHash(job.op, OperationEquivalence::ignoreHashValue,
                                        OperationEquivalence::ignoreHashValue,
                                        OperationEquivalence::IgnoreLocations),
      llvm::hash_combine_range(job.op->getOperandTypes()), job.inLoop, job.nested,
      static_cast<bool>(job.seed.bias), job.seed.value, job.seed.offset,
      llvm::hash_combine_range(job.seed.strides));
}

/// The same kernel: the same op (maps, iterators, body, with equal constants
/// from above) on operands of the same types repeated alike, the same seed
/// up to its bias buffer, in the same kind of place.
bool sameKernel(Job &a, Job &b) {
  if (a.inLoop != b.inLoop || a.nested != b.nested || a.argOf != b.argOf ||
      static_cast<bool>(a.seed.bias) != static_cast<bool>(b.seed.bias) ||
      a.seed.value != b.seed.value || a.seed.offset != b.seed.offset ||
      a.seed.strides != b.seed.strides ||
      !llvm::equal(llvm::map_range(a.args, [](Value v) { return v.getType(); }),
                   llvm::map_range(b.args, [](Value v) { return v.getType(); })))
    return false;
  // Values inside the two ops correspond as the comparison goes (block
  // arguments, results); from above they are equal constants; the operands
  // are arguments (their types are compared by the caller of this callback).
  DenseMap<Value, Value> inside;
  auto mark = [&](Value l, Value r) { inside[l] = r; };
  auto check = [&](Value l, Value r) -> LogicalResult {
    if (auto it = inside.find(l); it != inside.end())
      return success(it->second == r);
    auto cl = l.getDefiningOp<arith::ConstantOp>(), cr = r.getDefiningOp<arith::ConstantOp>();
    if (cl || cr)
      return success(cl && cr && cl.getValue() == cr.getValue());
    return success(isa<MemRefType>(l.getType()));
  };
  return OperationEquivalence::isEquivalentTo(a.op, b.op, check, mark,
                                              OperationEquivalence::IgnoreLocations);
}

struct RNNVectorizeKernelsPass
    : mlir::rnn::impl::RNNVectorizeKernelsPassBase<RNNVectorizeKernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorWidth < 2 || (vectorWidth & (vectorWidth - 1))) {
      getOperation()->emitError("rnn-vectorize-kernels: vector-width must be a power of two >= 2");
      return signalPassFailure();
    }
    Operation *root = getOperation();
    IRRewriter rewriter(root->getContext());
    // Bufferization's copies (a step's result into its slot of a sequence,
    // a slice into a temporary) as linalg.copy, so that they are vector
    // kernels shared by the threads like any other map, not a serial
    // memcpy loop per row.
    SmallVector<memref::CopyOp> copies;
    root->walk([&](memref::CopyOp op) {
      auto src = dyn_cast<MemRefType>(op.getSource().getType());
      auto dst = dyn_cast<MemRefType>(op.getTarget().getType());
      if (src && dst && src.getRank() >= 1 && src.getRank() == dst.getRank() &&
          src.getElementType() == dst.getElementType())
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(), op.getTarget());
    }
    // Named ops (fill, copy, matmul, ...) as generics first.
    SmallVector<linalg::LinalgOp> named;
    root->walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp>(op) && op.hasPureBufferSemantics())
        named.push_back(op);
    });
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }
    SmallVector<linalg::GenericOp> generics;
    root->walk([&](linalg::GenericOp op) { generics.push_back(op); });
    // Bias broadcasts folded into the contractions that accumulate on them.
    DenseMap<Operation *, SmallVector<SeededContraction>> seedsOf; // broadcast -> contractions
    DenseMap<Operation *, std::pair<Operation *, SeededContraction>> seedOf;
    SmallVector<linalg::GenericOp> bcasts; // in program order
    DenseMap<Operation *, SmallVector<Operation *>> refillsOf; // broadcast -> redundant refills
    llvm::SmallPtrSet<Operation *, 8> refills;
    for (linalg::GenericOp op : generics) {
      if (refills.contains(op))
        continue;
      SmallVector<Operation *> again;
      if (auto found = findSeededContractions(op, again); !found.empty()) {
        for (SeededContraction &sc : found)
          seedOf[sc.op] = {op, sc};
        seedsOf[op] = std::move(found);
        refills.insert(again.begin(), again.end());
        refillsOf[op] = std::move(again);
        bcasts.push_back(op);
      }
    }
    DenseMap<Operation *, unsigned> seededDone;
    ParallelOpts par{parallel, parallelMinWork};
    auto vectorize = [&](linalg::GenericOp op, const ParallelOpts &par) {
      if (failed(vectorizeContraction(rewriter, op, vectorWidth, par)) &&
          failed(vectorizeTranspose(rewriter, op, vectorWidth, par)) &&
          failed(vectorizeFullReduction(rewriter, op, vectorWidth)))
        (void)vectorizeElementwise(rewriter, op, vectorWidth, par);
    };
    // A seeded contraction, or any other kernel; true when seeded.
    auto emit = [&](linalg::GenericOp op, const Seed &seed, const ParallelOpts &par) {
      if (seed && succeeded(vectorizeContraction(rewriter, op, vectorWidth, par, seed)))
        return true;
      vectorize(op, par);
      return false;
    };
    SmallVector<Job> jobs;
    for (linalg::GenericOp op : generics) {
      if (seedsOf.count(op) || refills.contains(op))
        continue; // decided below, once its contractions are
      Job job{op, Seed(), nullptr, runsInLoop(op),
              static_cast<bool>(op->getParentOfType<rnn::ParallelOp>()), {}, {}};
      if (auto it = seedOf.find(op); it != seedOf.end()) {
        job.bcast = it->second.first;
        job.seed = it->second.second.seed;
      }
      jobs.push_back(std::move(job));
    }
    // With share-kernels, each kernel that the module repeats is emitted once,
    // in a private function `kernel_N` (rnn.kernel; rnn.kernel_in_loop when
    // it runs in loops), and its copies become calls. Classes in program
    // order (buckets of equal hashes hold several).
    SmallVector<int> classOf(jobs.size(), -1);
    SmallVector<SmallVector<unsigned>> classes;
    auto module = dyn_cast<ModuleOp>(root);
    if (shareKernels && module) {
      DenseMap<llvm::hash_code, SmallVector<unsigned>> buckets;
      for (auto [i, job] : llvm::enumerate(jobs)) {
        if (!shareable(job))
          continue;
        SmallVector<unsigned> &bucket = buckets[kernelHash(job)];
        for (unsigned k : bucket)
          if (sameKernel(jobs[classes[k].front()], job)) {
            classOf[i] = k;
            break;
          }
        if (classOf[i] < 0) {
          classOf[i] = classes.size();
          bucket.push_back(classes.size());
          classes.push_back({});
        }
        classes[classOf[i]].push_back(i);
      }
    }
    SmallVector<func::FuncOp> kernelFn(classes.size());
    SmallVector<char> kernelSeeded(classes.size(), 0);
    std::optional<SymbolTable> symbols;
    for (auto [i, job] : llvm::enumerate(jobs)) {
      int k = classOf[i];
      if (k < 0 || classes[k].size() < 2) {
        if (emit(job.op, job.seed, par))
          ++seededDone[job.bcast];
        continue;
      }
      if (!kernelFn[k]) {
        // The function holds a clone of the first copy, emitted there; then
        // every copy becomes a call.
        if (!symbols)
          symbols.emplace(module);
        OpBuilder b(module.getBodyRegion());
        b.setInsertionPointToEnd(module.getBody());
        SmallVector<Type> types;
        for (Value v : job.args)
          types.push_back(v.getType());
        auto fn = func::FuncOp::create(b, job.op.getLoc(), "kernel", b.getFunctionType(types, {}));
        fn.setPrivate();
        fn->setAttr(rnn::attrs::kKernel, b.getUnitAttr());
        if (job.inLoop)
          fn->setAttr(rnn::attrs::kKernelInLoop, b.getUnitAttr());
        symbols->insert(fn); // kernel, kernel_0, kernel_1, ...
        Block *entry = fn.addEntryBlock();
        b.setInsertionPointToStart(entry);
        IRMapping map;
        for (auto [v, arg] : llvm::zip(job.args, entry->getArguments()))
          map.map(v, arg);
        SetVector<Value> above;
        getUsedValuesDefinedAbove(job.op->getRegions(), above);
        for (Value v : above)
          map.map(v, b.clone(*v.getDefiningOp())->getResult(0));
        auto copy = cast<linalg::GenericOp>(b.clone(*job.op, map));
        func::ReturnOp::create(b, job.op.getLoc());
        Seed seed = job.seed;
        if (seed.bias)
          seed.bias = map.lookup(seed.bias);
        // Called inside an rnn.parallel region: the threads are busy.
        kernelSeeded[k] = emit(copy, seed, job.nested ? ParallelOpts() : par);
        kernelFn[k] = fn;
      }
      rewriter.setInsertionPoint(job.op);
      func::CallOp::create(rewriter, job.op.getLoc(), kernelFn[k], job.args);
      rewriter.eraseOp(job.op);
      if (kernelSeeded[k])
        ++seededDone[job.bcast];
    }
    // A broadcast all of whose contractions start from the bias is not run;
    // otherwise it stays (the seeded ones ignore what it writes).
    // (In program order, so that the output does not depend on hashing.)
    // Its redundant refills go with it, or stay with it.
    for (linalg::GenericOp op : bcasts) {
      bool seeded = seededDone.lookup(op) == seedsOf[op].size();
      for (Operation *refill : refillsOf[op]) {
        if (seeded)
          rewriter.eraseOp(refill);
        else
          vectorize(cast<linalg::GenericOp>(refill), par);
      }
      if (seeded)
        rewriter.eraseOp(op);
      else
        vectorize(op, par);
    }

    // tanh/exp/log as polynomials, on vectors and scalars alike.
    RewritePatternSet patterns(root->getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "tanh" || name == "exp" || name == "log" || name == "math.tanh" ||
             name == "math.exp" || name == "math.log";
    });
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return signalPassFailure();
    // The approximations use math.fma; on vectors that is vector.fma.
    root->walk([&](math::FmaOp op) {
      if (!isa<VectorType>(op.getType()))
        return;
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<vector::FMAOp>(op, op.getA(), op.getB(), op.getC());
    });
  }
};

} // namespace
