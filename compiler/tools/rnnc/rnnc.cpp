//===- rnnc.cpp - The rnnc driver: .rnn model to native executable ----------===//
//
//   rnnc FILE.rnn [-o OUT] [--emit=ast|rnn|rnn-cells|linalg|llvm-mlir|llvm|obj|exe] [-O0..-O3]
//
// MLIR's own options (-mlir-print-ir-after-all, -mlir-print-debuginfo,
// -mlir-timing, ...) are registered and apply to the pass pipeline.
//
//===----------------------------------------------------------------------===//
#include "rnnc/AST.h"
#include "rnnc/MLIRGen.h"
#include "rnnc/Parser.h"
#include "rnnc/Pipeline.h"
#include "rnnc/Sema.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <thread>
#include <vector>

using namespace rnnc;
namespace cl = llvm::cl;

static cl::OptionCategory rnncCategory("rnnc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.rnn>"), cl::Required,
                                      cl::cat(rnncCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout for text "
                                                     "levels, a.out for exe)"),
                                       cl::value_desc("file"), cl::cat(rnncCategory));
static cl::opt<EmitLevel> emitLevel(
    "emit", cl::desc("How far to compile"), cl::init(EmitLevel::Executable),
    cl::values(clEnumValN(EmitLevel::AST, "ast", "the syntax tree"),
               clEnumValN(EmitLevel::RNN, "rnn", "layer-level rnn dialect"),
               clEnumValN(EmitLevel::RNNCells, "rnn-cells", "cell-level rnn dialect"),
               clEnumValN(EmitLevel::Linalg, "linalg", "linalg/tensor/scf on tensors"),
               clEnumValN(EmitLevel::LLVMMLIR, "llvm-mlir", "the LLVM dialect"),
               clEnumValN(EmitLevel::LLVMIR, "llvm", "LLVM IR"),
               clEnumValN(EmitLevel::Object, "obj", "an object file"),
               clEnumValN(EmitLevel::Executable, "exe", "a native executable (default)")),
    cl::cat(rnncCategory));
enum OptLevel { O0 = 0, O1, O2, O3 };
static cl::opt<OptLevel> optLevel(cl::desc("Optimization level"), cl::init(O2),
                                  cl::values(clEnumVal(O0, "no optimization"),
                                             clEnumVal(O1, "light"),
                                             clEnumVal(O2, "default"),
                                             clEnumVal(O3, "aggressive")),
                                  cl::cat(rnncCategory));
static cl::opt<std::string> runtimeLib("runtime-lib", cl::desc("Path of librnnrt.a"),
                                       cl::value_desc("path"), cl::cat(rnncCategory));
static cl::opt<unsigned>
    vectorWidth("vector-width",
                cl::desc("f32 lanes of the generated vector code at -O2 and above (a power "
                         "of two; default: 16 when the host has AVX-512 and --mcpu is the "
                         "host, else 8, AVX2's)"),
                cl::init(0));
static cl::opt<std::string>
    weightStorage("weight-storage",
                  cl::desc("storage of the weights that inference reads at every time step: f32 "
                           "(default), f16 or bf16 (rounded once per call; f32 arithmetic; "
                           "training keeps f32)"),
                  cl::value_desc("type"), cl::init("f32"), cl::cat(rnncCategory));
// The numeric options' defaults are PipelineOptions' (one place for them).
static const PipelineOptions kDefaults;
static cl::opt<int64_t> packMinElements(
    "pack-min-elements",
    cl::desc("smallest weight (in elements) that -O2 packs into panels for batched "
             "contractions (rnn-pack-weights; default 16384: smaller ones stay in L1)"),
    cl::value_desc("n"), cl::init(kDefaults.packMinElements), cl::cat(rnncCategory));
static cl::opt<int64_t> unrollTime(
    "unroll-time",
    cl::desc("unroll the time loops by n steps (rnn-unroll-time; 1: off; loops with a static "
             "length of at most 8 steps are unrolled fully when n > 1; default: 2 at -O3, 1 "
             "below)"),
    cl::value_desc("n"), cl::init(0), cl::cat(rnncCategory));
static cl::opt<int64_t> directionsMinWork(
    "directions-min-work",
    cl::desc("smallest step (weight elements read per example) for which -O2 runs the two "
             "directions of a bidirectional layer on two threads (rnn-concurrent-directions; "
             "default 4096)"),
    cl::value_desc("n"), cl::init(kDefaults.directionsMinWork), cl::cat(rnncCategory));
static cl::opt<int64_t> wavefrontMinWork(
    "wavefront-min-work",
    cl::desc("smallest step (weight elements read per example) of two stacked layers for which "
             "-O2 runs them as a pipeline over chunks of time on two threads "
             "(rnn-stacked-wavefront; default 4096)"),
    cl::value_desc("n"), cl::init(kDefaults.wavefrontMinWork), cl::cat(rnncCategory));
static cl::opt<int64_t> gateBlock(
    "gate-block",
    cl::desc("at -O2 and up, compute and activate the gates of each block of at most n hidden "
             "units at once, the blocks shared among the threads (rnn-gate-epilogue; default 0: "
             "off, measured slower or neutral on this host's benchmarks)"),
    cl::value_desc("n"), cl::init(kDefaults.gateBlock), cl::cat(rnncCategory));
static cl::opt<int64_t> gateMinWork(
    "gate-min-work",
    cl::desc("smallest step contraction (multiply-adds per example) that rnn-gate-epilogue "
             "blocks (default 32768)"),
    cl::value_desc("n"), cl::init(kDefaults.gateMinWork), cl::cat(rnncCategory));
static cl::opt<int64_t> wavefrontMaxWork(
    "wavefront-max-work",
    cl::desc("largest such step (above it, sharing each kernel between the threads is faster; "
             "default 131072)"),
    cl::value_desc("n"), cl::init(kDefaults.wavefrontMaxWork), cl::cat(rnncCategory));
static cl::opt<bool> shareKernels(
    "share-kernels",
    cl::desc("emit each kernel that the model repeats (both directions of a layer, the "
             "loss's forward, ...) once, in a function its copies call (-O2 and up; default "
             "true; false: every copy inline, as compile-time baseline)"),
    cl::init(kDefaults.shareKernels), cl::cat(rnncCategory));
static cl::opt<std::string> targetCpu("mcpu", cl::desc("Target CPU (default: the host)"),
                                      cl::init("native"), cl::cat(rnncCategory));

namespace {

/// Writes `text` to -o or stdout.
bool writeText(llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  std::string path = outputFile.empty() ? "-" : outputFile.getValue();
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::WithColor::error(llvm::errs(), "rnnc") << "cannot write '" << path
                                                 << "': " << ec.message() << "\n";
    return false;
  }
  fn(out.os());
  out.keep();
  return true;
}

int compile(const char *argv0) {
  auto fileOrErr = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!fileOrErr) {
    llvm::WithColor::error(llvm::errs(), "rnnc") << "cannot read '" << inputFile
                                                 << "': " << fileOrErr.getError().message()
                                                 << "\n";
    return 1;
  }
  llvm::SourceMgr srcMgr;
  srcMgr.AddNewSourceBuffer(std::move(*fileOrErr), llvm::SMLoc());
  Diagnostics diag(srcMgr);
  llvm::StringRef buffer = srcMgr.getMemoryBuffer(srcMgr.getMainFileID())->getBuffer();

  // An .mlir file (rnn dialect at the layer or cell level, with an rnn.entry
  // function) skips the frontend.
  bool isMLIR = llvm::StringRef(inputFile).ends_with(".mlir");
  if (isMLIR && emitLevel == EmitLevel::AST) {
    llvm::WithColor::error(llvm::errs(), "rnnc") << "--emit=ast needs a .rnn file\n";
    return 1;
  }

  std::unique_ptr<ModuleAST> ast;
  std::optional<Model> model;
  if (!isMLIR) {
    Parser parser(buffer, diag);
    ast = parser.parseModule();
    if (!ast)
      return 1;
    if (emitLevel == EmitLevel::AST)
      return writeText([&](llvm::raw_ostream &os) { dumpAST(*ast, srcMgr, os); }) ? 0 : 1;
    llvm::SmallString<256> baseDir(inputFile);
    llvm::sys::path::remove_filename(baseDir);
    model = analyze(*ast, diag, baseDir);
    if (!model)
      return 1;
  }

  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics point at the .rnn source; the op dump is noise for users.
  context.printOpOnDiagnostic(false);
  // Diagnostics from passes point into the .rnn file with a caret.
  mlir::SourceMgrDiagnosticHandler mlirDiag(srcMgr, &context);

  mlir::OwningOpRef<mlir::ModuleOp> module =
      isMLIR ? mlir::parseSourceFile<mlir::ModuleOp>(srcMgr, &context)
             : mlirGen(context, *model, diag);
  if (!module)
    return 1;

  mlir::DefaultTimingManager tm;
  mlir::applyDefaultTimingManagerCLOptions(tm);
  mlir::TimingScope timing = tm.getRootScope();

  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return 1;
  pm.enableTiming(timing);
  EmitLevel mlirLevel = std::min(emitLevel.getValue(), EmitLevel::LLVMMLIR);
  unsigned width = vectorWidth;
  if (width == 0) {
    // AVX-512's 16 lanes where the host has them (measured faster on every
    // configuration of bench/: bench/README.md), else AVX2's 8.
    bool host = targetCpu.empty() || targetCpu == "native";
    width = host && llvm::sys::getHostCPUFeatures().lookup("avx512f") ? 16 : 8;
  }
  if (width < 2 || (width & (width - 1))) {
    llvm::WithColor::error(llvm::errs(), "rnnc")
        << "--vector-width must be a power of two >= 2 (got " << width << ")\n";
    return 1;
  }
  if (weightStorage != "f32" && weightStorage != "f16" && weightStorage != "bf16") {
    llvm::WithColor::error(llvm::errs(), "rnnc")
        << "--weight-storage must be f32, f16 or bf16 (got '" << weightStorage << "')\n";
    return 1;
  }
  PipelineOptions opts;
  opts.optLevel = optLevel;
  opts.vectorWidth = width;
  opts.weightStorage = weightStorage;
  for (cl::opt<int64_t> *opt : {&packMinElements, &directionsMinWork, &wavefrontMinWork, &wavefrontMaxWork,
                                &gateBlock, &gateMinWork})
    if (*opt < 0) {
      llvm::WithColor::error(llvm::errs(), "rnnc") << "--" << opt->ArgStr << " must be >= 0\n";
      return 1;
    }
  opts.packMinElements = packMinElements;
  opts.directionsMinWork = directionsMinWork;
  opts.wavefrontMinWork = wavefrontMinWork;
  opts.wavefrontMaxWork = wavefrontMaxWork;
  opts.gateBlock = gateBlock;
  opts.gateMinWork = gateMinWork;
  opts.shareKernels = shareKernels;
  if (unrollTime.getNumOccurrences() && unrollTime < 1) {
    llvm::WithColor::error(llvm::errs(), "rnnc") << "--unroll-time must be >= 1\n";
    return 1;
  }
  opts.unrollTime = unrollTime.getNumOccurrences() ? unrollTime : (optLevel >= 3 ? 2 : 1);
  buildPipeline(pm, mlirLevel, opts);
  if (mlir::failed(pm.run(*module)))
    return 1;
  if (emitLevel <= EmitLevel::LLVMMLIR)
    return writeText([&](llvm::raw_ostream &os) {
             mlir::OpPrintingFlags flags;
             module->print(os, flags);
           })
               ? 0
               : 1;

  configureCodegen(optLevel);
  llvm::LLVMContext llvmContext;
  if (emitLevel == EmitLevel::LLVMIR || emitLevel == EmitLevel::Object) {
    auto llvmModule = translateAndOptimize(*module, llvmContext, optLevel, targetCpu);
    if (!llvmModule)
      return 1;
    if (emitLevel == EmitLevel::LLVMIR)
      return writeText([&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); }) ? 0 : 1;
    std::string out = outputFile.empty() ? "a.o" : outputFile.getValue();
    return emitObjectFile(*llvmModule, out, optLevel, targetCpu) ? 0 : 1;
  }

  // An executable: LLVM optimises and compiles the module in 8 partitions on
  // as many threads as there are cores (seq2seq example on 2 cores: 4.1 ->
  // 3.2 s), and the objects are linked with the runtime. (Not at -O0, where
  // LLVM's work is small.)
  mlir::TimingScope translateTiming = timing.nest("Translate to LLVM IR");
  auto llvmModule = translate(*module, llvmContext, optLevel, targetCpu);
  translateTiming.stop();
  if (!llvmModule)
    return 1;
  unsigned partitions = optLevel == 0 ? 1 : 8;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string out = outputFile.empty() ? "a.out" : outputFile.getValue();
  std::vector<std::string> objPaths;
  std::vector<std::unique_ptr<llvm::FileRemover>> removers;
  for (unsigned i = 0; i < partitions; ++i) {
    llvm::SmallString<256> objPath;
    if (auto ec = llvm::sys::fs::createTemporaryFile("rnnc", "o", objPath)) {
      llvm::WithColor::error(llvm::errs(), "rnnc") << "cannot create a temporary file: "
                                                   << ec.message() << "\n";
      return 1;
    }
    objPaths.push_back(std::string(objPath));
    removers.push_back(std::make_unique<llvm::FileRemover>(objPath));
  }
  mlir::TimingScope codegenTiming = timing.nest("LLVM optimization and code generation");
  if (!compileInParallel(std::move(llvmModule), partitions, threads, objPaths, optLevel, targetCpu))
    return 1;
  codegenTiming.stop();
  mlir::TimingScope linkTiming = timing.nest("Link");
  return linkExecutable(objPaths, findRuntimeLibrary(runtimeLib, argv0), out) ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  registerPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "rnnc: ahead-of-time compiler for recurrent networks\n");
  return compile(argv[0]);
}
