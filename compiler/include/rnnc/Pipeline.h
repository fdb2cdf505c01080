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
  /// The smallest weight rnn-pack-weights packs (elements).
  int64_t packMinElements = 16384;
  /// Steps per iteration of the unrolled time loops (rnn-unroll-time; 1:
  /// off).
  int64_t unrollTime = 1;
  /// The smallest recurrence step (weight elements) whose bidirectional
  /// pair runs its directions side by side (rnn-concurrent-directions).
  int64_t directionsMinWork = 4096;
  /// The smallest recurrence step (weight elements) of both stacked layers
  /// for which they run as a pipeline over chunks (rnn-stacked-wavefront).
  int64_t wavefrontMinWork = 4096;
  /// ... and the largest.
  int64_t wavefrontMaxWork = 131072;
  /// Hidden units per block of rnn-gate-epilogue (at most; 0: off, the
  /// default: measured 2-5% slower on C3/C5b and neutral at batch 1, see
  /// bench/README.md).
  int64_t gateBlock = 0;
  /// The smallest step contraction (multiply-adds at batch 1) it blocks.
  int64_t gateMinWork = 32768;
  /// Kernels the module repeats are emitted once, in a function their
  /// copies call (rnn-vectorize-kernels' share-kernels; -O2 and up).
  bool shareKernels = true;
};

/// Adds the passes that lower layer-level rnn IR to `level` (RNN .. LLVMMLIR).
void buildPipeline(mlir::OpPassManager &pm, EmitLevel level, const PipelineOptions &opts);

/// Translates LLVM-dialect IR to an LLVM module for the host, only the
/// runtime ABI symbols external. Returns nullptr after printing an error.
std::unique_ptr<llvm::Module> translate(mlir::ModuleOp module, llvm::LLVMContext &llvmContext,
                                        unsigned optLevel, const std::string &cpu);

/// LLVM's per-module pipeline at `optLevel` (no loop unrolling: the kernels
/// come unrolled).
bool optimize(llvm::Module &module, unsigned optLevel, const std::string &cpu);

/// translate, then optimize. Returns nullptr after printing an error.
std::unique_ptr<llvm::Module> translateAndOptimize(mlir::ModuleOp module,
                                                   llvm::LLVMContext &llvmContext,
                                                   unsigned optLevel, const std::string &cpu);

/// Process-wide code generation settings for `optLevel` (no loop strength
/// reduction at -O2+); call once before any emitObjectFile.
void configureCodegen(unsigned optLevel);

/// Writes `module` as an object file for the host CPU.
bool emitObjectFile(llvm::Module &module, const std::string &path, unsigned optLevel,
                    const std::string &cpu);

/// Splits a translated (unoptimised) `module` into up to `partitions`
/// modules and optimises and compiles them on `threads` threads into
/// `paths[i]` (one path per partition). Returns false after printing an
/// error.
bool compileInParallel(std::unique_ptr<llvm::Module> module, unsigned partitions,
                       unsigned threads, llvm::ArrayRef<std::string> paths, unsigned optLevel,
                       const std::string &cpu);

/// Links the objects with the runtime library into an executable.
bool linkExecutable(llvm::ArrayRef<std::string> objectPaths, const std::string &runtimeLib,
                    const std::string &outPath);

/// Locates librnnrt.a: `explicitPath`, then $RNNC_RUNTIME_LIB, then
/// `<dir of argv0>/../lib/librnnrt.a`, then the build tree it was built in.
std::string findRuntimeLibrary(const std::string &explicitPath, const char *argv0);

} // namespace rnnc

#endif // RNNC_PIPELINE_H
