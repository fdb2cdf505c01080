//===- Pipeline.cpp - rnnc's pass pipeline ---------------------------------===//
//
// The stages, in order (docs/architecture.md describes each):
//   rnn (layer level) -> rnn-expand-recurrent, rnn-teacher-forcing -> rnn (cell
//   level) -> rnn-bptt
//   -> convert-rnn-to-linalg -> linalg/tensor/scf on tensors
//   -> rnn-export-entry -> one-shot-bufferize -> buffer deallocation
//   -> [rnn-vectorize-kernels] -> convert-linalg-to-loops -> scf/memref/arith/math
//   -> LLVM dialect -> rnn-outline-parallel.
//
//===----------------------------------------------------------------------===//
#include "rnnc/Pipeline.h"

#include "rnn/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void rnnc::buildPipeline(OpPassManager &pm, EmitLevel level, const PipelineOptions &opts) {
  unsigned optLevel = opts.optLevel;
  if (level < EmitLevel::RNNCells)
    return;
  pm.addPass(rnn::createRNNExpandRecurrentPass());
  pm.addPass(rnn::createRNNTeacherForcingPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (optLevel >= 1)
    pm.addPass(rnn::createRNNHoistInputProjectionPass());
  pm.addPass(rnn::createRNNBPTTPass());
  if (optLevel >= 1)
    pm.addPass(rnn::createRNNHoistWeightGradientsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The two directions of a bidirectional layer side by side (-O2+, where
  // kernels use the runtime's threads).
  if (optLevel >= 2) {
    rnn::RNNConcurrentDirectionsPassOptions dirOpts;
    dirOpts.minStepWork = opts.directionsMinWork;
    pm.addPass(rnn::createRNNConcurrentDirectionsPass(dirOpts));
    // Two stacked layers as a pipeline over chunks of time, one per core.
    rnn::RNNStackedWavefrontPassOptions waveOpts;
    waveOpts.minStepWork = opts.wavefrontMinWork;
    waveOpts.maxStepWork = opts.wavefrontMaxWork;
    pm.addPass(rnn::createRNNStackedWavefrontPass(waveOpts));
  }
  if (level < EmitLevel::Linalg)
    return;
  pm.addPass(rnn::createConvertRNNToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (optLevel >= 1) {
    pm.addPass(rnn::createRNNAccumulateInPlacePass());
    pm.addPass(rnn::createRNNCarryInPlacePass());
  }
  if (opts.weightStorage != "f32") {
    rnn::RNNNarrowWeightsPassOptions narrowOpts;
    narrowOpts.type = opts.weightStorage;
    pm.addPass(rnn::createRNNNarrowWeightsPass(narrowOpts));
    pm.addPass(createCSEPass());
  }
  if (optLevel >= 2) {
    // After narrowing (the narrowed copies serve the batch-1 GEMVs; panels
    // are for f32 weights); before transposing (what is left in the dot
    // form: sequence-wide contractions with fewer columns than a panel).
    rnn::RNNPackWeightsPassOptions packOpts;
    packOpts.panel = 2 * opts.vectorWidth;
    packOpts.minElements = opts.packMinElements;
    packOpts.prepared = true;
    pm.addPass(rnn::createRNNPackWeightsPass(packOpts));
    pm.addPass(rnn::createRNNTransposeWeightsPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
  // The weights' packed/transposed/narrowed copies, made once per set of
  // weights (rnnc_model_prepare) instead of at every call.
  if (optLevel >= 1)
    pm.addPass(rnn::createRNNSplitPreparePass());
  // Last on tensors: the passes above see one step per loop body.
  if (opts.unrollTime > 1) {
    rnn::RNNUnrollTimePassOptions unrollOpts;
    unrollOpts.factor = opts.unrollTime;
    pm.addPass(rnn::createRNNUnrollTimePass(unrollOpts));
    pm.addPass(createCanonicalizerPass());
  }
  if (level < EmitLevel::LLVMMLIR)
    return;

  // Runtime ABI, then buffers.
  pm.addPass(rnn::createRNNExportEntryPass());
  // The two branches of a concurrent pair fill their rows of the stacked
  // results in place (one-shot bufferization would copy them).
  if (optLevel >= 2)
    pm.addPass(rnn::createRNNRowsInPlacePass());
  // Each block of hidden units' gates computed and activated at once
  // (opt-in: --gate-block). Last before bufferization: canonicalization would
  // drop the shared outputs the blocks' pre-activations are written into
  // (unused after the loop).
  if (optLevel >= 2 && opts.gateBlock > 0) {
    rnn::RNNGateEpiloguePassOptions epiOpts;
    epiOpts.block = opts.gateBlock;
    epiOpts.minWork = opts.gateMinWork;
    pm.addPass(rnn::createRNNGateEpiloguePass(epiOpts));
  }
  bufferization::OneShotBufferizePassOptions bufOpts;
  bufOpts.bufferizeFunctionBoundaries = true;
  bufOpts.allowReturnAllocsFromLoops = true;
  bufOpts.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  // Step results inserted into a larger tensor (gate blocks, output
  // sequences) are computed in their destination's slice.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufOpts));
  pm.addPass(createCanonicalizerPass());
  // Results copied block by block into their place (a step's gate adjoints
  // into the saved sequence) are written there directly.
  if (optLevel >= 1)
    pm.addPass(rnn::createRNNForwardCopiesPass());
  // Per-step temporaries (the gate pre-activations, ...) are allocated once
  // before the time loop instead of at every step.
  if (optLevel >= 1)
    pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Kernels: vector code for contractions and elementwise maps (-O2+); the
  // rest as scalar loops. Function-local passes are nested on func.func so
  // that MLIR runs them on the functions in parallel (one thread per core).
  // The vectorizer runs on the module: a kernel the module repeats (the
  // directions of a layer, the loss's forward) is emitted once, in a
  // function of its own.
  pm.addNestedPass<func::FuncOp>(rnn::createRNNForallToParallelPass());
  if (optLevel >= 2) {
    rnn::RNNVectorizeKernelsPassOptions vecOpts;
    vecOpts.vectorWidth = opts.vectorWidth;
    vecOpts.parallel = true;
    vecOpts.shareKernels = opts.shareKernels;
    pm.addPass(rnn::createRNNVectorizeKernelsPass(vecOpts));
  }
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  if (optLevel >= 2)
    fpm.addPass(createCanonicalizerPass());
  fpm.addPass(createConvertLinalgToLoopsPass());
  fpm.addPass(memref::createExpandStridedMetadataPass());
  fpm.addPass(createLowerAffinePass());
  fpm.addPass(createSCFToControlFlowPass());
  fpm.addPass(createConvertVectorToLLVMPass());
  fpm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  OpPassManager &lpm = pm.nest<LLVM::LLVMFuncOp>();
  lpm.addPass(createArithToLLVMConversionPass());
  lpm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Kernels shared among threads become functions run by the runtime's pool.
  pm.addPass(rnn::createRNNOutlineParallelPass());
  // Per function, so that MLIR runs it on the functions in parallel (on the
  // whole module it was ~9% of the seq2seq example's compile time, serial).
  pm.addNestedPass<LLVM::LLVMFuncOp>(createCanonicalizerPass());
}
