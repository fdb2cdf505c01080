//===- RNNOps.td - The rnn dialect: layer-level and cell-level ops -*- tablegen -*-===//
//
// The `rnn` dialect has two levels on value-semantics tensors:
//   * layer level: one op per layer of the model language (`rnn.recurrent`,
//     `rnn.embedding`, `rnn.dense`, ...), produced by MLIRGen;
//   * cell level: `rnn.recurrence`, a time loop with carried state whose body is
//     made of per-step ops (`rnn.dense`, `rnn.lstm_gates`, ...), produced from the
//     layer level by `rnn-expand-recurrent`. Performance and training passes
//     (hoisting, fusion, unrolling, BPTT) are rewrites of this form.
//
//===----------------------------------------------------------------------===//

#ifndef RNN_OPS
#define RNN_OPS

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def RNN_Dialect : Dialect {
  let name = "rnn";
  let cppNamespace = "::mlir::rnn";
  let summary = "Recurrent neural networks: layers, cells and time recurrences";
  let description = [{
    The `rnn` dialect models recurrent networks on ranked tensors with value
    semantics, batch-first (`[B, T, F]`). Parameters are ordinary function
    arguments whose `rnn.param` attribute names them after PyTorch's
    `state_dict`, so weights saved from PyTorch load as they are.
  }];
  // Simplifications of the tensor code rnn-bptt writes (RNNCanonicalize.cpp).
  let hasCanonicalizer = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

class RNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<RNN_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def RNN_CellKind : I32EnumAttr<"CellKind", "recurrent cell kind", [
    I32EnumAttrCase<"rnn", 0>, I32EnumAttrCase<"lstm", 1>,
    I32EnumAttrCase<"gru", 2>]> {
  let cppNamespace = "::mlir::rnn";
}

def RNN_Direction : I32EnumAttr<"Direction", "direction of a recurrent layer", [
    I32EnumAttrCase<"forward", 0>, I32EnumAttrCase<"reverse", 1>,
    I32EnumAttrCase<"bidirectional", 2>]> {
  let cppNamespace = "::mlir::rnn";
}

def RNN_Activation : I32EnumAttr<"Activation", "elementwise activation", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"tanh", 1>,
    I32EnumAttrCase<"relu", 2>, I32EnumAttrCase<"sigmoid", 3>]> {
  let cppNamespace = "::mlir::rnn";
}

def RNN_AttentionKind : I32EnumAttr<"AttentionKind", "attention score function", [
    I32EnumAttrCase<"dot", 0>, I32EnumAttrCase<"general", 1>,
    I32EnumAttrCase<"additive", 2>]> {
  let cppNamespace = "::mlir::rnn";
}

def F32RankedTensor : RankedTensorOf<[F32]>;
def I32RankedTensor : RankedTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// Layer-level ops
//===----------------------------------------------------------------------===//

def RNN_OneHotOp : RNN_Op<"onehot", [Pure]> {
  let summary = "one-hot encoding of token ids";
  let description = [{
    Maps integer token ids `[d0, ..., dn]` to `f32` vectors `[d0, ..., dn, V]`
    with a 1 at the token's index, where `V` (static) is the vocabulary size.
    Token ids must lie in `[0, V)`; the runtime checks inputs before the call.

    ```mlir
    %h = rnn.onehot %x : tensor<?x?xi32> -> tensor<?x?x5xf32>
    ```
  }];
  let arguments = (ins I32RankedTensor:$tokens);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = "$tokens attr-dict `:` type($tokens) `->` type($result)";
  let hasVerifier = 1;
}

def RNN_EmbeddingOp : RNN_Op<"embedding", [Pure]> {
  let summary = "table lookup of token ids";
  let description = [{
    Gathers rows of `table` (`[V, D]`, PyTorch's `nn.Embedding.weight`) for
    every token id: `[d0, ..., dn]` -> `[d0, ..., dn, D]`. With `padding_idx`
    (PyTorch's), that row gets no gradient (`mask_zero` padding: row 0).

    ```mlir
    %e = rnn.embedding %x, %table : tensor<?x?xi32>, tensor<5x16xf32> -> tensor<?x?x16xf32>
    ```
  }];
  let arguments = (ins I32RankedTensor:$tokens, F32RankedTensor:$table,
                       OptionalAttr<I64Attr>:$padding_idx);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def RNN_DropoutOp : RNN_Op<"dropout", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "inverted dropout with a counter-based mask";
  let description = [{
    `rng` is `[seed, training]` (i64). While training (`training != 0`) each
    element is kept with probability `1 - rate` and scaled by `1 / (1 - rate)`,
    else zeroed (PyTorch's `nn.Dropout`); otherwise the op is the identity. The
    mask is a pure function of the seed, `salt` and the element's indices (a
    splitmix64 hash; docs/architecture.md gives the formula), so the adjoint
    is the same op applied to the output's adjoint, and distinct dropout sites
    (different `salt`) draw independent masks.

    `offsets` (none, or one per dimension) place the input inside a larger
    tensor: element `(i0, ..., ik)` draws the mask of element
    `(i0 + o0, ..., ik + ok)`, so that a slice of a sequence (a chunk of time
    steps, rnn-stacked-wavefront) gets the same mask as it has in the whole.

    ```mlir
    %d = rnn.dropout %x, %rng {rate = 5.000000e-01 : f64, salt = 3 : i64} : tensor<?x?x8xf32>, tensor<2xi64>
    %c = rnn.dropout %chunk, %rng at [%c0, %off, %c0] {rate = 5.000000e-01 : f64, salt = 3 : i64} : tensor<?x?x8xf32>, tensor<2xi64>
    ```
  }];
  let arguments = (ins F32RankedTensor:$input, RankedTensorOf<[I64]>:$rng, Variadic<Index>:$offsets,
                       F64Attr:$rate, I64Attr:$salt);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $rng (`at` ` ` `[` $offsets^ `]`)? attr-dict `:` type($input) `,` type($rng)
  }];
  let builders = [
    // Without offsets (the whole tensor).
    OpBuilder<(ins "Value":$input, "Value":$rng, "FloatAttr":$rate, "IntegerAttr":$salt), [{
      build($_builder, $_state, input.getType(), input, rng, ValueRange{}, rate, salt);
    }]>
  ];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def RNN_SequenceLengthsOp : RNN_Op<"sequence_lengths", [Pure]> {
  let summary = "per-example valid lengths of padded token sequences";
  let description = [{
    For token ids `[B, T]` padded with `padding` after each example's last
    valid token (`embedding(..., mask_zero=true)` pads with 0), the length of
    example `b` is one past the index of its last token that is not padding
    (0 when every token is padding; the runtime rejects such inputs).

    ```mlir
    %n = rnn.sequence_lengths %x {padding = 0 : i64} : tensor<?x?xi32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins I32RankedTensor:$tokens, DefaultValuedAttr<I64Attr, "0">:$padding);
  let results = (outs I32RankedTensor:$lengths);
  let assemblyFormat = "$tokens attr-dict `:` type($tokens) `->` type($lengths)";
  let hasVerifier = 1;
}

def RNN_LastStepOp : RNN_Op<"last_step", [Pure]> {
  let summary = "each example's last valid step of a sequence";
  let description = [{
    `[B, T, F]` -> `[B, F]`: step `T-1`, or with `lengths` step `lengths[b]-1`
    of example `b` (lengths are in `[1, T]`; the runtime checks inputs).

    ```mlir
    %y = rnn.last_step %seq lengths(%n) : (tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$input, Optional<I32RankedTensor>:$lengths);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = [{
    $input (`lengths` `(` $lengths^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def RNN_AttentionOp : RNN_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "attention of queries over a sequence of keys (Luong dot/general, Bahdanau additive)";
  let description = [{
    `query` is `[B, Hq]` (one decoder step) or `[B, Tq, Hq]`; `keys` are the
    encoder outputs `[B, S, Hk]` (also the values). Scores over `s`:
    `dot`: `q . k_s` (Hq = Hk); `general`: `q . (W k_s)` with `W` `[Hq, Hk]`;
    `additive`: `v . tanh(Wq q + Wk k_s)` with `Wq` `[A, Hq]`, `Wk` `[A, Hk]`,
    `v` `[1, A]`. With `lengths`, positions `s >= lengths[b]` get no weight.
    Results: the context `sum_s w_s k_s` (query shape with last axis Hk) and
    the weights `w = softmax(scores)` (query shape with last axis S).

    ```mlir
    %ctx, %w = rnn.attention general %h, %enc lengths(%n) weights(%W)
        : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>)
        -> (tensor<?x8xf32>, tensor<?x?xf32>)
    ```
  }];
  let arguments = (ins F32RankedTensor:$query, F32RankedTensor:$keys,
                       Optional<I32RankedTensor>:$lengths,
                       Variadic<F32RankedTensor>:$weights,
                       RNN_AttentionKind:$kind);
  let results = (outs F32RankedTensor:$contextVector, F32RankedTensor:$scores);
  let assemblyFormat = [{
    $kind $query `,` $keys (`lengths` `(` $lengths^ `)`)? (`weights` `(` $weights^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def RNN_StepMaskOp : RNN_Op<"step_mask", [Pure]> {
  let summary = "1 where a step is inside its example's length, else 0";
  let description = [{
    `mask[b, t] = t < lengths[b] ? 1 : 0` (f32), with `T` the time axis of
    `like` (`[B, T, ...]`). Back-propagation through time feeds it to its
    adjoint recurrence to skip padded steps.

    ```mlir
    %m = rnn.step_mask %n, %xs : (tensor<?xi32>, tensor<?x?x4xf32>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins I32RankedTensor:$lengths, RankedTensorOf<[F32, I32]>:$like);
  let results = (outs F32RankedTensor:$mask);
  let assemblyFormat = "$lengths `,` $like attr-dict `:` functional-type(operands, results)";
}

def RNN_SelectRowsOp : RNN_Op<"select_rows", [Pure, AllTypesMatch<["a", "b", "result"]>]> {
  let summary = "row-wise select by a 0/1 mask";
  let description = [{
    Row `i` of the result is row `i` of `a` where `mask[i] > 0.5`, else row
    `i` of `b`.

    ```mlir
    %r = rnn.select_rows %m, %a, %b : tensor<?xf32>, tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$mask, F32RankedTensor:$a, F32RankedTensor:$b);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = "$mask `,` $a `,` $b attr-dict `:` type($mask) `,` type($a)";
}

def RNN_RecurrentOp : RNN_Op<"recurrent", [Pure, AttrSizedOperandSegments]> {
  let summary = "a recurrent layer: RNN (tanh/relu), LSTM or GRU, stacked and/or bidirectional";
  let description = [{
    Runs `layers` stacked cells of kind `cell` over the time axis of `input`
    (`[B, T, I]`), with PyTorch's semantics (`torch.nn.RNN/LSTM/GRU`,
    `batch_first=True`; the GRU applies its reset gate after the hidden matmul).

    `weights` holds, for each layer `l` and each direction (forward, then
    reverse), PyTorch's `weight_ih_l{l}` `[G*H, I_l]`, `weight_hh_l{l}` `[G*H, H]`,
    `bias_ih_l{l}` `[G*H]` and `bias_hh_l{l}` `[G*H]`, where `G` is 1, 4 or 3 for
    rnn, lstm and gru, `H` is `hidden`, `I_0 = I` and `I_l = D*H` above the first
    layer (`D` = 2 when bidirectional).

    `output` is `[B, T, D*H]` when `return_sequences` is set, otherwise the
    final hidden state of the last layer `[B, D*H]` (forward | backward).
    `finalStates` are PyTorch's `h_n` (and `c_n` for an LSTM), `[layers*D, B, H]`.
    Optional `lengths` (`[B]`) give each example's valid length in a padded
    batch; optional `initialStates` are `h_0` (and `c_0`) shaped like `h_n`.
    With `rng` (a loss function's dropout seed) and `dropout > 0`, the output
    sequence of every layer but the last goes through `rnn.dropout` (salt
    `dropout_salt + layer`) before the next layer, as PyTorch's `dropout=`.

    ```mlir
    %y, %hn, %cn = rnn.recurrent lstm forward %x weights(%wih, %whh, %bih, %bhh)
        {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
        : (tensor<?x?x5xf32>, tensor<32x5xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>)
        -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
    ```
  }];
  let arguments = (ins F32RankedTensor:$input,
                       Variadic<F32RankedTensor>:$weights,
                       Optional<I32RankedTensor>:$lengths,
                       Variadic<F32RankedTensor>:$initialStates,
                       Optional<RankedTensorOf<[I64]>>:$rng,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout,
                       DefaultValuedAttr<I64Attr, "0">:$dropout_salt,
                       RNN_CellKind:$cell,
                       RNN_Direction:$direction,
                       ConfinedAttr<I64Attr, [IntPositive]>:$hidden,
                       ConfinedAttr<I64Attr, [IntPositive]>:$layers,
                       BoolAttr:$return_sequences,
                       DefaultValuedAttr<RNN_Activation, "::mlir::rnn::Activation::tanh">:$activation);
  let results = (outs F32RankedTensor:$output, Variadic<F32RankedTensor>:$finalStates);
  let assemblyFormat = [{
    $cell $direction $input `weights` `(` $weights `)`
    (`lengths` `(` $lengths^ `)`)? (`init` `(` $initialStates^ `)`)? (`rng` `(` $rng^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Number of gate blocks per cell: 1 (rnn), 4 (lstm) or 3 (gru).
    int64_t getNumGates();
    /// Number of directions: 2 when bidirectional, otherwise 1.
    int64_t getNumDirections();
    /// Number of carried states per cell: 2 for an LSTM (h, c), otherwise 1.
    int64_t getNumStates();
  }];
  let hasVerifier = 1;
}

def RNN_DenseOp : RNN_Op<"dense", [Pure]> {
  let summary = "affine map of the last axis, then an activation";
  let description = [{
    `act(input @ weight^T + bias)` over the last axis, for inputs of any rank
    (`[..., I]` -> `[..., U]`); `weight` is `[U, I]` and `bias` `[U]`, exactly
    `torch.nn.Linear`. At the cell level the same op computes the gate
    pre-activations of one step (`[B, I]`) or, once hoisted, of all steps.

    ```mlir
    %y = rnn.dense none %x, %w, %b : (tensor<?x?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x?x5xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$input, F32RankedTensor:$weight,
                       Optional<F32RankedTensor>:$bias,
                       DefaultValuedAttr<RNN_Activation, "::mlir::rnn::Activation::none">:$activation);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = [{
    $activation $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def RNN_SoftmaxOp : RNN_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax over the last axis";
  let description = [{
    ```mlir
    %p = rnn.softmax %logits : tensor<?x?x5xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$input);
  let results = (outs F32RankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def RNN_CrossEntropyOp : RNN_Op<"cross_entropy", [Pure]> {
  let summary = "mean cross-entropy of logits against class ids";
  let description = [{
    PyTorch's `F.cross_entropy(logits, target, reduction='mean')` with the class
    axis last: `logits` `[..., C]`, `target` `[...]` of class ids. With
    `weights` (the target's shape; TensorFlow's `sequence_loss`): the weighted
    mean `sum(w * ce) / sum(w)`, so positions of weight 0 do not count (a 0/1
    step mask gives PyTorch's `ignore_index` mean over the other positions).

    ```mlir
    %l = rnn.cross_entropy %logits, %y : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
    %m = rnn.cross_entropy %logits, %y weights(%w : tensor<?x?xf32>) : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$logits, I32RankedTensor:$target,
                       Optional<F32RankedTensor>:$weights);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $target (`weights` `(` $weights^ `:` type($weights) `)`)? attr-dict `:`
    type($logits) `,` type($target) `->` type($loss)
  }];
  let hasVerifier = 1;
}

def RNN_MSEOp : RNN_Op<"mse", [Pure]> {
  let summary = "mean squared error";
  let description = [{
    PyTorch's `F.mse_loss(pred, target, reduction='mean')`.

    ```mlir
    %l = rnn.mse %pred, %y : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$pred, F32RankedTensor:$target);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $pred `,` $target attr-dict `:` type($pred) `,` type($target) `->` type($loss)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Cell-level ops
//===----------------------------------------------------------------------===//

def RNN_RecurrenceOp : RNN_Op<"recurrence",
    [AttrSizedOperandSegments, RecursiveMemoryEffects]> {
  let summary = "a loop over time with carried state";
  let description = [{
    Iterates its body over the time axis (axis 1) of the sequences `inputs`
    (`[B, T, ...]`, f32 values or i32 token ids), forward or, with `reverse`, from the last step to the
    first. The body's block arguments are one step of every input (`[B, ...]`)
    followed by the carried states, initialised from `init`. The body yields
    per-step outputs followed by the next states. Results: one sequence
    `[B, T, ...]` per per-step output (written at the step's own time index),
    then the final states.

    With `lengths` (`[B]`), example `b` only runs its first `lengths[b]` steps
    (from step `lengths[b]-1` down when reversed): its states stay fixed and its
    outputs are zero on the other steps, as with `pack_padded_sequence`.

    ```mlir
    %ys, %h, %c = rnn.recurrence(%x) init(%h0, %c0)
        : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>)
        -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
    ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
      %gx = rnn.dense none %xt, %wih, %bih : (...) -> tensor<?x32xf32>
      %gh = rnn.dense none %ht, %whh, %bhh : (...) -> tensor<?x32xf32>
      %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
      rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<RankedTensorOf<[F32, I32]>>:$inputs,
                       Variadic<F32RankedTensor>:$init,
                       Optional<I32RankedTensor>:$lengths,
                       UnitAttr:$reverse);
  let results = (outs Variadic<F32RankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`reverse` $reverse^)? `(` $inputs `)` `init` `(` $init `)` (`lengths` `(` $lengths^ `)`)?
    attr-dict `:` functional-type(operands, results) $body
  }];
  let extraClassDeclaration = [{
    /// Number of per-step outputs (sequence results).
    unsigned getNumOutputs() { return getResults().size() - getInit().size(); }
    /// The sequence results, one per per-step output.
    ::mlir::ResultRange getOutputs() { return getResults().take_front(getNumOutputs()); }
    /// The final carried states.
    ::mlir::ResultRange getFinalStates() { return getResults().drop_front(getNumOutputs()); }
    /// The body's block arguments for one step of each input.
    ::mlir::Block::BlockArgListType getStepInputArgs() {
      return getBody().front().getArguments().take_front(getInputs().size());
    }
    /// The body's block arguments for the carried states.
    ::mlir::Block::BlockArgListType getStateArgs() {
      return getBody().front().getArguments().drop_front(getInputs().size());
    }
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
}

def RNN_DecodeOp : RNN_Op<"decode",
    [AttrSizedOperandSegments, RecursiveMemoryEffects]> {
  let summary = "a decoder loop over output steps, fed its previous token";
  let description = [{
    Runs its body once per output step. The body's block arguments are the
    previous token ids (`[B]` i32) and the carried states (initialised from
    `init`, e.g. the encoder's final states); it yields per-step outputs (the
    first is the step's scores over the output vocabulary, `[B, V]`) and then
    the next states. The previous token of step 0 is `start`; of step `t > 0`
    it is `teacher[:, t-1]` when a `teacher` sequence (`[B, T]`) is given
    (teacher forcing, `T` steps), otherwise the argmax of step `t-1`'s scores
    (greedy decoding, `max_len` steps). Results: one sequence `[B, steps, ...]`
    per per-step output, then the final states. Decoding does not stop early:
    the runtime cuts each example's output after its first `end` token.

    ```mlir
    %logits, %h = rnn.decode init(%h0) {start = 1 : i64, end = 2 : i64, max_len = 20 : i64}
        : (tensor<?x8xf32>) -> (tensor<?x?x6xf32>, tensor<?x8xf32>) {
    ^bb0(%prev: tensor<?xi32>, %ht: tensor<?x8xf32>):
      ...
      rnn.yield %scores, %h2 : tensor<?x6xf32>, tensor<?x8xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<F32RankedTensor>:$init,
                       Optional<I32RankedTensor>:$teacher,
                       I64Attr:$start, I64Attr:$end,
                       ConfinedAttr<I64Attr, [IntPositive]>:$max_len);
  let results = (outs Variadic<F32RankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `init` `(` $init `)` (`teacher` `(` $teacher^ `)`)?
    attr-dict `:` functional-type(operands, results) $body
  }];
  let extraClassDeclaration = [{
    /// Number of per-step outputs (sequence results).
    unsigned getNumOutputs() { return getResults().size() - getInit().size(); }
    ::mlir::ResultRange getOutputs() { return getResults().take_front(getNumOutputs()); }
    ::mlir::ResultRange getFinalStates() { return getResults().drop_front(getNumOutputs()); }
  }];
  let hasRegionVerifier = 1;
}

def RNN_YieldOp : RNN_Op<"yield",
    [Pure, Terminator, ReturnLike, ParentOneOf<["RecurrenceOp", "DecodeOp"]>]> {
  let summary = "ends a recurrence step: per-step outputs, then next states";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

def RNN_RNNGatesOp : RNN_Op<"rnn_gates", [Pure, SameOperandsAndResultType]> {
  let summary = "Elman cell update: act(gx + gh)";
  let description = [{
    `gx` and `gh` are the input and hidden projections of one step (biases
    included), `[B, H]`; the result is the next hidden state.

    ```mlir
    %h2 = rnn.rnn_gates tanh %gx, %gh : tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$gx, F32RankedTensor:$gh,
                       DefaultValuedAttr<RNN_Activation, "::mlir::rnn::Activation::tanh">:$activation);
  let results = (outs F32RankedTensor:$h);
  let assemblyFormat = "$activation $gx `,` $gh attr-dict `:` type($gx)";
}

def RNN_LSTMGatesOp : RNN_Op<"lstm_gates", [Pure, AllTypesMatch<["c", "hNext", "cNext"]>, AllTypesMatch<["gx", "gh"]>]> {
  let summary = "LSTM cell update from gate pre-activations";
  let description = [{
    `gx`, `gh` are `[B, 4H]` projections in PyTorch's gate order (i, f, g, o);
    `c` is the previous cell state `[B, H]`:
    `c' = sigmoid(f)*c + sigmoid(i)*tanh(g)`, `h' = sigmoid(o)*tanh(c')`.

    ```mlir
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %c : tensor<?x32xf32>, tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$gx, F32RankedTensor:$gh, F32RankedTensor:$c);
  let results = (outs F32RankedTensor:$hNext, F32RankedTensor:$cNext);
  let assemblyFormat = [{
    $gx `,` $gh `,` $c attr-dict `:` type($gx) `,` type($c)
  }];
  let hasVerifier = 1;
}

def RNN_GRUGatesOp : RNN_Op<"gru_gates", [Pure, AllTypesMatch<["h", "hNext"]>, AllTypesMatch<["gx", "gh"]>]> {
  let summary = "GRU cell update from gate pre-activations (reset after the hidden matmul)";
  let description = [{
    `gx`, `gh` are `[B, 3H]` projections in PyTorch's gate order (r, z, n),
    biases included; `h` is the previous hidden state `[B, H]`:
    `r = sigmoid(x_r + h_r)`, `z = sigmoid(x_z + h_z)`, `n = tanh(x_n + r*h_n)`,
    `h' = (1-z)*n + z*h`.

    ```mlir
    %h2 = rnn.gru_gates %gx, %gh, %h : tensor<?x24xf32>, tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$gx, F32RankedTensor:$gh, F32RankedTensor:$h);
  let results = (outs F32RankedTensor:$hNext);
  let assemblyFormat = [{
    $gx `,` $gh `,` $h attr-dict `:` type($gx) `,` type($h)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Code generation: work shared by the runtime's threads
//===----------------------------------------------------------------------===//

def RNN_ParallelOp : RNN_Op<"parallel", [RecursiveMemoryEffects]> {
  let summary = "a kernel whose region every thread of the runtime's pool runs on its share";
  let description = [{
    Created by `rnn-vectorize-kernels` (option `parallel`) around a kernel
    (a contraction or an elementwise map) and turned into an outlined
    function and a call of the runtime's `rnnc_parallel_run` by
    `rnn-outline-parallel` once everything else is in the LLVM dialect.

    The region's entry block takes the thread's index and the number of
    threads taking part (`i64`, index in `[0, nthreads)`); each thread
    computes the part of the kernel's outputs its index selects, disjoint
    from the others', so the results do not depend on the thread count.
    `work` estimates the kernel's cost (multiply-adds or element
    operations): the runtime runs the region on one thread (index 0 of 1)
    when it is small, when one thread is configured, or when the pool is busy.
    The region may have any number of blocks (after `convert-scf-to-cf`);
    `rnn.parallel_end` ends it.

    ```mlir
    rnn.parallel work(%w) {
    ^bb0(%tid: i64, %nthreads: i64):
      ...
      rnn.parallel_end
    }
    ```
  }];
  let arguments = (ins I64:$work);
  let regions = (region AnyRegion:$body);
  let assemblyFormat = "`work` `(` $work `)` $body attr-dict";
  let hasRegionVerifier = 1;
}

def RNN_ParallelEndOp : RNN_Op<"parallel_end",
    [Pure, Terminator, HasParent<"ParallelOp">]> {
  let summary = "ends a thread's share of an rnn.parallel region";
  let assemblyFormat = "attr-dict";
}

include "rnn/IR/RNNGradOps.td"

#endif // RNN_OPS
