//===- TensorUtils.h - Tensor builders shared by the rnn passes -*- C++ -*-===//
#ifndef RNN_TRANSFORMS_TENSORUTILS_H
#define RNN_TRANSFORMS_TENSORUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace mlir {
namespace linalg {
class GenericOp;
}
namespace scf {
class ForOp;
}
namespace rnn {

/// A zero tensor shaped like `v` (tensor.empty + linalg.fill).
Value zerosLike(OpBuilder &b, Location loc, Value v);

/// `x + y` elementwise (linalg.add into a tensor.empty).
Value addTensors(OpBuilder &b, Location loc, Value x, Value y);

/// `[B, T, ...]` sequence type of a `[B, ...]` step type, with T from `seq`.
RankedTensorType sequenceOf(RankedTensorType step, RankedTensorType seq);

/// True when `op` is a multiply-add contraction on tensors: two inputs, one
/// init, at least one reduction loop, body `out + in0 * in1` (either order of
/// the product and the sum).
bool isTensorMultiplyAdd(linalg::GenericOp op);

/// The loop dimension of an indexing-map result that is a plain dimension
/// (`d3`), none for other expressions.
std::optional<unsigned> dimOf(AffineExpr e);

/// The value `v` is a view of, through view-like ops (subviews, reshapes,
/// casts; `v` itself when it is not a view).
Value viewRoot(Value v);

/// The uses of `root` and of the views made of it (transitively), other than
/// as the source of a view: the ops that read, write or pass on its memory.
SmallVector<OpOperand *> nonViewUses(Value root);

/// Elements of the statically shaped tensors that `body` reads from above:
/// for a recurrence's body, its weights and biases, a measure of the work of
/// one step per example.
int64_t staticElementsFromAbove(Region &body);

/// The innermost scf.for around `op`, other than the chunk loops of
/// rnn-stacked-wavefront (`rnn.chunks`: each iteration covers a stretch of
/// the sequence, so ops there are sequence-wide like at a function's top
/// level); null when there is none.
scf::ForOp enclosingLoop(Operation *op);

} // namespace rnn
} // namespace mlir

#endif // RNN_TRANSFORMS_TENSORUTILS_H
