//===- ExportEntry.cpp - Emit the runtime ABI of a model --------------------===//
//
// Emits, for the function marked `rnn.entry`, the two symbols the runtime
// links against (docs/runtime-abi.md):
//   * `rnnc_model_desc`: the model descriptor, built from the module's and the
//     function's `rnn.*` attributes;
//   * `rnnc_model_forward(rnnrt_tensor *args)`: turns each argument slot (data
//     pointer + sizes) into a memref, calls the model function and writes its
//     results into the caller's output buffers.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNEXPORTENTRYPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// Layout of `rnnrt_tensor`: { void *data; int64_t rank; int64_t sizes[6]; }.
constexpr int64_t kMaxRank = 6;

StringRef strAttr(DictionaryAttr d, StringRef name) {
  if (!d)
    return {};
  if (auto s = d.getAs<StringAttr>(name))
    return s.getValue();
  return {};
}

/// Appends ` <rank> <dim>...` using symbolic names from `dims` where given.
void printDims(raw_ostream &os, RankedTensorType type, DictionaryAttr attrs) {
  os << ' ' << type.getRank();
  auto names = attrs ? attrs.getAs<ArrayAttr>(attrs::kDims) : ArrayAttr();
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (names && i < static_cast<int64_t>(names.size()))
      os << ' ' << cast<StringAttr>(names[i]).getValue();
    else if (type.isDynamicDim(i))
      os << " ?";
    else
      os << ' ' << type.getDimSize(i);
  }
}

/// Builds the descriptor text. Fails (with a diagnostic) on a malformed
/// signature: every argument must be a parameter or an input, every result an
/// output.
FailureOr<std::string> buildDescriptor(ModuleOp module, func::FuncOp fn,
                                       SmallVectorImpl<unsigned> &slotOfArg) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "rnnc-model 1\n";
  auto modelName = module->getAttrOfType<StringAttr>(attrs::kModel);
  os << "model " << (modelName ? modelName.getValue() : fn.getName()) << '\n';

  if (auto vocabs = module->getAttrOfType<ArrayAttr>(attrs::kVocabs)) {
    for (Attribute a : vocabs) {
      auto d = cast<DictionaryAttr>(a);
      auto tokens = d.getAs<ArrayAttr>("tokens");
      os << "vocab " << strAttr(d, "name") << ' '
         << d.getAs<IntegerAttr>("size").getInt() << ' ' << strAttr(d, "kind")
         << '\n';
      if (tokens)
        for (Attribute t : tokens)
          os << "tok " << llvm::toHex(cast<StringAttr>(t).getValue(), true)
             << '\n';
    }
  }

  SmallVector<unsigned> params, inputs;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    if (!strAttr(d, attrs::kParam).empty())
      params.push_back(i);
    else if (!strAttr(d, attrs::kInput).empty())
      inputs.push_back(i);
    else
      return fn.emitOpError() << "argument #" << i
                              << " is neither an rnn.param nor an rnn.input",
             failure();
  }
  slotOfArg.assign(fn.getNumArguments(), 0);
  unsigned slot = 0;
  for (unsigned i : params)
    slotOfArg[i] = slot++;
  for (unsigned i : inputs)
    slotOfArg[i] = slot++;

  for (unsigned i : inputs) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    auto t = cast<RankedTensorType>(fn.getArgumentTypes()[i]);
    os << "input " << strAttr(d, attrs::kInput) << ' ' << strAttr(d, attrs::kKind);
    printDims(os, t, d);
    if (StringRef v = strAttr(d, attrs::kVocab); !v.empty())
      os << " vocab=" << v;
    os << '\n';
  }
  if (auto targets = module->getAttrOfType<ArrayAttr>(attrs::kTargets)) {
    for (Attribute a : targets) {
      auto d = cast<DictionaryAttr>(a);
      auto dims = d.getAs<ArrayAttr>("dims");
      os << "target " << strAttr(d, "name") << ' ' << strAttr(d, "kind") << ' '
         << dims.size();
      for (Attribute dim : dims)
        os << ' ' << cast<StringAttr>(dim).getValue();
      if (StringRef v = strAttr(d, "vocab"); !v.empty())
        os << " vocab=" << v;
      if (auto c = d.getAs<IntegerAttr>("classes"))
        os << " classes=" << c.getInt();
      os << '\n';
    }
  }
  for (unsigned r = 0; r < fn.getNumResults(); ++r) {
    DictionaryAttr d = fn.getResultAttrDict(r);
    if (strAttr(d, attrs::kOutput).empty())
      return fn.emitOpError() << "result #" << r << " is not an rnn.output",
             failure();
    os << "output " << strAttr(d, attrs::kOutput);
    printDims(os, cast<RankedTensorType>(fn.getResultTypes()[r]), d);
    if (StringRef v = strAttr(d, attrs::kVocab); !v.empty())
      os << " vocab=" << v;
    os << '\n';
  }
  for (unsigned i : params) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    auto t = cast<RankedTensorType>(fn.getArgumentTypes()[i]);
    if (!t.hasStaticShape())
      return fn.emitOpError() << "parameter '" << strAttr(d, attrs::kParam)
                              << "' must have a static shape",
             failure();
    os << "param " << strAttr(d, attrs::kParam);
    printDims(os, t, nullptr);
    StringRef init = strAttr(d, attrs::kInit);
    os << ' ' << (init.empty() ? "zeros" : init) << '\n';
  }
  if (auto train = module->getAttrOfType<StringAttr>(attrs::kTrain))
    os << "train " << train.getValue() << '\n';
  os << "end\n";
  return text;
}

/// Builds a memref of `type` over slot `slot` of the `rnnrt_tensor` array.
Value memrefFromSlot(OpBuilder &b, Location loc, Value args, unsigned slot,
                     MemRefType type) {
  MLIRContext *ctx = b.getContext();
  auto ptrTy = LLVM::LLVMPointerType::get(ctx);
  auto i64 = b.getI64Type();
  auto slotTy = LLVM::LLVMStructType::getLiteral(
      ctx, {ptrTy, i64, LLVM::LLVMArrayType::get(i64, kMaxRank)});
  int32_t s = static_cast<int32_t>(slot);
  Value dataAddr = LLVM::GEPOp::create(b, loc, ptrTy, slotTy, args,
                                       ArrayRef<LLVM::GEPArg>{s, 0});
  Value data = LLVM::LoadOp::create(b, loc, ptrTy, dataAddr);

  int64_t rank = type.getRank();
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!type.isDynamicDim(d)) {
      sizes.push_back(LLVM::ConstantOp::create(b, loc, i64, type.getDimSize(d)));
      continue;
    }
    Value addr = LLVM::GEPOp::create(
        b, loc, ptrTy, slotTy, args,
        ArrayRef<LLVM::GEPArg>{s, 2, static_cast<int32_t>(d)});
    sizes.push_back(LLVM::LoadOp::create(b, loc, i64, addr));
  }
  SmallVector<Value> strides(rank);
  Value stride = LLVM::ConstantOp::create(b, loc, i64, 1);
  for (int64_t d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    if (d > 0)
      stride = LLVM::MulOp::create(b, loc, stride, sizes[d]);
  }

  SmallVector<Type> fields = {ptrTy, ptrTy, i64};
  if (rank > 0) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  auto descTy = LLVM::LLVMStructType::getLiteral(ctx, fields);
  Value desc = LLVM::PoisonOp::create(b, loc, descTy);
  desc = LLVM::InsertValueOp::create(b, loc, desc, data, ArrayRef<int64_t>{0});
  desc = LLVM::InsertValueOp::create(b, loc, desc, data, ArrayRef<int64_t>{1});
  desc = LLVM::InsertValueOp::create(
      b, loc, desc, LLVM::ConstantOp::create(b, loc, i64, 0), ArrayRef<int64_t>{2});
  for (int64_t d = 0; d < rank; ++d) {
    desc = LLVM::InsertValueOp::create(b, loc, desc, sizes[d], ArrayRef<int64_t>{3, d});
    desc = LLVM::InsertValueOp::create(b, loc, desc, strides[d], ArrayRef<int64_t>{4, d});
  }
  return UnrealizedConversionCastOp::create(b, loc, type, desc).getResult(0);
}

MemRefType memrefFor(Type tensorType) {
  auto t = cast<RankedTensorType>(tensorType);
  return MemRefType::get(t.getShape(), t.getElementType());
}

struct RNNExportEntryPass
    : rnn::impl::RNNExportEntryPassBase<RNNExportEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (!f->hasAttr(attrs::kEntry))
        continue;
      if (fn) {
        f.emitOpError("more than one function is marked rnn.entry");
        return signalPassFailure();
      }
      fn = f;
    }
    if (!fn) {
      module.emitError("no function is marked rnn.entry");
      return signalPassFailure();
    }

    SmallVector<unsigned> slotOfArg;
    FailureOr<std::string> desc = buildDescriptor(module, fn, slotOfArg);
    if (failed(desc))
      return signalPassFailure();

    // The descriptor now carries the ABI attributes; drop them from the
    // signature so that lowering to LLVM sees plain arguments.
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      fn.setArgAttrs(i, ArrayRef<NamedAttribute>{});
    for (unsigned r = 0; r < fn.getNumResults(); ++r)
      fn.setResultAttrs(r, ArrayRef<NamedAttribute>{});

    // Only the ABI entry is exported; the model function becomes internal.
    fn.setPrivate();

    MLIRContext *ctx = &getContext();
    Location loc = fn.getLoc();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    std::string withNul = *desc;
    withNul.push_back('\0');
    LLVM::GlobalOp::create(
        b, loc, LLVM::LLVMArrayType::get(b.getI8Type(), withNul.size()),
        /*isConstant=*/true, LLVM::Linkage::External, "rnnc_model_desc",
        b.getStringAttr(withNul));

    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    auto entry = func::FuncOp::create(b, loc, "rnnc_model_forward",
                                      b.getFunctionType({ptrTy}, {}));
    Block *blk = entry.addEntryBlock();
    b.setInsertionPointToStart(blk);
    Value args = blk->getArgument(0);
    SmallVector<Value> callArgs;
    for (auto [i, ty] : llvm::enumerate(fn.getArgumentTypes())) {
      Value m = memrefFromSlot(b, loc, args, slotOfArg[i], memrefFor(ty));
      callArgs.push_back(bufferization::ToTensorOp::create(
          b, loc, ty, m, /*restrict=*/true, /*writable=*/false));
    }
    auto call = func::CallOp::create(b, loc, fn, callArgs);
    unsigned firstOut = fn.getNumArguments();
    for (auto [r, res] : llvm::enumerate(call.getResults())) {
      Value m = memrefFromSlot(b, loc, args, firstOut + r, memrefFor(res.getType()));
      bufferization::MaterializeInDestinationOp::create(
          b, loc, Type(), res, m, /*restrict=*/true, /*writable=*/true);
    }
    func::ReturnOp::create(b, loc);
  }
};

} // namespace
