//===- rnn-opt.cpp - mlir-opt with the rnn dialect and its passes -----------===//
#include "rnnc/Pipeline.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  rnnc::registerPasses();
  mlir::DialectRegistry registry;
  rnnc::registerDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rnn-opt: the rnn dialect's optimizer driver\n", registry));
}
