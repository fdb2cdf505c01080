//===- TensorUtils.h - Tensor builders shared by the rnn passes -*- C++ -*-===//
#ifndef RNN_TRANSFORMS_TENSORUTILS_H
#define RNN_TRANSFORMS_TENSORUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::rnn {

/// A zero tensor shaped like `v` (tensor.empty + linalg.fill).
Value zerosLike(OpBuilder &b, Location loc, Value v);

/// `x + y` elementwise (linalg.add into a tensor.empty).
Value addTensors(OpBuilder &b, Location loc, Value x, Value y);

/// `[B, T, ...]` sequence type of a `[B, ...]` step type, with T from `seq`.
RankedTensorType sequenceOf(RankedTensorType step, RankedTensorType seq);

} // namespace mlir::rnn

#endif // RNN_TRANSFORMS_TENSORUTILS_H
