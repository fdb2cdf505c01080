//===- ExportEntry.cpp - Emit the runtime ABI of a model --------------------===//
//
// Emits, for the function marked `rnn.entry`, the two symbols the runtime
// links against (docs/runtime-abi.md):
//   * `rnnc_model_desc`: the model descriptor, built from the module's and the
//     function's `rnn.*` attributes;
//   * `rnnc_model_forward(rnnrt_tensor *args)`: turns each argument slot (data
//     pointer + sizes) into a memref, calls the model function and writes its
//     results into the caller's output buffers;
//   * likewise the step, prepare and gradient entry points. A gradient
//     function has one caller, its entry point, and its body is inlined
//     there: its results, the weights' gradients, are then computed in the
//     caller's buffers instead of copied into them.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
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

/// Names of the ABI values of a function, in slot order.
struct Signature {
  SmallVector<std::string> params, inputs, states, outputs, targets;
  /// The prepare function's results (rnn-split-prepare), in order.
  SmallVector<std::string> prepared;
};

/// The slot of every argument and every result of an entry function in the
/// `rnnrt_tensor` array: parameters, inputs, states in, outputs, states out.
struct Slots {
  SmallVector<unsigned> args, results;
};

/// The slot of a loss function's dropout seed (`rnn.rng`): not in the args
/// array but the exported global `rnnc_model_rng` (`int64_t[2]`: seed,
/// training flag), which the runtime sets before each call.
constexpr unsigned kRngSlot = ~0u;
constexpr StringLiteral kRngSymbol = "rnnc_model_rng";

/// Reads the ABI role of each argument/result of `fn`; appends names it has
/// not seen to `sig` (the forward function defines params, inputs, outputs; the
/// step function adds states) and checks the others are known.
LogicalResult readSignature(func::FuncOp fn, Signature &sig, bool isStep) {
  auto note = [&](SmallVectorImpl<std::string> &list, StringRef name, StringRef what) {
    if (llvm::is_contained(list, name))
      return success();
    if (isStep && what != "state")
      return fn.emitOpError() << "the step function's " << what << " '" << name
                              << "' is not one of the forward function's",
             failure();
    list.push_back(name.str());
    return success();
  };
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    LogicalResult r = failure();
    if (StringRef n = strAttr(d, attrs::kPrepared); !n.empty()) {
      if (!llvm::is_contained(sig.prepared, n))
        return fn.emitOpError() << "argument #" << i << " takes the prepared tensor '" << n
                                << "', which no prepare function returns",
               failure();
      continue;
    }
    if (StringRef n = strAttr(d, attrs::kParam); !n.empty())
      r = note(sig.params, n, "parameter");
    else if (StringRef n = strAttr(d, attrs::kInput); !n.empty())
      r = note(sig.inputs, n, "input");
    else if (StringRef n = strAttr(d, attrs::kState); !n.empty() && isStep)
      r = note(sig.states, n, "state");
    else
      return fn.emitOpError() << "argument #" << i << " is neither an rnn.param nor an rnn.input"
                              << (isStep ? " nor an rnn.state" : ""),
             failure();
    if (failed(r))
      return failure();
  }
  for (unsigned r = 0; r < fn.getNumResults(); ++r) {
    DictionaryAttr d = fn.getResultAttrDict(r);
    LogicalResult res = failure();
    if (StringRef n = strAttr(d, attrs::kOutput); !n.empty())
      res = note(sig.outputs, n, "output");
    else if (StringRef n = strAttr(d, attrs::kState); !n.empty() && isStep)
      res = note(sig.states, n, "state");
    else
      return fn.emitOpError() << "result #" << r << " is not an rnn.output"
                              << (isStep ? " nor an rnn.state" : ""),
             failure();
    if (failed(res))
      return failure();
  }
  return success();
}

/// `preparedBase`: the slot of the first prepared tensor (after all the
/// others), for a function that takes them.
Slots assignSlots(func::FuncOp fn, const Signature &sig, unsigned preparedBase = 0) {
  auto index = [](ArrayRef<std::string> list, StringRef name) {
    return static_cast<unsigned>(llvm::find(list, name) - list.begin());
  };
  unsigned nP = sig.params.size(), nI = sig.inputs.size(), nS = sig.states.size(),
           nO = sig.outputs.size();
  Slots slots;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    if (StringRef n = strAttr(d, attrs::kPrepared); !n.empty())
      slots.args.push_back(preparedBase + index(sig.prepared, n));
    else if (StringRef n = strAttr(d, attrs::kParam); !n.empty())
      slots.args.push_back(index(sig.params, n));
    else if (StringRef n = strAttr(d, attrs::kInput); !n.empty())
      slots.args.push_back(nP + index(sig.inputs, n));
    else
      slots.args.push_back(nP + nI + index(sig.states, strAttr(d, attrs::kState)));
  }
  for (unsigned r = 0; r < fn.getNumResults(); ++r) {
    DictionaryAttr d = fn.getResultAttrDict(r);
    if (StringRef n = strAttr(d, attrs::kOutput); !n.empty())
      slots.results.push_back(nP + nI + nS + index(sig.outputs, n));
    else
      slots.results.push_back(nP + nI + nS + nO + index(sig.states, strAttr(d, attrs::kState)));
  }
  return slots;
}

/// Checks the gradient function's signature (params, inputs and targets; the
/// loss, then one gradient per parameter) and assigns its slots: params,
/// inputs, targets, loss, then the gradients in parameter order. The
/// truncated-BPTT gradient function also takes the states `states` (slots
/// after the targets) and returns the final states (slots after the
/// gradients).
/// Position of `name` in `list`, or -1.
int indexOf(ArrayRef<std::string> list, StringRef name) {
  auto it = llvm::find(list, name);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

/// The argument slots of a gradient or loss function: params, inputs,
/// targets, then the states `states` (truncated BPTT); a dropout seed
/// (`rnn.rng`) reads the global instead of a slot.
LogicalResult argSlots(func::FuncOp fn, const Signature &sig, ArrayRef<std::string> states,
                       Slots &slots) {
  unsigned nP = sig.params.size(), nI = sig.inputs.size(), nT = sig.targets.size();
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    DictionaryAttr d = fn.getArgAttrDict(i);
    int k;
    if (StringRef n = strAttr(d, attrs::kParam); !n.empty() && (k = indexOf(sig.params, n)) >= 0)
      slots.args.push_back(k);
    else if (StringRef n = strAttr(d, attrs::kInput); !n.empty() && (k = indexOf(sig.inputs, n)) >= 0)
      slots.args.push_back(nP + k);
    else if (StringRef n = strAttr(d, attrs::kTarget); !n.empty() && (k = indexOf(sig.targets, n)) >= 0)
      slots.args.push_back(nP + nI + k);
    else if (StringRef n = strAttr(d, attrs::kState); !n.empty() && (k = indexOf(states, n)) >= 0)
      slots.args.push_back(nP + nI + nT + k);
    else if (d && d.get(attrs::kRng))
      slots.args.push_back(kRngSlot);
    else
      return fn.emitOpError() << "argument #" << i
                              << " is not a parameter, input or target of the model";
  }
  return success();
}

FailureOr<Slots> gradSlots(func::FuncOp grad, const Signature &sig,
                           ArrayRef<std::string> states = {}) {
  unsigned nP = sig.params.size(), nI = sig.inputs.size(), nT = sig.targets.size();
  Slots slots;
  if (failed(argSlots(grad, sig, states, slots)))
    return failure();
  unsigned nS = states.size();
  for (unsigned r = 0; r < grad.getNumResults(); ++r) {
    StringRef n = strAttr(grad.getResultAttrDict(r), attrs::kOutput);
    StringRef st = strAttr(grad.getResultAttrDict(r), attrs::kState);
    int k = indexOf(sig.params, n), ks = indexOf(states, st);
    if (r == 0 && n == "loss")
      slots.results.push_back(nP + nI + nT + nS);
    else if (r > 0 && k >= 0)
      slots.results.push_back(nP + nI + nT + nS + 1 + k);
    else if (r > sig.params.size() && ks >= 0)
      slots.results.push_back(nP + nI + nT + nS + 1 + nP + ks);
    else
      return grad.emitOpError() << "result #" << r
                                << " must be the loss (first), then parameter gradients",
             failure();
  }
  return slots;
}

/// The slots of the truncated-BPTT loss function (the forward pass of a
/// window, for windows that only advance the states): params, inputs,
/// targets, states in (as the gradient function), then the loss and the
/// states out.
FailureOr<Slots> lossStateSlots(func::FuncOp fn, const Signature &sig,
                                ArrayRef<std::string> states) {
  unsigned nP = sig.params.size(), nI = sig.inputs.size(), nT = sig.targets.size(),
           nS = states.size();
  Slots slots;
  if (failed(argSlots(fn, sig, states, slots)))
    return failure();
  for (unsigned r = 0; r < fn.getNumResults(); ++r) {
    int ks = indexOf(states, strAttr(fn.getResultAttrDict(r), attrs::kState));
    if (r == 0)
      slots.results.push_back(nP + nI + nT + nS);
    else if (ks >= 0)
      slots.results.push_back(nP + nI + nT + nS + 1 + ks);
    else
      return fn.emitOpError() << "result #" << r << " must be the loss (first), then the states",
             failure();
  }
  return slots;
}

/// Finds the argument or result of `fn` named `name` under attribute `key`.
std::pair<Type, DictionaryAttr> findDecl(func::FuncOp fn, StringRef key, StringRef name) {
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (strAttr(fn.getArgAttrDict(i), key) == name)
      return {fn.getArgumentTypes()[i], fn.getArgAttrDict(i)};
  for (unsigned r = 0; r < fn.getNumResults(); ++r)
    if (strAttr(fn.getResultAttrDict(r), key) == name)
      return {fn.getResultTypes()[r], fn.getResultAttrDict(r)};
  return {Type(), DictionaryAttr()};
}

/// Builds the descriptor text from the module's attributes and the signatures
/// of the forward function (and the step function, if any).
FailureOr<std::string> buildDescriptor(ModuleOp module, func::FuncOp fn, func::FuncOp step,
                                       bool hasGrad, const Signature &sig, func::FuncOp prep,
                                       func::FuncOp gradState = {},
                                       ArrayRef<std::string> gradStates = {}) {
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

  for (const std::string &name : sig.inputs) {
    auto [ty, d] = findDecl(fn, attrs::kInput, name);
    os << "input " << name << ' ' << strAttr(d, attrs::kKind);
    printDims(os, cast<RankedTensorType>(ty), d);
    if (StringRef v = strAttr(d, attrs::kVocab); !v.empty())
      os << " vocab=" << v;
    if (StringRef mx = strAttr(d, attrs::kMax); !mx.empty())
      os << " max=" << mx;
    if (auto pad = d ? d.getAs<IntegerAttr>(attrs::kPadding) : IntegerAttr())
      os << " padding=" << pad.getInt();
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
      if (StringRef role = strAttr(d, "role"); !role.empty())
        os << " role=" << role;
      os << '\n';
    }
  }
  for (const std::string &name : sig.outputs) {
    auto [ty, d] = findDecl(fn, attrs::kOutput, name);
    os << "output " << name;
    printDims(os, cast<RankedTensorType>(ty), d);
    if (StringRef v = strAttr(d, attrs::kVocab); !v.empty())
      os << " vocab=" << v;
    if (StringRef sc = strAttr(d, attrs::kScores); !sc.empty())
      os << " scores=" << sc;
    if (auto end = d ? d.getAs<IntegerAttr>(attrs::kEnd) : IntegerAttr())
      os << " end=" << end.getInt();
    os << '\n';
  }
  for (const std::string &name : sig.params) {
    auto [ty, d] = findDecl(fn, attrs::kParam, name);
    auto t = cast<RankedTensorType>(ty);
    if (!t.hasStaticShape())
      return fn.emitOpError() << "parameter '" << name << "' must have a static shape",
             failure();
    os << "param " << name;
    printDims(os, t, nullptr);
    StringRef init = strAttr(d, attrs::kInit);
    os << ' ' << (init.empty() ? "zeros" : init);
    if (auto pad = d ? d.getAs<IntegerAttr>(attrs::kPadding) : IntegerAttr())
      os << " padding=" << pad.getInt();
    os << '\n';
  }
  for (const std::string &name : sig.prepared) {
    auto [ty, d] = findDecl(prep, attrs::kPrepared, name);
    auto t = cast<RankedTensorType>(ty);
    if (!t.hasStaticShape() || t.getElementTypeBitWidth() % 8 != 0)
      return prep.emitOpError() << "prepared tensor '" << name
                                << "' must have a static shape of whole bytes",
             failure();
    os << "prepared " << name << ' ' << t.getNumElements() * (t.getElementTypeBitWidth() / 8)
       << '\n';
  }
  if (hasGrad)
    os << "grad\n";
  if (step) {
    os << "step\n";
    for (const std::string &name : sig.states) {
      auto [ty, d] = findDecl(step, attrs::kState, name);
      os << "state " << name;
      printDims(os, cast<RankedTensorType>(ty), d);
      os << '\n';
    }
  }
  if (gradState) {
    // The truncated-BPTT gradient function and the states it carries.
    os << "grad_state";
    if (auto n = gradState->getAttrOfType<IntegerAttr>(attrs::kSavedPerStep))
      os << " saved=" << n.getInt();
    os << '\n';
    for (const std::string &name : gradStates) {
      auto [ty, d] = findDecl(gradState, attrs::kState, name);
      os << "tstate " << name;
      printDims(os, cast<RankedTensorType>(ty), d);
      os << '\n';
    }
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
  Value data;
  if (slot == kRngSlot) {
    data = LLVM::AddressOfOp::create(b, loc, ptrTy, kRngSymbol);
  } else {
    Value dataAddr = LLVM::GEPOp::create(b, loc, ptrTy, slotTy, args,
                                         ArrayRef<LLVM::GEPArg>{s, 0});
    data = LLVM::LoadOp::create(b, loc, ptrTy, dataAddr);
  }

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

/// Emits `symbol(rnnrt_tensor *args)`: wraps each slot into a memref, calls
/// `fn` and writes each result into its output slot. With `inlineBody` (`fn`
/// has this one caller and a single block), `fn`'s body is cloned into the
/// entry point instead of called: its results are then tensors that one-shot
/// bufferization can compute in the output slots themselves (empty-tensor
/// elimination replaces their `tensor.empty` by the slot), where a call's
/// results would be copied there (the gradients: C4's four 6.7 MB weight
/// gradients, ~1% of its training step). Returns whether it inlined.
bool emitEntry(OpBuilder &b, func::FuncOp fn, StringRef symbol, const Slots &slots,
               bool inlineBody = false) {
  Location loc = fn.getLoc();
  auto ptrTy = LLVM::LLVMPointerType::get(b.getContext());
  auto entry = func::FuncOp::create(b, loc, symbol, b.getFunctionType({ptrTy}, {}));
  OpBuilder::InsertionGuard guard(b);
  Block *blk = entry.addEntryBlock();
  b.setInsertionPointToStart(blk);
  Value args = blk->getArgument(0);
  SmallVector<Value> callArgs;
  for (auto [i, ty] : llvm::enumerate(fn.getArgumentTypes())) {
    Value m = memrefFromSlot(b, loc, args, slots.args[i], memrefFor(ty));
    callArgs.push_back(bufferization::ToTensorOp::create(b, loc, ty, m, /*restrict=*/true,
                                                         /*writable=*/false));
  }
  SmallVector<Value> results;
  inlineBody &= fn.getBody().hasOneBlock();
  if (inlineBody) {
    IRMapping map;
    map.map(fn.getArguments(), callArgs);
    for (Operation &op : fn.front().without_terminator())
      b.clone(op, map);
    for (Value v : fn.front().getTerminator()->getOperands())
      results.push_back(map.lookupOrDefault(v));
  } else {
    auto call = func::CallOp::create(b, loc, fn, callArgs);
    results.assign(call.getResults().begin(), call.getResults().end());
  }
  for (auto [r, res] : llvm::enumerate(results)) {
    Value m = memrefFromSlot(b, loc, args, slots.results[r], memrefFor(res.getType()));
    bufferization::MaterializeInDestinationOp::create(b, loc, Type(), res, m,
                                                      /*restrict=*/true, /*writable=*/true);
  }
  func::ReturnOp::create(b, loc);
  return inlineBody;
}

/// `fn` without its prepared-tensor arguments: a function `<fn>_unprepared`
/// that calls `prep` on the parameters and then `fn` (what the plain entry
/// points run: preparation at every call).
func::FuncOp wrapPrepared(OpBuilder &b, func::FuncOp fn, func::FuncOp prep) {
  Location loc = fn.getLoc();
  SmallVector<Type> types;
  SmallVector<unsigned> kept;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (strAttr(fn.getArgAttrDict(i), attrs::kPrepared).empty()) {
      kept.push_back(i);
      types.push_back(fn.getArgumentTypes()[i]);
    }
  auto wrapper = func::FuncOp::create(b, loc, (fn.getName() + "_unprepared").str(),
                                      b.getFunctionType(types, fn.getResultTypes()));
  for (auto [j, i] : llvm::enumerate(kept))
    wrapper.setArgAttrs(j, fn.getArgAttrDict(i));
  for (unsigned r = 0; r < fn.getNumResults(); ++r)
    wrapper.setResultAttrs(r, fn.getResultAttrDict(r));
  OpBuilder::InsertionGuard guard(b);
  Block *blk = wrapper.addEntryBlock();
  b.setInsertionPointToStart(blk);
  auto param = [&](StringRef name) -> Value {
    for (auto [j, i] : llvm::enumerate(kept))
      if (strAttr(fn.getArgAttrDict(i), attrs::kParam) == name)
        return blk->getArgument(j);
    return Value();
  };
  SmallVector<Value> prepArgs;
  for (unsigned i = 0; i < prep.getNumArguments(); ++i) {
    Value v = param(strAttr(prep.getArgAttrDict(i), attrs::kParam));
    // A parameter the function does not read (only another model function's
    // prepared tensors depend on it, which this one ignores): an
    // uninitialized tensor of its type.
    if (!v)
      v = tensor::EmptyOp::create(b, loc, cast<RankedTensorType>(prep.getArgumentTypes()[i]).getShape(),
                                  cast<RankedTensorType>(prep.getArgumentTypes()[i]).getElementType());
    prepArgs.push_back(v);
  }
  auto prepared = func::CallOp::create(b, loc, prep, prepArgs);
  SmallVector<Value> args;
  unsigned j = 0;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    StringRef n = strAttr(fn.getArgAttrDict(i), attrs::kPrepared);
    if (n.empty()) {
      args.push_back(blk->getArgument(j++));
      continue;
    }
    for (unsigned r = 0; r < prep.getNumResults(); ++r)
      if (strAttr(prep.getResultAttrDict(r), attrs::kPrepared) == n)
        args.push_back(prepared.getResult(r));
  }
  auto call = func::CallOp::create(b, loc, fn, args);
  func::ReturnOp::create(b, loc, call.getResults());
  return wrapper;
}

/// The unique function carrying `attr`, or null; reports duplicates.
FailureOr<func::FuncOp> findMarked(ModuleOp module, StringRef attr) {
  func::FuncOp found;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (!f->hasAttr(attr))
      continue;
    if (found)
      return f.emitOpError() << "more than one function is marked " << attr, failure();
    found = f;
  }
  return found;
}

/// Drops the ABI attributes (the descriptor carries them) and makes `fn`
/// internal: only the entry points are exported.
void makeInternal(func::FuncOp fn) {
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    fn.setArgAttrs(i, ArrayRef<NamedAttribute>{});
  for (unsigned r = 0; r < fn.getNumResults(); ++r)
    fn.setResultAttrs(r, ArrayRef<NamedAttribute>{});
  fn.setPrivate();
}

struct RNNExportEntryPass
    : rnn::impl::RNNExportEntryPassBase<RNNExportEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> fn = findMarked(module, attrs::kEntry);
    FailureOr<func::FuncOp> step = findMarked(module, attrs::kStepEntry);
    FailureOr<func::FuncOp> grad = findMarked(module, attrs::kGradEntry);
    FailureOr<func::FuncOp> loss = findMarked(module, attrs::kLossEntry);
    FailureOr<func::FuncOp> gradState = findMarked(module, attrs::kGradStateEntry);
    FailureOr<func::FuncOp> lossState = findMarked(module, attrs::kLossStateEntry);
    FailureOr<func::FuncOp> prep = findMarked(module, attrs::kPrepareEntry);
    if (failed(fn) || failed(step) || failed(grad) || failed(loss) || failed(gradState) ||
        failed(lossState) || failed(prep))
      return signalPassFailure();
    if (!*fn) {
      module.emitError("no function is marked rnn.entry");
      return signalPassFailure();
    }

    Signature sig;
    if (*prep)
      for (unsigned r = 0; r < prep->getNumResults(); ++r)
        sig.prepared.push_back(strAttr(prep->getResultAttrDict(r), attrs::kPrepared).str());
    if (failed(readSignature(*fn, sig, /*isStep=*/false)) ||
        (*step && failed(readSignature(*step, sig, /*isStep=*/true))))
      return signalPassFailure();
    if (auto targets = module->getAttrOfType<ArrayAttr>(attrs::kTargets))
      for (Attribute a : targets)
        sig.targets.push_back(strAttr(cast<DictionaryAttr>(a), "name").str());
    FailureOr<Slots> gSlots = *grad ? gradSlots(*grad, sig) : FailureOr<Slots>(Slots());
    if (failed(gSlots))
      return signalPassFailure();
    SmallVector<std::string> tStates;
    if (*gradState)
      for (unsigned i = 0; i < gradState->getNumArguments(); ++i)
        if (StringRef n = strAttr(gradState->getArgAttrDict(i), attrs::kState); !n.empty())
          tStates.push_back(n.str());
    FailureOr<Slots> gsSlots =
        *gradState ? gradSlots(*gradState, sig, tStates) : FailureOr<Slots>(Slots());
    if (failed(gsSlots))
      return signalPassFailure();
    FailureOr<std::string> desc =
        buildDescriptor(module, *fn, *step, bool(*grad), sig, *prep, *gradState, tStates);
    if (failed(desc))
      return signalPassFailure();
    // The forward function has no states: its slots are params, inputs, outputs.
    Signature fnSig = sig;
    fnSig.states.clear();
    unsigned nP = sig.params.size(), nI = sig.inputs.size(), nO = sig.outputs.size(),
             nS = sig.states.size();

    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    std::string withNul = *desc;
    withNul.push_back('\0');
    LLVM::GlobalOp::create(b, fn->getLoc(),
                           LLVM::LLVMArrayType::get(b.getI8Type(), withNul.size()),
                           /*isConstant=*/true, LLVM::Linkage::External, "rnnc_model_desc",
                           b.getStringAttr(withNul));
    // With a prepare function: rnnc_model_prepare (params -> prepared
    // tensors), the model functions taking the prepared tensors after their
    // other slots (`_prepared`), and the plain entry points preparing at
    // every call.
    auto emitModel = [&](func::FuncOp f, StringRef symbol, const Signature &s,
                         unsigned preparedBase) {
      bool takesPrepared = false;
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        takesPrepared |= !strAttr(f.getArgAttrDict(i), attrs::kPrepared).empty();
      if (!takesPrepared) {
        // Nothing to prepare for this function: the `_prepared` entry point
        // (when there is a prepare function) ignores the prepared slots.
        emitEntry(b, f, symbol, assignSlots(f, s));
        if (*prep)
          emitEntry(b, f, (symbol + "_prepared").str(), assignSlots(f, s));
        makeInternal(f);
        return;
      }
      emitEntry(b, f, (symbol + "_prepared").str(), assignSlots(f, s, preparedBase));
      func::FuncOp wrapper = wrapPrepared(b, f, *prep);
      emitEntry(b, wrapper, symbol, assignSlots(wrapper, s));
      makeInternal(wrapper);
      makeInternal(f);
    };
    emitModel(*fn, "rnnc_model_forward", fnSig, nP + nI + nO);
    if (*step)
      emitModel(*step, "rnnc_model_step", sig, nP + nI + nS + nO + nS);
    if (*prep) {
      Slots prepSlots;
      for (unsigned i = 0; i < prep->getNumArguments(); ++i)
        prepSlots.args.push_back(
            indexOf(sig.params, strAttr(prep->getArgAttrDict(i), attrs::kParam)));
      for (unsigned r = 0; r < prep->getNumResults(); ++r)
        prepSlots.results.push_back(nP + r);
      if (llvm::is_contained(prepSlots.args, ~0u)) {
        prep->emitOpError("reads a parameter the forward function does not declare");
        return signalPassFailure();
      }
      emitEntry(b, *prep, "rnnc_model_prepare", prepSlots);
      makeInternal(*prep);
    }
    if (llvm::is_contained(gSlots->args, kRngSlot) || llvm::is_contained(gsSlots->args, kRngSlot))
      LLVM::GlobalOp::create(b, fn->getLoc(), LLVM::LLVMArrayType::get(b.getI64Type(), 2),
                             /*isConstant=*/false, LLVM::Linkage::External, kRngSymbol,
                             DenseElementsAttr::get(RankedTensorType::get({2}, b.getI64Type()),
                                                    ArrayRef<int64_t>{0, 0}));
    // The gradient functions have one caller each, their entry point: their
    // bodies go there, so that the gradients are computed in the caller's
    // buffers (no copy of each weight's gradient per step).
    auto emitOnce = [&](func::FuncOp f, StringRef symbol, const Slots &slots) {
      if (emitEntry(b, f, symbol, slots, SymbolTable::symbolKnownUseEmpty(f, module)))
        f.erase();
      else
        makeInternal(f);
    };
    if (*grad)
      emitOnce(*grad, "rnnc_model_grad", *gSlots);
    if (*gradState)
      emitOnce(*gradState, "rnnc_model_grad_state", *gsSlots);
    // The forward pass of a window (truncate(K1, K2)'s first K1 - K2 steps
    // only advance the states): no backward pass.
    if (*gradState && *lossState) {
      FailureOr<Slots> lsSlots = lossStateSlots(*lossState, sig, tStates);
      if (failed(lsSlots))
        return signalPassFailure();
      emitEntry(b, *lossState, "rnnc_model_loss_state", *lsSlots);
    }
    // The loss functions themselves are only the sources of the gradient
    // functions.
    if (*loss)
      makeInternal(*loss);
    if (*lossState)
      makeInternal(*lossState);
  }
};

} // namespace
