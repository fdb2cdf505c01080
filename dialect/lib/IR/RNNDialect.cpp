//===- RNNDialect.cpp - The rnn dialect ------------------------------------===//
#include "rnn/IR/RNNDialect.h"
#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::rnn;

#include "rnn/IR/RNNOpsDialect.cpp.inc"

void RNNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "rnn/IR/RNNOps.cpp.inc"
      >();
}
