//===- ExpandRecurrent.cpp - rnn.recurrent to rnn.recurrence loops ---------===//
//
// Expands each layer-level `rnn.recurrent` into one cell-level
// `rnn.recurrence` per layer and direction, with the step written as
// `rnn.dense` projections followed by the cell's gate op.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNEXPANDRECURRENTPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// A zero-filled f32 tensor of `type`, whose dynamic sizes are all the batch
/// size `batch`.
Value createZeros(OpBuilder &b, Location loc, RankedTensorType type,
                  Value batch) {
  SmallVector<Value> dyn(type.getNumDynamicDims(), batch);
  Value empty = tensor::EmptyOp::create(b, loc, type, dyn);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// Writes `parts` side by side along `axis` of a new tensor of `type`.
Value concatAlong(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> parts, int64_t axis) {
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(tensor::DimOp::create(b, loc, parts.front(), i));
  Value acc = tensor::EmptyOp::create(b, loc, type, dyn);
  int64_t offset = 0;
  for (Value p : parts) {
    auto pt = cast<RankedTensorType>(p.getType());
    SmallVector<OpFoldResult> offs(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(b, loc, p);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offs[axis] = b.getIndexAttr(offset);
    acc = tensor::InsertSliceOp::create(b, loc, p, acc, offs, sizes, strides);
    offset += pt.getDimSize(axis);
  }
  return acc;
}

/// Stacks `[B, H]` states into `[N, B, H]` (PyTorch's h_n layout).
Value stackStates(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> states) {
  Value batch = tensor::DimOp::create(b, loc, states.front(), 0);
  SmallVector<Value> dyn;
  if (type.isDynamicDim(1))
    dyn.push_back(batch);
  Value acc = tensor::EmptyOp::create(b, loc, type, dyn);
  int64_t hidden = type.getDimSize(2);
  for (auto [i, s] : llvm::enumerate(states)) {
    SmallVector<OpFoldResult> offs = {b.getIndexAttr(i), b.getIndexAttr(0),
                                      b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), OpFoldResult(batch),
                                       b.getIndexAttr(hidden)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    acc = tensor::InsertSliceOp::create(b, loc, s, acc, offs, sizes, strides);
  }
  return acc;
}

struct RecurrentOpExpansion : OpRewritePattern<RecurrentOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RecurrentOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t hidden = op.getHidden(), dirs = op.getNumDirections();
    int64_t gates = op.getNumGates() * hidden, numStates = op.getNumStates();
    Type f32 = rewriter.getF32Type();
    Value seq = op.getInput();
    Value batch = tensor::DimOp::create(rewriter, loc, seq, 0);
    auto seqTy = cast<RankedTensorType>(seq.getType());
    auto stateTy = RankedTensorType::get({seqTy.getDimSize(0), hidden}, f32);
    auto gateTy = RankedTensorType::get({seqTy.getDimSize(0), gates}, f32);

    // finals[s][l*dirs+d]: final state s of layer l, direction d.
    SmallVector<SmallVector<Value>> finals(numStates);
    int64_t layers = op.getLayers();
    for (int64_t l = 0; l < layers; ++l) {
      SmallVector<Value> dirSeqs;
      for (int64_t d = 0; d < dirs; ++d) {
        int64_t idx = l * dirs + d;
        ValueRange w = op.getWeights().slice(4 * idx, 4);
        SmallVector<Value> init;
        for (int64_t s = 0; s < numStates; ++s) {
          if (op.getInitialStates().empty()) {
            init.push_back(createZeros(rewriter, loc, stateTy, batch));
            continue;
          }
          // Slice [idx, :, :] of h_0 / c_0.
          SmallVector<OpFoldResult> offs = {rewriter.getIndexAttr(idx),
                                            rewriter.getIndexAttr(0),
                                            rewriter.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1),
                                             OpFoldResult(batch),
                                             rewriter.getIndexAttr(hidden)};
          SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
          init.push_back(tensor::ExtractSliceOp::create(
              rewriter, loc, stateTy, op.getInitialStates()[s], offs, sizes,
              strides));
        }
        auto inTy = cast<RankedTensorType>(seq.getType());
        auto outSeqTy = RankedTensorType::get(
            {inTy.getDimSize(0), inTy.getDimSize(1), hidden}, f32);
        SmallVector<Type> resultTypes = {outSeqTy};
        for (int64_t s = 0; s < numStates; ++s)
          resultTypes.push_back(stateTy);
        bool reverse = d == 1 || op.getDirection() == Direction::reverse;
        auto rec = RecurrenceOp::create(rewriter, loc, resultTypes,
                                        ValueRange{seq}, init, op.getLengths(),
                                        reverse);
        Block *body = rewriter.createBlock(&rec.getBody());
        auto stepTy = RankedTensorType::get(
            {inTy.getDimSize(0), inTy.getDimSize(2)}, f32);
        Value xt = body->addArgument(stepTy, loc);
        SmallVector<Value> st;
        for (int64_t s = 0; s < numStates; ++s)
          st.push_back(body->addArgument(stateTy, loc));
        Value gx = DenseOp::create(rewriter, loc, gateTy, xt, w[0], w[2],
                                   Activation::none);
        Value gh = DenseOp::create(rewriter, loc, gateTy, st[0], w[1], w[3],
                                   Activation::none);
        SmallVector<Value> next;
        switch (op.getCell()) {
        case CellKind::rnn:
          next.push_back(RNNGatesOp::create(rewriter, loc, stateTy, gx, gh,
                                            op.getActivation()));
          break;
        case CellKind::lstm: {
          auto g = LSTMGatesOp::create(rewriter, loc, gx, gh, st[1]);
          next = {g.getHNext(), g.getCNext()};
          break;
        }
        case CellKind::gru:
          next.push_back(GRUGatesOp::create(rewriter, loc, gx, gh, st[0]));
          break;
        }
        SmallVector<Value> yielded = {next[0]};
        yielded.append(next);
        YieldOp::create(rewriter, loc, yielded);
        rewriter.setInsertionPointAfter(rec);

        dirSeqs.push_back(rec.getOutputs()[0]);
        for (int64_t s = 0; s < numStates; ++s)
          finals[s].push_back(rec.getFinalStates()[s]);
      }
      if (dirs == 1) {
        seq = dirSeqs.front();
      } else {
        auto t = cast<RankedTensorType>(dirSeqs.front().getType());
        auto catTy = RankedTensorType::get(
            {t.getDimSize(0), t.getDimSize(1), dirs * hidden}, f32);
        seq = concatAlong(rewriter, loc, catTy, dirSeqs, 2);
      }
      // Training: dropout on every layer's output but the last (PyTorch's).
      double rate = op.getDropout().convertToDouble();
      if (op.getRng() && rate > 0 && l + 1 < layers)
        seq = DropoutOp::create(rewriter, loc, seq, op.getRng(),
                                rewriter.getF64FloatAttr(rate),
                                rewriter.getI64IntegerAttr(op.getDropoutSalt() + l));
    }

    Value output;
    if (op.getReturnSequences()) {
      output = seq;
    } else {
      // The last layer's final hidden states, forward | backward.
      ArrayRef<Value> lastH = ArrayRef<Value>(finals[0]).take_back(dirs);
      output = dirs == 1 ? lastH.front()
                         : concatAlong(rewriter, loc,
                                       cast<RankedTensorType>(op.getOutput().getType()),
                                       lastH, 1);
    }
    SmallVector<Value> replacements = {output};
    for (auto [s, res] : llvm::enumerate(op.getFinalStates()))
      replacements.push_back(stackStates(
          rewriter, loc, cast<RankedTensorType>(res.getType()), finals[s]));
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

struct RNNExpandRecurrentPass
    : rnn::impl::RNNExpandRecurrentPassBase<RNNExpandRecurrentPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RecurrentOpExpansion>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
