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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
      : builder(&ctx), m(m), diag(diag) {}

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
  enum class Mode { Forward, Loss, Step, LossState };

  std::vector<Value> params(const Node &n);
  bool genNode(int id);
  /// Starts function `name` (inputs as its first arguments; targets too for
  /// the loss function).
  mlir::func::FuncOp beginFunction(llvm::StringRef name, llvm::StringRef marker, Mode mode);
  /// Sets the signature from the block arguments and `results`.
  void finishFunction(mlir::func::FuncOp fn, llvm::ArrayRef<Value> results,
                      llvm::ArrayRef<mlir::DictionaryAttr> resAttrs, mlir::Location l);
  /// Generates every node of the graph into the current function.
  bool genNodes();
  bool genForward();
  bool genLoss();
  /// The sum of the model's losses in the current function (null after an
  /// error).
  Value genTotalLoss();
  bool genStep();
  /// The loss with every recurrent layer's state as an argument and its
  /// final state as a result, for truncated BPTT (see truncBlocker).
  bool genLossState();
  /// Why the model cannot train with truncated BPTT (empty when it can).
  std::string truncBlocker() const;
  /// Why the layers cannot run a few steps at a time from given states:
  /// every recurrent layer a plain forward sequence (no lengths=, no computed
  /// initial state), nothing that looks beyond one step. Shared by the step
  /// and loss-with-states functions.
  std::string stepwiseBlocker() const;
  bool hasStateArgs() const { return mode == Mode::Step || mode == Mode::LossState; }
  /// The final recurrent states (rnn.state results) of a step or
  /// loss-with-states function.
  void appendStateResults(llvm::SmallVectorImpl<Value> &results,
                          llvm::SmallVectorImpl<mlir::DictionaryAttr> &resAttrs);
  /// True for the nodes of a decoder body (generated inside the loop).
  bool inDecoderBody(int id) const;
  /// Whether training applies dropout somewhere (a `dropout(x, rate>0)`
  /// outside decoder bodies, or `dropout=` between stacked layers).
  bool hasTrainingDropout() const {
    for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id) {
      const Node &n = m.nodes[id];
      if (n.rate > 0 && ((n.layer == Layer::Dropout && !inDecoderBody(id)) ||
                         (n.layer == Layer::Recurrent && n.layers > 1)))
        return true;
    }
    return false;
  }
  /// Generates a decoder as an rnn.decode loop.
  bool genDecoder(int id);
  /// The embedding (with mask_zero) whose padding reaches `v` through
  /// per-step layers, or -1.
  int maskSource(ValueRef v) const;
  /// The lengths a layer runs with: its `lengths=` input, or the lengths
  /// derived from mask_zero padding upstream; null for full sequences.
  Value lengthsFor(const Node &n);
  /// Why the model cannot have a step function (empty when it can).
  std::string stepBlocker() const;
  mlir::DictionaryAttr outputAttrs(const Output &o);
  /// ABI attributes of input `id` beyond its type: `rnn.max` for lengths,
  /// `rnn.padding` for token ids padded for mask_zero.
  llvm::SmallVector<mlir::NamedAttribute> inputExtras(int id);
  Value get(ValueRef r) { return values[r.node][r.result]; }

  mlir::OpBuilder builder;
  const Model &m;
  Diagnostics &diag;
  mlir::Block *body = nullptr;
  mlir::Block *moduleBody = nullptr;
  llvm::SmallVector<mlir::DictionaryAttr> argAttrs;
  std::map<int, std::vector<Value>> values;
  Mode mode = Mode::Forward;
  /// Set while a decoder generates its body inside its loop.
  bool generatingBody = false;
  /// The loss functions' dropout seed argument (`rnn.rng`), when the model
  /// has dropout; null in the forward and step functions.
  Value rng;
  /// Dropout sites get salts kSaltStride * node id (+ layer for stacked
  /// recurrent layers), so their masks are independent.
  static constexpr int64_t kSaltStride = 64;
  /// Lengths derived from mask_zero padding, per embedding node.
  std::map<int, Value> maskLengths;
  /// Step function: state arguments and final states, per recurrent node.
  std::map<int, std::vector<Value>> stepStateArgs;
  llvm::SmallVector<std::pair<std::string, Value>> stepStateResults;
};

std::vector<Value> MLIRGenImpl::params(const Node &n) {
  std::vector<Value> out;
  for (const Param &p : n.params) {
    auto type = mlir::RankedTensorType::get(p.shape, builder.getF32Type());
    llvm::SmallVector<mlir::NamedAttribute> a = {
        builder.getNamedAttr(rnn::attrs::kParam, builder.getStringAttr(p.name)),
        builder.getNamedAttr(rnn::attrs::kInit, builder.getStringAttr(p.init))};
    if (p.zeroRow >= 0)
      a.push_back(builder.getNamedAttr(rnn::attrs::kPadding, builder.getI64IntegerAttr(p.zeroRow)));
    auto attrs = builder.getDictionaryAttr(a);
    out.push_back(addArg(type, attrs, loc(n.loc)));
  }
  return out;
}

bool MLIRGenImpl::inDecoderBody(int id) const {
  for (int d = id + 1; d < static_cast<int>(m.nodes.size()); ++d)
    if (m.nodes[d].layer == Layer::Decoder && m.nodes[d].decoderPrev >= 0 &&
        id >= m.nodes[d].decoderPrev)
      return true;
  return false;
}

bool MLIRGenImpl::genDecoder(int id) {
  const Node &n = m.nodes[id];
  mlir::Location l = loc(n.loc);
  auto f32 = builder.getF32Type();
  // Initial states: [B, H], or the last slice of an h_n-like [N, B, H].
  llvm::SmallVector<Value> init;
  for (ValueRef r : n.initialState) {
    if (!values.count(r.node))
      return true;
    Value st = get(r);
    auto t = mlir::cast<mlir::RankedTensorType>(st.getType());
    if (t.getRank() == 3) {
      llvm::SmallVector<mlir::OpFoldResult> offs = {builder.getIndexAttr(t.getDimSize(0) - 1),
                                                    builder.getIndexAttr(0),
                                                    builder.getIndexAttr(0)};
      llvm::SmallVector<mlir::OpFoldResult> sizes = {
          builder.getIndexAttr(1), mlir::tensor::getMixedSize(builder, l, st, 1),
          builder.getIndexAttr(t.getDimSize(2))};
      llvm::SmallVector<mlir::OpFoldResult> strides(3, builder.getIndexAttr(1));
      st = mlir::tensor::ExtractSliceOp::create(
          builder, l, mlir::RankedTensorType::get({t.getDimSize(1), t.getDimSize(2)}, f32), st,
          offs, sizes, strides);
    }
    init.push_back(st);
  }
  // The cells of the body and how many states each carries.
  llvm::SmallVector<int> cells;
  unsigned numStates = 0;
  for (int c = n.decoderPrev + 1; c < id; ++c)
    if (m.nodes[c].layer == Layer::Cell) {
      cells.push_back(c);
      numStates += m.nodes[c].cell == CellKind::LSTM ? 2 : 1;
    }
  if (init.size() != numStates)
    return diag.error(n.optionLocs.count("init") ? n.optionLocs.at("init") : n.loc,
                      "decoder init= gives " + std::to_string(init.size()) +
                          " state(s), but its cells carry " + std::to_string(numStates));
  {
    unsigned k = 0;
    for (int c : cells) {
      const Node &cn = m.nodes[c];
      for (int s = 0; s < (cn.cell == CellKind::LSTM ? 2 : 1); ++s, ++k) {
        auto t = mlir::cast<mlir::RankedTensorType>(init[k].getType());
        if (t.getRank() != 2 || t.getDimSize(1) != cn.hidden)
          return diag.error(n.optionLocs.count("init") ? n.optionLocs.at("init") : n.loc,
                            "decoder init= state " + std::to_string(k) + " has " +
                                std::to_string(t.getDimSize(t.getRank() - 1)) +
                                " features, but cell '" + cn.name + "' has hidden=" +
                                std::to_string(cn.hidden));
      }
    }
  }
  Value teacher;
  if ((mode == Mode::Loss || mode == Mode::LossState) && n.operands.size() > 1 &&
      values.count(n.operands[1].node))
    teacher = get(n.operands[1]);

  const VType &outT = n.results[0];
  int64_t vocabSize = outT.shape.back().size;
  auto stateTy0 = mlir::cast<mlir::RankedTensorType>(init.front().getType());
  auto scoresTy = mlir::RankedTensorType::get(
      {stateTy0.getDimSize(0), teacher ? mlir::ShapedType::kDynamic : n.units, vocabSize}, f32);
  llvm::SmallVector<mlir::Type> resultTypes = {scoresTy};
  // Body values read outside (`dec.w`): one sequence of steps each.
  for (unsigned k = 0; k < n.bodyOutputs.size(); ++k) {
    auto t = tensorType(n.results[k + 1]);
    llvm::SmallVector<int64_t> shape(t.getShape());
    shape[1] = scoresTy.getDimSize(1);
    resultTypes.push_back(mlir::RankedTensorType::get(shape, t.getElementType()));
  }
  for (Value st : init)
    resultTypes.push_back(st.getType());
  auto op = rnn::DecodeOp::create(builder, l, resultTypes, init, teacher, n.startToken,
                                  n.endToken, n.units);
  mlir::OpBuilder::InsertionGuard guard(builder);
  mlir::Block *blk = builder.createBlock(&op.getBody());
  auto tokTy = mlir::RankedTensorType::get({stateTy0.getDimSize(0)}, builder.getI32Type());
  values[n.decoderPrev] = {blk->addArgument(tokTy, l)};
  llvm::SmallVector<Value> stateArgs;
  for (Value st : init)
    stateArgs.push_back(blk->addArgument(st.getType(), l));

  // The body's layers, in order; each cell reads and replaces its states.
  llvm::SmallVector<Value> nextStates;
  unsigned stateIdx = 0;
  for (int c = n.decoderPrev + 1; c < id; ++c) {
    const Node &cn = m.nodes[c];
    if (cn.layer != Layer::Cell) {
      generatingBody = true;
      bool ok = genNode(c);
      generatingBody = false;
      if (!ok)
        return false;
      continue;
    }
    mlir::Location cl = loc(cn.loc);
    auto w = params(cn);
    Value x = get(cn.operands[0]);
    int64_t gates = (cn.cell == CellKind::RNN ? 1 : cn.cell == CellKind::LSTM ? 4 : 3) * cn.hidden;
    auto hTy = mlir::cast<mlir::RankedTensorType>(stateArgs[stateIdx].getType());
    auto gTy = mlir::RankedTensorType::get({hTy.getDimSize(0), gates}, f32);
    Value h = stateArgs[stateIdx];
    Value gx = rnn::DenseOp::create(builder, cl, gTy, x, w[0], w[2], rnn::Activation::none);
    Value gh = rnn::DenseOp::create(builder, cl, gTy, h, w[1], w[3], rnn::Activation::none);
    if (cn.cell == CellKind::LSTM) {
      auto g = rnn::LSTMGatesOp::create(builder, cl, gx, gh, stateArgs[stateIdx + 1]);
      nextStates.append({g.getHNext(), g.getCNext()});
      values[c] = {g.getHNext()};
      stateIdx += 2;
    } else {
      Value h2 = cn.cell == CellKind::GRU
                     ? Value(rnn::GRUGatesOp::create(builder, cl, gx, gh, h))
                     : Value(rnn::RNNGatesOp::create(
                           builder, cl, hTy, gx, gh,
                           cn.activation == Activation::Relu ? rnn::Activation::relu
                                                             : rnn::Activation::tanh));
      nextStates.push_back(h2);
      values[c] = {h2};
      stateIdx += 1;
    }
  }
  llvm::SmallVector<Value> yields = {get(n.operands[0])};
  for (ValueRef r : n.bodyOutputs)
    yields.push_back(get(r));
  yields.append(nextStates);
  rnn::YieldOp::create(builder, l, yields);
  values[id] = {op.getResults().take_front(1 + n.bodyOutputs.size()).begin(),
                op.getResults().take_front(1 + n.bodyOutputs.size()).end()};
  return true;
}

int MLIRGenImpl::maskSource(ValueRef v) const {
  const Node &n = m.nodes[v.node];
  switch (n.layer) {
  case Layer::Embedding:
    return n.maskZero ? v.node : -1;
  case Layer::Dense:
  case Layer::Dropout:
  case Layer::Softmax:
    return n.results[0].shape.size() == 3 ? maskSource(n.operands[0]) : -1;
  case Layer::Recurrent:
    return v.result == 0 && n.returnSequences ? maskSource(n.operands[0]) : -1;
  case Layer::Concat:
    for (ValueRef op : n.operands)
      if (int src = maskSource(op); src >= 0)
        return src;
    return -1;
  default:
    return -1;
  }
}

Value MLIRGenImpl::lengthsFor(const Node &n) {
  if (n.lengths)
    return values.count(n.lengths->node) ? get(*n.lengths) : Value();
  if (n.operands.empty())
    return Value();
  int src = maskSource(n.operands[0]);
  return src >= 0 && maskLengths.count(src) ? maskLengths[src] : Value();
}

bool MLIRGenImpl::genNode(int id) {
  const Node &n = m.nodes[id];
  mlir::Location l = loc(n.loc);
  if (!generatingBody && inDecoderBody(id))
    return true; // generated inside its decoder's loop
  if (n.layer == Layer::Decoder)
    return genDecoder(id);
  for (ValueRef r : n.operands)
    if (!values.count(r.node))
      return true; // depends on a value without code (a target): skipped
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
    auto w = params(n);
    values[id] = {rnn::EmbeddingOp::create(
        builder, l, resultTy(0), ops[0], w[0],
        n.maskZero ? builder.getI64IntegerAttr(0) : mlir::IntegerAttr())};
    // mask_zero: token 0 pads each example after its last token; the layers
    // that read this sequence see each example's own length.
    auto tokTy = mlir::cast<mlir::RankedTensorType>(ops[0].getType());
    if (n.maskZero && tokTy.getRank() == 2)
      maskLengths[id] = rnn::SequenceLengthsOp::create(
          builder, l, mlir::RankedTensorType::get({tokTy.getDimSize(0)}, builder.getI32Type()),
          ops[0], /*padding=*/0);
    return true;
  }
  case Layer::Recurrent: {
    std::vector<Value> initStates;
    if (hasStateArgs())
      initStates = stepStateArgs[id];
    for (ValueRef r : n.initialState) {
      if (!values.count(r.node))
        return true;
      Value st = get(r);
      // A [B, H] state of a one-layer, one-direction layer is h_0[0].
      auto stTy = mlir::cast<mlir::RankedTensorType>(st.getType());
      if (stTy.getRank() == 2) {
        llvm::SmallVector<mlir::OpFoldResult> outShape = {
            builder.getIndexAttr(1), mlir::tensor::getMixedSize(builder, l, st, 0),
            builder.getIndexAttr(stTy.getDimSize(1))};
        auto ty3 = mlir::RankedTensorType::get({1, stTy.getDimSize(0), stTy.getDimSize(1)},
                                               stTy.getElementType());
        st = mlir::tensor::ExpandShapeOp::create(
            builder, l, ty3, st, llvm::ArrayRef<mlir::ReassociationIndices>{{0, 1}, {2}},
            outShape);
      }
      initStates.push_back(st);
    }
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
        builder, l, outTy, stateTypes, ops[0], w, lengthsFor(n),
        /*initialStates=*/initStates, /*rng=*/n.rate > 0 ? rng : Value(), llvm::APFloat(n.rate),
        /*dropout_salt=*/kSaltStride * id, cell, dir, n.hidden, n.layers, n.returnSequences,
        n.activation == Activation::Relu ? rnn::Activation::relu : rnn::Activation::tanh);
    if (hasStateArgs()) {
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
    // Identity at inference (and inside a decoder body, which has no step
    // index to draw fresh masks from: a warning in genLoss).
    values[id] = {rng && n.rate > 0 && !generatingBody
                      ? Value(rnn::DropoutOp::create(builder, l, ops[0], rng,
                                                     builder.getF64FloatAttr(n.rate),
                                                     builder.getI64IntegerAttr(kSaltStride * id)))
                      : ops[0]};
    return true;
  case Layer::Concat:
    values[id] = {mlir::tensor::ConcatOp::create(builder, l, resultTy(0),
                                                 resultTy(0).getRank() - 1, ops)};
    return true;
  case Layer::Last:
    values[id] = {rnn::LastStepOp::create(builder, l, resultTy(0), ops[0], lengthsFor(n))};
    return true;
  case Layer::Attention: {
    auto w = params(n);
    rnn::AttentionKind kind = n.attention == "general"    ? rnn::AttentionKind::general
                              : n.attention == "additive" ? rnn::AttentionKind::additive
                                                          : rnn::AttentionKind::dot;
    Value lengths;
    if (n.lengths)
      lengths = values.count(n.lengths->node) ? get(*n.lengths) : Value();
    else if (int src = maskSource(n.operands[1]); src >= 0 && maskLengths.count(src))
      lengths = maskLengths[src];
    auto op = rnn::AttentionOp::create(builder, l, resultTy(0), resultTy(1), ops[0], ops[1],
                                       lengths, w, kind);
    values[id] = {op.getContextVector(), op.getScores()};
    return true;
  }
  case Layer::Cell:
    llvm_unreachable("cells are generated inside their decoder");
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
  maskLengths.clear();
  rng = Value();
  builder.setInsertionPointToEnd(moduleBody);
  auto fn = mlir::func::FuncOp::create(builder, loc(m.loc), name, builder.getFunctionType({}, {}));
  fn->setAttr(marker, builder.getUnitAttr());
  body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);

  static const char *kinds[] = {"tokens", "f32", "lengths", "class"};
  auto declare = [&](int id, llvm::StringRef role,
                     llvm::ArrayRef<mlir::NamedAttribute> extra = {}) {
    const Node &n = m.nodes[id];
    const VType &t = n.results[0];
    llvm::SmallVector<mlir::NamedAttribute> a = {
        builder.getNamedAttr(role, builder.getStringAttr(n.name)),
        builder.getNamedAttr(rnn::attrs::kKind, builder.getStringAttr(kinds[t.kind])),
        builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(t))};
    if (!t.vocab.empty())
      a.push_back(builder.getNamedAttr(rnn::attrs::kVocab, builder.getStringAttr(t.vocab)));
    a.append(extra.begin(), extra.end());
    values[id] = {addArg(tensorType(t), builder.getDictionaryAttr(a), loc(n.loc))};
  };
  for (int id : m.inputs)
    declare(id, rnn::attrs::kInput, inputExtras(id));
  if (mode == Mode::Loss || mode == Mode::LossState)
    for (const Target &tg : m.targets)
      for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
        if (m.nodes[id].layer == Layer::Input && m.nodes[id].name == tg.name &&
            !llvm::is_contained(m.inputs, id))
          declare(id, rnn::attrs::kTarget);
  if ((mode == Mode::Loss || mode == Mode::LossState) && hasTrainingDropout()) {
    auto rngTy = mlir::RankedTensorType::get({2}, builder.getI64Type());
    rng = addArg(rngTy,
                 builder.getDictionaryAttr(builder.getNamedAttr(rnn::attrs::kRng,
                                                                builder.getUnitAttr())),
                 loc(m.loc));
  }
  if (hasStateArgs()) {
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
  // Static sizes of the generated value win over the declared symbols (a
  // greedy decoder runs max_len steps, whatever its teacher's length).
  VType t = m.typeOf(o.value);
  auto actual = mlir::cast<mlir::RankedTensorType>(get(o.value).getType());
  for (auto [i, d] : llvm::enumerate(t.shape))
    if (!actual.isDynamicDim(i))
      d = Dim{"", actual.getDimSize(i)};
  llvm::SmallVector<mlir::NamedAttribute> a = {
      builder.getNamedAttr(rnn::attrs::kOutput, builder.getStringAttr(o.name)),
      builder.getNamedAttr(rnn::attrs::kDims, dimsAttr(t))};
  if (!o.vocab.empty()) {
    a.push_back(builder.getNamedAttr(rnn::attrs::kVocab, builder.getStringAttr(o.vocab)));
    bool probs = m.nodes[o.value.node].layer == Layer::Softmax;
    a.push_back(builder.getNamedAttr(rnn::attrs::kScores,
                                     builder.getStringAttr(probs ? "probs" : "logits")));
    // A decoder's scores: the text printer stops at its end token.
    ValueRef v = o.value;
    while (m.nodes[v.node].layer == Layer::Softmax || m.nodes[v.node].layer == Layer::Dropout)
      v = m.nodes[v.node].operands[0];
    if (m.nodes[v.node].layer == Layer::Decoder)
      a.push_back(builder.getNamedAttr(rnn::attrs::kEnd,
                                       builder.getI64IntegerAttr(m.nodes[v.node].endToken)));
  }
  return builder.getDictionaryAttr(a);
}

llvm::SmallVector<mlir::NamedAttribute> MLIRGenImpl::inputExtras(int id) {
  llvm::SmallVector<mlir::NamedAttribute> extra;
  const VType &t = m.nodes[id].results[0];
  // A lengths input counts the steps of the time axis of what it measures.
  if (t.kind == VType::Lengths) {
    for (const Node &n : m.nodes) {
      if (!n.lengths || n.lengths->node != id || n.operands.empty())
        continue;
      const VType &seq = m.typeOf(n.operands[n.layer == Layer::Attention ? 1 : 0]);
      if (seq.shape.size() >= 2 && !seq.shape[1].isStatic()) {
        extra.push_back(builder.getNamedAttr(rnn::attrs::kMax,
                                             builder.getStringAttr(seq.shape[1].sym)));
        break;
      }
    }
  }
  // Token ids padded with 0 for an embedding with mask_zero.
  if (t.kind == VType::Tokens)
    for (const Node &n : m.nodes)
      if (n.layer == Layer::Embedding && n.maskZero && n.operands[0].node == id) {
        extra.push_back(builder.getNamedAttr(rnn::attrs::kPadding, builder.getI64IntegerAttr(0)));
        break;
      }
  return extra;
}

bool MLIRGenImpl::genNodes() {
  bool ok = true; // keep going: report every unsupported construct at once
  for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
    ok &= genNode(id);
  return ok;
}

bool MLIRGenImpl::genForward() {
  auto fn = beginFunction(m.name, rnn::attrs::kEntry, Mode::Forward);
  if (!genNodes())
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
  // Dropout in a decoder body would need a fresh mask at every step, which
  // the body cannot draw: rather than train a different network, the program
  // gets no gradient (it still runs inference, where dropout is the identity).
  for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
    if (m.nodes[id].layer == Layer::Dropout && m.nodes[id].rate > 0 && inDecoderBody(id)) {
      diag.warning(m.nodes[id].loc,
                   "training is not supported with dropout inside a decoder body (its mask would "
                   "have to change from step to step): the program runs inference only");
      return true;
    }
  auto fn = beginFunction(m.name + "_loss", rnn::attrs::kLossEntry, Mode::Loss);
  if (!genNodes())
    return false;
  Value total = genTotalLoss();
  if (!total)
    return false;
  auto attrs = builder.getDictionaryAttr(
      {builder.getNamedAttr(rnn::attrs::kOutput, builder.getStringAttr("loss")),
       builder.getNamedAttr(rnn::attrs::kDims, builder.getArrayAttr({}))});
  finishFunction(fn, {total}, {attrs}, loc(m.losses.front().loc));
  return true;
}

Value MLIRGenImpl::genTotalLoss() {
  Value total;
  for (const Loss &ls : m.losses) {
    mlir::Location l = loc(ls.loc);
    int tid = -1;
    for (int id = 0; id < static_cast<int>(m.nodes.size()); ++id)
      if (m.nodes[id].layer == Layer::Input && m.nodes[id].name == ls.target &&
          !llvm::is_contained(m.inputs, id))
        tid = id;
    if (!values.count(ls.pred.node) || tid < 0)
      return unsupported(ls.loc, "this loss"), Value();
    auto scalar = mlir::RankedTensorType::get({}, builder.getF32Type());
    Value target = values[tid][0];
    Value v;
    if (ls.kind == "mse") {
      v = rnn::MSEOp::create(builder, l, scalar, get(ls.pred), target);
    } else {
      // Weights: the given ones, or a 0/1 mask of the steps inside each row's
      // length (a lengths input, or the mask_zero padding reaching the logits).
      auto tgtTy = mlir::cast<mlir::RankedTensorType>(target.getType());
      Value lengths, w;
      if (ls.weights && m.typeOf(*ls.weights).kind == VType::Lengths)
        lengths = get(*ls.weights);
      else if (ls.weights)
        w = get(*ls.weights);
      else if (int src = maskSource(ls.pred); tgtTy.getRank() == 2 && src >= 0 && maskLengths.count(src))
        lengths = maskLengths[src];
      if (lengths)
        w = rnn::StepMaskOp::create(
            builder, l, mlir::RankedTensorType::get(tgtTy.getShape(), builder.getF32Type()), lengths,
            target);
      v = rnn::CrossEntropyOp::create(builder, l, scalar, get(ls.pred), target, w);
    }
    if (!total) {
      total = v;
      continue;
    }
    // Several losses add up.
    Value out = mlir::tensor::EmptyOp::create(builder, l, scalar, mlir::ValueRange{});
    total = mlir::linalg::AddOp::create(builder, l, mlir::ValueRange{total, v}, mlir::ValueRange{out})
                .getResult(0);
  }
  return total;
}

std::string MLIRGenImpl::truncBlocker() const {
  auto isSeq = [&](const VType &t) {
    return t.shape.size() >= 2 && !t.shape[1].isStatic() &&
           t.shape[1].sym == m.nodes[m.inputs[0]].results[0].shape[1].sym;
  };
  for (int id : m.inputs)
    if (!isSeq(m.nodes[id].results[0]))
      return "input '" + m.nodes[id].name + "' is not a [B, T, ...] sequence";
  for (const Target &t : m.targets)
    if (!isSeq(t.type))
      return "target '" + t.name + "' is not a per-step [B, T, ...] sequence";
  if (std::string why = stepwiseBlocker(); !why.empty())
    return why;
  for (const Node &n : m.nodes)
    if (n.layer == Layer::Embedding && n.maskZero)
      return "embedding '" + n.name + "' pads with mask_zero";
  if (llvm::none_of(m.nodes, [](const Node &n) { return n.layer == Layer::Recurrent; }))
    return "it has no recurrent layer";
  return "";
}

std::string MLIRGenImpl::stepwiseBlocker() const {
  for (const Node &n : m.nodes) {
    if (n.layer == Layer::Recurrent) {
      if (n.direction != Direction::Forward || !n.returnSequences)
        return "recurrent layer '" + n.name + "' is not a forward layer returning its sequence";
      if (n.lengths || !n.initialState.empty())
        return "recurrent layer '" + n.name + "' has lengths= or a computed initial state";
    }
    if (n.layer == Layer::Decoder || n.layer == Layer::Attention || n.layer == Layer::Last ||
        n.layer == Layer::Cell)
      return "layer '" + n.name + "' looks beyond one step";
  }
  return "";
}

void MLIRGenImpl::appendStateResults(llvm::SmallVectorImpl<Value> &results,
                                     llvm::SmallVectorImpl<mlir::DictionaryAttr> &resAttrs) {
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
}

bool MLIRGenImpl::genLossState() {
  auto fn = beginFunction(m.name + "_loss_state", rnn::attrs::kLossStateEntry, Mode::LossState);
  if (!genNodes())
    return false;
  Value total = genTotalLoss();
  if (!total)
    return false;
  llvm::SmallVector<Value> results = {total};
  llvm::SmallVector<mlir::DictionaryAttr> resAttrs = {builder.getDictionaryAttr(
      {builder.getNamedAttr(rnn::attrs::kOutput, builder.getStringAttr("loss")),
       builder.getNamedAttr(rnn::attrs::kDims, builder.getArrayAttr({}))})};
  appendStateResults(results, resAttrs);
  finishFunction(fn, results, resAttrs, loc(m.losses.front().loc));
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
  return stepwiseBlocker();
}

bool MLIRGenImpl::genStep() {
  auto fn = beginFunction(m.name + "_step", rnn::attrs::kStepEntry, Mode::Step);
  if (!genNodes())
    return false;
  llvm::SmallVector<Value> results;
  llvm::SmallVector<mlir::DictionaryAttr> resAttrs;
  for (const Output &o : m.outputs) {
    if (!values.count(o.value.node))
      return true;
    results.push_back(get(o.value));
    resAttrs.push_back(outputAttrs(o));
  }
  appendStateResults(results, resAttrs);
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
    // A float target that weighs a loss's positions: given with the targets,
    // never predicted (the trainer scores the other target).
    if (t.type.kind == VType::F32 && llvm::any_of(m.losses, [&](const Loss &ls) {
          return ls.weights && m.nodes[ls.weights->node].name == t.name;
        }))
      a.push_back(builder.getNamedAttr("role", builder.getStringAttr("weights")));
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
  // Truncated BPTT (bptt=truncate(...) or budget(...)): the loss with states.
  for (auto &[k, v] : m.train)
    if (k == "bptt" && v != "full" && !m.losses.empty()) {
      if (std::string why = truncBlocker(); !why.empty()) {
        diag.error(m.bpttLoc, "truncated back-propagation needs a model that can run in "
                              "windows of steps, but " + why);
        return nullptr;
      }
      if (!genLossState())
        return nullptr;
    }

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
