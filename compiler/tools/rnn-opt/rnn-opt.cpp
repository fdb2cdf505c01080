//===- rnn-opt.cpp - mlir-opt with the rnn dialect and its passes -----------===//
#include "rnnc/Pipeline.h"

#include "rnn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::rnn::registerRNNPasses();
  mlir::DialectRegistry registry;
  rnnc::registerDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rnn-opt: the rnn dialect's optimizer driver\n", registry));
}
