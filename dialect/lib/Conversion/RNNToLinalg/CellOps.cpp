//===- CellOps.cpp - Cell-level rnn ops to scf/linalg ---===//
//
// The time recurrence (scf.for over time) and the gate ops.
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
    SmallVector<Value> ins;
    for (Value m : {adaptor.getGx(), adaptor.getGh()})
      for (int64_t k = 0; k < 4; ++k)
        ins.push_back(columnBlock(rewriter, loc, m, k, h));
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
    SmallVector<Value> ins;
    for (Value m : {adaptor.getGx(), adaptor.getGh()})
      for (int64_t k = 0; k < 3; ++k)
        ins.push_back(columnBlock(rewriter, loc, m, k, h));
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
    for (Value seq : op.getOutputs()) {
      auto t = cast<RankedTensorType>(seq.getType());
      SmallVector<Value> dyn;
      for (int64_t i = 0; i < t.getRank(); ++i)
        if (t.isDynamicDim(i))
          dyn.push_back(i == 0 ? batch : steps);
      iterInits.push_back(tensor::EmptyOp::create(rewriter, loc, t, dyn));
    }
    auto forOp = scf::ForOp::create(rewriter, loc, c0, steps, c1, iterInits);
    Block *loopBody = forOp.getBody();
    rewriter.setInsertionPointToStart(loopBody);
    Value t = forOp.getInductionVar();
    if (op.getReverse()) {
      Value last = arith::SubIOp::create(rewriter, loc, steps, c1);
      t = arith::SubIOp::create(rewriter, loc, last, t);
    }

    // Offsets/sizes of time step `t` of a [B, T, ...] sequence.
    auto stepSlice = [&](RankedTensorType seqTy, SmallVector<OpFoldResult> &offs,
                         SmallVector<OpFoldResult> &sizes,
                         SmallVector<OpFoldResult> &strides) {
      offs.assign(seqTy.getRank(), rewriter.getIndexAttr(0));
      offs[1] = t;
      sizes.clear();
      sizes.push_back(batch);
      sizes.push_back(rewriter.getIndexAttr(1));
      for (int64_t d : seqTy.getShape().drop_front(2))
        sizes.push_back(rewriter.getIndexAttr(d));
      strides.assign(seqTy.getRank(), rewriter.getIndexAttr(1));
    };

    SmallVector<Value> argRepl;
    for (auto [in, arg] : llvm::zip(adaptor.getInputs(), op.getStepInputArgs())) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      stepSlice(cast<RankedTensorType>(in.getType()), offs, sizes, strides);
      argRepl.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(arg.getType()), in, offs, sizes,
          strides));
    }
    for (unsigned i = 0; i < numState; ++i)
      argRepl.push_back(forOp.getRegionIterArgs()[i]);

    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    rewriter.mergeBlocks(&body, loopBody, argRepl);

    rewriter.setInsertionPoint(yield);
    // Padded batches: outside an example's length its states stay as they
    // are and its outputs are zero (pack_padded_sequence semantics; a reversed
    // recurrence therefore starts at each example's own last step).
    Value lengths = adaptor.getLengths();
    SmallVector<Value> next(yield.getValues().drop_front(numOut));
    if (lengths)
      for (unsigned i = 0; i < numState; ++i)
        next[i] = maskRows(rewriter, loc, lengths, t, next[i], forOp.getRegionIterArgs()[i]);
    for (unsigned i = 0; i < numOut; ++i) {
      Value acc = forOp.getRegionIterArgs()[numState + i];
      SmallVector<OpFoldResult> offs, sizes, strides;
      stepSlice(cast<RankedTensorType>(acc.getType()), offs, sizes, strides);
      // Destination style: copy the step into a slice of the sequence, so that
      // bufferization writes it in place (no strided memref.copy).
      Value step = yield.getValues()[i];
      if (lengths)
        step = maskRows(rewriter, loc, lengths, t, step, Value());
      Value slot = tensor::ExtractSliceOp::create(
          rewriter, loc, cast<RankedTensorType>(step.getType()), acc, offs, sizes, strides);
      Value filled = linalg::CopyOp::create(rewriter, loc, step, slot).getResult(0);
      next.push_back(tensor::InsertSliceOp::create(rewriter, loc, filled, acc, offs, sizes,
                                                   strides));
    }
    scf::YieldOp::create(rewriter, loc, next);
    rewriter.eraseOp(yield);

    SmallVector<Value> results(forOp.getResults().drop_front(numState));
    results.append(forOp.getResults().begin(), forOp.getResults().begin() + numState);
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::rnn::populateCellOpsToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RNNGatesOpLowering, LSTMGatesOpLowering, GRUGatesOpLowering, RecurrenceOpLowering>(patterns.getContext());
}
