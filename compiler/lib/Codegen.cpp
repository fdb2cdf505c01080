//===- Codegen.cpp - LLVM IR, object files and linking ----------------------===//
#include "rnnc/Pipeline.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
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
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/ValueMapper.h"

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>

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

/// The function that first uses `gv` (through constant expressions too), or
/// null.
const llvm::Function *firstUser(const llvm::GlobalValue &gv) {
  llvm::SmallVector<const llvm::User *> work(gv.user_begin(), gv.user_end());
  llvm::SmallPtrSet<const llvm::User *, 8> seen;
  while (!work.empty()) {
    const llvm::User *u = work.pop_back_val();
    if (!seen.insert(u).second)
      continue;
    if (auto *inst = llvm::dyn_cast<llvm::Instruction>(u))
      return inst->getFunction();
    if (llvm::isa<llvm::Constant>(u))
      work.append(u->user_begin(), u->user_end());
  }
  return nullptr;
}

/// Splits `module` into `n` linkable modules of about equal size (some empty
/// when there are fewer functions) and hands them to `take`, largest first.
/// Internal symbols become hidden external ones so that the partitions can
/// refer to each other's. Functions go largest first, each to the partition
/// with the fewest instructions so far; a global variable goes with the
/// function that first uses it (constant tables stay foldable there).
/// (llvm::SplitModule assigns by name hash: on seq2seq_additive it put the
/// gradient function, the forward function and eleven kernels into one
/// partition, 46k of the module's 96k instructions. Measured with kernel
/// sharing on, 3 runs each: tbptt 1.59-1.64 -> 1.50-1.57 s, seq2seq
/// 2.03-2.30 -> 1.86-1.92 s, dropout within noise.)
void splitBalanced(llvm::Module &module, unsigned n,
                   llvm::function_ref<void(std::unique_ptr<llvm::Module>)> take) {
  for (llvm::GlobalValue &gv : module.global_values()) {
    if (gv.hasLocalLinkage()) {
      gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
      gv.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
    if (!gv.hasName())
      gv.setName("__rnnc_split_unnamed");
  }
  llvm::SmallVector<std::pair<unsigned, const llvm::Function *>> sizes;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration())
      sizes.push_back({f.getInstructionCount(), &f});
  llvm::stable_sort(sizes, [](auto &a, auto &b) { return a.first > b.first; });
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> home;
  std::vector<uint64_t> load(n, 0);
  for (auto [size, f] : sizes) {
    unsigned p = std::min_element(load.begin(), load.end()) - load.begin();
    home[f] = p;
    load[p] += size + 1;
  }
  // Everything else (global variables without a user in a function,
  // aliases) in the largest partition, which is compiled first.
  unsigned first = std::max_element(load.begin(), load.end()) - load.begin();
  for (const llvm::GlobalVariable &gv : module.globals())
    if (const llvm::Function *user = firstUser(gv))
      home[&gv] = home.lookup(user);
  std::vector<unsigned> order(n);
  std::iota(order.begin(), order.end(), 0u);
  llvm::stable_sort(order, [&](unsigned a, unsigned b) { return load[a] > load[b]; });
  for (unsigned p : order) {
    llvm::ValueToValueMapTy map;
    take(llvm::CloneModule(module, map, [&](const llvm::GlobalValue *gv) {
      auto it = home.find(gv);
      return (it == home.end() ? first : it->second) == p;
    }));
  }
}

} // namespace

std::unique_ptr<llvm::Module> rnnc::translate(mlir::ModuleOp module, llvm::LLVMContext &llvmContext,
                                              unsigned optLevel, const std::string &cpu) {
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
  return llvmModule;
}

bool rnnc::optimize(llvm::Module &module, unsigned optLevel, const std::string &cpu) {
  auto tm = hostMachine(optLevel, cpu);
  if (!tm)
    return false;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // No loop unrolling: rnn-vectorize-kernels already unrolled the kernels
  // into register tiles, and unrolling them again made code generation 35%
  // slower (seq2seq example 5.5 -> 4.1 s to compile) for no measured speed
  // (C1-C3, C5a within noise).
  llvm::PipelineTuningOptions pto;
  pto.LoopUnrolling = false;
  llvm::PassBuilder pb(tm.get(), pto);
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
  mpm.run(module, mam);
  return true;
}

std::unique_ptr<llvm::Module> rnnc::translateAndOptimize(mlir::ModuleOp module,
                                                         llvm::LLVMContext &llvmContext,
                                                         unsigned optLevel,
                                                         const std::string &cpu) {
  auto llvmModule = translate(module, llvmContext, optLevel, cpu);
  if (!llvmModule || !optimize(*llvmModule, optLevel, cpu))
    return nullptr;
  return llvmModule;
}

void rnnc::configureCodegen(unsigned optLevel) {
  // No loop strength reduction: the kernels' loops carry many address
  // streams (one per register-tile row) that LSR rewrites into slower
  // addressing, and it was 30% of code generation on the seq2seq example
  // (measured without it: C2 1.20 -> 1.12 ms, C3 36.3 -> 35.2 ms; seq2seq
  // 6.5 -> 5.6 s to compile). `--disable-lsr=false` brings it back.
  if (optLevel >= 2) {
    auto &options = llvm::cl::getRegisteredOptions();
    auto it = options.find("disable-lsr");
    if (it != options.end() && it->second->getNumOccurrences() == 0)
      static_cast<llvm::cl::opt<bool> *>(it->second)->setValue(true);
  }
}

bool rnnc::compileInParallel(std::unique_ptr<llvm::Module> module, unsigned partitions,
                             unsigned threads, llvm::ArrayRef<std::string> paths,
                             unsigned optLevel, const std::string &cpu) {
  // Partitions are independent modules (splitBalanced), each optimised and
  // compiled in its own LLVMContext by one of `threads` threads taking the
  // next partition, largest first; the linker joins the objects. More
  // partitions than threads let the queue even out what instruction counts
  // misjudge.
  std::vector<llvm::SmallVector<char, 0>> bitcode;
  auto write = [&](const llvm::Module &part) {
    bitcode.emplace_back();
    llvm::raw_svector_ostream os(bitcode.back());
    llvm::WriteBitcodeToFile(part, os);
  };
  if (partitions <= 1)
    write(*module);
  else
    splitBalanced(*module, partitions, [&](std::unique_ptr<llvm::Module> part) { write(*part); });
  module.reset();
  if (bitcode.size() > paths.size()) {
    error() << "internal error: " << bitcode.size() << " partitions for " << paths.size()
            << " object files\n";
    return false;
  }
  std::vector<char> ok(bitcode.size(), 0);
  auto work = [&](size_t i) {
    llvm::LLVMContext ctx;
    auto parsed = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(llvm::StringRef(bitcode[i].data(), bitcode[i].size()), "partition"),
        ctx);
    if (!parsed) {
      error() << "internal error: cannot read back partition " << i << ": "
              << llvm::toString(parsed.takeError()) << "\n";
      return;
    }
    ok[i] = optimize(**parsed, optLevel, cpu) && emitObjectFile(**parsed, paths[i], optLevel, cpu);
  };
  // Each thread takes the next partition until none is left.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < bitcode.size(); i = next++)
      work(i);
  };
  unsigned nthreads = std::max(1u, std::min(threads, static_cast<unsigned>(bitcode.size())));
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < nthreads; ++t)
    helpers.emplace_back(worker);
  worker();
  for (std::thread &t : helpers)
    t.join();
  return llvm::all_of(ok, [](char c) { return c != 0; });
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

bool rnnc::linkExecutable(llvm::ArrayRef<std::string> objectPaths, const std::string &runtimeLib,
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
  llvm::SmallVector<llvm::StringRef> args = {linker};
  for (const std::string &obj : objectPaths)
    args.push_back(obj);
  args.append({runtimeLib, "-lm", "-pthread", "-o", tmp});
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
