//===- MLIRGen.cpp - Model to rnn dialect ----------------------------------===//
//
// Every op carries the FileLineColLoc of the layer call it comes from.
// Parameters become function arguments named after PyTorch's state_dict
// (`rnn.param`), with PyTorch's default initialisation (`rnn.init`).
//
//===----------------------------------------------------------------------===//
#include "rnnc/MLIRGen.h"

#include "rnn/IR/RNNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include <map>

using namespace rnnc;
namespace rnn = mlir::rnn;
using mlir::Value;

namespace {

class MLIRGenImpl {
public:
  MLIRGenImpl(mlir::MLIRContext &ctx, const Model &m, Diagnostics &diag)
      : ctx(ctx), builder(&ctx), m(m), diag(diag) {}

  mlir::OwningOpRef<mlir::ModuleOp> gen();

private:
  mlir::Location loc(llvm::SMLoc l) {
    if (!l.isValid())
      return builder.getUnknownLoc();
    auto [line, col] = diag.getLineAndColumn(l);
    return mlir::FileLineColLoc::get(builder.getStringAttr(diag.getFileName()), line, col);
  }

  mlir::RankedTensorType tensorType(const VType &t) {
    llvm::SmallVector<int64_t> shape;
    for (const Dim &d : t.shape)
      shape.push_back(d.isStatic() ? d.size : mlir::ShapedType::kDynamic);
    mlir::Type elt = t.kind == VType::F32 ? mlir::Type(builder.getF32Type())
                                          : mlir::Type(builder.getI32Type());
    return mlir::RankedTensorType::get(shape, elt);
  }

  mlir::ArrayAttr dimsAttr(const VType &t) {
    llvm::SmallVector<mlir::Attribute> dims;
    for (const Dim &d : t.shape)
      dims.push_back(builder.getStringAttr(d.str()));
    return builder.getArrayAttr(dims);
  }

  bool unsupported(llvm::SMLoc l, const llvm::Twine &what) {
    return diag.error(l, what + " is not supported yet by code generation");
  }

  Value addArg(mlir::Type type, mlir::DictionaryAttr attrs, mlir::Location l) {
    argAttrs.push_back(attrs);
    return body->addArgument(type, l);
  }

  /// The functions generated from the same layer graph.
  enum class Mode { Forward, Loss, Step };

  std::vector<Value> params(const Node &n);
  bool genNode(int id);
  /// Starts function `name` (inputs as its first arguments; targets too for
  /// the loss function).
  mlir::func::FuncOp beginFunction(llvm::StringRef name, llvm::StringRef marker, Mode mode);
  /// Sets the signature from the block arguments and `results`.
  void finishFunction(mlir::func::FuncOp fn, llvm::ArrayRef<Value> results,
                      llvm::ArrayRef<mlir::DictionaryAttr> resAttrs, mlir::Location l);
  bool genForward();
  bool genLoss();
  bool genStep();
  /// Why the model cannot have a step function (empty when it can).
  std::string stepBlocker() const;
  mlir::DictionaryAttr outputAttrs(const Output &o);
  Value get(ValueRef r) { return values[r.node][r.result]; }

  mlir::MLIRContext &ctx;
  mlir::OpBuilder builder;
  const Model &m;
  Diagnostics &diag;
  mlir::Block *body = nullptr;
  mlir::Block *moduleBody = nullptr;
  llvm::SmallVector<mlir::DictionaryAttr> argAttrs;
  std::map<int, std::vector<Value>> values;
  Mode mode = Mode::Forward;
  /// Step function: state arguments and final states, per recurrent node.
  std::map<int, std::vector<Value>> stepStateArgs;
  llvm::SmallVector<std::pair<std::string, Value>> stepStateResults;
};

std::vector<Value> MLIRGenImpl::params(const Node &n) {
  std::vector<Value> out;
  for (const Param &p : n.params) {
    auto type = mlir::RankedTensorType::get(p.shape, builder.getF32Type());
    auto attrs = builder.getDictionaryAttr(
        {builder.getNamedAttr(rnn::attrs::kParam, builder.getStringAttr(p.name)),
         builder.getNamedAttr(rnn::attrs::kInit, builder.getStringAttr(p.init))});
    out.push_back(addArg(type, attrs, loc(n.loc)));
  }
  return out;
}

bool MLIRGenImpl::genNode(int id) {
  const Node &n = m.nodes[id];
  mlir::Location l = loc(n.loc);
  // A decoder's body reads `prev`, which has no value here, so report the
  // decoder itself before its operands would make it look skippable.
  if (n.layer == Layer::Decoder)
    return unsupported(n.loc, "an encoder-decoder (decoder loop)");
  for (ValueRef r : n.operands)
    if (!values.count(r.node))
      return true; // depends on a value without code (a target): skipped
  if (n.lengths)
    return unsupported(n.optionLocs.count("lengths") ? n.optionLocs.at("lengths") : n.loc,
                       "a padded batch (lengths)");
  std::vector<Value> ops;
  for (ValueRef r : n.operands)
    ops.push_back(get(r));
  auto resultTy = [&](unsigned i) { return tensorType(n.results[i]); };

  switch (n.layer) {
  case Layer::Input:
    return true; // created with the function signature
  case Layer::OneHot:
    values[id] = {rnn::OneHotOp::create(builder, l, resultTy(0), ops[0])};
    return true;
  case Layer::Embedding: {
    if (n.maskZero)
      return unsupported(n.optionLocs.at("mask_zero"), "mask_zero (padded batches)");
    auto w = params(n);
    values[id] = {rnn::EmbeddingOp::create(builder, l, resultTy(0), ops[0], w[0])};
    return true;
  }
  case Layer::Recurrent: {
    if (!n.initialState.empty())
      return unsupported(n.optionLocs.at("initial_state"), "initial_state");
    std::vector<Value> initStates;
    if (mode == Mode::Step)
      initStates = stepStateArgs[id];
    auto w = params(n);
    rnn::CellKind cell = n.cell == CellKind::RNN    ? rnn::CellKind::rnn
                         : n.cell == CellKind::LSTM ? rnn::CellKind::lstm
                                                    : rnn::CellKind::gru;
    rnn::Direction dir = n.direction == Direction::Forward   ? rnn::Direction::forward
                         : n.direction == Direction::Reverse ? rnn::Direction::reverse
                                                             : rnn::Direction::bidirectional;
    llvm::SmallVector<mlir::Type> stateTypes;
    int64_t dirs = n.direction == Direction::Bidirectional ? 2 : 1;
    auto outTy = resultTy(0);
    auto stateTy = mlir::RankedTensorType::get(
        {n.layers * dirs, outTy.getDimSize(0), n.hidden}, builder.getF32Type());
    stateTypes.assign(n.cell == CellKind::LSTM ? 2 : 1, stateTy);
    auto op = rnn::RecurrentOp::create(
        builder, l, outTy, stateTypes, ops[0], w, /*lengths=*/Value(),
        /*initialStates=*/initStates, cell, dir, n.hidden, n.layers, n.returnSequences,
        n.activation == Activation::Relu ? rnn::Activation::relu : rnn::Activation::tanh);
    if (mode == Mode::Step) {
      const char *names[] = {".h", ".c"};
      for (auto [i, st] : llvm::enumerate(op.getFinalStates()))
        stepStateResults.push_back({n.name + names[i], st});
    }
    std::vector<Value> res = {op.getOutput()};
    if (n.returnState)
      for (Value s : op.getFinalStates())
        res.push_back(s);
    values[id] = res;
    return true;
  }
  case Layer::Dense: {
    auto w = params(n);
    rnn::Activation act = n.activation == Activation::Tanh      ? rnn::Activation::tanh
                          : n.activation == Activation::Relu    ? rnn::Activation::relu
                          : n.activation == Activation::Sigmoid ? rnn::Activation::sigmoid
                                                                : rnn::Activation::none;
    values[id] = {rnn::DenseOp::create(builder, l, resultTy(0), ops[0], w[0],
                                       n.bias ? w[1] : Value(), act)};
    return true;
  }
  case Layer::Softmax:
    values[id] = {rnn::SoftmaxOp::create(builder, l, ops[0])};
    return true;
  case Layer::Dropout:
    values[id] = {ops[0]}; // identity at inference
    return true;
  case Layer::Concat:
    values[id] = {mlir::tensor::ConcatOp::create(builder, l, resultTy(0),
                                                 resultTy(0).getRank() - 1, ops)};
    return true;
  case Layer::Last: {
    // x[:, T-1, :] as a rank-reduced slice.
    auto inTy = mlir::cast<mlir::RankedTensorType>(ops[0].getType());
    Value t = mlir::tensor::DimOp::create(builder, l, ops[0], 1);
    Value one = mlir::arith::ConstantIndexOp::create(builder, l, 1);
    Value last = mlir::arith::SubIOp::create(builder, l, t, one);
    llvm::SmallVector<mlir::OpFoldResult> offs = {builder.getIndexAttr(0), last,
                                                  builder.getIndexAttr(0)};
    llvm::SmallVector<mlir::OpFoldResult> sizes = {
        mlir::tensor::getMixedSize(builder, l, ops[0], 0), builder.getIndexAttr(1),
        builder.getIndexAttr(inTy.getDimSize(2))};
    llvm::SmallVector<mlir::OpFoldResult> strides(3, builder.getIndexAttr(1));
    values[id] = {mlir::tensor::ExtractSliceOp::create(builder, l, resultTy(0), ops[0], offs,
                                                       sizes, strides)};
    return true;
  }
  case Layer::Attention:
    return unsupported(n.loc, "attention");
  case Layer::Cell:
    return unsupported(n.loc, "a decoder cell");
  case Layer::Decoder:
    llvm_unreachable("reported above");
  }
  return true;
}

mlir::func::FuncOp MLIRGenImpl::beginFunction(llvm::StringRef name, llvm::StringRef marker,
                                              Mode fnMode) {
  mode = fnMode;
  values.clear();
  argAttrs.clear();
  stepStateArgs.clear();
  stepStateResults.clear();
  builder.setInsertionPointToEnd(moduleBody);
  auto fn = mlir::func::FuncOp::create(builder, loc(m.loc), name, builder.getFunctionType({}, {}));
  fn->setAttr(marker, builder.getUnitAttr());
  body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);

  static const char *kinds[] = {"tokens", "f32", "lengths", "class"};
  auto declare = [&](int id, llvm::StringRef role) {
    const Node &n = m.nodes[id];
    const VType &t = n.results[0];
    llvm::SmallVector<mlir::NamedAttribute> a = {
        builder.getNamedAttr(role, builder.getStringAttr(n.name)),
        builder.getNamedAttr(rnn::attrs::kKind, builder.getStringAttr(kinds[t.kind])),
        builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(t))};
    if (!t.vocab.empty())
      a.push_back(builder.getNamedAttr(rnn::attrs::kVocab, builder.getStringAttr(t.vocab)));
    values[id] = {addArg(tensorType(t), builder.getDictionaryAttr(a), loc(n.loc))};
  };
  for (int id : m.inputs)
    declare(id, rnn::attrs::kInput);
  if (mode == Mode::Loss)
    for (const Target &tg : m.targets)
      for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
        if (m.nodes[id].layer == Layer::Input && m.nodes[id].name == tg.name &&
            !llvm::is_contained(m.inputs, id))
          declare(id, rnn::attrs::kTarget);
  if (mode == Mode::Step) {
    // One [layers*dirs, B, H] state per recurrent layer (two for an LSTM).
    for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id) {
      const Node &n = m.nodes[id];
      if (n.layer != Layer::Recurrent)
        continue;
      const VType &in = m.typeOf(n.operands[0]);
      VType st;
      st.shape = {Dim{"", n.layers}, in.shape[0], Dim{"", n.hidden}};
      const char *names[] = {".h", ".c"};
      for (int k = 0; k < (n.cell == CellKind::LSTM ? 2 : 1); ++k) {
        auto attrs = builder.getDictionaryAttr(
            {builder.getNamedAttr(rnn::attrs::kState, builder.getStringAttr(n.name + names[k])),
             builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(st))});
        stepStateArgs[id].push_back(addArg(tensorType(st), attrs, loc(n.loc)));
      }
    }
  }
  return fn;
}

void MLIRGenImpl::finishFunction(mlir::func::FuncOp fn, llvm::ArrayRef<Value> results,
                                 llvm::ArrayRef<mlir::DictionaryAttr> resAttrs,
                                 mlir::Location l) {
  mlir::func::ReturnOp::create(builder, l, results);
  llvm::SmallVector<mlir::Type> argTypes(body->getArgumentTypes());
  llvm::SmallVector<mlir::Type> resTypes;
  for (Value v : results)
    resTypes.push_back(v.getType());
  fn.setFunctionType(builder.getFunctionType(argTypes, resTypes));
  fn.setAllArgAttrs(argAttrs);
  fn.setAllResultAttrs(resAttrs);
}

mlir::DictionaryAttr MLIRGenImpl::outputAttrs(const Output &o) {
  const VType &t = m.typeOf(o.value);
  llvm::SmallVector<mlir::NamedAttribute> a = {
      builder.getNamedAttr(rnn::attrs::kOutput, builder.getStringAttr(o.name)),
      builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(t))};
  if (!o.vocab.empty()) {
    a.push_back(builder.getNamedAttr(rnn::attrs::kVocab, builder.getStringAttr(o.vocab)));
    bool probs = m.nodes[o.value.node].layer == Layer::Softmax;
    a.push_back(builder.getNamedAttr(rnn::attrs::kScores,
                                     builder.getStringAttr(probs ? "probs" : "logits")));
  }
  return builder.getDictionaryAttr(a);
}

bool MLIRGenImpl::genForward() {
  auto fn = beginFunction(m.name, rnn::attrs::kEntry, Mode::Forward);
  bool ok = true;
  for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
    ok &= genNode(id);
  if (!ok)
    return false;
  llvm::SmallVector<Value> results;
  llvm::SmallVector<mlir::DictionaryAttr> resAttrs;
  for (const Output &o : m.outputs) {
    if (!values.count(o.value.node))
      return diag.error(o.loc, "output '" + o.name + "' depends on a target, which is only "
                                                     "known when training");
    results.push_back(get(o.value));
    resAttrs.push_back(outputAttrs(o));
  }
  finishFunction(fn, results, resAttrs, loc(m.outputs.front().loc));
  return true;
}

bool MLIRGenImpl::genLoss() {
  auto fn = beginFunction(m.name + "_loss", rnn::attrs::kLossEntry, Mode::Loss);
  bool ok = true;
  for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
    ok &= genNode(id);
  if (!ok)
    return false;
  Value total;
  for (const Loss &ls : m.losses) {
    mlir::Location l = loc(ls.loc);
    int tid = -1;
    for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
      if (m.nodes[id].layer == Layer::Input && m.nodes[id].name == ls.target &&
          !llvm::is_contained(m.inputs, id))
        tid = id;
    if (!values.count(ls.pred.node) || tid < 0)
      return unsupported(ls.loc, "this loss");
    auto scalar = mlir::RankedTensorType::get({}, builder.getF32Type());
    Value v = ls.kind == "mse"
                  ? Value(rnn::MSEOp::create(builder, l, scalar, get(ls.pred), values[tid][0]))
                  : Value(rnn::CrossEntropyOp::create(builder, l, scalar, get(ls.pred),
                                                      values[tid][0]));
    if (!total) {
      total = v;
      continue;
    }
    // Several losses add up.
    Value a = mlir::tensor::ExtractOp::create(builder, l, total, mlir::ValueRange{});
    Value c = mlir::tensor::ExtractOp::create(builder, l, v, mlir::ValueRange{});
    Value sum = mlir::arith::AddFOp::create(builder, l, a, c);
    total = mlir::tensor::FromElementsOp::create(builder, l, scalar, sum);
  }
  auto attrs = builder.getDictionaryAttr(
      {builder.getNamedAttr(rnn::attrs::kOutput, builder.getStringAttr("loss")),
       builder.getNamedAttr(rnn::attrs::kDims, builder.getArrayAttr({}))});
  finishFunction(fn, {total}, {attrs}, loc(m.losses.front().loc));
  return true;
}

std::string MLIRGenImpl::stepBlocker() const {
  if (m.inputs.size() != 1)
    return "it has several inputs";
  const VType &in = m.nodes[m.inputs[0]].results[0];
  const Vocab *v = in.kind == VType::Tokens ? m.findVocab(in.vocab) : nullptr;
  if (!v || v->kind == Vocab::Ids || in.shape.size() != 2)
    return "its input is not a sequence of tokens of a chars or words vocabulary";
  bool scores = llvm::any_of(m.outputs, [&](const Output &o) {
    return o.vocab == in.vocab && m.typeOf(o.value).shape.size() == 3;
  });
  if (!scores)
    return "no output scores the input vocabulary at every step";
  for (const Node &n : m.nodes) {
    if (n.layer == Layer::Recurrent &&
        (n.direction != Direction::Forward || !n.returnSequences || n.lengths))
      return "a recurrent layer is not a plain forward sequence";
    if (n.layer == Layer::Decoder || n.layer == Layer::Attention || n.layer == Layer::Last ||
        n.layer == Layer::Cell)
      return "it has a layer that looks beyond one step";
  }
  return "";
}

bool MLIRGenImpl::genStep() {
  auto fn = beginFunction(m.name + "_step", rnn::attrs::kStepEntry, Mode::Step);
  bool ok = true;
  for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
    ok &= genNode(id);
  if (!ok)
    return false;
  llvm::SmallVector<Value> results;
  llvm::SmallVector<mlir::DictionaryAttr> resAttrs;
  for (const Output &o : m.outputs) {
    if (!values.count(o.value.node))
      return true;
    results.push_back(get(o.value));
    resAttrs.push_back(outputAttrs(o));
  }
  for (auto &[name, v] : stepStateResults) {
    auto t = mlir::cast<mlir::RankedTensorType>(v.getType());
    VType st;
    st.shape = {Dim{"", t.getDimSize(0)}, m.nodes[m.inputs[0]].results[0].shape[0],
                Dim{"", t.getDimSize(2)}};
    results.push_back(v);
    resAttrs.push_back(builder.getDictionaryAttr(
        {builder.getNamedAttr(rnn::attrs::kState, builder.getStringAttr(name)),
         builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(st))}));
  }
  finishFunction(fn, results, resAttrs, loc(m.outputs.front().loc));
  return true;
}

mlir::OwningOpRef<mlir::ModuleOp> MLIRGenImpl::gen() {
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc(m.loc));
  moduleBody = module->getBody();
  builder.setInsertionPointToEnd(moduleBody);

  // Module attributes: what the runtime descriptor needs beyond the signature.
  llvm::SmallVector<mlir::Attribute> vocabs;
  for (const Vocab &v : m.vocabs) {
    llvm::SmallVector<mlir::NamedAttribute> a = {
        builder.getNamedAttr("name", builder.getStringAttr(v.name)),
        builder.getNamedAttr("kind", builder.getStringAttr(v.kind == Vocab::Chars   ? "chars"
                                                           : v.kind == Vocab::Words ? "words"
                                                                                    : "ids")),
        builder.getNamedAttr("size", builder.getI64IntegerAttr(v.size))};
    if (!v.tokens.empty()) {
      llvm::SmallVector<mlir::Attribute> toks;
      for (const std::string &t : v.tokens)
        toks.push_back(builder.getStringAttr(t));
      a.push_back(builder.getNamedAttr("tokens", builder.getArrayAttr(toks)));
    }
    vocabs.push_back(builder.getDictionaryAttr(a));
  }
  llvm::SmallVector<mlir::Attribute> targets;
  for (const Target &t : m.targets) {
    static const char *kinds[] = {"tokens", "f32", "lengths", "class"};
    llvm::SmallVector<mlir::NamedAttribute> a = {
        builder.getNamedAttr("name", builder.getStringAttr(t.name)),
        builder.getNamedAttr("kind", builder.getStringAttr(kinds[t.type.kind])),
        builder.getNamedAttr("dims", dimsAttr(t.type))};
    if (!t.type.vocab.empty())
      a.push_back(builder.getNamedAttr("vocab", builder.getStringAttr(t.type.vocab)));
    else if (t.type.kind == VType::Class)
      a.push_back(builder.getNamedAttr("classes", builder.getI64IntegerAttr(t.type.classes)));
    targets.push_back(builder.getDictionaryAttr(a));
  }
  (*module)->setAttr(rnn::attrs::kModel, builder.getStringAttr(m.name));
  (*module)->setAttr(rnn::attrs::kVocabs, builder.getArrayAttr(vocabs));
  if (!targets.empty())
    (*module)->setAttr(rnn::attrs::kTargets, builder.getArrayAttr(targets));
  if (!m.train.empty()) {
    std::string text;
    for (auto &[k, v] : m.train)
      text += (text.empty() ? "" : " ") + k + "=" + v;
    (*module)->setAttr(rnn::attrs::kTrain, builder.getStringAttr(text));
  }

  if (!genForward() || (!m.losses.empty() && !genLoss()) ||
      (stepBlocker().empty() && !genStep()))
    return nullptr;

  if (mlir::failed(mlir::verify(*module))) {
    diag.error(m.loc, "internal error: generated IR does not verify");
    return nullptr;
  }
  return module;
}

} // namespace

mlir::OwningOpRef<mlir::ModuleOp> rnnc::mlirGen(mlir::MLIRContext &context, const Model &model,
                                                Diagnostics &diag) {
  return MLIRGenImpl(context, model, diag).gen();
}
