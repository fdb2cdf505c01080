//===- Codegen.cpp - LLVM IR, object files and linking ----------------------===//
#include "rnnc/Pipeline.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/IPO/Internalize.h"

#include <cstdlib>

using namespace rnnc;

namespace {

llvm::raw_ostream &error() { return llvm::WithColor::error(llvm::errs(), "rnnc"); }

std::unique_ptr<llvm::TargetMachine> hostMachine(unsigned optLevel, const std::string &cpu) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) {
    error() << "no target for " << triple.str() << ": " << err << "\n";
    return nullptr;
  }
  std::string cpuName = cpu.empty() || cpu == "native" ? llvm::sys::getHostCPUName().str() : cpu;
  std::string features;
  if (cpu.empty() || cpu == "native")
    for (auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
                  f.first().str();
  llvm::CodeGenOptLevel ol = optLevel == 0   ? llvm::CodeGenOptLevel::None
                             : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                             : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                             : llvm::CodeGenOptLevel::Aggressive;
  llvm::TargetOptions opts;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, cpuName, features, opts, llvm::Reloc::PIC_, std::nullopt, ol));
}

} // namespace

std::unique_ptr<llvm::Module> rnnc::translateAndOptimize(mlir::ModuleOp module,
                                                         llvm::LLVMContext &llvmContext,
                                                         unsigned optLevel,
                                                         const std::string &cpu) {
  auto llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    error() << "failed to translate the LLVM dialect to LLVM IR\n";
    return nullptr;
  }
  auto tm = hostMachine(optLevel, cpu);
  if (!tm)
    return nullptr;
  llvmModule->setTargetTriple(tm->getTargetTriple());
  llvmModule->setDataLayout(tm->createDataLayout());
  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    error() << "generated LLVM IR does not verify\n";
    return nullptr;
  }

  // Only the runtime ABI symbols stay visible; everything else may be inlined
  // and dropped.
  llvm::internalizeModule(*llvmModule, [](const llvm::GlobalValue &gv) {
    return gv.getName() == "rnnc_model_forward" || gv.getName() == "rnnc_model_step" ||
           gv.getName() == "rnnc_model_grad" || gv.getName() == "rnnc_model_grad_state" ||
           gv.getName() == "rnnc_model_desc" || gv.getName() == "rnnc_model_rng" ||
           gv.getName() == "rnnc_model_loss_state";
  });

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = optLevel == 0 ? pb.buildO0DefaultPipeline(level)
                                              : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(*llvmModule, mam);
  return llvmModule;
}

bool rnnc::emitObjectFile(llvm::Module &module, const std::string &path, unsigned optLevel,
                          const std::string &cpu) {
  auto tm = hostMachine(optLevel, cpu);
  if (!tm)
    return false;
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error() << "cannot write '" << path << "': " << ec.message() << "\n";
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out.os(), nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error() << "the target cannot emit object files\n";
    return false;
  }
  pm.run(module);
  out.keep();
  return true;
}

std::string rnnc::findRuntimeLibrary(const std::string &explicitPath, const char *argv0) {
  if (!explicitPath.empty())
    return explicitPath;
  if (const char *env = std::getenv("RNNC_RUNTIME_LIB"))
    return env;
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&findRuntimeLibrary);
  llvm::SmallString<256> p(llvm::sys::path::parent_path(exe));
  llvm::sys::path::append(p, "..", "lib", "librnnrt.a");
  if (llvm::sys::fs::exists(p))
    return std::string(p);
#ifdef RNNC_RUNTIME_LIB_DEFAULT
  return RNNC_RUNTIME_LIB_DEFAULT;
#else
  return std::string(p);
#endif
}

bool rnnc::linkExecutable(const std::string &objectPath, const std::string &runtimeLib,
                          const std::string &outPath) {
  if (!llvm::sys::fs::exists(runtimeLib)) {
    error() << "runtime library '" << runtimeLib
            << "' not found (set --runtime-lib or RNNC_RUNTIME_LIB)\n";
    return false;
  }
  std::string linker;
  for (const char *name : {"cc", "clang-22", "clang", "gcc"}) {
    if (auto p = llvm::sys::findProgramByName(name)) {
      linker = *p;
      break;
    }
  }
  if (linker.empty()) {
    error() << "no system C compiler driver (cc, clang or gcc) found to link with\n";
    return false;
  }
  // Link to a temporary name first so that a failed link leaves no output.
  std::string tmp = outPath + ".tmp-link";
  llvm::SmallVector<llvm::StringRef> args = {linker, objectPath, runtimeLib, "-lm",
                                             "-pthread", "-o", tmp};
  std::string errMsg;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0, &errMsg);
  if (rc != 0) {
    llvm::sys::fs::remove(tmp);
    error() << "linking failed (" << linker << " exited with " << rc
            << (errMsg.empty() ? "" : ": " + errMsg) << ")\n";
    return false;
  }
  if (auto ec = llvm::sys::fs::rename(tmp, outPath)) {
    llvm::sys::fs::remove(tmp);
    error() << "cannot write '" << outPath << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}
