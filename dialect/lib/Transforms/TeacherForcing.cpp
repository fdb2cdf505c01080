//===- TeacherForcing.cpp - Teacher-forced decoders as recurrences ----------===//
//
// A decoder whose previous tokens are given (teacher forcing) is an ordinary
// recurrence over those tokens; rnn-bptt then differentiates it like any
// other loop.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNTEACHERFORCINGPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// A teacher-forced decoder knows every step's previous token before it runs:
/// it is a recurrence over the teacher's tokens shifted right by one step
/// (`start`, y[:, 0], ..., y[:, T-2]), with the same body. Back-propagation
/// through time then differentiates it like any other recurrence.
struct TeacherForcedDecodeExpansion : OpRewritePattern<DecodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DecodeOp op, PatternRewriter &rewriter) const override {
    Value y = op.getTeacher();
    if (!y)
      return rewriter.notifyMatchFailure(op, "greedy decoding depends on its own outputs");
    Location loc = op.getLoc();
    auto yTy = cast<RankedTensorType>(y.getType());
    Type i32 = yTy.getElementType();
    Value batch = tensor::DimOp::create(rewriter, loc, y, 0);
    Value steps = tensor::DimOp::create(rewriter, loc, y, 1);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto colTy = RankedTensorType::get({yTy.getDimSize(0), 1}, i32);
    SmallVector<Value> dyn;
    if (colTy.isDynamicDim(0))
      dyn.push_back(batch);
    Value startTok =
        arith::ConstantOp::create(rewriter, loc, rewriter.getIntegerAttr(i32, op.getStart()));
    Value startCol =
        linalg::FillOp::create(rewriter, loc, startTok,
                               Value(tensor::EmptyOp::create(rewriter, loc, colTy, dyn)))
            .getResult(0);
    Value head = tensor::ExtractSliceOp::create(
        rewriter, loc, RankedTensorType::get({yTy.getDimSize(0), ShapedType::kDynamic}, i32), y,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{batch, Value(arith::SubIOp::create(rewriter, loc, steps, one))},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1), rewriter.getIndexAttr(1)});
    Value prev = tensor::ConcatOp::create(rewriter, loc, yTy, /*dim=*/1, ValueRange{startCol, head});
    auto rec = RecurrenceOp::create(rewriter, loc, op.getResultTypes(), ValueRange{prev},
                                    op.getInit(), Value(), /*reverse=*/false);
    rewriter.inlineRegionBefore(op.getBody(), rec.getBody(), rec.getBody().end());
    rewriter.replaceOp(op, rec.getResults());
    return success();
  }
};

struct RNNTeacherForcingPass : rnn::impl::RNNTeacherForcingPassBase<RNNTeacherForcingPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<TeacherForcedDecodeExpansion>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
