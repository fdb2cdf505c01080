//===- RNNOps.cpp - Verifiers and helpers of the rnn ops -------------------===//
//
// Shape and attribute checks that ODS constraints cannot express. Every
// message names the operand and the expected shape.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::rnn;

#include "rnn/IR/RNNEnums.cpp.inc"

#define GET_OP_CLASSES
#include "rnn/IR/RNNOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Prints a shape as `[?, ?, 5]`.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return s;
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// True when two dimension sizes can be equal at run time.
static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static bool shapesCompatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip(a, b))
    if (!dimsCompatible(x, y))
      return false;
  return true;
}

/// Checks that `v` has exactly the (possibly partly dynamic) shape `expected`.
static LogicalResult expectShape(Operation *op, Value v, StringRef what,
                                 ArrayRef<int64_t> expected) {
  if (shapesCompatible(shapeOf(v), expected))
    return success();
  return op->emitOpError() << what << " has shape " << shapeStr(shapeOf(v))
                           << ", expected " << shapeStr(expected);
}

/// Checks that `v` has a static shape equal to `expected`.
static LogicalResult expectStaticShape(Operation *op, Value v, StringRef what,
                                       ArrayRef<int64_t> expected) {
  if (shapeOf(v) == expected)
    return success();
  return op->emitOpError() << what << " has shape " << shapeStr(shapeOf(v))
                           << ", expected " << shapeStr(expected);
}

//===----------------------------------------------------------------------===//
// Layer-level ops
//===----------------------------------------------------------------------===//

LogicalResult OneHotOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getTokens()), out = shapeOf(getResult());
  if (out.size() != in.size() + 1)
    return emitOpError() << "result must have rank " << in.size() + 1
                         << " (token shape plus a class axis), got " << out.size();
  if (ShapedType::isDynamic(out.back()))
    return emitOpError("result class axis must be static");
  SmallVector<int64_t> expected(in);
  expected.push_back(out.back());
  return expectShape(*this, getResult(), "result", expected);
}

LogicalResult EmbeddingOp::verify() {
  ArrayRef<int64_t> table = shapeOf(getTable());
  if (table.size() != 2 || ShapedType::isDynamic(table[0]) ||
      ShapedType::isDynamic(table[1]))
    return emitOpError() << "table must be a static [vocab, dim] matrix, got "
                         << shapeStr(table);
  SmallVector<int64_t> expected(shapeOf(getTokens()));
  expected.push_back(table[1]);
  return expectShape(*this, getResult(), "result", expected);
}

LogicalResult SequenceLengthsOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getTokens());
  if (in.size() != 2)
    return emitOpError() << "tokens must be [B, T], got " << shapeStr(in);
  return expectShape(*this, getLengths(), "lengths", {in[0]});
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0 && rate < 1))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  int64_t rank = cast<RankedTensorType>(getInput().getType()).getRank();
  if (!getOffsets().empty() && static_cast<int64_t>(getOffsets().size()) != rank)
    return emitOpError() << "needs no offsets or one per dimension of the input (" << rank << "), got "
                         << getOffsets().size();
  return expectShape(*this, getRng(), "rng", {2});
}

LogicalResult LastStepOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() != 3)
    return emitOpError() << "input must be a [B, T, F] sequence, got " << shapeStr(in);
  if (getLengths() && failed(expectShape(*this, getLengths(), "lengths", {in[0]})))
    return failure();
  return expectShape(*this, getResult(), "result", {in[0], in[2]});
}

/// Checks the operands of rnn.attention (and of its adjoint) and computes the
/// shapes of the context and the scores.
static LogicalResult verifyAttentionOperands(Operation *op, AttentionKind kind, Value query,
                                             Value keys, Value lengths, ValueRange weights,
                                             SmallVectorImpl<int64_t> &ctx,
                                             SmallVectorImpl<int64_t> &scores) {
  ArrayRef<int64_t> q = shapeOf(query), k = shapeOf(keys);
  if (q.size() != 2 && q.size() != 3)
    return op->emitOpError() << "query must be [B, H] or [B, T, H], got " << shapeStr(q);
  if (k.size() != 3 || ShapedType::isDynamic(k[2]))
    return op->emitOpError() << "keys must be [B, S, H] with static H, got " << shapeStr(k);
  if (ShapedType::isDynamic(q.back()))
    return op->emitOpError("query feature axis must be static");
  if (!dimsCompatible(q[0], k[0]))
    return op->emitOpError("query and keys must have the same batch size");
  int64_t hq = q.back(), hk = k[2];
  switch (kind) {
  case AttentionKind::dot:
    if (!weights.empty())
      return op->emitOpError("dot attention takes no weights");
    if (hq != hk)
      return op->emitOpError() << "dot attention needs equal query and key sizes, got " << hq
                               << " and " << hk;
    break;
  case AttentionKind::general:
    if (weights.size() != 1)
      return op->emitOpError("general attention takes one weight [Hq, Hk]");
    if (failed(expectStaticShape(op, weights[0], "weight", {hq, hk})))
      return failure();
    break;
  case AttentionKind::additive: {
    if (weights.size() != 3)
      return op->emitOpError(
          "additive attention takes three weights: query [A, Hq], key [A, Hk], v [1, A]");
    ArrayRef<int64_t> wq = shapeOf(weights[0]);
    int64_t a = wq.empty() ? 0 : wq[0];
    if (failed(expectStaticShape(op, weights[0], "query weight", {a, hq})) ||
        failed(expectStaticShape(op, weights[1], "key weight", {a, hk})) ||
        failed(expectStaticShape(op, weights[2], "v weight", {1, a})))
      return failure();
    break;
  }
  }
  if (lengths && failed(expectShape(op, lengths, "lengths", {k[0]})))
    return failure();
  ctx.assign(q.begin(), q.end());
  scores.assign(q.begin(), q.end());
  ctx.back() = hk;
  scores.back() = k[1];
  return success();
}

LogicalResult AttentionOp::verify() {
  SmallVector<int64_t> ctx, scores;
  if (failed(verifyAttentionOperands(*this, getKind(), getQuery(), getKeys(), getLengths(),
                                     getWeights(), ctx, scores)) ||
      failed(expectShape(*this, getContextVector(), "context", ctx)))
    return failure();
  return expectShape(*this, getScores(), "scores", scores);
}

int64_t RecurrentOp::getNumGates() {
  switch (getCell()) {
  case CellKind::rnn:
    return 1;
  case CellKind::lstm:
    return 4;
  case CellKind::gru:
    return 3;
  }
  llvm_unreachable("unknown cell kind");
}

int64_t RecurrentOp::getNumDirections() {
  return getDirection() == Direction::bidirectional ? 2 : 1;
}

int64_t RecurrentOp::getNumStates() {
  return getCell() == CellKind::lstm ? 2 : 1;
}

LogicalResult RecurrentOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() != 3)
    return emitOpError() << "input must be a [B, T, F] sequence, got "
                         << shapeStr(in);
  if (ShapedType::isDynamic(in[2]))
    return emitOpError("input feature axis must be static");
  if (getCell() != CellKind::rnn && getActivation() != Activation::tanh)
    return emitOpError("activation applies to rnn cells only");
  if (getCell() == CellKind::rnn && getActivation() != Activation::tanh &&
      getActivation() != Activation::relu)
    return emitOpError("rnn cell activation must be tanh or relu");

  int64_t h = getHidden(), gates = getNumGates() * h, dirs = getNumDirections();
  int64_t layers = getLayers();
  int64_t expectedWeights = 4 * layers * dirs;
  if (static_cast<int64_t>(getWeights().size()) != expectedWeights)
    return emitOpError() << "expects " << expectedWeights
                         << " weights (weight_ih, weight_hh, bias_ih, bias_hh for "
                         << layers << " layer(s) x " << dirs
                         << " direction(s)), got " << getWeights().size();
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t d = 0; d < dirs; ++d) {
      std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      unsigned base = 4 * (l * dirs + d);
      int64_t inDim = l == 0 ? in[2] : dirs * h;
      if (failed(expectStaticShape(*this, getWeights()[base], "weight_ih" + sfx,
                                   {gates, inDim})) ||
          failed(expectStaticShape(*this, getWeights()[base + 1],
                                   "weight_hh" + sfx, {gates, h})) ||
          failed(expectStaticShape(*this, getWeights()[base + 2],
                                   "bias_ih" + sfx, {gates})) ||
          failed(expectStaticShape(*this, getWeights()[base + 3],
                                   "bias_hh" + sfx, {gates})))
        return failure();
    }
  }

  if (getLengths() &&
      failed(expectShape(*this, getLengths(), "lengths", {in[0]})))
    return failure();
  SmallVector<int64_t> stateShape = {layers * dirs, in[0], h};
  if (!getInitialStates().empty()) {
    if (static_cast<int64_t>(getInitialStates().size()) != getNumStates())
      return emitOpError() << "expects " << getNumStates()
                           << " initial state(s), got "
                           << getInitialStates().size();
    for (Value s : getInitialStates())
      if (failed(expectShape(*this, s, "initial state", stateShape)))
        return failure();
  }

  SmallVector<int64_t> outShape =
      getReturnSequences() ? SmallVector<int64_t>{in[0], in[1], dirs * h}
                           : SmallVector<int64_t>{in[0], dirs * h};
  if (failed(expectShape(*this, getOutput(), "output", outShape)))
    return failure();
  if (static_cast<int64_t>(getFinalStates().size()) != getNumStates())
    return emitOpError() << "expects " << getNumStates()
                         << " final state result(s), got "
                         << getFinalStates().size();
  for (Value s : getFinalStates())
    if (failed(expectShape(*this, s, "final state", stateShape)))
      return failure();
  return success();
}

LogicalResult DenseOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  if (in.empty())
    return emitOpError("input must have at least one axis");
  if (w.size() != 2 || ShapedType::isDynamic(w[0]) || ShapedType::isDynamic(w[1]))
    return emitOpError() << "weight must be a static [units, in] matrix, got "
                         << shapeStr(w);
  if (!dimsCompatible(in.back(), w[1]))
    return emitOpError() << "input feature size " << in.back()
                         << " does not match weight " << shapeStr(w);
  if (getBias() &&
      failed(expectStaticShape(*this, getBias(), "bias", {w[0]})))
    return failure();
  SmallVector<int64_t> expected(in);
  expected.back() = w[0];
  return expectShape(*this, getResult(), "result", expected);
}

LogicalResult CrossEntropyOp::verify() {
  ArrayRef<int64_t> logits = shapeOf(getLogits()), tgt = shapeOf(getTarget());
  if (logits.size() != tgt.size() + 1 ||
      !shapesCompatible(logits.drop_back(), tgt))
    return emitOpError() << "target " << shapeStr(tgt)
                         << " does not fit logits " << shapeStr(logits)
                         << " (expected the logits' shape without the class axis)";
  if (getWeights() && failed(expectShape(*this, getWeights(), "weights", tgt)))
    return failure();
  return success();
}

LogicalResult MSEOp::verify() {
  if (!shapesCompatible(shapeOf(getPred()), shapeOf(getTarget())))
    return emitOpError() << "target " << shapeStr(shapeOf(getTarget()))
                         << " does not fit prediction "
                         << shapeStr(shapeOf(getPred()));
  return success();
}

//===----------------------------------------------------------------------===//
// Cell-level ops
//===----------------------------------------------------------------------===//

/// The shape of one time step of a `[B, T, ...]` sequence: `[B, ...]`.
static SmallVector<int64_t> stepShape(ArrayRef<int64_t> seq) {
  SmallVector<int64_t> s(seq);
  s.erase(s.begin() + 1);
  return s;
}

LogicalResult RecurrenceOp::verify() {
  if (getInputs().empty())
    return emitOpError("expects at least one input sequence");
  ArrayRef<int64_t> first = shapeOf(getInputs().front());
  for (Value in : getInputs()) {
    ArrayRef<int64_t> s = shapeOf(in);
    if (s.size() < 2)
      return emitOpError() << "input sequences must be [B, T, ...], got "
                           << shapeStr(s);
    if (!dimsCompatible(s[0], first[0]) || !dimsCompatible(s[1], first[1]))
      return emitOpError("input sequences must agree on batch and time sizes");
  }
  if (getLengths() &&
      failed(expectShape(*this, getLengths(), "lengths", {first[0]})))
    return failure();
  return success();
}

LogicalResult RecurrenceOp::verifyRegions() {
  Block &body = getBody().front();
  unsigned numIn = getInputs().size(), numState = getInit().size();
  if (body.getNumArguments() != numIn + numState)
    return emitOpError() << "body must take " << numIn + numState
                         << " arguments (one step of each input, then the states), got "
                         << body.getNumArguments();
  for (auto [i, in] : llvm::enumerate(getInputs())) {
    auto argTy = dyn_cast<RankedTensorType>(body.getArgument(i).getType());
    if (!argTy || !shapesCompatible(argTy.getShape(), stepShape(shapeOf(in))))
      return emitOpError() << "body argument #" << i
                           << " must be one step of input #" << i << " ("
                           << shapeStr(stepShape(shapeOf(in))) << ")";
  }
  for (auto [i, s] : llvm::enumerate(getInit()))
    if (body.getArgument(numIn + i).getType() != s.getType())
      return emitOpError() << "body argument #" << numIn + i
                           << " must have the type of init #" << i;
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with rnn.yield");
  if (yield.getValues().size() < numState)
    return emitOpError() << "rnn.yield must end with the " << numState
                         << " next state(s)";
  unsigned numOut = yield.getValues().size() - numState;
  if (getResults().size() != numOut + numState)
    return emitOpError() << "expects " << numOut + numState
                         << " results (" << numOut << " sequence(s), " << numState
                         << " final state(s)), got " << getResults().size();
  for (unsigned i = 0; i < numState; ++i) {
    Type t = yield.getValues()[numOut + i].getType();
    if (t != getInit()[i].getType())
      return yield.emitOpError() << "next state #" << i
                                 << " must have the type of init #" << i;
    if (getFinalStates()[i].getType() != t)
      return emitOpError() << "final state #" << i
                           << " must have the type of init #" << i;
  }
  for (unsigned i = 0; i < numOut; ++i) {
    auto stepTy = dyn_cast<RankedTensorType>(yield.getValues()[i].getType());
    if (!stepTy || stepTy.getRank() < 1)
      return yield.emitOpError() << "per-step output #" << i
                                 << " must be a ranked tensor [B, ...]";
    SmallVector<int64_t> expected(stepTy.getShape());
    expected.insert(expected.begin() + 1, shapeOf(getInputs().front())[1]);
    if (failed(expectShape(*this, getOutputs()[i],
                           "sequence result #" + std::to_string(i), expected)))
      return failure();
  }
  return success();
}

LogicalResult DecodeOp::verifyRegions() {
  Block &body = getBody().front();
  unsigned numState = getInit().size();
  if (numState == 0)
    return emitOpError("expects at least one carried state (it gives the batch size)");
  if (body.getNumArguments() != numState + 1)
    return emitOpError() << "body must take " << numState + 1
                         << " arguments (the previous tokens, then the states), got "
                         << body.getNumArguments();
  auto prevTy = dyn_cast<RankedTensorType>(body.getArgument(0).getType());
  if (!prevTy || prevTy.getRank() != 1 || !prevTy.getElementType().isInteger(32))
    return emitOpError("body argument #0 must be the previous token ids, tensor<?xi32>");
  for (auto [i, s] : llvm::enumerate(getInit()))
    if (body.getArgument(1 + i).getType() != s.getType())
      return emitOpError() << "body argument #" << 1 + i << " must have the type of init #" << i;
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() < numState + 1)
    return emitOpError("body must yield the step's scores, any other outputs, then the states");
  unsigned numOut = yield.getValues().size() - numState;
  if (getResults().size() != numOut + numState)
    return emitOpError() << "expects " << numOut + numState << " results, got "
                         << getResults().size();
  auto scoresTy = dyn_cast<RankedTensorType>(yield.getValues()[0].getType());
  if (!scoresTy || scoresTy.getRank() != 2 || ShapedType::isDynamic(scoresTy.getDimSize(1)))
    return yield.emitOpError("the first per-step output must be the scores [B, V] with static V");
  int64_t vocab = scoresTy.getDimSize(1);
  auto start = static_cast<int64_t>(getStart()), end = static_cast<int64_t>(getEnd());
  if (start < 0 || start >= vocab || end < 0 || end >= vocab)
    return emitOpError() << "start and end tokens must be in [0, " << vocab << ")";
  if (getTeacher() && shapeOf(getTeacher()).size() != 2)
    return emitOpError("teacher must be the target token sequence [B, T]");
  for (unsigned i = 0; i < numState; ++i)
    if (yield.getValues()[numOut + i].getType() != getInit()[i].getType() ||
        getFinalStates()[i].getType() != getInit()[i].getType())
      return emitOpError() << "next and final state #" << i << " must have the type of init #" << i;
  for (unsigned i = 0; i < numOut; ++i) {
    auto stepTy = cast<RankedTensorType>(yield.getValues()[i].getType());
    SmallVector<int64_t> expected(stepTy.getShape());
    expected.insert(expected.begin() + 1, ShapedType::kDynamic);
    if (failed(expectShape(*this, getOutputs()[i], "sequence result #" + std::to_string(i), expected)))
      return failure();
  }
  return success();
}

LogicalResult LSTMGatesOp::verify() {
  if (getGx().getType() != getGh().getType())
    return emitOpError("gx and gh must have the same type");
  ArrayRef<int64_t> c = shapeOf(getC());
  if (c.size() != 2 || ShapedType::isDynamic(c[1]))
    return emitOpError() << "cell state must be [B, H] with static H, got "
                         << shapeStr(c);
  return expectShape(*this, getGx(), "gx", {c[0], 4 * c[1]});
}

LogicalResult GRUGatesOp::verify() {
  if (getGx().getType() != getGh().getType())
    return emitOpError("gx and gh must have the same type");
  ArrayRef<int64_t> h = shapeOf(getH());
  if (h.size() != 2 || ShapedType::isDynamic(h[1]))
    return emitOpError() << "hidden state must be [B, H] with static H, got "
                         << shapeStr(h);
  return expectShape(*this, getGx(), "gx", {h[0], 3 * h[1]});
}

//===----------------------------------------------------------------------===//
// Adjoint ops
//===----------------------------------------------------------------------===//

LogicalResult DenseGradOp::verify() {
  ArrayRef<int64_t> dy = shapeOf(getDy()), x = shapeOf(getX()), w = shapeOf(getWeight());
  if (w.size() != 2 || ShapedType::isDynamic(w[0]) || ShapedType::isDynamic(w[1]))
    return emitOpError() << "weight must be a static [units, in] matrix, got " << shapeStr(w);
  SmallVector<int64_t> expectDy(x);
  if (expectDy.empty())
    return emitOpError("x must have at least one axis");
  expectDy.back() = w[0];
  if (failed(expectShape(*this, getDy(), "dy", expectDy)) ||
      failed(expectShape(*this, getDx(), "dx", x)) ||
      failed(expectStaticShape(*this, getDweight(), "dweight", w)) ||
      failed(expectStaticShape(*this, getDbias(), "dbias", {w[0]})))
    return failure();
  (void)dy;
  return success();
}

LogicalResult LSTMGatesGradOp::verify() {
  ArrayRef<int64_t> c = shapeOf(getC());
  if (c.size() != 2 || ShapedType::isDynamic(c[1]))
    return emitOpError() << "cell state must be [B, H] with static H, got " << shapeStr(c);
  return expectShape(*this, getGx(), "gx", {c[0], 4 * c[1]});
}

LogicalResult GRUGatesGradOp::verify() {
  ArrayRef<int64_t> h = shapeOf(getH());
  if (h.size() != 2 || ShapedType::isDynamic(h[1]))
    return emitOpError() << "hidden state must be [B, H] with static H, got " << shapeStr(h);
  return expectShape(*this, getGx(), "gx", {h[0], 3 * h[1]});
}

LogicalResult EmbeddingGradOp::verify() {
  ArrayRef<int64_t> tok = shapeOf(getTokens()), t = shapeOf(getDtable());
  if (t.size() != 2 || ShapedType::isDynamic(t[0]) || ShapedType::isDynamic(t[1]))
    return emitOpError() << "table adjoint must be a static [vocab, dim] matrix, got "
                         << shapeStr(t);
  SmallVector<int64_t> expected(tok);
  expected.push_back(t[1]);
  return expectShape(*this, getDy(), "dy", expected);
}

LogicalResult LastStepGradOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getLike());
  if (in.size() != 3)
    return emitOpError() << "like must be a [B, T, F] sequence, got " << shapeStr(in);
  if (getLengths() && failed(expectShape(*this, getLengths(), "lengths", {in[0]})))
    return failure();
  if (getDx().getType() != getLike().getType())
    return emitOpError("dx must have the type of like");
  return expectShape(*this, getDy(), "dy", {in[0], in[2]});
}

LogicalResult AttentionGradOp::verify() {
  SmallVector<int64_t> ctx, scores;
  if (failed(verifyAttentionOperands(*this, getKind(), getQuery(), getKeys(), getLengths(),
                                     getWeights(), ctx, scores)) ||
      failed(expectShape(*this, getDcontext(), "dcontext", ctx)) ||
      failed(expectShape(*this, getDscores(), "dscores", scores)))
    return failure();
  if (getDquery().getType() != getQuery().getType() || getDkeys().getType() != getKeys().getType())
    return emitOpError("dquery and dkeys must have the types of query and keys");
  if (getDweights().getTypes() != getWeights().getTypes())
    return emitOpError("dweights must have the types of the weights");
  return success();
}

//===----------------------------------------------------------------------===//
// ParallelOp
//===----------------------------------------------------------------------===//

LogicalResult ParallelOp::verifyRegions() {
  Region &body = getBody();
  if (body.empty())
    return emitOpError("expects a non-empty region");
  Block &entry = body.front();
  Type i64 = IntegerType::get(getContext(), 64);
  if (entry.getNumArguments() != 2 || entry.getArgument(0).getType() != i64 ||
      entry.getArgument(1).getType() != i64)
    return emitOpError("region must take (thread index: i64, thread count: i64)");
  return success();
}
