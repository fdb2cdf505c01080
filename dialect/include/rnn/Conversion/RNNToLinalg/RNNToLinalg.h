//===- RNNToLinalg.h - rnn to linalg/tensor/scf conversion ---------*- C++ -*-===//
#ifndef RNN_CONVERSION_RNNTOLINALG_H
#define RNN_CONVERSION_RNNTOLINALG_H

namespace mlir {
class RewritePatternSet;
namespace rnn {
/// Adds the patterns that lower every cell-level rnn op to linalg, tensor, scf,
/// math and arith ops on tensors.
void populateRNNToLinalgConversionPatterns(RewritePatternSet &patterns);
} // namespace rnn
} // namespace mlir

#endif // RNN_CONVERSION_RNNTOLINALG_H
