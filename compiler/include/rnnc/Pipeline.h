//===- Pipeline.h - rnnc's pass pipeline and code generation ------*- C++ -*-===//
#ifndef RNNC_PIPELINE_H
#define RNNC_PIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace llvm {
class Module;
class LLVMContext;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class ModuleOp;
} // namespace mlir

namespace rnnc {

/// How far to lower. Ordered: "lower up to X" is one comparison.
enum class EmitLevel { AST, RNN, RNNCells, Linalg, LLVMMLIR, LLVMIR, Object, Executable };

/// Registers every dialect, interface and translation rnnc's pipeline uses.
void registerDialects(mlir::DialectRegistry &registry);

/// Registers every pass by name (rnn and upstream), so that MLIR's options
/// such as -mlir-print-ir-before=<pass> and rnn-opt's pipelines find them.
void registerPasses();

/// How the pipeline optimises.
struct PipelineOptions {
  unsigned optLevel = 2;
  /// f32 lanes of the generated vector code (8: AVX2, 16: AVX-512; rnnc picks
  /// 16 when the host has AVX-512).
  unsigned vectorWidth = 8;
  /// The type inference reads its in-loop weights from: "f32", "f16" or
  /// "bf16" (rnn-narrow-weights).
  std::string weightStorage = "f32";
};

/// Adds the passes that lower layer-level rnn IR to `level` (RNN .. LLVMMLIR).
void buildPipeline(mlir::OpPassManager &pm, EmitLevel level, const PipelineOptions &opts);

/// Translates LLVM-dialect IR to an LLVM module for the host and optimises it.
/// Returns nullptr after printing an error.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::ModuleOp module,
                                                   llvm::LLVMContext &llvmContext,
                                                   unsigned optLevel, const std::string &cpu);

/// Writes `module` as an object file for the host CPU.
bool emitObjectFile(llvm::Module &module, const std::string &path, unsigned optLevel,
                    const std::string &cpu);

/// Links `objectPath` with the runtime library into an executable.
bool linkExecutable(const std::string &objectPath, const std::string &runtimeLib,
                    const std::string &outPath);

/// Locates librnnrt.a: `explicitPath`, then $RNNC_RUNTIME_LIB, then
/// `<dir of argv0>/../lib/librnnrt.a`, then the build tree it was built in.
std::string findRuntimeLibrary(const std::string &explicitPath, const char *argv0);

} // namespace rnnc

#endif // RNNC_PIPELINE_H
