//===- LinalgBuilders.h - Shared builders for the rnn-to-linalg patterns -*- C++ -*-===//
//
// Small helpers that build linalg/tensor/arith IR on tensors; used by the
// pattern files of the rnn-to-linalg conversion.
//
//===----------------------------------------------------------------------===//
#ifndef RNN_CONVERSION_RNNTOLINALG_LINALGBUILDERS_H
#define RNN_CONVERSION_RNNTOLINALG_LINALGBUILDERS_H

#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"

namespace mlir::rnn::detail {

using IterKinds = SmallVector<utils::IteratorType>;

/// `n` parallel iterators.
IterKinds parallel(int64_t n);
/// An uninitialised tensor of `type` whose dynamic sizes are those of `like`
/// at the same positions.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type, Value like);
/// `tensor` filled with `value`.
Value fillWith(OpBuilder &b, Location loc, Value tensor, float value);
/// `(d0, ..., d{n-1}) -> (d0, ..., d{n-2})`.
AffineMap dropLastMap(MLIRContext *ctx, unsigned n);
/// 1 / (1 + exp(-x)).
Value sigmoid(OpBuilder &b, Location loc, Value x);
/// The scalar activation `act` of `x`.
Value activate(OpBuilder &b, Location loc, Activation act, Value x);
/// Applies `fn` elementwise to same-shaped `inputs`, writing `numResults`
/// tensors of `type`.
SmallVector<Value>
elementwise(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
            unsigned numResults,
            function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> fn);
/// Column block `k` of width `width` of a `[B, n*width]` matrix.
Value columnBlock(OpBuilder &b, Location loc, Value m, int64_t k, int64_t width);
/// The body of a contraction: `out + lhs * rhs` (block arguments lhs, rhs, out).
void macBody(OpBuilder &b, Location loc, ValueRange args);
/// The `2 * gates` column blocks of width `width` of the gate projections
/// `gx` and `gh` (`[B, gates*width]`): gx's blocks, then gh's.
SmallVector<Value> gateBlocks(OpBuilder &b, Location loc, Value gx, Value gh, int64_t gates,
                              int64_t width);
/// The row-wise maximum of `x` over its last axis and the sum of
/// exp(x - max) (the two halves of a stable softmax / log-sum-exp).
std::pair<Value, Value> maxAndSumExp(OpBuilder &b, Location loc, Value x);
/// A `linalg.generic` written as an einsum: `spec` names the axes of each input
/// and then of the result ("Bi,ji->Bj"); letters not in the result are
/// reductions (iterated innermost, after the result's axes in their order).
/// The result is f32, sized from the inputs, seeded with `init` (zeros when
/// null). `fn` gets the inputs' scalars and the accumulator and returns the
/// new accumulator; by default `acc + product of the inputs`.
Value einsum(OpBuilder &b, Location loc, StringRef spec, ValueRange ins, Value init = {},
             function_ref<Value(OpBuilder &, Location, ValueRange)> fn = {});
/// Row-wise select for padded batches (see LinalgBuilders.cpp).
Value maskRows(OpBuilder &b, Location loc, Value lengths, Value t, Value a, Value other);
/// Number of elements of `v` as an f32 scalar.
Value numElementsF32(OpBuilder &b, Location loc, Value v);
/// Sum of `fn(args)` (f32) over an iteration space, accumulated in f64; an f64
/// scalar.
Value sumOverF64(OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
                 unsigned rank, function_ref<Value(OpBuilder &, Location, ValueRange)> fn);
/// A 0-d f32 tensor holding the scalar `x` (f32, or f64 rounded to f32).
Value scalarTensor(OpBuilder &b, Location loc, Value x);
/// Mean of `fn(args)` over an iteration space, as a 0-d tensor.
Value meanOver(OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
               unsigned rank, Value count,
               function_ref<Value(OpBuilder &, Location, ValueRange)> fn);

} // namespace mlir::rnn::detail

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace mlir::rnn {
/// Patterns of the pattern files, composed by populateRNNToLinalgConversionPatterns.
void populateLayerOpsToLinalgPatterns(::mlir::RewritePatternSet &patterns);
void populateCellOpsToLinalgPatterns(::mlir::RewritePatternSet &patterns);
void populateLossOpsToLinalgPatterns(::mlir::RewritePatternSet &patterns);
void populateAttentionOpsToLinalgPatterns(::mlir::RewritePatternSet &patterns);
void populateGradOpsToLinalgPatterns(::mlir::RewritePatternSet &patterns);
} // namespace mlir::rnn

#endif // RNN_CONVERSION_RNNTOLINALG_LINALGBUILDERS_H
