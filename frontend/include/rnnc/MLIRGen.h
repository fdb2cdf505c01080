//===- MLIRGen.h - Model to rnn dialect ---------------------------*- C++ -*-===//
#ifndef RNNC_MLIRGEN_H
#define RNNC_MLIRGEN_H

#include "rnnc/Sema.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace rnnc {

/// Emits the layer-level rnn dialect for `model`: one function marked
/// `rnn.entry` whose arguments are the inputs and the parameters and whose
/// results are the outputs, plus the module attributes the runtime descriptor
/// is built from. Constructs without code generation yet are reported (located)
/// through `diag`, and nullptr is returned.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context, const Model &model,
                                          Diagnostics &diag);

} // namespace rnnc

#endif // RNNC_MLIRGEN_H
