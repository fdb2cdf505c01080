//===- SplitPrepare.cpp - Parameter-only work once per set of weights -----===//
//
// The inference functions (`rnn.entry`, `rnn.step_entry`) start with work
// that reads nothing but the parameters: the packed panels of
// rnn-pack-weights, the transposed copies of rnn-transpose-weights, the
// f16/bf16 copies of rnn-narrow-weights. Done in the function, it is done
// again at every call (every token of `generate`). This pass moves it into
// one function, `<entry>_prepare` (`rnn.prepare_entry`): the parameters in,
// each prepared tensor out (`rnn.prepared = "<name>"`). The inference
// functions take every prepared tensor as an extra argument (the same list,
// in the same order, for both), so a program calls the prepare function once
// after loading the weights and then the model functions as often as it
// likes (rnn-export-entry: `rnnc_model_prepare`,
// `rnnc_model_forward_prepared`, `rnnc_model_step_prepared`).
//
// What moves: the linalg ops at the top level of the function whose operands
// are, through ops without side effects, all parameters or constants, and
// whose results reach (directly or through views: casts, slices, reshapes)
// an op that reads something else. Views stay in the function, on the
// prepared argument. Values both functions compute the same way are one
// prepared tensor (CSE over the prepare function).
//
//===----------------------------------------------------------------------===//
#include "rnn/IR/RNNOps.h"
#include "rnn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/CSE.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::rnn {
#define GEN_PASS_DEF_RNNSPLITPREPAREPASS
#include "rnn/Transforms/Passes.h.inc"
} // namespace mlir::rnn

using namespace mlir;
using namespace mlir::rnn;

namespace {

StringRef paramName(func::FuncOp fn, unsigned i) {
  if (auto s = fn.getArgAttrOfType<StringAttr>(i, attrs::kParam))
    return s.getValue();
  return {};
}

/// The parameter-only work of one inference function.
struct Plan {
  func::FuncOp fn;
  /// Top-level ops whose results depend only on parameters and constants,
  /// in block order.
  SmallVector<Operation *> ops;
  llvm::DenseSet<Operation *> opSet;
  /// The results to prepare: computed by a linalg op of `ops`, used by
  /// something outside `ops` (directly or through views).
  SmallVector<Value> values;
};

/// Whether `v` reaches a use outside `plan.ops`, directly or through ops of
/// `plan.ops` that are not linalg ops (views, casts).
bool escapes(Value v, const Plan &plan, int depth = 0) {
  if (depth > 16)
    return true;
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (!plan.opSet.contains(user))
      return true;
    if (!isa<linalg::LinalgOp>(user))
      for (Value r : user->getResults())
        if (escapes(r, plan, depth + 1))
          return true;
  }
  return false;
}

Plan analyse(func::FuncOp fn) {
  Plan plan{fn, {}, {}, {}};
  llvm::DenseSet<Value> paramOnly;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (!paramName(fn, i).empty())
      paramOnly.insert(fn.getArgument(i));
  for (Operation &op : fn.front()) {
    if (op.getNumResults() == 0 || !isMemoryEffectFree(&op))
      continue;
    if (op.getNumRegions() > 0 && !isa<linalg::LinalgOp>(op))
      continue;
    if (!llvm::all_of(op.getOperands(), [&](Value v) { return paramOnly.contains(v); }))
      continue;
    // A linalg op's body may only use its own arguments and constants.
    bool closed = true;
    op.walk([&](Operation *inner) {
      if (inner == &op)
        return;
      for (Value v : inner->getOperands())
        if (!op.isAncestor(v.getParentRegion()->getParentOp()) && !paramOnly.contains(v))
          closed = false;
    });
    if (!closed)
      continue;
    for (Value r : op.getResults())
      paramOnly.insert(r);
    plan.ops.push_back(&op);
    plan.opSet.insert(&op);
  }
  for (Operation *op : plan.ops) {
    if (!isa<linalg::LinalgOp>(op))
      continue;
    for (Value r : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(r.getType());
      if (type && type.hasStaticShape() && escapes(r, plan))
        plan.values.push_back(r);
    }
  }
  return plan;
}

/// A readable name for a prepared value: the parameter it comes from and
/// what was made of it.
std::string describe(Value v, func::FuncOp fn) {
  std::string root;
  Value cur = v;
  for (int depth = 0; depth < 16 && root.empty(); ++depth) {
    if (auto arg = dyn_cast<BlockArgument>(cur)) {
      root = paramName(fn, arg.getArgNumber()).str();
      break;
    }
    Operation *def = cur.getDefiningOp();
    Value next;
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(def)) {
      if (!linalgOp.getDpsInputs().empty())
        next = linalgOp.getDpsInputs().front();
    } else if (def->getNumOperands() > 0) {
      next = def->getOperand(0);
    }
    if (!next)
      break;
    cur = next;
  }
  auto type = cast<RankedTensorType>(v.getType());
  StringRef what = "prepared";
  if (isa_and_nonnull<linalg::TransposeOp>(v.getDefiningOp()))
    what = type.getRank() == 3 ? "panels" : "transposed";
  else if (type.getElementType().isF16())
    what = "f16";
  else if (type.getElementType().isBF16())
    what = "bf16";
  return (root.empty() ? std::string("weights") : root) + "." + what.str();
}

struct RNNSplitPreparePass : rnn::impl::RNNSplitPreparePassBase<RNNSplitPreparePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Plan> plans;
    for (auto fn : module.getOps<func::FuncOp>())
      if (isInferenceFunction(fn) && !fn.isExternal())
        if (Plan plan = analyse(fn); !plan.values.empty())
          plans.push_back(std::move(plan));
    if (plans.empty())
      return;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr(attrs::kPrepareEntry)) {
        fn.emitOpError("is already a prepare function (rnn-split-prepare runs once)");
        return signalPassFailure();
      }

    // The prepare function: every parameter either function reads, by name.
    MLIRContext *ctx = &getContext();
    SmallVector<std::string> names;
    SmallVector<Type> types;
    for (Plan &plan : plans)
      for (unsigned i = 0; i < plan.fn.getNumArguments(); ++i)
        if (StringRef n = paramName(plan.fn, i); !n.empty() && !llvm::is_contained(names, n)) {
          names.push_back(n.str());
          types.push_back(plan.fn.getArgumentTypes()[i]);
        }
    func::FuncOp first = plans.front().fn;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    std::string prepName = (first.getName() + "_prepare").str();
    auto prep = func::FuncOp::create(b, first.getLoc(), prepName, b.getFunctionType(types, {}));
    prep->setAttr(attrs::kPrepareEntry, UnitAttr::get(ctx));
    for (auto [i, n] : llvm::enumerate(names))
      prep.setArgAttr(i, attrs::kParam, b.getStringAttr(n));
    Block *body = prep.addEntryBlock();
    b.setInsertionPointToStart(body);

    // Clone each function's parameter-only slice; the returned values are
    // every function's prepared values, in order (duplicates merged below).
    SmallVector<Value> returned;
    SmallVector<std::string> labels;
    for (Plan &plan : plans) {
      IRMapping map;
      for (unsigned i = 0; i < plan.fn.getNumArguments(); ++i)
        if (StringRef n = paramName(plan.fn, i); !n.empty())
          map.map(plan.fn.getArgument(i),
                  body->getArgument(llvm::find(names, n) - names.begin()));
      llvm::SetVector<Operation *> slice;
      SmallVector<Value> work(plan.values);
      while (!work.empty()) {
        Operation *def = work.pop_back_val().getDefiningOp();
        if (!def || !plan.opSet.contains(def) || !slice.insert(def))
          continue;
        llvm::append_range(work, def->getOperands());
      }
      for (Operation *op : plan.ops)
        if (slice.contains(op))
          b.clone(*op, map);
      for (Value v : plan.values) {
        returned.push_back(map.lookup(v));
        labels.push_back(describe(v, plan.fn));
      }
    }
    auto ret = func::ReturnOp::create(b, prep.getLoc(), returned);
    IRRewriter rewriter(ctx);
    DominanceInfo dom(prep);
    eliminateCommonSubExpressions(rewriter, dom, prep);

    // One result per distinct value.
    SmallVector<Value> results;
    SmallVector<std::string> resultNames;
    SmallVector<unsigned> index; // returned[k] -> results[index[k]]
    for (auto [k, v] : llvm::enumerate(ret.getOperands())) {
      auto it = llvm::find(results, v);
      index.push_back(it - results.begin());
      if (it != results.end())
        continue;
      results.push_back(v);
      std::string name = labels[k];
      for (int dup = 2; llvm::is_contained(resultNames, name); ++dup)
        name = labels[k] + "-" + std::to_string(dup);
      resultNames.push_back(name);
    }
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    prep.setFunctionType(b.getFunctionType(types, resultTypes));
    for (auto [r, n] : llvm::enumerate(resultNames))
      prep.setResultAttr(r, attrs::kPrepared, b.getStringAttr(n));

    // Each function takes every prepared tensor; its own prepared values
    // become those arguments and its parameter-only ops go when unused.
    unsigned k = 0;
    for (Plan &plan : plans) {
      unsigned base = plan.fn.getNumArguments();
      for (auto [r, type] : llvm::enumerate(resultTypes)) {
        NamedAttribute attr(b.getStringAttr(attrs::kPrepared), b.getStringAttr(resultNames[r]));
        if (failed(plan.fn.insertArgument(base + r, type, b.getDictionaryAttr(attr), plan.fn.getLoc())))
          return signalPassFailure();
      }
      for (Value v : plan.values)
        v.replaceAllUsesWith(plan.fn.getArgument(base + index[k++]));
      for (Operation *op : llvm::reverse(plan.ops))
        if (op->use_empty())
          op->erase();
    }
  }
};

} // namespace
