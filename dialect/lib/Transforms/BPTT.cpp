//===- BPTT.cpp - Back-propagation through time as a pass -------------------===//
//
// Builds the gradient function of each loss function: reverse-mode
// differentiation over the cell-level rnn IR, with the recurrence's adjoint a
// recurrence that runs backwards in time (see Passes.td for the contract).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNBPTTPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// Activity analysis
//===----------------------------------------------------------------------===//

/// Values that depend on the parameters (only they get adjoints).
struct Activity {
  DenseSet<Value> active;

  bool isActive(Value v) const { return active.contains(v); }

  void propagate(Block &block) {
    for (Operation &op : block) {
      bool act = llvm::any_of(op.getOperands(), [&](Value v) { return isActive(v); });
      if (op.getNumRegions()) {
        op.walk([&](Operation *inner) {
          for (Value v : inner->getOperands())
            act |= isActive(v);
        });
        if (auto rec = dyn_cast<RecurrenceOp>(op)) {
          Block &body = rec.getBody().front();
          for (auto [in, arg] : llvm::zip(rec.getInputs(), rec.getStepInputArgs()))
            if (isActive(in))
              active.insert(arg);
          if (act)
            for (Value a : rec.getStateArgs())
              active.insert(a);
          propagate(body);
        }
      }
      if (act)
        for (Value r : op.getResults())
          active.insert(r);
    }
  }
};

//===----------------------------------------------------------------------===//
// Reverse-mode differentiation
//===----------------------------------------------------------------------===//

/// The saved-activation layout of a rewritten forward recurrence: its first
/// `numOutputs` sequences are the original per-step outputs, the next ones
/// the incoming states of every step, then the results of `projections`
/// (the body's `rnn.dense` ops, by position in the body) at every step, so
/// that the adjoint loop reads them instead of recomputing the GEMMs.
struct SavedStates {
  unsigned numOutputs = 0;
  SmallVector<unsigned> projections;
};

class Differentiator {
public:
  Differentiator(OpBuilder &b, const Activity &activity,
                 const DenseMap<Operation *, SavedStates> &saved)
      : b(b), activity(activity), saved(saved) {}

  /// Adds `d` to the adjoint of `v` (ignored for inactive values).
  void accumulate(Location loc, Value v, Value d) {
    if (auto it = aliases.find(v); it != aliases.end())
      v = it->second;
    if (!d || !activity.isActive(v))
      return;
    auto it = adj.find(v);
    if (it == adj.end())
      adj[v] = d;
    else
      it->second = addTensors(b, loc, it->second, d);
  }

  Value adjointOf(Value v) const { return adj.lookup(v); }

  /// The first op met without an adjoint rule (training is then unsupported).
  Operation *unsupported = nullptr;

  /// Adjoints reaching `saved` (a saved activation read in place of an op's
  /// result) belong to `result`, whose op then back-propagates them.
  void alias(Value saved, Value result) { aliases[saved] = result; }

  Value adjointOrZero(Location loc, Value v) {
    Value d = adjointOf(v);
    return d ? d : zerosLike(b, loc, v);
  }

  /// Applies the adjoint rules of `ops` in reverse order.
  LogicalResult backprop(ArrayRef<Operation *> ops) {
    for (Operation *op : llvm::reverse(ops)) {
      if (llvm::none_of(op->getResults(), [&](Value r) { return adj.contains(r); }))
        continue;
      if (failed(visit(op)))
        return failure();
    }
    return success();
  }

private:
  LogicalResult visit(Operation *op);
  LogicalResult visitRecurrence(RecurrenceOp rec);

  OpBuilder &b;
  const Activity &activity;
  const DenseMap<Operation *, SavedStates> &saved;
  DenseMap<Value, Value> adj;
  DenseMap<Value, Value> aliases;
};

LogicalResult Differentiator::visit(Operation *op) {
  Location loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<CrossEntropyOp>([&](CrossEntropyOp o) {
        Value d = CrossEntropyGradOp::create(b, loc, o.getLogits().getType(), o.getLogits(),
                                             o.getTarget(), adjointOf(o.getLoss()), o.getWeights());
        accumulate(loc, o.getLogits(), d);
        return success();
      })
      .Case<MSEOp>([&](MSEOp o) {
        Value d = MSEGradOp::create(b, loc, o.getPred().getType(), o.getPred(), o.getTarget(),
                                    adjointOf(o.getLoss()));
        accumulate(loc, o.getPred(), d);
        return success();
      })
      .Case<SoftmaxOp>([&](SoftmaxOp o) {
        Value d = SoftmaxGradOp::create(b, loc, o.getType(), o.getResult(), adjointOf(o.getResult()));
        accumulate(loc, o.getInput(), d);
        return success();
      })
      .Case<DenseOp>([&](DenseOp o) {
        Value dy = adjointOf(o.getResult());
        if (o.getActivation() != Activation::none)
          dy = ActivationGradOp::create(b, loc, o.getType(), o.getActivation(), o.getResult(), dy);
        auto wTy = cast<RankedTensorType>(o.getWeight().getType());
        auto dbTy = RankedTensorType::get({wTy.getDimSize(0)}, wTy.getElementType());
        auto g = DenseGradOp::create(b, loc, o.getInput().getType(), wTy, dbTy, dy, o.getInput(),
                                     o.getWeight());
        accumulate(loc, o.getInput(), g.getDx());
        accumulate(loc, o.getWeight(), g.getDweight());
        if (o.getBias())
          accumulate(loc, o.getBias(), g.getDbias());
        return success();
      })
      .Case<EmbeddingOp>([&](EmbeddingOp o) {
        Value d = EmbeddingGradOp::create(b, loc, o.getTable().getType(), o.getTokens(),
                                          adjointOf(o.getResult()), o.getPaddingIdxAttr());
        accumulate(loc, o.getTable(), d);
        return success();
      })
      .Case<RNNGatesOp>([&](RNNGatesOp o) {
        Value d = ActivationGradOp::create(b, loc, o.getType(), o.getActivation(), o.getH(),
                                           adjointOf(o.getH()));
        accumulate(loc, o.getGx(), d);
        accumulate(loc, o.getGh(), d);
        return success();
      })
      .Case<LSTMGatesOp>([&](LSTMGatesOp o) {
        auto g = LSTMGatesGradOp::create(b, loc, o.getGx().getType(), o.getC().getType(),
                                         o.getGx(), o.getGh(), o.getC(),
                                         adjointOrZero(loc, o.getHNext()),
                                         adjointOrZero(loc, o.getCNext()));
        accumulate(loc, o.getGx(), g.getDgates());
        accumulate(loc, o.getGh(), g.getDgates());
        accumulate(loc, o.getC(), g.getDcPrev());
        return success();
      })
      .Case<GRUGatesOp>([&](GRUGatesOp o) {
        auto g = GRUGatesGradOp::create(b, loc, o.getGx().getType(), o.getGx().getType(),
                                        o.getH().getType(), o.getGx(), o.getGh(), o.getH(),
                                        adjointOf(o.getHNext()));
        accumulate(loc, o.getGx(), g.getDgx());
        accumulate(loc, o.getGh(), g.getDgh());
        accumulate(loc, o.getH(), g.getDhPrev());
        return success();
      })
      .Case<tensor::InsertSliceOp>([&](tensor::InsertSliceOp o) {
        Value dr = adjointOf(o.getResult());
        Value dsrc = tensor::ExtractSliceOp::create(
            b, loc, cast<RankedTensorType>(o.getSource().getType()), dr, o.getMixedOffsets(),
            o.getMixedSizes(), o.getMixedStrides());
        accumulate(loc, o.getSource(), dsrc);
        if (activity.isActive(o.getDest())) {
          Value ddest = tensor::InsertSliceOp::create(b, loc, zerosLike(b, loc, o.getSource()), dr,
                                                      o.getMixedOffsets(), o.getMixedSizes(),
                                                      o.getMixedStrides());
          accumulate(loc, o.getDest(), ddest);
        }
        return success();
      })
      .Case<tensor::ExtractSliceOp>([&](tensor::ExtractSliceOp o) {
        Value d = tensor::InsertSliceOp::create(b, loc, adjointOf(o.getResult()),
                                                zerosLike(b, loc, o.getSource()),
                                                o.getMixedOffsets(), o.getMixedSizes(),
                                                o.getMixedStrides());
        accumulate(loc, o.getSource(), d);
        return success();
      })
      .Case<tensor::ConcatOp>([&](tensor::ConcatOp o) {
        Value dr = adjointOf(o.getResult());
        int64_t dim = o.getDim(), offset = 0;
        for (Value in : o.getInputs()) {
          auto ty = cast<RankedTensorType>(in.getType());
          SmallVector<OpFoldResult> offs(ty.getRank(), b.getIndexAttr(0));
          offs[dim] = b.getIndexAttr(offset);
          SmallVector<OpFoldResult> strides(ty.getRank(), b.getIndexAttr(1));
          accumulate(loc, in, tensor::ExtractSliceOp::create(b, loc, ty, dr, offs,
                                                             tensor::getMixedSizes(b, loc, in),
                                                             strides));
          offset += ty.getDimSize(dim);
        }
        return success();
      })
      .Case<DropoutOp>([&](DropoutOp o) {
        // y = x * mask / (1 - p): the adjoint applies the same mask.
        accumulate(loc, o.getInput(),
                   DropoutOp::create(b, loc, o.getType(), adjointOf(o.getResult()), o.getRng(),
                                     o.getOffsets(), o.getRateAttr(), o.getSaltAttr()));
        return success();
      })
      .Case<LastStepOp>([&](LastStepOp o) {
        accumulate(loc, o.getInput(),
                   LastStepGradOp::create(b, loc, o.getInput().getType(),
                                          adjointOf(o.getResult()), o.getInput(), o.getLengths()));
        return success();
      })
      .Case<AttentionOp>([&](AttentionOp o) {
        auto g = AttentionGradOp::create(
            b, loc, o.getQuery().getType(), o.getKeys().getType(), o.getWeights().getTypes(),
            o.getQuery(), o.getKeys(), o.getLengths(), o.getWeights(),
            adjointOrZero(loc, o.getContextVector()), adjointOrZero(loc, o.getScores()),
            o.getKind());
        accumulate(loc, o.getQuery(), g.getDquery());
        accumulate(loc, o.getKeys(), g.getDkeys());
        for (auto [wt, d] : llvm::zip(o.getWeights(), g.getDweights()))
          accumulate(loc, wt, d);
        return success();
      })
      .Case<tensor::ExpandShapeOp>([&](tensor::ExpandShapeOp o) {
        accumulate(loc, o.getSrc(),
                   tensor::CollapseShapeOp::create(b, loc, o.getSrcType(), adjointOf(o.getResult()),
                                                   o.getReassociationIndices()));
        return success();
      })
      .Case<tensor::CollapseShapeOp>([&](tensor::CollapseShapeOp o) {
        accumulate(loc, o.getSrc(),
                   tensor::ExpandShapeOp::create(
                       b, loc, o.getSrcType(), adjointOf(o.getResult()),
                       o.getReassociationIndices(), tensor::getMixedSizes(b, loc, o.getSrc())));
        return success();
      })
      .Case<linalg::AddOp>([&](linalg::AddOp o) {
        for (Value in : o.getInputs())
          accumulate(loc, in, adjointOf(o->getResult(0)));
        return success();
      })
      .Case<RecurrenceOp>([&](RecurrenceOp o) { return visitRecurrence(o); })
      .Case<linalg::FillOp, tensor::EmptyOp, tensor::DimOp, arith::ConstantOp, OneHotOp,
            SequenceLengthsOp, StepMaskOp>([](Operation *) { return success(); })
      .Default([&](Operation *other) {
        unsupported = other;
        return failure();
      });
}

LogicalResult Differentiator::visitRecurrence(RecurrenceOp rec) {
  Location loc = rec.getLoc();
  auto it = saved.find(rec);
  if (it == saved.end())
    return rec.emitOpError("rnn-bptt: internal error: states were not saved");
  unsigned numOut = it->second.numOutputs;
  ArrayRef<unsigned> projIdx = it->second.projections;
  unsigned numIn = rec.getInputs().size(), numState = rec.getInit().size();
  ResultRange savedSeqs = rec.getResults().slice(numOut, numState);
  ResultRange savedProj = rec.getResults().slice(numOut + numState, projIdx.size());
  ResultRange finals = rec.getFinalStates();

  // Adjoints flowing in: per-step outputs (those that have one) and finals.
  SmallVector<Value> dOuts;
  SmallVector<unsigned> dOutIdx;
  for (unsigned o = 0; o < numOut; ++o)
    if (Value d = adjointOf(rec.getResult(o))) {
      dOuts.push_back(d);
      dOutIdx.push_back(o);
    }
  SmallVector<Value> dFinals;
  for (Value f : finals)
    dFinals.push_back(adjointOrZero(loc, f));

  // Active values the body reads from outside (the weights): their adjoints
  // are summed over the steps as carried state.
  llvm::SetVector<Value> invariants;
  rec.getBody().walk([&](Operation *op) {
    for (Value v : op->getOperands())
      if (!rec.getBody().isAncestor(v.getParentRegion()) && activity.isActive(v))
        invariants.insert(v);
  });

  SmallVector<unsigned> activeIn;
  for (unsigned k = 0; k < numIn; ++k)
    if (activity.isActive(rec.getInputs()[k]))
      activeIn.push_back(k);

  SmallVector<Value> bwdInputs(rec.getInputs().begin(), rec.getInputs().end());
  bwdInputs.append(savedSeqs.begin(), savedSeqs.end());
  bwdInputs.append(savedProj.begin(), savedProj.end());
  bwdInputs.append(dOuts);
  // Padded batches: a 0/1 mask of the valid steps, read one step at a time.
  Value lengths = rec.getLengths();
  if (lengths) {
    auto xTy = cast<RankedTensorType>(rec.getInputs().front().getType());
    auto maskTy = RankedTensorType::get({xTy.getDimSize(0), xTy.getDimSize(1)}, b.getF32Type());
    bwdInputs.push_back(StepMaskOp::create(b, loc, maskTy, lengths, rec.getInputs().front()));
  }
  SmallVector<Value> bwdInit(dFinals);
  for (Value v : invariants)
    bwdInit.push_back(zerosLike(b, loc, v));
  SmallVector<Type> resultTypes;
  for (unsigned k : activeIn)
    resultTypes.push_back(rec.getInputs()[k].getType());
  for (Value v : bwdInit)
    resultTypes.push_back(v.getType());

  auto bwd = RecurrenceOp::create(b, loc, resultTypes, bwdInputs, bwdInit, Value(),
                                  !rec.getReverse());
  OpBuilder::InsertionGuard guard(b);
  Block *body = b.createBlock(&bwd.getBody());
  Block &fwdBody = rec.getBody().front();
  IRMapping map;
  SmallVector<Value> xt, sPrev, proj, dyt, ds, acc;
  for (Value a : rec.getStepInputArgs())
    xt.push_back(body->addArgument(a.getType(), loc));
  for (Value a : rec.getStateArgs())
    sPrev.push_back(body->addArgument(a.getType(), loc));
  for (Value p : savedProj) {
    auto t = cast<RankedTensorType>(p.getType());
    SmallVector<int64_t> shape(t.getShape());
    shape.erase(shape.begin() + 1);
    proj.push_back(body->addArgument(RankedTensorType::get(shape, t.getElementType()), loc));
  }
  for (Value d : dOuts) {
    auto t = cast<RankedTensorType>(d.getType());
    SmallVector<int64_t> shape(t.getShape());
    shape.erase(shape.begin() + 1);
    dyt.push_back(body->addArgument(RankedTensorType::get(shape, t.getElementType()), loc));
  }
  Value maskT;
  if (lengths)
    maskT = body->addArgument(RankedTensorType::get({cast<RankedTensorType>(
                                                         rec.getInputs().front().getType())
                                                         .getDimSize(0)},
                                                    b.getF32Type()),
                              loc);
  for (Value f : dFinals)
    ds.push_back(body->addArgument(f.getType(), loc));
  for (Value v : invariants)
    acc.push_back(body->addArgument(v.getType(), loc));
  map.map(rec.getStepInputArgs(), xt);
  map.map(rec.getStateArgs(), sPrev);

  // Recompute the step from x_t and the saved state, reading the saved
  // projections instead of the dense ops' results (each dense is still cloned
  // so that its adjoint rule runs, and is dead afterwards).
  SmallVector<Operation *> cloned;
  SmallVector<std::pair<Value, Value>> aliased; // (saved step, cloned result)
  for (auto [i, op] : llvm::enumerate(fwdBody.without_terminator())) {
    cloned.push_back(b.clone(op, map));
    if (auto *p = llvm::find(projIdx, static_cast<unsigned>(i)); p != projIdx.end()) {
      Value savedStep = proj[p - projIdx.begin()];
      aliased.push_back({savedStep, cloned.back()->getResult(0)});
      map.map(op.getResult(0), savedStep);
    }
  }
  auto yield = cast<YieldOp>(fwdBody.getTerminator());
  auto mapped = [&](unsigned i) { return map.lookupOrDefault(yield.getValues()[i]); };

  // Inside the step everything but inactive inputs depends on the weights.
  Activity local = activity;
  for (unsigned k = 0; k < numIn; ++k)
    if (activity.isActive(rec.getInputs()[k]))
      local.active.insert(xt[k]);
  for (Value s : sPrev)
    local.active.insert(s);
  for (Operation *op : cloned)
    for (Value r : op->getResults())
      local.active.insert(r);

  // On padded steps the forward step did not run: no adjoint enters it.
  auto onValid = [&](Value v) {
    return maskT ? Value(SelectRowsOp::create(b, loc, maskT, v, zerosLike(b, loc, v))) : v;
  };
  Differentiator step(b, local, saved);
  for (auto [s, r] : aliased)
    step.alias(s, r);
  llvm::scope_exit propagateUnsupported([&] {
    if (step.unsupported)
      unsupported = step.unsupported;
  });
  for (auto [d, o] : llvm::zip(dyt, dOutIdx))
    step.accumulate(loc, mapped(o), onValid(d));
  for (unsigned i = 0; i < numState; ++i)
    step.accumulate(loc, mapped(numOut + numState + projIdx.size() + i), onValid(ds[i]));
  if (failed(step.backprop(cloned)))
    return failure();

  SmallVector<Value> yields;
  for (unsigned k : activeIn)
    yields.push_back(step.adjointOrZero(loc, xt[k]));
  for (auto [s, d] : llvm::zip(sPrev, ds)) {
    // A padded step kept its state: the adjoint passes through unchanged.
    Value dPrev = step.adjointOrZero(loc, s);
    yields.push_back(maskT ? Value(SelectRowsOp::create(b, loc, maskT, dPrev, d)) : dPrev);
  }
  for (auto [a, v] : llvm::zip(acc, invariants)) {
    Value d = step.adjointOf(v);
    yields.push_back(d ? addTensors(b, loc, a, d) : a);
  }
  YieldOp::create(b, loc, yields);
  b.setInsertionPointAfter(bwd);

  unsigned r = 0;
  for (unsigned k : activeIn)
    accumulate(loc, rec.getInputs()[k], bwd.getResult(r++));
  for (Value init : rec.getInit())
    accumulate(loc, init, bwd.getResult(r++));
  for (Value v : invariants)
    accumulate(loc, v, bwd.getResult(r++));
  return success();
}

//===----------------------------------------------------------------------===//
// Saving the states of forward recurrences
//===----------------------------------------------------------------------===//

/// Rewrites `rec` to also output the state entering every step and the
/// result of every `rnn.dense` of its body (as sequences after the original
/// per-step outputs); records the layout in `layout`.
RecurrenceOp saveStates(OpBuilder &b, RecurrenceOp rec, SavedStates &layout) {
  unsigned numOut = rec.getNumOutputs();
  auto seqTy = cast<RankedTensorType>(rec.getInputs().front().getType());
  Block &body = rec.getBody().front();
  SmallVector<Value> projections;
  layout.numOutputs = numOut;
  for (auto [i, op] : llvm::enumerate(body.without_terminator()))
    if (auto dense = dyn_cast<DenseOp>(op)) {
      layout.projections.push_back(i);
      projections.push_back(dense.getResult());
    }
  SmallVector<Type> types;
  for (Value o : rec.getOutputs())
    types.push_back(o.getType());
  for (Value s : rec.getInit())
    types.push_back(sequenceOf(cast<RankedTensorType>(s.getType()), seqTy));
  for (Value p : projections)
    types.push_back(sequenceOf(cast<RankedTensorType>(p.getType()), seqTy));
  for (Value f : rec.getFinalStates())
    types.push_back(f.getType());
  b.setInsertionPoint(rec);
  auto next = RecurrenceOp::create(b, rec.getLoc(), types, rec.getInputs(), rec.getInit(),
                                   rec.getLengths(), rec.getReverse());
  next.getBody().takeBody(rec.getBody());
  auto yield = cast<YieldOp>(next.getBody().front().getTerminator());
  SmallVector<Value> values(yield.getValues().take_front(numOut));
  for (Value s : next.getStateArgs())
    values.push_back(s);
  values.append(projections);
  values.append(yield.getValues().begin() + numOut, yield.getValues().end());
  yield->setOperands(values);
  unsigned numState = rec.getInit().size();
  for (unsigned o = 0; o < numOut; ++o)
    rec.getResult(o).replaceAllUsesWith(next.getResult(o));
  for (unsigned s = 0; s < numState; ++s)
    rec.getFinalStates()[s].replaceAllUsesWith(next.getFinalStates()[s]);
  rec.erase();
  return next;
}

/// Values saved per example and time step by the saved recurrences: the
/// static sizes of their saved state and projection sequences past [B, T].
int64_t savedPerStep(const DenseMap<Operation *, SavedStates> &saved) {
  int64_t total = 0;
  for (auto &[op, layout] : saved) {
    auto rec = cast<RecurrenceOp>(op);
    unsigned first = layout.numOutputs,
             count = rec.getInit().size() + layout.projections.size();
    for (Value r : rec.getResults().slice(first, count)) {
      int64_t n = 1;
      for (int64_t d : cast<RankedTensorType>(r.getType()).getShape().drop_front(2))
        n *= ShapedType::isDynamic(d) ? 1 : d;
      total += n;
    }
  }
  return total;
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct RNNBPTTPass : rnn::impl::RNNBPTTPassBase<RNNBPTTPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> losses;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(attrs::kLossEntry) || f->hasAttr(attrs::kLossStateEntry))
        losses.push_back(f);
    for (func::FuncOp f : losses)
      if (failed(differentiate(f)))
        return signalPassFailure();
  }

  LogicalResult differentiate(func::FuncOp lossFn) {
    // The loss (a scalar) first; a loss-with-states function (truncated BPTT)
    // then returns its final states, which pass through to the gradient
    // function. Its state arguments are constants for differentiation: the
    // state is detached at the window's edge.
    bool withStates = lossFn->hasAttr(attrs::kLossStateEntry);
    if (lossFn.getNumResults() < 1 ||
        cast<RankedTensorType>(lossFn.getResultTypes()[0]).getRank() != 0)
      return lossFn.emitOpError("rnn-bptt: a loss function returns one scalar tensor<f32>");
    for (unsigned r = 1; r < lossFn.getNumResults(); ++r)
      if (!withStates || !lossFn.getResultAttr(r, attrs::kState))
        return lossFn.emitOpError("rnn-bptt: a loss function returns one scalar tensor<f32>")
               << (withStates ? ", then rnn.state results" : "");
    OpBuilder b(lossFn);
    b.setInsertionPointAfter(lossFn);
    auto grad = cast<func::FuncOp>(b.clone(*lossFn));
    grad.setName((lossFn.getName() + "_grad").str());
    grad->removeAttr(attrs::kLossEntry);
    grad->removeAttr(attrs::kLossStateEntry);
    grad->setAttr(withStates ? attrs::kGradStateEntry : attrs::kGradEntry, b.getUnitAttr());
    Block &body = grad.getBody().front();

    Activity activity;
    SmallVector<unsigned> params;
    for (unsigned i = 0; i < grad.getNumArguments(); ++i)
      if (grad.getArgAttr(i, attrs::kParam)) {
        params.push_back(i);
        activity.active.insert(grad.getArgument(i));
      }
    activity.propagate(body);

    // Plan the saved activations: every active recurrence keeps its states.
    DenseMap<Operation *, SavedStates> saved;
    SmallVector<RecurrenceOp> recs(body.getOps<RecurrenceOp>());
    for (RecurrenceOp rec : recs) {
      if (!llvm::any_of(rec.getResults(), [&](Value r) { return activity.isActive(r); }))
        continue;
      SavedStates layout;
      RecurrenceOp next = saveStates(b, rec, layout);
      saved[next] = layout;
    }
    grad->setAttr(attrs::kSavedPerStep, b.getI64IntegerAttr(savedPerStep(saved)));
    activity = Activity();
    for (unsigned i : params)
      activity.active.insert(grad.getArgument(i));
    activity.propagate(body);

    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value loss = ret.getOperand(0);
    SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);
    b.setInsertionPoint(ret);
    Location loc = ret.getLoc();
    Differentiator diff(b, activity, saved);
    auto one = DenseElementsAttr::get(cast<RankedTensorType>(loss.getType()), 1.0f);
    diff.accumulate(loc, loss, arith::ConstantOp::create(b, loc, one));
    if (!activity.isActive(loss)) {
      Operation *at = loss.getDefiningOp() ? loss.getDefiningOp() : lossFn.getOperation();
      return at->emitError("rnn-bptt: the loss does not depend on any parameter");
    }
    if (failed(diff.backprop(forward))) {
      if (!diff.unsupported)
        return failure();
      // A model the pass cannot differentiate yet still runs inference.
      diff.unsupported->emitWarning()
          << "training is not supported yet for '" << diff.unsupported->getName()
          << "': the program can run inference but not compute gradients";
      grad.erase();
      return success();
    }

    SmallVector<Value> results = {loss};
    SmallVector<DictionaryAttr> resAttrs = {
        b.getDictionaryAttr(b.getNamedAttr(attrs::kOutput, b.getStringAttr("loss")))};
    for (unsigned i : params) {
      Value p = grad.getArgument(i);
      results.push_back(diff.adjointOrZero(loc, p));
      resAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(attrs::kOutput, grad.getArgAttr(i, attrs::kParam))));
    }
    for (unsigned r = 1; r < ret.getNumOperands(); ++r) {
      results.push_back(ret.getOperand(r));
      resAttrs.push_back(lossFn.getResultAttrDict(r));
    }
    func::ReturnOp::create(b, loc, results);
    ret.erase();
    SmallVector<Type> resTypes;
    for (Value r : results)
      resTypes.push_back(r.getType());
    grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(), resTypes));
    grad.setAllResultAttrs(resAttrs);
    return success();
  }
};

} // namespace
