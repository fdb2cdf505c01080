//===- HoistWeightGradients.cpp - Weight gradients as one GEMM over B x T ---===//
//
// The adjoint recurrence built by rnn-bptt sums each weight's gradient over
// the steps as carried state: `dW += dy_t^T x_t` every step, a [B]-deep
// contraction that reads and writes the whole of dW per step. This pass
// makes the loop output dy_t as a sequence instead and computes
// `dW = sum over (b, t) of dy^T x` once after the loop: one GEMM with a
// B*T-deep reduction over sequences (x_t is usually a saved state already
// read as a sequence), as cuDNN and oneDNN do.
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNHOISTWEIGHTGRADIENTSPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

/// A dense_grad in the body whose weight/bias adjoints only feed carried
/// accumulators `acc + d` yielded as the next value of that state.
struct Candidate {
  DenseGradOp grad;
  unsigned wState;               // state index of the weight accumulator
  std::optional<unsigned> bState; // and of the bias accumulator, if any
  linalg::AddOp wAdd, bAdd;
};

/// If `v` is used once, by `acc + v` (linalg.add) with `acc` a state argument
/// used only there, and the sum is that state's next value: the state index.
std::optional<unsigned> accumulatedState(RecurrenceOp rec, Value v, linalg::AddOp &addOut) {
  if (!v.hasOneUse())
    return std::nullopt;
  auto add = dyn_cast<linalg::AddOp>(*v.getUsers().begin());
  if (!add || add->getBlock() != &rec.getBody().front() || !add.hasPureTensorSemantics() ||
      !add->getResult(0).hasOneUse())
    return std::nullopt;
  Value other = add.getInputs()[0] == v ? add.getInputs()[1] : add.getInputs()[0];
  auto stateArgs = rec.getStateArgs();
  auto arg = dyn_cast<BlockArgument>(other);
  if (!arg || arg.getOwner() != &rec.getBody().front() ||
      arg.getArgNumber() < rec.getInputs().size() || !arg.hasOneUse())
    return std::nullopt;
  unsigned s = arg.getArgNumber() - rec.getInputs().size();
  auto yield = cast<YieldOp>(rec.getBody().front().getTerminator());
  OpOperand &use = *add->getResult(0).getUses().begin();
  if (use.getOwner() != yield || use.getOperandNumber() != rec.getNumOutputs() + s ||
      s >= stateArgs.size())
    return std::nullopt;
  addOut = add;
  return s;
}

void hoist(RecurrenceOp rec) {
  if (rec.getInputs().empty())
    return;
  Block &body = rec.getBody().front();
  SmallVector<Candidate> cands;
  for (auto g : body.getOps<DenseGradOp>()) {
    if (rec.getBody().isAncestor(g.getWeight().getParentRegion()))
      continue; // not loop-invariant
    Candidate c{g, 0, std::nullopt, {}, {}};
    auto w = accumulatedState(rec, g.getDweight(), c.wAdd);
    if (!w)
      continue;
    c.wState = *w;
    if (!g.getDbias().use_empty()) {
      auto bs = accumulatedState(rec, g.getDbias(), c.bAdd);
      if (!bs)
        continue;
      c.bState = *bs;
    }
    cands.push_back(c);
  }
  if (cands.empty())
    return;

  // The sequences the hoisted contractions read: step inputs are read as
  // their input sequence; other values become new per-step outputs.
  auto seqTy = cast<RankedTensorType>(rec.getInputs().front().getType());
  unsigned numIn = rec.getInputs().size(), numOut = rec.getNumOutputs();
  auto yield = cast<YieldOp>(body.getTerminator());
  SmallVector<Value> newOutVals;
  SmallVector<Type> newOutTypes;
  // For each candidate: (isInput, index) of dy and of x.
  SmallVector<std::pair<std::pair<bool, unsigned>, std::pair<bool, unsigned>>> where;
  auto place = [&](Value v) -> std::pair<bool, unsigned> {
    if (auto arg = dyn_cast<BlockArgument>(v))
      if (arg.getOwner() == &body && arg.getArgNumber() < numIn)
        return {true, arg.getArgNumber()};
    for (auto [i, o] : llvm::enumerate(newOutVals))
      if (o == v)
        return {false, static_cast<unsigned>(i)};
    newOutVals.push_back(v);
    newOutTypes.push_back(sequenceOf(cast<RankedTensorType>(v.getType()), seqTy));
    return {false, static_cast<unsigned>(newOutVals.size() - 1)};
  };
  for (Candidate &c : cands)
    where.push_back({place(c.grad.getDy()), place(c.grad.getX())});

  // The accumulators now pass through unchanged.
  SmallVector<Value> yields(yield.getValues().take_front(numOut));
  yields.append(newOutVals);
  SmallVector<Value> stateYields(yield.getValues().drop_front(numOut));
  for (Candidate &c : cands) {
    stateYields[c.wState] = rec.getStateArgs()[c.wState];
    if (c.bState)
      stateYields[*c.bState] = rec.getStateArgs()[*c.bState];
  }
  yields.append(stateYields);

  OpBuilder b(rec);
  SmallVector<Type> types(rec.getOutputs().getTypes());
  types.append(newOutTypes);
  types.append(rec.getFinalStates().getTypes().begin(), rec.getFinalStates().getTypes().end());
  auto next = RecurrenceOp::create(b, rec.getLoc(), types, rec.getInputs(), rec.getInit(),
                                   rec.getLengths(), rec.getReverse());
  next.getBody().takeBody(rec.getBody());
  yield->setOperands(yields);
  for (Candidate &c : cands) {
    c.wAdd.erase();
    if (c.bState)
      c.bAdd.erase();
  }

  unsigned numNew = newOutVals.size();
  for (unsigned o = 0; o < numOut; ++o)
    rec.getResult(o).replaceAllUsesWith(next.getResult(o));
  for (unsigned s = 0; s < rec.getFinalStates().size(); ++s)
    rec.getFinalStates()[s].replaceAllUsesWith(next.getResult(numOut + numNew + s));

  // After the loop: one dense_grad over the sequences per candidate, added to
  // the (pass-through) accumulators' final values.
  b.setInsertionPointAfter(next);
  for (auto [c, w] : llvm::zip(cands, where)) {
    auto seqOf = [&](std::pair<bool, unsigned> p) -> Value {
      return p.first ? next.getInputs()[p.second] : next.getResult(numOut + p.second);
    };
    Value dySeq = seqOf(w.first), xSeq = seqOf(w.second);
    Location loc = c.grad.getLoc();
    auto g = DenseGradOp::create(b, loc, TypeRange{xSeq.getType(), c.grad.getDweight().getType(),
                                                   c.grad.getDbias().getType()},
                                 dySeq, xSeq, c.grad.getWeight());
    auto addTo = [&](unsigned s, Value d) {
      Value fin = next.getResult(numOut + numNew + s);
      SmallVector<OpOperand *> uses;
      for (OpOperand &u : fin.getUses())
        uses.push_back(&u);
      Value sum = addTensors(b, loc, fin, d);
      for (OpOperand *u : uses)
        u->set(sum);
    };
    addTo(c.wState, g.getDweight());
    if (c.bState)
      addTo(*c.bState, g.getDbias());
  }
  rec.erase();
}

struct RNNHoistWeightGradientsPass
    : mlir::rnn::impl::RNNHoistWeightGradientsPassBase<RNNHoistWeightGradientsPass> {
  void runOnOperation() override {
    SmallVector<RecurrenceOp> recs;
    getOperation()->walk([&](RecurrenceOp r) { recs.push_back(r); });
    for (RecurrenceOp r : recs)
      hoist(r);
  }
};

} // namespace
