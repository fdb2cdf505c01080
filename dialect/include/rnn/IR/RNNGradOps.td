//===- RNNGradOps.td - Adjoint ops of the rnn dialect ------*- tablegen -*-===//
//
// The vector-Jacobian products of the rnn ops, emitted by back-propagation
// through time (rnn-bptt). Each takes the forward op's operands (or results)
// and the adjoints of its results, and returns the adjoints of its operands.
// Included from RNNOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef RNN_GRAD_OPS
#define RNN_GRAD_OPS

def RNN_ActivationGradOp : RNN_Op<"activation_grad", [Pure, AllTypesMatch<["y", "dy", "dx"]>]> {
  let summary = "adjoint of an elementwise activation, from its output";
  let description = [{
    `dx = dy * act'(x)` written with the activation's output `y`:
    tanh: `1 - y^2`; sigmoid: `y (1 - y)`; relu: `y > 0`; none: `1`.
    Also the adjoint of `rnn.rnn_gates` with respect to `gx + gh`.

    ```mlir
    %d = rnn.activation_grad tanh %y, %dy : tensor<?x8xf32>
    ```
  }];
  let arguments = (ins RNN_Activation:$activation, F32RankedTensor:$y, F32RankedTensor:$dy);
  let results = (outs F32RankedTensor:$dx);
  let assemblyFormat = "$activation $y `,` $dy attr-dict `:` type($y)";
}

def RNN_DenseGradOp : RNN_Op<"dense_grad", [Pure]> {
  let summary = "adjoint of rnn.dense before its activation";
  let description = [{
    For `y = x W^T + b` (`x` `[..., I]`, `W` `[U, I]`) and the adjoint `dy`
    `[..., U]` of the pre-activation: `dx = dy W`, `dW = sum over the leading
    axes of dy^T x` (`[U, I]`), `db = sum over the leading axes of dy` (`[U]`).

    ```mlir
    %dx, %dw, %db = rnn.dense_grad %dy, %x, %w
        : (tensor<?x?x5xf32>, tensor<?x?x8xf32>, tensor<5x8xf32>) -> (tensor<?x?x8xf32>, tensor<5x8xf32>, tensor<5xf32>)
    ```
  }];
  let arguments = (ins F32RankedTensor:$dy, F32RankedTensor:$x, F32RankedTensor:$weight);
  let results = (outs F32RankedTensor:$dx, F32RankedTensor:$dweight, F32RankedTensor:$dbias);
  let assemblyFormat = "$dy `,` $x `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def RNN_LSTMGatesGradOp : RNN_Op<"lstm_gates_grad", [Pure,
    AllTypesMatch<["gx", "gh", "dgates"]>, AllTypesMatch<["c", "dh", "dc", "dcPrev"]>]> {
  let summary = "adjoint of rnn.lstm_gates";
  let description = [{
    Recomputes the gates from `gx + gh` and the previous cell state `c`; from
    the adjoints `dh`, `dc` of the next hidden and cell states it returns the
    adjoint of the gate pre-activations (`[B, 4H]`, i f g o; the same for `gx`
    and `gh`) and of the previous cell state.

    ```mlir
    %dg, %dc0 = rnn.lstm_gates_grad %gx, %gh, %c, %dh, %dc : tensor<?x32xf32>, tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$gx, F32RankedTensor:$gh, F32RankedTensor:$c,
                       F32RankedTensor:$dh, F32RankedTensor:$dc);
  let results = (outs F32RankedTensor:$dgates, F32RankedTensor:$dcPrev);
  let assemblyFormat = [{
    $gx `,` $gh `,` $c `,` $dh `,` $dc attr-dict `:` type($gx) `,` type($c)
  }];
  let hasVerifier = 1;
}

def RNN_GRUGatesGradOp : RNN_Op<"gru_gates_grad", [Pure,
    AllTypesMatch<["gx", "gh", "dgx", "dgh"]>, AllTypesMatch<["h", "dh", "dhPrev"]>]> {
  let summary = "adjoint of rnn.gru_gates";
  let description = [{
    Recomputes the gates from `gx`, `gh` and the previous hidden state `h`;
    from the adjoint `dh` of the next hidden state it returns the adjoints of
    `gx` and `gh` (`[B, 3H]`, r z n; they differ in the n block because the
    reset gate scales the hidden projection) and the direct part of the
    adjoint of `h` (through `z * h`).

    ```mlir
    %dgx, %dgh, %dh0 = rnn.gru_gates_grad %gx, %gh, %h, %dh : tensor<?x24xf32>, tensor<?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$gx, F32RankedTensor:$gh, F32RankedTensor:$h,
                       F32RankedTensor:$dh);
  let results = (outs F32RankedTensor:$dgx, F32RankedTensor:$dgh, F32RankedTensor:$dhPrev);
  let assemblyFormat = "$gx `,` $gh `,` $h `,` $dh attr-dict `:` type($gx) `,` type($h)";
  let hasVerifier = 1;
}

def RNN_SoftmaxGradOp : RNN_Op<"softmax_grad", [Pure, AllTypesMatch<["y", "dy", "dx"]>]> {
  let summary = "adjoint of rnn.softmax, from its output";
  let description = [{
    `dx = y * (dy - sum_j dy_j y_j)` over the last axis.

    ```mlir
    %dx = rnn.softmax_grad %y, %dy : tensor<?x?x5xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$y, F32RankedTensor:$dy);
  let results = (outs F32RankedTensor:$dx);
  let assemblyFormat = "$y `,` $dy attr-dict `:` type($y)";
}

def RNN_CrossEntropyGradOp : RNN_Op<"cross_entropy_grad", [Pure, AllTypesMatch<["logits", "dlogits"]>]> {
  let summary = "adjoint of rnn.cross_entropy with respect to the logits";
  let description = [{
    `dlogits = dloss * (softmax(logits) - onehot(target)) / N`, `N` the number
    of positions; with `weights`, `dloss * w * (softmax - onehot) / sum(w)`.

    ```mlir
    %d = rnn.cross_entropy_grad %logits, %y, %dl : tensor<?x?x5xf32>, tensor<?x?xi32>, tensor<f32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$logits, I32RankedTensor:$target, 0DTensorOf<[F32]>:$dloss,
                       Optional<F32RankedTensor>:$weights);
  let results = (outs F32RankedTensor:$dlogits);
  let assemblyFormat = [{
    $logits `,` $target `,` $dloss (`weights` `(` $weights^ `:` type($weights) `)`)? attr-dict `:`
    type($logits) `,` type($target) `,` type($dloss)
  }];
}

def RNN_MSEGradOp : RNN_Op<"mse_grad", [Pure, AllTypesMatch<["pred", "target", "dpred"]>]> {
  let summary = "adjoint of rnn.mse with respect to the prediction";
  let description = [{
    `dpred = dloss * 2 (pred - target) / N`, `N` the number of elements.

    ```mlir
    %d = rnn.mse_grad %p, %y, %dl : tensor<?x1xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$pred, F32RankedTensor:$target, 0DTensorOf<[F32]>:$dloss);
  let results = (outs F32RankedTensor:$dpred);
  let assemblyFormat = "$pred `,` $target `,` $dloss attr-dict `:` type($pred) `,` type($dloss)";
}

def RNN_EmbeddingGradOp : RNN_Op<"embedding_grad", [Pure]> {
  let summary = "adjoint of rnn.embedding with respect to the table";
  let description = [{
    Scatter-adds each position's adjoint row `dy[..., :]` into row
    `tokens[...]` of a zero `[V, D]` table; positions holding `padding_idx`
    add nothing (PyTorch's `padding_idx`).

    ```mlir
    %dt = rnn.embedding_grad %x, %dy : (tensor<?x?xi32>, tensor<?x?x16xf32>) -> tensor<5x16xf32>
    ```
  }];
  let arguments = (ins I32RankedTensor:$tokens, F32RankedTensor:$dy,
                       OptionalAttr<I64Attr>:$padding_idx);
  let results = (outs F32RankedTensor:$dtable);
  let assemblyFormat = "$tokens `,` $dy attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def RNN_LastStepGradOp : RNN_Op<"last_step_grad", [Pure]> {
  let summary = "adjoint of rnn.last_step";
  let description = [{
    Scatters `dy` (`[B, F]`) into a zero tensor shaped like the sequence
    `like` (`[B, T, F]`) at each example's last valid step: `T - 1`, or
    `lengths[b] - 1` with `lengths`.

    ```mlir
    %dx = rnn.last_step_grad %dy, %seq lengths(%n)
        : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
    ```
  }];
  let arguments = (ins F32RankedTensor:$dy, F32RankedTensor:$like,
                       Optional<I32RankedTensor>:$lengths);
  let results = (outs F32RankedTensor:$dx);
  let assemblyFormat = [{
    $dy `,` $like (`lengths` `(` $lengths^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def RNN_AttentionGradOp : RNN_Op<"attention_grad", [Pure, AttrSizedOperandSegments]> {
  let summary = "adjoint of rnn.attention";
  let description = [{
    Takes the forward op's operands (query, keys, optional lengths, weights)
    and the adjoints of its two results (`dcontext`, `dscores` — the adjoint
    of the attention weights, zero when they do not reach the loss); recomputes
    the scores and the masked softmax, and returns the adjoints of the query,
    the keys and every weight. Masked key positions have weight 0 and get no
    adjoint through the scores.

    ```mlir
    %dq, %dk, %dw = rnn.attention_grad general %h, %enc lengths(%n) weights(%W)
        grads(%dctx, %dw)
        : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>,
           tensor<?x8xf32>, tensor<?x?xf32>)
        -> (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>)
    ```
  }];
  let arguments = (ins F32RankedTensor:$query, F32RankedTensor:$keys,
                       Optional<I32RankedTensor>:$lengths,
                       Variadic<F32RankedTensor>:$weights,
                       F32RankedTensor:$dcontext, F32RankedTensor:$dscores,
                       RNN_AttentionKind:$kind);
  let results = (outs F32RankedTensor:$dquery, F32RankedTensor:$dkeys,
                      Variadic<F32RankedTensor>:$dweights);
  let assemblyFormat = [{
    $kind $query `,` $keys (`lengths` `(` $lengths^ `)`)? (`weights` `(` $weights^ `)`)?
    `grads` `(` $dcontext `,` $dscores `)` attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // RNN_GRAD_OPS
