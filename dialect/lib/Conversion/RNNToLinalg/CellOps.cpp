//===- CellOps.cpp - Cell-level rnn ops to scf/linalg ---===//
//
// The time recurrence and the decoder loop (scf.for over steps) and the gate ops.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::rnn;
using namespace mlir::rnn::detail;

namespace {

struct RNNGatesOpLowering : OpConversionPattern<RNNGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RNNGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Activation act = op.getActivation();
    auto ty = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), ty,
                        ValueRange{adaptor.getGx(), adaptor.getGh()}, 1,
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          Value s = arith::AddFOp::create(b, l, a[0], a[1]);
                          return SmallVector<Value>{activate(b, l, act, s)};
                        }));
    return success();
  }
};

struct LSTMGatesOpLowering : OpConversionPattern<LSTMGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LSTMGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getC().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins = gateBlocks(rewriter, loc, adaptor.getGx(), adaptor.getGh(), 4, h);
    ins.push_back(adaptor.getC());
    rewriter.replaceOp(
        op, elementwise(rewriter, loc, ty, ins, 2,
                        [](OpBuilder &b, Location l, ValueRange a) {
                          auto pre = [&](int k) {
                            return arith::AddFOp::create(b, l, a[k], a[4 + k]).getResult();
                          };
                          Value i = sigmoid(b, l, pre(0)), f = sigmoid(b, l, pre(1));
                          Value g = math::TanhOp::create(b, l, pre(2));
                          Value o = sigmoid(b, l, pre(3));
                          Value c2 = arith::AddFOp::create(
                              b, l, arith::MulFOp::create(b, l, f, a[8]),
                              arith::MulFOp::create(b, l, i, g));
                          Value h2 = arith::MulFOp::create(
                              b, l, o, math::TanhOp::create(b, l, c2));
                          return SmallVector<Value>{h2, c2};
                        }));
    return success();
  }
};

struct GRUGatesOpLowering : OpConversionPattern<GRUGatesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GRUGatesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ty = cast<RankedTensorType>(op.getH().getType());
    int64_t h = ty.getDimSize(1);
    SmallVector<Value> ins = gateBlocks(rewriter, loc, adaptor.getGx(), adaptor.getGh(), 3, h);
    ins.push_back(adaptor.getH());
    rewriter.replaceOp(
        op, elementwise(rewriter, loc, ty, ins, 1,
                        [](OpBuilder &b, Location l, ValueRange a) {
                          Value r = sigmoid(b, l, arith::AddFOp::create(b, l, a[0], a[3]));
                          Value z = sigmoid(b, l, arith::AddFOp::create(b, l, a[1], a[4]));
                          Value n = math::TanhOp::create(
                              b, l, arith::AddFOp::create(
                                        b, l, a[2], arith::MulFOp::create(b, l, r, a[5])));
                          // PyTorch: h' = n + z * (h - n)
                          Value d = arith::SubFOp::create(b, l, a[6], n);
                          Value h2 = arith::AddFOp::create(
                              b, l, n, arith::MulFOp::create(b, l, z, d));
                          return SmallVector<Value>{h2};
                        }));
    return success();
  }
};

/// Offsets/sizes/strides of time step `t` of the `[B, T, ...]` sequence `seq`;
/// trailing dynamic sizes come from `step` (`[B, ...]`) when given, otherwise
/// from `seq` itself.
void stepSlice(OpBuilder &b, Location loc, Value seq, Value step, Value t,
               Value batch, SmallVector<OpFoldResult> &offs, SmallVector<OpFoldResult> &sizes,
               SmallVector<OpFoldResult> &strides) {
  auto seqTy = cast<RankedTensorType>(seq.getType());
  offs.assign(seqTy.getRank(), b.getIndexAttr(0));
  offs[1] = t;
  sizes.clear();
  sizes.push_back(batch);
  sizes.push_back(b.getIndexAttr(1));
  for (int64_t d = 2; d < seqTy.getRank(); ++d)
    sizes.push_back(!seqTy.isDynamicDim(d) ? OpFoldResult(b.getIndexAttr(seqTy.getDimSize(d)))
                    : step                  ? tensor::getMixedSize(b, loc, step, d - 1)
                                            : tensor::getMixedSize(b, loc, seq, d));
  strides.assign(seqTy.getRank(), b.getIndexAttr(1));
}

/// Size of axis `d` of `v`, a value computed in `body`, as a value usable
/// before the loop: follows values defined outside the body, attention scores
/// (their last axis is the keys' time axis), dense layers and same-shape ops.
FailureOr<Value> sizeOutside(OpBuilder &b, Location loc, Value v, int64_t d, Region &body) {
  if (!body.isAncestor(v.getParentRegion()))
    return Value(tensor::DimOp::create(b, loc, v, d));
  Operation *def = v.getDefiningOp();
  if (!def)
    return failure();
  auto rank = cast<RankedTensorType>(v.getType()).getRank();
  if (auto att = dyn_cast<AttentionOp>(def)) {
    if (v == att.getScores() && d == rank - 1)
      return sizeOutside(b, loc, att.getKeys(), 1, body);
    return sizeOutside(b, loc, att.getQuery(), d, body);
  }
  if (auto dense = dyn_cast<DenseOp>(def); dense && d < rank - 1)
    return sizeOutside(b, loc, dense.getInput(), d, body);
  if (def->hasTrait<OpTrait::SameOperandsAndResultShape>() ||
      def->hasTrait<OpTrait::SameOperandsAndResultType>())
    return sizeOutside(b, loc, def->getOperand(0), d, body);
  return failure();
}

/// Writes `step` ([B, ...]) at time `t` of the sequence `acc` ([B, T, ...]),
/// destination style (a copy into the slice), so bufferization updates `acc`
/// in place.
Value insertStep(OpBuilder &b, Location loc, Value acc, Value step, Value t, Value batch) {
  SmallVector<OpFoldResult> offs, sizes, strides;
  stepSlice(b, loc, acc, step, t, batch, offs, sizes, strides);
  Value slot = tensor::ExtractSliceOp::create(b, loc, cast<RankedTensorType>(step.getType()),
                                              acc, offs, sizes, strides);
  Value filled = linalg::CopyOp::create(b, loc, step, slot).getResult(0);
  return tensor::InsertSliceOp::create(b, loc, filled, acc, offs, sizes, strides);
}

/// Empty `[B, T, ...]` sequences for `seqs`' types; `steps` are the per-step
/// values of `body` (their trailing dynamic sizes are found before the loop).
FailureOr<SmallVector<Value>> emptySequences(OpBuilder &b, Location loc, ValueRange seqs,
                                             ValueRange stepValues, Region &body, Value batch,
                                             Value steps) {
  SmallVector<Value> out;
  for (auto [seq, step] : llvm::zip(seqs, stepValues)) {
    auto t = cast<RankedTensorType>(seq.getType());
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (!t.isDynamicDim(i))
        continue;
      if (i < 2) {
        dyn.push_back(i == 0 ? batch : steps);
        continue;
      }
      FailureOr<Value> size = sizeOutside(b, loc, step, i - 1, body);
      if (failed(size))
        return failure();
      dyn.push_back(*size);
    }
    out.push_back(tensor::EmptyOp::create(b, loc, t, dyn));
  }
  return out;
}

/// rnn.recurrence -> scf.for over time. Iteration arguments: the carried
/// states, then one output sequence per per-step output.
struct RecurrenceOpLowering : OpConversionPattern<RecurrenceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RecurrenceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x0 = adaptor.getInputs().front();
    Value batch = tensor::DimOp::create(rewriter, loc, x0, 0);
    Value steps = tensor::DimOp::create(rewriter, loc, x0, 1);
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    unsigned numState = op.getInit().size(), numOut = op.getNumOutputs();

    SmallVector<Value> iterInits(adaptor.getInit());
    auto yieldOp = cast<YieldOp>(op.getBody().front().getTerminator());
    FailureOr<SmallVector<Value>> seqs =
        emptySequences(rewriter, loc, op.getOutputs(),
                       yieldOp.getValues().take_front(op.getNumOutputs()), op.getBody(), batch, steps);
    if (failed(seqs))
      return rewriter.notifyMatchFailure(op, "cannot size a per-step output before the loop");
    iterInits.append(*seqs);
    auto forOp = scf::ForOp::create(rewriter, loc, c0, steps, c1, iterInits);
    forOp->setAttr(attrs::kShapePreserving, rewriter.getUnitAttr());
    Block *loopBody = forOp.getBody();
    rewriter.setInsertionPointToStart(loopBody);
    Value t = forOp.getInductionVar();
    if (op.getReverse()) {
      Value last = arith::SubIOp::create(rewriter, loc, steps, c1);
      t = arith::SubIOp::create(rewriter, loc, last, t);
    }

    SmallVector<Value> argRepl;
    for (auto [in, arg] : llvm::zip(adaptor.getInputs(), op.getStepInputArgs())) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      stepSlice(rewriter, loc, in, Value(), t, batch, offs, sizes, strides);
      argRepl.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(arg.getType()), in, offs, sizes,
          strides));
    }
    for (unsigned i = 0; i < numState; ++i)
      argRepl.push_back(forOp.getRegionIterArgs()[i]);

    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    // Padded batches: outside an example's length its states stay as they
    // are and its outputs are zero (pack_padded_sequence semantics; a reversed
    // recurrence therefore starts at each example's own last step).
    Value lengths = adaptor.getLengths();
    auto store = [&](unsigned i, Value step) {
      if (lengths)
        step = maskRows(rewriter, loc, lengths, t, step, Value());
      return insertStep(rewriter, loc, forOp.getRegionIterArgs()[numState + i], step, t, batch);
    };
    // A per-step output that is an incoming state (the previous h and c that
    // the gradient saves) is stored first, before the step's ops can update
    // that state's buffer in place (rnn-carry-in-place): stored at the end, it
    // would need a copy of the old state made before the update.
    SmallVector<Value> stored(numOut);
    unsigned numInputs = adaptor.getInputs().size();
    for (unsigned i = 0; i < numOut; ++i) {
      auto arg = dyn_cast<BlockArgument>(yield.getValues()[i]);
      if (arg && arg.getOwner() == &body && arg.getArgNumber() >= numInputs)
        stored[i] = store(i, argRepl[arg.getArgNumber()]);
    }
    rewriter.mergeBlocks(&body, loopBody, argRepl);

    rewriter.setInsertionPoint(yield);
    SmallVector<Value> next(yield.getValues().drop_front(numOut));
    if (lengths)
      for (unsigned i = 0; i < numState; ++i)
        next[i] = maskRows(rewriter, loc, lengths, t, next[i], forOp.getRegionIterArgs()[i]);
    for (unsigned i = 0; i < numOut; ++i)
      next.push_back(stored[i] ? stored[i] : store(i, yield.getValues()[i]));
    scf::YieldOp::create(rewriter, loc, next);
    rewriter.eraseOp(yield);

    SmallVector<Value> results(forOp.getResults().drop_front(numState));
    results.append(forOp.getResults().begin(), forOp.getResults().begin() + numState);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Per-row argmax over the last axis of `scores` ([B, V]) as i32 token ids;
/// ties go to the lowest index.
Value argmaxRows(OpBuilder &b, Location loc, Value scores) {
  MLIRContext *ctx = b.getContext();
  Value batch = tensor::DimOp::create(b, loc, scores, 0);
  auto valTy = RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type());
  auto idxTy = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  Value best = fillWith(b, loc, tensor::EmptyOp::create(b, loc, valTy, ValueRange{batch}),
                        -std::numeric_limits<float>::infinity());
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value idxInit = tensor::EmptyOp::create(b, loc, idxTy, ValueRange{batch});
  Value idx = linalg::FillOp::create(b, loc, zero, idxInit)
                  .getResult(0);
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap row = AffineMap::get(2, 0, getAffineDimExpr(0, ctx));
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{valTy, idxTy}, scores, ValueRange{best, idx},
      ArrayRef<AffineMap>{id, row, row},
      IterKinds{utils::IteratorType::parallel, utils::IteratorType::reduction},
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value v = arith::IndexCastOp::create(nb, l, nb.getI32Type(), linalg::IndexOp::create(nb, l, 1));
        Value better = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0], a[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::SelectOp::create(nb, l, better, a[0], a[1]),
                                                  arith::SelectOp::create(nb, l, better, v, a[2])});
      });
  return generic.getResult(1);
}

/// rnn.decode -> scf.for over output steps. Iteration arguments: the previous
/// tokens, the carried states, then one output sequence per per-step output.
struct DecodeOpLowering : OpConversionPattern<DecodeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DecodeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    unsigned numState = op.getInit().size(), numOut = op.getNumOutputs();
    Value teacher = adaptor.getTeacher();
    Value batch = tensor::DimOp::create(rewriter, loc, adaptor.getInit().front(), 0);
    Value steps = teacher ? Value(tensor::DimOp::create(rewriter, loc, teacher, 1))
                          : Value(arith::ConstantIndexOp::create(rewriter, loc, op.getMaxLen()));
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto tokTy = RankedTensorType::get({ShapedType::kDynamic}, rewriter.getI32Type());
    Value startTok = arith::ConstantOp::create(
        rewriter, loc, rewriter.getI32IntegerAttr(static_cast<int32_t>(op.getStart())));
    Value prevInit = tensor::EmptyOp::create(rewriter, loc, tokTy, ValueRange{batch});
    Value prev0 = linalg::FillOp::create(rewriter, loc, startTok, prevInit)
                      .getResult(0);

    SmallVector<Value> iterInits = {prev0};
    iterInits.append(adaptor.getInit().begin(), adaptor.getInit().end());
    auto yieldOp = cast<YieldOp>(op.getBody().front().getTerminator());
    FailureOr<SmallVector<Value>> seqs =
        emptySequences(rewriter, loc, op.getOutputs(), yieldOp.getValues().take_front(numOut),
                       op.getBody(), batch, steps);
    if (failed(seqs))
      return rewriter.notifyMatchFailure(op, "cannot size a per-step output before the loop");
    iterInits.append(*seqs);
    auto forOp = scf::ForOp::create(rewriter, loc, c0, steps, c1, iterInits);
    forOp->setAttr(attrs::kShapePreserving, rewriter.getUnitAttr());
    Block *loopBody = forOp.getBody();
    rewriter.setInsertionPointToStart(loopBody);
    Value t = forOp.getInductionVar();
    SmallVector<Value> argRepl(forOp.getRegionIterArgs().take_front(1 + numState));

    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    rewriter.mergeBlocks(&body, loopBody, argRepl);
    rewriter.setInsertionPoint(yield);

    // The next step's previous tokens: the teacher's tokens at t, or the argmax.
    Value nextPrev;
    if (teacher) {
      SmallVector<OpFoldResult> offs = {rewriter.getIndexAttr(0), t};
      SmallVector<OpFoldResult> sizes = {batch, rewriter.getIndexAttr(1)};
      SmallVector<OpFoldResult> strides(2, rewriter.getIndexAttr(1));
      nextPrev = tensor::ExtractSliceOp::create(rewriter, loc, tokTy, teacher, offs, sizes, strides);
    } else {
      nextPrev = argmaxRows(rewriter, loc, yield.getValues()[0]);
    }
    SmallVector<Value> next = {nextPrev};
    next.append(yield.getValues().begin() + numOut, yield.getValues().end());
    for (unsigned i = 0; i < numOut; ++i)
      next.push_back(insertStep(rewriter, loc, forOp.getRegionIterArgs()[1 + numState + i],
                                yield.getValues()[i], t, batch));
    scf::YieldOp::create(rewriter, loc, next);
    rewriter.eraseOp(yield);

    SmallVector<Value> results(forOp.getResults().drop_front(1 + numState));
    results.append(forOp.getResults().begin() + 1, forOp.getResults().begin() + 1 + numState);
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::rnn::populateCellOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RNNGatesOpLowering, LSTMGatesOpLowering, GRUGatesOpLowering, RecurrenceOpLowering,
               DecodeOpLowering>(patterns.getContext());
}
