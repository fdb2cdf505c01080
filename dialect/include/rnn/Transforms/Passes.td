//===- Passes.td - Passes of the rnn dialect ---------------*- tablegen -*-===//
#ifndef RNN_PASSES
#define RNN_PASSES

include "mlir/Pass/PassBase.td"

def RNNExpandRecurrentPass : Pass<"rnn-expand-recurrent"> {
  let summary = "Expand layer-level rnn.recurrent into cell-level rnn.recurrence loops";
  let description = [{
    Rewrites every `rnn.recurrent` layer into one `rnn.recurrence` per layer
    and direction. Each recurrence body computes one step with per-step ops:
    `rnn.dense` for the input and hidden projections, then `rnn.rnn_gates`,
    `rnn.lstm_gates` or `rnn.gru_gates`. Stacked layers feed each other's
    sequences; a bidirectional layer concatenates its forward and reverse
    outputs (forward | backward) on the feature axis, as PyTorch does. The
    layer's `h_n`/`c_n` results are assembled from the final states.

    Guarantees: no `rnn.recurrent` op remains; results are unchanged.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNTeacherForcingPass : Pass<"rnn-teacher-forcing"> {
  let summary = "Turn teacher-forced rnn.decode loops into rnn.recurrence over the shifted targets";
  let description = [{
    A teacher-forced `rnn.decode` (with `teacher`) becomes an `rnn.recurrence`
    with the same body over the teacher's tokens shifted right by one step
    (the `start` token, then `y[:, 0..T-2]`, an i32 input sequence): every
    step's previous token is known before the loop runs, so the decoder is an
    ordinary recurrence, and `rnn-bptt` differentiates it as one. Greedy
    decoders depend on their own outputs and stay `rnn.decode`.

    Guarantees: no teacher-forced `rnn.decode` remains; results are unchanged.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertRNNToLinalgPass : Pass<"convert-rnn-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower cell-level rnn ops to linalg, tensor, scf, math and arith on tensors";
  let description = [{
    `rnn.recurrence` becomes an `scf.for` over time whose iteration arguments
    are the carried states and the output sequences (written one step at a
    time with `tensor.insert_slice`); `rnn.dense` becomes a `linalg.generic`
    contraction seeded with the broadcast bias; gates, one-hot, embedding and
    softmax become elementwise/reduction `linalg.generic`s.

    Guarantees: no `rnn` op remains (layer-level `rnn.recurrent` must have been
    expanded by `rnn-expand-recurrent`); everything stays on tensors, ready for
    one-shot bufferization.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNHoistInputProjectionPass : Pass<"rnn-hoist-input-projection"> {
  let summary = "Hoist per-step input projections out of the time loop as one sequence-wide dense";
  let description = [{
    An `rnn.dense` in a recurrence body whose input is one step of an input
    sequence and whose weights come from outside the loop computes the same
    thing at every step independently: it is replaced by one `rnn.dense` over
    the whole `[B, T, I]` sequence before the loop (one large GEMM), whose
    result becomes a new step input of the recurrence. Step inputs that are no
    longer read are then dropped by canonicalization. Placed before
    `rnn-bptt`, the input weights' gradient becomes one contraction over
    batch x time as well. Enabled from -O1.

    Guarantees: results unchanged (up to fp32 rounding of the same sums).
  }];
}

def RNNBPTTPass : Pass<"rnn-bptt", "::mlir::ModuleOp"> {
  let summary = "Back-propagation through time: derive the gradient function of a loss";
  let description = [{
    For each function marked `rnn.loss_entry` (arguments: parameters, inputs
    and targets; result: the scalar loss) at the cell level, builds
    `<name>_grad`, marked `rnn.grad_entry`, returning the loss and the
    gradient of every parameter (in argument order).

    Reverse-mode differentiation over the function: an activity analysis
    marks what depends on the parameters; each op's adjoint rule emits the
    `rnn.*_grad` ops. Every active `rnn.recurrence` is rewritten to also emit
    its incoming states as sequences: these are the saved activations (one
    `[B, T, H]` buffer per state). Its adjoint is a recurrence running the
    other way in time that recomputes each step from `x_t` and the saved
    `s_{t-1}`, back-propagates through the step, carries the state adjoints,
    and accumulates the adjoints of loop-invariant values (the weights) as
    carried state.

    An op without an adjoint rule yet (e.g. `rnn.decode`) gets a located
    warning and no gradient function: the program can infer but not train.

    Guarantees: the loss function is unchanged; the gradient function's
    results equal the loss and d loss / d param (checked against PyTorch).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
}

def RNNHoistWeightGradientsPass : Pass<"rnn-hoist-weight-gradients"> {
  let summary = "Sum weight gradients once over batch x time instead of per reverse step";
  let description = [{
    Runs after `rnn-bptt`. In a recurrence (the adjoint recurrence), an
    `rnn.dense_grad` of a loop-invariant weight whose `dweight` (and `dbias`)
    only feed carried accumulators (`acc + d`, yielded as that state's next
    value) stops accumulating: the loop outputs `dy_t` (and `x_t`, unless it is
    already a step input such as a saved state) as sequences, the accumulators
    pass through, and one `rnn.dense_grad` over the `[B, T, ...]` sequences
    after the loop adds `sum over (b, t) of dy^T x` to their final values.
    Per step this removes a [B]-deep contraction over the whole weight
    gradient; the in-loop `dense_grad` keeps only `dx`. Padded steps output a
    zero `dy` and contribute nothing, as before. Enabled from -O1.
    Guarantees: the gradients are unchanged up to fp32 rounding (summation
    order).
  }];
}

def RNNConcurrentDirectionsPass : Pass<"rnn-concurrent-directions"> {
  let summary = "Run the two directions of a bidirectional layer side by side (scf.forall)";
  let description = [{
    On the cell-level IR (after rnn-hoist-weight-gradients), in every
    function (inference, loss, and gradient: the training forward, whose
    saved sequences rnn-rows-in-place builds in their rows, and the adjoint
    recurrences). Two
    recurrences of the function body that mirror each other (one `reverse`,
    the same operand and result types, inputs of the same batch and length),
    neither needing the other's results, are the two directions of a
    bidirectional layer. Each, with the ops of
    the block only it needs (its hoisted input projection), moves into one
    branch of an `scf.if` on the iteration index of a two-iteration
    `scf.forall` (`rnn.directions`); the results come back as rows of
    stacked `[2, ...]` shared outputs. One-shot bufferization then keeps
    the directions' buffers apart (the iterations are concurrent), and
    `rnn-forall-to-parallel` runs the iterations on the runtime's threads:
    one wake-up per layer instead of a barrier per kernel per step. Pairs
    whose step reads fewer than `min-step-work` weight elements stay as
    they are (too little work to wake a core). Enabled from -O2.
    Guarantees: results unchanged (bit for bit: each direction runs the same
    code on the same data, whichever thread runs it).
  }];
  let options = [
    Option<"minStepWork", "min-step-work", "int64_t", /*default=*/"4096",
           "smallest step (weight and bias elements read per step) worth a thread">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNStackedWavefrontPass : Pass<"rnn-stacked-wavefront"> {
  let summary = "Run two stacked layers as a pipeline over chunks of time (scf.for of scf.forall)";
  let description = [{
    On the cell-level IR (after rnn-concurrent-directions), in every
    function but the step function (`rnn.step_entry`, which generation
    calls one step at a time): the forward, loss and gradient functions,
    in the last both the forward layers and their adjoints. A recurrence
    (layer 2) some of whose inputs are computed from another recurrence's
    output sequences (layer 1) through `rnn.dense` (the hoisted input
    projection), the `dx` of an `rnn.dense_grad` (the adjoint's output
    gradient of the layer below) and `rnn.dropout` (between the layers
    while training; each chunk's clone offset along time by the chunk's
    offset, so that it draws the masks of the whole sequence), or are
    those sequences, its other
    inputs not depending on layer 1 (an adjoint's saved sequences), both
    in the same direction (reverse pairs take their chunks from the end).
    Time is cut into `chunks` chunks of `C = max(1, ceil(T / chunks))`
    steps and the pair becomes an `scf.for` over `n + 1` chunk indices
    (`rnn.chunks`) whose body is a two-iteration `scf.forall`
    (`rnn.wavefront`): iteration 0 runs layer 1 over chunk `k`, iteration
    1 runs layer 2 over chunk `k - 1` (its fed inputs computed from layer
    1's previous chunk after the forall, carried by the loop); a chunk past
    either end has zero steps, and a recurrence over zero steps yields its
    initial states. Sequences used after the pair are shared outputs of
    the forall (each chunk inserted at its offset), the states rows of
    stacked `[2, ...]` shared outputs; the other ops between the layers
    that depend on layer 1 (an adjoint's weight gradients) move after the
    loop. `rnn-forall-to-parallel` gives the iterations to the runtime's
    two threads, so each layer keeps one core (and its weights in that
    core's cache) with one wake-up per chunk, where kernel sharing pays a
    barrier per kernel per step. Without `lengths`, each step reading at
    least `min-step-work` and at most `max-step-work` weight elements
    (above that, a step's kernels are large enough to share between the
    threads, and the chunked layer-2 projection and the layers' cache
    footprints make the pipeline slower: measured on a 2-layer LSTM of 256
    hidden units at batch 1). Enabled from -O2.
    Guarantees: results unchanged up to the summation order of the
    chunked kernels over rows instead of the whole sequence (each row's
    sum is the same reduction), and the same bytes at any thread count.
  }];
  let options = [
    Option<"minStepWork", "min-step-work", "int64_t", /*default=*/"4096",
           "smallest step (weight and bias elements read per step) worth a thread">,
    Option<"maxStepWork", "max-step-work", "int64_t", /*default=*/"131072",
           "largest step (weight and bias elements read per step) for which the pipeline "
           "beats sharing each kernel between the threads">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"16",
           "number of chunks the time axis is cut into">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNForallToParallelPass : Pass<"rnn-forall-to-parallel"> {
  let summary = "Hand the iterations of a bufferized scf.forall to the runtime's threads";
  let description = [{
    On buffers (after one-shot bufferization and buffer deallocation). A
    one-dimensional `scf.forall` without results becomes an `rnn.parallel`
    region in which thread `tid` of `n` runs iterations `tid, tid + n, ...`
    as an `scf.for` (all of them when the runtime gives it one thread).
    `rnn-vectorize-kernels` then leaves the kernels inside whole (the
    region's threads are busy), and `rnn-outline-parallel` makes the region
    a pool function. Runs at every level (it lowers what
    `rnn-concurrent-directions` made).
    Guarantees: no `scf.forall` is left; each iteration's code runs unchanged,
    on some thread, once.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::rnn::RNNDialect"];
}

def RNNExportEntryPass : Pass<"rnn-export-entry", "::mlir::ModuleOp"> {
  let summary = "Emit the runtime ABI: the model descriptor and the C entry point";
  let description = [{
    For the function marked `rnn.entry`, emits the `rnnc_model_desc` constant
    (the model descriptor the runtime reads: vocabularies, inputs, outputs,
    parameters with their initialisation, training settings) and
    `rnnc_model_forward(rnnrt_tensor *args)`, which wraps each argument's data
    pointer and sizes into a memref, calls the model function and writes each
    result into the caller's output buffer. A function marked
    `rnn.step_entry` (the same model with its recurrent states as explicit
    `rnn.state` arguments and results, for generation) becomes
    `rnnc_model_step`, and its states are listed in the descriptor. With a
    prepare function (`rnn.prepare_entry`, from rnn-split-prepare):
    `rnnc_model_prepare` (params -> prepared tensors, descriptor lines
    `prepared NAME BYTES`), `rnnc_model_forward_prepared` and
    `rnnc_model_step_prepared` (the prepared tensors in slots after all the
    others), and the plain entry points as wrappers that prepare at every
    call. See docs/runtime-abi.md.

    Guarantees: the module exports exactly the symbols of the runtime ABI;
    the model functions become private, their bodies unchanged.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RNNAccumulateInPlacePass : Pass<"rnn-accumulate-in-place"> {
  let summary = "Fold `acc + sum(...)` into a reduction that starts from `acc`";
  let description = [{
    On linalg over tensors. An elementwise `linalg.generic` add of `acc` and
    the single-use result of a reduction or contraction that starts from a
    zero fill (its body yields `out + f(ins)`) becomes that reduction started
    from `acc`. This is the shape of every accumulated adjoint of `rnn-bptt`
    (the weights' gradient summed over the reverse time loop, an input's
    adjoint from several uses): one pass over the gradient instead of three
    (fill, contract, add), and the loop-carried accumulator is updated in
    place by bufferization. Enabled from -O1.
    Guarantees: results unchanged up to fp32 rounding (the sum is started
    from `acc` instead of added to it at the end).
  }];
}

def RNNCarryInPlacePass : Pass<"rnn-carry-in-place"> {
  let summary = "Compute a time loop's next state into the state's own tensor";
  let description = [{
    On linalg over tensors, before bufferization. When the value an
    `scf.for` yields for an iteration argument is the result of a linalg op
    in the loop body whose init is a `tensor.empty` it does not read (the
    gate arithmetic writing `h_t`, `c_t`), the init becomes the iteration
    argument itself. One-shot bufferization then updates the state's buffer
    in place instead of allocating a buffer per state per step (and copies
    only where the old state is still read afterwards, such as the saved
    states of the gradient). Enabled from -O1.
    Guarantees: results unchanged (the op overwrites its whole output).
  }];
}

def RNNRowsInPlacePass : Pass<"rnn-rows-in-place"> {
  let summary = "The branches of a two-way scf.forall compute their results in their rows";
  let description = [{
    On linalg over tensors, -O2 and up, just before bufferization. In an
    `scf.forall` whose body is an `scf.if` (rnn-concurrent-directions,
    rnn-stacked-wavefront: one branch per iteration) and whose results go
    back with `tensor.parallel_insert_slice` into rows of the shared outputs:
    a result that both branches build on a `tensor.empty` (through
    destinations: `scf.for` iteration arguments, `insert_slice`
    destinations, destination-style outputs, casts), each empty used once
    and of the row's type and sizes, is built on the row itself, a
    `tensor.extract_slice` of the shared output made before the `scf.if`.
    One-shot bufferization then writes the row in place instead of filling
    a fresh buffer in the branch and copying it into the row (it does not
    look through the `scf.if`).
    Guarantees: the same values (an empty's contents are undefined, and the
    row is overwritten where the branch writes).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def RNNForwardCopiesPass : Pass<"rnn-forward-copies"> {
  let summary = "A linalg op writes where its result is copied to, not into a temporary";
  let description = [{
    On buffers, right after one-shot bufferization (before buffer hoisting
    and deallocation). A `memref.copy` (or `linalg.copy`) whose source is a
    buffer (or a subview of one) allocated only to be written by one linalg
    op earlier in the same block and then copied is removed: the op writes
    into the copy's destination instead, and the temporary goes. This is the
    shape bufferization leaves for a step's gate adjoints (four `[B, H]`
    results of the gate kernel inserted into a `[B, 4H]` slot of the saved
    sequence: one-shot bufferization treats the four insertions into one
    buffer as conflicting and copies each block), and for any result
    concatenated from several outputs of one op.
    Applies only when everything between the op and the copy is free of
    memory effects or is another copy forwarded from the same op, the op
    does not read the destination's buffer nor its own output, and the
    destination's view can be made before the op. Enabled from -O1.
    Guarantees: results unchanged (the same values are written to the same
    place; the temporary held them only in between).
  }];
}

def RNNVectorizeKernelsPass : Pass<"rnn-vectorize-kernels"> {
  let summary = "Register-tiled vector kernels for contractions and elementwise linalg ops on buffers";
  let description = [{
    Runs after bufferization. Every `linalg.generic` that is a contraction
    (`out += lhs * rhs`, one reduction loop, projected-permutation maps)
    becomes scf loops of `vector` ops (8 lanes for AVX2, 16 for AVX-512) with a register tile of
    accumulators: the *dot form* when the reduction axis is contiguous in
    both inputs (`x @ W^T` with PyTorch's `[out, in]` weights: no packing, each
    weight row streams once per tile, one horizontal sum per output), the
    *broadcast form* when the output's last axis is contiguous in an input
    (`dG @ W`, `dG^T @ h` of the backward pass: scalar broadcast times a row;
    long reductions in GotoBLAS-order blocks, the broadcast input's block
    copied into a contiguous buffer first when its rows are its contiguous
    axis and its reduction steps far apart, as in the merged weight
    gradients).
    A bias broadcast or constant fill whose buffer is next written by
    contractions covering all of it is not run: their accumulators start
    from the bias or the constant (docs/architecture.md lists the cases).
    Elementwise generics (gate arithmetic, bias broadcasts, fills, copies)
    run one vector of their last axis at a time with loop-invariant operands
    broadcast. Remainders fall back to smaller tiles and scalar code, so any
    size is handled. `math.tanh`, `math.exp` and `math.log` (vector or
    scalar) become MLIR's polynomial approximations. Other generics (reductions, gathers)
    are left for `convert-linalg-to-loops`. Enabled from -O2.

    With `parallel` (on from -O2), each kernel of enough work is emitted
    inside an `rnn.parallel` region: every thread computes a contiguous
    share of the outputs — for a contraction the rows when there are more
    rows than columns, else the columns (so at batch 1 each thread keeps the
    same slice of the recurrent weights, in its own L2, from step to step);
    for an elementwise map the rows, or the last axis when there is one
    row. Shares are multiples of the register tiles, and every output is
    computed by the same code in the same order whatever the thread count.
    With `share-kernels` (on from -O2; the pass must then run on the
    module), a kernel the module repeats is emitted once: the copies (the
    same op, body constants and operand types, the same seed up to its bias
    buffer, alike inside or outside loops and `rnn.parallel` regions) of a
    contraction, reduction, transpose or map of more than three body ops,
    of static work >= 256 (>= 2048 inside a loop), become calls to a private
    function `kernel_N` (`rnn.kernel`, `rnn.kernel_in_loop`) on their
    distinct memref operands and the seed's bias.
    Guarantees: results equal the loop lowering's up to fp32 rounding
    (summation order, FMA contraction, the approximations' few-ulp error),
    and are bit for bit the same for any number of threads; a shared
    kernel's function holds the code the copy would have had in place.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector (8 for AVX2, 16 for AVX-512)">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "wrap each kernel in rnn.parallel, its outputs shared out among the runtime's threads">,
    Option<"parallelMinWork", "parallel-min-work", "int64_t", /*default=*/"4096",
           "kernels whose sizes give less work than this stay single-threaded (dynamic "
           "sizes count as 16 when the static ones give at least 1024, or 256 with two "
           "dynamic sizes, else as 1; the runtime decides on the actual sizes)">,
    Option<"shareKernels", "share-kernels", "bool", /*default=*/"false",
           "on a module: emit each kernel that the module repeats once, in a private "
           "function that its copies call">
  ];
  let dependentDialects = ["::mlir::vector::VectorDialect",
                           "::mlir::rnn::RNNDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNNarrowWeightsPass : Pass<"rnn-narrow-weights", "::mlir::ModuleOp"> {
  let summary = "Read loop-invariant weights from f16/bf16 copies inside inference time loops";
  let description = [{
    Opt-in (`rnnc --weight-storage=f16|bf16`), on linalg over tensors. In the
    inference functions (`rnn.entry`, `rnn.step_entry`), every multiply-add
    contraction inside an `scf.for` that reads a static f32 tensor defined
    outside the loop (a recurrent weight matrix, at least `min-elements`
    elements) reads a copy of it in `type` instead: one `linalg.generic`
    of `arith.truncf` (round to nearest even) before the outermost loop it
    is invariant in, shared by every contraction reading that weight; the
    contraction's body widens the element with `arith.extf`. Arithmetic
    stays f32; each step reads half the weight bytes (at batch 1 the time
    of a step is the time to read its weights). Gradient and loss functions
    keep the f32 weights (training is unchanged).
    Guarantees: outputs are those of the model with its in-loop weights
    rounded to `type` (the effect on outputs is measured by
    `test/e2e/narrow-weights.test` and reported in bench/README.md).
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"f16\"",
           "storage type of the weights: f16 or bf16">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"4096",
           "smaller weights stay f32">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNTransposeWeightsPass : Pass<"rnn-transpose-weights"> {
  let summary = "Transposed [in, out] weight copies for sequence-wide contractions";
  let description = [{
    On linalg over tensors, -O2 and up. A multiply-add contraction outside
    every `scf.for` whose output has rank 3 or more (rows spanning batch x
    time: the hoisted input projection, a dense head over a sequence) and
    that reads a static 2-D weight `[N, K]` in the dot form (the other input
    also contiguous along the reduction axis) reads a `linalg.transpose`d
    `[K, N]` copy instead, made once per call right after the weight is
    defined and shared by every such contraction. `rnn-vectorize-kernels`
    then emits the broadcast form for it (no horizontal sums; register tiles
    of rows x vectors, GotoBLAS blocking), measured 2.6x faster than the dot
    form for `[1600, 128] x [128, 2048]` on this host. Per-step contractions
    inside loops keep the dot form (at batch 1 it streams the weights
    fastest), except those whose reduction is at most `max-step-reduction`
    long (a tiny hidden size): there the dot form fills a fraction of each
    vector and pays a horizontal sum per output, and the broadcast form over
    a transposed copy (made once per call, outside the loop) does one
    multiply-add per input unit.
    Guarantees: results unchanged up to fp32 summation order.
  }];
  let options = [
    Option<"maxStepReduction", "max-step-reduction", "int64_t", /*default=*/"8",
           "Longest reduction of a per-step contraction (in a loop) that is "
           "transposed">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def RNNSplitPreparePass : Pass<"rnn-split-prepare", "::mlir::ModuleOp"> {
  let summary = "Move the parameter-only work of the inference functions into a prepare function";
  let description = [{
    On linalg over tensors, -O1 and up, after the weight passes
    (rnn-narrow-weights, rnn-pack-weights, rnn-transpose-weights). In the
    inference functions (`rnn.entry`, `rnn.step_entry`), the linalg ops at
    the function's top level whose operands are, through ops without side
    effects, only parameters (`rnn.param` arguments) and constants, and
    whose results reach (directly or through views) an op that reads
    anything else — the packed panels, transposed and f16/bf16 copies of the
    weights — move into a new function `<entry>_prepare`
    (`rnn.prepare_entry`): parameters in (`rnn.param`), one result per
    distinct prepared tensor (`rnn.prepared = "<param>.<kind>"`). Both
    inference functions take all of them as extra arguments (same names,
    same order, after their own) in place of the values they computed.
    rnn-export-entry exports `rnnc_model_prepare` and the `_prepared`
    entry points; the runtime calls the prepare function once per set of
    weights (`bench`, `generate`), instead of repacking at every call.
    Guarantees: the inference functions, given the prepare function's
    results for the same parameters, compute what they computed before
    (the same ops on the same values).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def RNNGateEpiloguePass : Pass<"rnn-gate-epilogue"> {
  let summary = "Compute each block of hidden units' gates and apply their arithmetic at once (scf.forall)";
  let description = [{
    On linalg over tensors, -O2 and up, after rnn-pack-weights. A gate map
    (an elementwise `linalg.generic` over `[B, H]`) that reads every
    `[B, H]` column block of a step's pre-activations `[B, G*H]`, computed by
    a multiply-add contraction seeded with a bias broadcast (directly, or in
    panels, or either under rnn-pack-weights' `scf.if` by batch), is tiled
    into an `scf.forall` over blocks of `bs` hidden units (`rnn.gate_blocks`):
    each iteration computes the `G` column blocks `[B, bs]` its units need
    (the bias block, then the contraction on those weight rows or panels)
    into the pre-activation buffer and runs the gate map on them. One
    thread then computes all the gates of its units and applies their
    arithmetic while they are in its L1 (rnn-forall-to-parallel hands the
    blocks out, the same ones to the same thread every step): one
    fork/join per step instead of one per kernel, and no pre-activation
    read by another core. An output of the gate map that the contraction
    reads (the hidden state, updated in place) goes to the sequence row it
    is copied to (or to a fresh tensor) and is copied into the state after
    the blocks; a copy of the whole pre-activations (saved for training)
    becomes the blocks' buffer. `bs` is the largest multiple of the panel
    width up to `block` that cuts H into at least two blocks; steps whose
    contraction does less than `min-work` multiply-adds at batch 1 (or
    their static batch) stay as they are. Not inside another scf.forall
    (rnn-concurrent-directions, rnn-stacked-wavefront: their threads are
    busy).
    Guarantees: results unchanged, bit for bit (each element is computed by
    the same operations in the same order).
  }];
  let options = [
    Option<"block", "block", "int64_t", /*default=*/"32", "hidden units per block (at most)">,
    Option<"minWork", "min-work", "int64_t", /*default=*/"32768",
           "smallest step contraction (multiply-adds at batch 1) worth the blocks">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect"];
}

def RNNPackWeightsPass : Pass<"rnn-pack-weights"> {
  let summary = "Packed weight panels for per-step and sequence-wide contractions";
  let description = [{
    On linalg over tensors, -O2 and up. A multiply-add contraction reading a
    static f32 weight as `W[n, k]` or `W[k, n]` (`n` the output's last axis,
    `k` the reduction; the other input indexed by the output's leading axes
    and `k`) is computed over panels `Wp[p, k, q] = W[p*P + q, k]` of
    `P = panel` output columns (`linalg.transpose` of an `expand_shape`):
    `x(.., k) * Wp(p, k, q) -> out(.., p, q)` on the output's last axis
    expanded to `[N/P, P]`, plus the original form on the weight's last rows
    (columns) for the `N mod P` leftover output columns.

    Per-step contractions (rank-2 output inside an `scf.for`, the weight
    defined outside it: the recurrent projection and the gradient through
    it) get the panel form only for batches of `min-rows` rows or more: the
    panels are made before the outermost loop the weight and the row count
    are invariant in (their count is `N/P` or 0 by `rows >= min-rows`, so
    batch-1 programs pay nothing), and an `scf.if` in the loop picks the
    panel form or the original one (the batch-1 GEMV keeps the dot form).
    Sequence-wide contractions (rank-3 output outside loops: the hoisted
    input projection, sequence heads) always take the panels, packed right
    after the weight's definition and shared by its readers.

    With `P` twice the vector width, `rnn-vectorize-kernels` gives the panel
    form register tiles of 12 rows x 2 vectors reading one contiguous panel
    row per reduction step (measured in C for `[32, 512] x [512, 2048]`: 161
    GFLOP/s packed vs 107 for the dot form and 55 for the broadcast form on
    a plain transposed copy, whose 8 KiB row stride aliases in L1).
    Weights of fewer than `min-elements` elements are left alone.
    With `prepared` (set by the pipeline, which then runs rnn-split-prepare)
    the per-step panels of the inference functions (`rnn.entry`,
    `rnn.step_entry`) are always made, all `N/P` of them, right after the
    weight's definition like the sequence-wide ones (and shared with them):
    they depend on the parameters only, so rnn-split-prepare moves them to
    load time; the `scf.if` in the loop still picks the form by batch.
    Guarantees: results unchanged up to fp32 summation order (each output
    still sums its reduction in order).
  }];
  let options = [
    Option<"prepared", "prepared", "bool", /*default=*/"false",
           "Per-step panels of the inference functions made regardless of "
           "the batch (for rnn-split-prepare)">,
    Option<"panel", "panel", "int64_t", /*default=*/"32",
           "Output columns per panel (twice the kernels' vector width)">,
    Option<"minRows", "min-rows", "int64_t", /*default=*/"4",
           "Fewest rows (batch) for which the packed form is used">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"16384",
           "Smallest weight (elements) that is packed: smaller ones stay in "
           "L1 in any layout, and each packed contraction is a second "
           "kernel to compile">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNUnrollTimePass : Pass<"rnn-unroll-time"> {
  let summary = "Unroll the time loops, fully for short static lengths";
  let description = [{
    On linalg over tensors, before bufferization (-O3, or rnnc
    `--unroll-time=N` at any level). The `scf.for` loops lowered from
    `rnn.recurrence` and `rnn.decode` (marked `rnn.shape_preserving`) are
    unrolled: fully when the number of steps is a constant of at most
    `full-max-steps`, otherwise by `factor`, the remaining steps in an
    epilogue loop (dynamic lengths: the epilogue runs `T mod factor` steps).
    The states of consecutive steps in one iteration are chained through
    SSA values; bufferization gives each unrolled copy's temporaries their
    own buffers, hoisted out of the loop at -O1 and up.
    Guarantees: results unchanged (the same operations in the same order).
  }];
  let options = [
    Option<"factor", "factor", "int64_t", /*default=*/"2",
           "Steps per iteration of an unrolled loop (1: only full unrolling)">,
    Option<"fullMaxSteps", "full-max-steps", "int64_t", /*default=*/"8",
           "Loops with a static number of steps up to this are unrolled fully">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def RNNOutlineParallelPass : Pass<"rnn-outline-parallel", "::mlir::ModuleOp"> {
  let summary = "Outline rnn.parallel regions into functions run by the runtime's thread pool";
  let description = [{
    Runs last, when everything around and inside the `rnn.parallel` regions
    is in the LLVM dialect. Each region becomes a private
    `llvm.func @<parent>_parallel<N>(%ctx: !llvm.ptr, %tid: i64, %nthreads: i64)`
    that loads the values the region uses from above out of a struct at
    `%ctx` (constants are cloned instead); the op becomes stores of those
    values into a stack slot of the enclosing function's entry block and
    `llvm.call @rnnc_parallel_run(@<fn>, %ctx, %work)`, the runtime's entry
    (docs/runtime-abi.md) that runs the function on each thread of its pool
    and returns when all are done.
    Guarantees: no `rnn.parallel` op is left; each region's code runs unchanged.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // RNN_PASSES
