//===- TensorUtils.cpp - Tensor builders shared by the rnn passes ---------===//
#include "rnn/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace mlir::rnn {

/// A zero tensor shaped like `v`.
Value zerosLike(OpBuilder &b, Location loc, Value v) {
  auto ty = cast<RankedTensorType>(v.getType());
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < ty.getRank(); ++i)
    if (ty.isDynamicDim(i))
      dyn.push_back(tensor::DimOp::create(b, loc, v, i));
  Value empty = tensor::EmptyOp::create(b, loc, ty, dyn);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// x + y (same shapes).
Value addTensors(OpBuilder &b, Location loc, Value x, Value y) {
  auto ty = cast<RankedTensorType>(x.getType());
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < ty.getRank(); ++i)
    if (ty.isDynamicDim(i))
      dyn.push_back(tensor::DimOp::create(b, loc, x, i));
  Value out = tensor::EmptyOp::create(b, loc, ty, dyn);
  return linalg::AddOp::create(b, loc, ValueRange{x, y}, ValueRange{out}).getResult(0);
}

/// `[B, T, ...]` sequence type of a `[B, ...]` step type, with T from `seq`.
RankedTensorType sequenceOf(RankedTensorType step, RankedTensorType seq) {
  SmallVector<int64_t> shape(step.getShape());
  shape.insert(shape.begin() + 1, seq.getDimSize(1));
  return RankedTensorType::get(shape, step.getElementType());
}

bool isTensorMultiplyAdd(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() < 1)
    return false;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  if (!mul || !add)
    return false;
  Value a0 = body.getArgument(0), a1 = body.getArgument(1), o = body.getArgument(2);
  bool mulOk = (mul.getLhs() == a0 && mul.getRhs() == a1) || (mul.getLhs() == a1 && mul.getRhs() == a0);
  bool addOk = (add.getLhs() == o && add.getRhs() == mul) || (add.getRhs() == o && add.getLhs() == mul);
  return mulOk && addOk;
}

std::optional<unsigned> dimOf(AffineExpr e) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return d.getPosition();
  return std::nullopt;
}

Value viewRoot(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

SmallVector<OpOperand *> nonViewUses(Value root) {
  SmallVector<OpOperand *> uses;
  SmallVector<Value> work = {root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      auto view = dyn_cast<ViewLikeOpInterface>(use.getOwner());
      if (view && view.getViewSource() == v)
        work.push_back(view->getResult(0));
      else
        uses.push_back(&use);
    }
  }
  return uses;
}

int64_t staticElementsFromAbove(Region &body) {
  SetVector<Value> used;
  getUsedValuesDefinedAbove(body, used);
  int64_t n = 0;
  for (Value v : used)
    if (auto type = dyn_cast<RankedTensorType>(v.getType()); type && type.hasStaticShape())
      n += type.getNumElements();
  return n;
}

scf::ForOp enclosingLoop(Operation *op) {
  auto loop = op->getParentOfType<scf::ForOp>();
  while (loop && loop->hasAttr("rnn.chunks"))
    loop = loop->getParentOfType<scf::ForOp>();
  return loop;
}

} // namespace mlir::rnn
