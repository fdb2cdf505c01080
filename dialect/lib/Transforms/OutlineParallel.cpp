//===- OutlineParallel.cpp - rnn.parallel regions as pool functions -------===//
//
// The last pass of the pipeline, on the LLVM dialect. Each `rnn.parallel`
// region becomes a private function
//
//   llvm.func @<parent>_parallel<N>(%ctx: !llvm.ptr, %tid: i64, %n: i64)
//
// whose entry block loads the values the region used from above out of the
// struct at %ctx and branches to the region's (moved) blocks; the op becomes
// a store of those values into a stack slot (allocated once, in the parent's
// entry block) and
//
//   llvm.call @rnnc_parallel_run(@<parent>_parallel<N>, %slot, %work)
//
// (runtime/lib/parallel.c). Constants used from above are cloned into the new
// function instead of passed.
//
//===----------------------------------------------------------------------===//
#include "rnn/Transforms/Passes.h"

#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNOUTLINEPARALLELPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kRunSymbol = "rnnc_parallel_run";

/// `void rnnc_parallel_run(void (*)(void *, i64, i64), void *, i64)`,
/// declared once per module.
LLVM::LLVMFuncOp runtimeEntry(ModuleOp module, OpBuilder &b) {
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(kRunSymbol))
    return fn;
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto fnTy = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                          {ptr, ptr, IntegerType::get(ctx, 64)});
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToEnd(module.getBody());
  return LLVM::LLVMFuncOp::create(b, module.getLoc(), kRunSymbol, fnTy);
}

LogicalResult outline(rnn::ParallelOp par, ModuleOp module, SymbolTable &symbols,
                      OpBuilder &b) {
  auto parent = par->getParentOfType<LLVM::LLVMFuncOp>();
  if (!parent)
    return par.emitOpError("must be inside an llvm.func when outlined (run after the "
                           "conversion to the LLVM dialect)");
  MLIRContext *ctx = par.getContext();
  Location loc = par.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);

  // Values from above: constants are cloned, the rest travel in the struct.
  SetVector<Value> above;
  getUsedValuesDefinedAbove(par.getBody(), above);
  SmallVector<Value> captured, constants;
  for (Value v : above) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>() && def->getNumResults() == 1)
      constants.push_back(v);
    else
      captured.push_back(v);
  }
  for (Value v : captured)
    if (!LLVM::isCompatibleType(v.getType()))
      return par.emitOpError() << "uses a value of non-LLVM type " << v.getType()
                               << " from above (run after the conversion to the LLVM dialect)";
  SmallVector<Type> fields;
  for (Value v : captured)
    fields.push_back(v.getType());
  auto ctxTy = LLVM::LLVMStructType::getLiteral(ctx, fields);

  // The outlined function.
  auto fnTy = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, i64, i64});
  LLVM::LLVMFuncOp fn;
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    fn = LLVM::LLVMFuncOp::create(b, loc, (parent.getName() + "_parallel").str(), fnTy,
                                  LLVM::Linkage::Internal);
    symbols.insert(fn); // renamed to be unique
    Block *entry = fn.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    IRMapping map;
    for (Value c : constants)
      map.map(c, b.clone(*c.getDefiningOp())->getResult(0));
    for (auto [i, v] : llvm::enumerate(captured)) {
      Value addr = LLVM::GEPOp::create(b, loc, ptr, ctxTy, entry->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
      map.map(v, LLVM::LoadOp::create(b, loc, v.getType(), addr));
    }
    Block *first = &par.getBody().front();
    fn.getBody().getBlocks().splice(fn.getBody().end(), par.getBody().getBlocks());
    LLVM::BrOp::create(b, loc, ValueRange{entry->getArgument(1), entry->getArgument(2)}, first);
    for (auto [from, to] : map.getValueMap())
      replaceAllUsesInRegionWith(from, to, fn.getBody());
    for (Block &block : fn.getBody())
      if (auto end = dyn_cast<rnn::ParallelEndOp>(block.getTerminator())) {
        b.setInsertionPoint(end);
        LLVM::ReturnOp::create(b, end.getLoc(), ValueRange{});
        end.erase();
      }
  }

  // The call: the context in a stack slot of the parent's entry block (a
  // null pointer when the region uses nothing from above).
  LLVM::LLVMFuncOp run = runtimeEntry(module, b);
  Value slot;
  if (!captured.empty()) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&parent.getBody().front());
    Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
    slot = LLVM::AllocaOp::create(b, loc, ptr, ctxTy, one, /*alignment=*/8);
  }
  b.setInsertionPoint(par);
  if (!slot)
    slot = LLVM::ZeroOp::create(b, loc, ptr);
  for (auto [i, v] : llvm::enumerate(captured)) {
    Value addr = LLVM::GEPOp::create(b, loc, ptr, ctxTy, slot,
                                     ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    LLVM::StoreOp::create(b, loc, v, addr);
  }
  Value fnAddr = LLVM::AddressOfOp::create(b, loc, fn);
  LLVM::CallOp::create(b, loc, run, ValueRange{fnAddr, slot, par.getWork()});
  par.erase();
  return success();
}

struct RNNOutlineParallelPass
    : mlir::rnn::impl::RNNOutlineParallelPassBase<RNNOutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<rnn::ParallelOp> ops;
    // Outer regions first: a region nested in another (a kernel inside one
    // of rnn-forall-to-parallel's iterations) is then outlined from the
    // outer one's function, its context slot on that function's stack (one
    // per thread).
    module.walk<WalkOrder::PreOrder>([&](rnn::ParallelOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    SymbolTable symbols(module);
    OpBuilder b(module.getContext());
    runtimeEntry(module, b); // declared before the outlined functions
    for (rnn::ParallelOp op : ops)
      if (failed(outline(op, module, symbols, b)))
        return signalPassFailure();
  }
};

} // namespace
