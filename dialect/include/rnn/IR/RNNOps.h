//===- RNNOps.h - Ops of the rnn dialect ---------------------------*- C++ -*-===//
#ifndef RNN_IR_RNNOPS_H
#define RNN_IR_RNNOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "rnn/IR/RNNDialect.h"
#include "rnn/IR/RNNEnums.h.inc"

#define GET_OP_CLASSES
#include "rnn/IR/RNNOps.h.inc"

namespace mlir::rnn {
/// Attribute names that tie function arguments and results to the model's
/// parameters, inputs and outputs (see docs/architecture.md, "Model ABI").
namespace attrs {
inline constexpr llvm::StringLiteral kParam = "rnn.param";
inline constexpr llvm::StringLiteral kInit = "rnn.init";
inline constexpr llvm::StringLiteral kInput = "rnn.input";
inline constexpr llvm::StringLiteral kOutput = "rnn.output";
inline constexpr llvm::StringLiteral kKind = "rnn.kind";
inline constexpr llvm::StringLiteral kDims = "rnn.dims";
inline constexpr llvm::StringLiteral kVocab = "rnn.vocab";
inline constexpr llvm::StringLiteral kEntry = "rnn.entry";
inline constexpr llvm::StringLiteral kStepEntry = "rnn.step_entry";
inline constexpr llvm::StringLiteral kState = "rnn.state";
inline constexpr llvm::StringLiteral kScores = "rnn.scores";
inline constexpr llvm::StringLiteral kLossEntry = "rnn.loss_entry";
inline constexpr llvm::StringLiteral kGradEntry = "rnn.grad_entry";
/// The loss with recurrent states as arguments and results (truncated BPTT),
/// and its gradient function.
inline constexpr llvm::StringLiteral kLossStateEntry = "rnn.loss_state_entry";
inline constexpr llvm::StringLiteral kGradStateEntry = "rnn.grad_state_entry";
inline constexpr llvm::StringLiteral kTarget = "rnn.target";
inline constexpr llvm::StringLiteral kEnd = "rnn.end";
inline constexpr llvm::StringLiteral kMax = "rnn.max";
inline constexpr llvm::StringLiteral kPadding = "rnn.padding";
/// The dropout seed argument of a loss function (`tensor<2xi64>`: seed,
/// training flag); the runtime sets it through `rnnc_model_rng`.
inline constexpr llvm::StringLiteral kRng = "rnn.rng";
/// On a gradient function: the values its recurrences save per example and
/// time step (states and projections), for memory-budgeted truncation.
inline constexpr llvm::StringLiteral kSavedPerStep = "rnn.saved_per_step";
/// The function computing the prepared tensors from the parameters
/// (rnn-split-prepare), and the name of a prepared tensor (its results, and
/// the inference functions' arguments that take them).
inline constexpr llvm::StringLiteral kPrepareEntry = "rnn.prepare_entry";
inline constexpr llvm::StringLiteral kPrepared = "rnn.prepared";
inline constexpr llvm::StringLiteral kModel = "rnn.model";
inline constexpr llvm::StringLiteral kVocabs = "rnn.vocabs";
inline constexpr llvm::StringLiteral kTargets = "rnn.targets";
inline constexpr llvm::StringLiteral kTrain = "rnn.train";
/// A function holding one kernel that the module repeats
/// (rnn-vectorize-kernels' share-kernels), and whether its calls run
/// inside loops (which changes the kernel's code).
inline constexpr llvm::StringLiteral kKernel = "rnn.kernel";
inline constexpr llvm::StringLiteral kKernelInLoop = "rnn.kernel_in_loop";
/// On an scf.for lowered from rnn.recurrence or rnn.decode (a loop over time
/// steps): its iteration arguments keep their sizes from step to step.
inline constexpr llvm::StringLiteral kShapePreserving = "rnn.shape_preserving";
} // namespace attrs

/// Whether `fn` is one of the inference functions (`rnn.entry`,
/// `rnn.step_entry`): its weights are fixed across calls, unlike the loss
/// and gradient functions'.
inline bool isInferenceFunction(Operation *fn) {
  return fn && (fn->hasAttr(attrs::kEntry) || fn->hasAttr(attrs::kStepEntry));
}
} // namespace mlir::rnn

#endif // RNN_IR_RNNOPS_H
