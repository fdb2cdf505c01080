// RUN: rnn-opt %s -rnn-bptt -split-input-file -verify-diagnostics | FileCheck %s

// An LSTM language model's loss at the cell level. The gradient function
// saves the forward loop's incoming states and its two projections (four
// extra sequence results), runs the adjoint loop backwards in time reading
// them, and returns the loss and one gradient per parameter in argument order.
// CHECK-LABEL: func.func @lm(
// CHECK-SAME: attributes {rnn.loss_entry}
// CHECK-LABEL: func.func @lm_grad(
// CHECK-SAME: -> (tensor<f32> {rnn.output = "loss"}, tensor<32x5xf32> {rnn.output = "wih"}, tensor<32x8xf32> {rnn.output = "whh"}, tensor<5x8xf32> {rnn.output = "wo"})
// CHECK-SAME: attributes {rnn.grad_entry, rnn.saved_per_step = 80 : i64}
// Forward: the per-step outputs, then the saved h and c of every step and
// the two gate projections (8 + 8 + 32 + 32 values per step), then the finals.
// CHECK: %[[FWD:.*]]:7 = rnn.recurrence(%[[X:.*]]) init(%{{.*}}, %{{.*}}) : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: ^bb0(%{{.*}}: tensor<?x5xf32>, %[[H:.*]]: tensor<?x8xf32>, %[[C:.*]]: tensor<?x8xf32>):
// CHECK: %[[FGX:.*]] = rnn.dense none
// CHECK: %[[FGH:.*]] = rnn.dense none %[[H]]
// CHECK: rnn.yield %[[HN:.*]], %[[H]], %[[C]], %[[FGX]], %[[FGH]], %[[HN]], %{{.*}}
// CHECK: %[[LOGITS:.*]] = rnn.dense none %[[FWD]]#0
// CHECK: %[[LOSS:.*]] = rnn.cross_entropy %[[LOGITS]]
// Backward: the loss adjoint 1.0 into cross-entropy, then the head.
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DLOG:.*]] = rnn.cross_entropy_grad %[[LOGITS]], %{{.*}}, %[[ONE]]
// CHECK: %[[DX:.*]], %[[DWO:.*]], %{{.*}} = rnn.dense_grad %[[DLOG]], %[[FWD]]#0, %{{.*}}
// The adjoint recurrence runs in reverse over x, the saved states and
// projections and d(outputs); it carries dh, dc and the two recurrent
// weights' accumulators.
// CHECK: %[[BWD:.*]]:4 = rnn.recurrence reverse(%[[X]], %[[FWD]]#1, %[[FWD]]#2, %[[FWD]]#3, %[[FWD]]#4, %[[DX]]) init(
// CHECK: ^bb0(%[[XT:.*]]: tensor<?x5xf32>, %[[HP:.*]]: tensor<?x8xf32>, %[[CP:.*]]: tensor<?x8xf32>, %[[GX:.*]]: tensor<?x32xf32>, %[[GH:.*]]: tensor<?x32xf32>, %[[DY:.*]]: tensor<?x8xf32>, %[[DH:.*]]: tensor<?x8xf32>, %[[DC:.*]]: tensor<?x8xf32>, %[[AIH:.*]]: tensor<32x5xf32>, %[[AHH:.*]]: tensor<32x8xf32>):
// Recompute the step's gates from the saved projections (the projections'
// clones are dead and canonicalization removes them) ...
// CHECK:   rnn.lstm_gates %[[GX]], %[[GH]], %[[CP]]
// ... then back-propagate through it.
// CHECK:   linalg.add ins(%[[DY]], %[[DH]]
// CHECK:   %[[DG:.*]], %[[DCP:.*]] = rnn.lstm_gates_grad %[[GX]], %[[GH]], %[[CP]], %{{.*}}, %[[DC]]
// CHECK:   %[[DHP:.*]], %[[DWHH:.*]], %{{.*}} = rnn.dense_grad %[[DG]], %[[HP]]
// CHECK:   %{{.*}}, %[[DWIH:.*]], %{{.*}} = rnn.dense_grad %[[DG]], %[[XT]]
// CHECK:   %[[NIH:.*]] = linalg.add ins(%[[AIH]], %[[DWIH]]
// CHECK:   %[[NHH:.*]] = linalg.add ins(%[[AHH]], %[[DWHH]]
// CHECK:   rnn.yield %[[DHP]], %[[DCP]], %[[NIH]], %[[NHH]]
// CHECK: return %[[LOSS]], %[[BWD]]#2, %[[BWD]]#3, %[[DWO]]
func.func @lm(%x: tensor<?x?x5xf32> {rnn.input = "x"}, %y: tensor<?x?xi32> {rnn.target = "y"},
              %wih: tensor<32x5xf32> {rnn.param = "wih"}, %whh: tensor<32x8xf32> {rnn.param = "whh"},
              %wo: tensor<5x8xf32> {rnn.param = "wo"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x5xf32>
  %e = tensor.empty(%b) : tensor<?x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %ys, %h, %c = rnn.recurrence(%x) init(%z, %z)
      : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %wih : (tensor<?x5xf32>, tensor<32x5xf32>) -> tensor<?x32xf32>
    %gh = rnn.dense none %ht, %whh : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
  %logits = rnn.dense none %ys, %wo : (tensor<?x?x8xf32>, tensor<5x8xf32>) -> tensor<?x?x5xf32>
  %l = rnn.cross_entropy %logits, %y : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

func.func @no_params(%x: tensor<?x5xf32> {rnn.input = "x"}, %y: tensor<?x5xf32> {rnn.target = "y"}) -> tensor<f32> attributes {rnn.loss_entry} {
  // expected-error @+1 {{rnn-bptt: the loss does not depend on any parameter}}
  %l = rnn.mse %x, %y : tensor<?x5xf32>, tensor<?x5xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Padded batch: the adjoint loop reads a 0/1 step mask; on padded steps no
// adjoint enters the step and the state adjoint passes through.
// CHECK-LABEL: func.func @padded_grad
// CHECK: %[[M:.*]] = rnn.step_mask %{{.*}}, %{{.*}} : (tensor<?xi32>, tensor<?x?x4xf32>) -> tensor<?x?xf32>
// CHECK: rnn.recurrence reverse(%{{.*}}, %{{.*}}, %[[M]]) init(
// CHECK: ^bb0(%{{.*}}: tensor<?x4xf32>, %{{.*}}: tensor<?x4xf32>, %[[MT:.*]]: tensor<?xf32>, %[[DS:.*]]: tensor<?x4xf32>, %{{.*}}: tensor<4x4xf32>):
// CHECK:   rnn.select_rows %[[MT]], %[[DS]], %{{.*}} : tensor<?xf32>, tensor<?x4xf32>
// CHECK:   %[[KEEP:.*]] = rnn.select_rows %[[MT]], %{{.*}}, %[[DS]] : tensor<?xf32>, tensor<?x4xf32>
// CHECK:   rnn.yield %[[KEEP]]
func.func @padded(%x: tensor<?x?x4xf32> {rnn.input = "x"}, %n: tensor<?xi32> {rnn.input = "n"}, %y: tensor<?x4xf32> {rnn.target = "y"},
                  %w: tensor<4x4xf32> {rnn.param = "w"}, %h0: tensor<?x4xf32> {rnn.input = "h0"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %h = rnn.recurrence(%x) init(%h0) lengths(%n) : (tensor<?x?x4xf32>, tensor<?x4xf32>, tensor<?xi32>) -> tensor<?x4xf32> {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %g = rnn.dense none %ht, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %xt, %g : tensor<?x4xf32>
    rnn.yield %h2 : tensor<?x4xf32>
  }
  %l = rnn.mse %h, %y : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Truncated BPTT: a loss with the recurrent state as an argument and its final
// state as a result. The gradient function (rnn.grad_state_entry) treats the
// incoming state as a constant (no gradient for it: the state is detached at
// the window's edge) and returns the final state after the gradients.
// CHECK-LABEL: func.func @window_loss_grad
// CHECK-SAME: (%{{.*}}: tensor<?x?x4xf32> {rnn.input = "x"}, %{{.*}}: tensor<?x?x4xf32> {rnn.target = "y"}, %{{.*}}: tensor<4x4xf32> {rnn.param = "w"}, %{{.*}}: tensor<?x4xf32> {rnn.state = "h"})
// CHECK-SAME: -> (tensor<f32> {rnn.output = "loss"}, tensor<4x4xf32> {rnn.output = "w"}, tensor<?x4xf32> {rnn.state = "h"})
// CHECK-SAME: attributes {rnn.grad_state_entry, rnn.saved_per_step = 8 : i64}
// CHECK: %[[FWD:.*]]:4 = rnn.recurrence(
// CHECK: rnn.recurrence reverse(
// CHECK: return %{{.*}}, %{{.*}}, %[[FWD]]#3 : tensor<f32>, tensor<4x4xf32>, tensor<?x4xf32>
func.func @window_loss(%x: tensor<?x?x4xf32> {rnn.input = "x"}, %y: tensor<?x?x4xf32> {rnn.target = "y"},
                       %w: tensor<4x4xf32> {rnn.param = "w"}, %h0: tensor<?x4xf32> {rnn.state = "h"})
    -> (tensor<f32>, tensor<?x4xf32> {rnn.state = "h"}) attributes {rnn.loss_state_entry} {
  %ys, %h = rnn.recurrence(%x) init(%h0) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %g = rnn.dense none %ht, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %xt, %g : tensor<?x4xf32>
    rnn.yield %h2, %h2 : tensor<?x4xf32>, tensor<?x4xf32>
  }
  %l = rnn.mse %ys, %y : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<f32>
  return %l, %h : tensor<f32>, tensor<?x4xf32>
}

// -----

// A plain loss function returns the loss only.
// expected-error @+1 {{'func.func' op rnn-bptt: a loss function returns one scalar tensor<f32>}}
func.func @two_results(%x: tensor<?x4xf32> {rnn.input = "x"}, %w: tensor<4x4xf32> {rnn.param = "w"}, %y: tensor<?x4xf32> {rnn.target = "y"})
    -> (tensor<f32>, tensor<?x4xf32>) attributes {rnn.loss_entry} {
  %g = rnn.dense none %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %l = rnn.mse %g, %y : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<f32>
  return %l, %g : tensor<f32>, tensor<?x4xf32>
}

// -----

// Attention inside a recurrence over token ids (a teacher-forced decoder):
// its adjoint takes both cotangents; the keys and the attention weight are
// read from outside the loop, so their adjoints are carried and summed over
// the steps like the other weights'; the i32 tokens get no adjoint.
// CHECK-LABEL: func.func @attend_grad
// CHECK: %[[FWD:.*]]:3 = rnn.recurrence(%[[TOK:[^)]*]]) init(
// CHECK: rnn.recurrence reverse(%[[TOK]], %[[FWD]]#1, %{{.*}}) init(
// CHECK: rnn.attention_grad general %{{.*}}, %[[KEYS:.*]] lengths(%{{.*}}) weights(%[[WA:.*]]) grads(%{{.*}}, %{{.*}})
// CHECK: rnn.yield
// CHECK: rnn.last_step_grad %{{.*}}, %{{.*}} lengths(%{{.*}})
func.func @attend(%tok: tensor<?x?xi32> {rnn.input = "tok"}, %x: tensor<?x?x4xf32> {rnn.input = "x"},
                  %n: tensor<?xi32> {rnn.input = "n"}, %y: tensor<?x?x4xf32> {rnn.target = "y"},
                  %wk: tensor<4x4xf32> {rnn.param = "wk"}, %wa: tensor<4x4xf32> {rnn.param = "wa"},
                  %emb: tensor<6x4xf32> {rnn.param = "emb"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %keys = rnn.dense tanh %x, %wk : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %h0 = rnn.last_step %keys lengths(%n) : (tensor<?x?x4xf32>, tensor<?xi32>) -> tensor<?x4xf32>
  %ys, %h = rnn.recurrence(%tok) init(%h0) : (tensor<?x?xi32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%t: tensor<?xi32>, %ht: tensor<?x4xf32>):
    %e = rnn.embedding %t, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %ht : tensor<?x4xf32>
    %c, %w = rnn.attention general %h2, %keys lengths(%n) weights(%wa)
        : (tensor<?x4xf32>, tensor<?x?x4xf32>, tensor<?xi32>, tensor<4x4xf32>) -> (tensor<?x4xf32>, tensor<?x?xf32>)
    rnn.yield %c, %h2 : tensor<?x4xf32>, tensor<?x4xf32>
  }
  %l = rnn.mse %ys, %y : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Two losses added with linalg.add: the loss's adjoint reaches both; a [B, H]
// state expanded to [1, B, H] gets its adjoint collapsed back.
// CHECK-LABEL: func.func @two_losses_grad
// CHECK-DAG: rnn.mse_grad
// CHECK-DAG: rnn.mse_grad
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<1x?x4xf32> into tensor<?x4xf32>
func.func @two_losses(%x: tensor<?x4xf32> {rnn.input = "x"}, %y: tensor<?x4xf32> {rnn.target = "y"},
                      %w: tensor<4x4xf32> {rnn.param = "w"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %g = rnn.dense tanh %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  %b = tensor.dim %g, %c0 : tensor<?x4xf32>
  %e = tensor.expand_shape %g [[0, 1], [2]] output_shape [1, %b, 4] : tensor<?x4xf32> into tensor<1x?x4xf32>
  %z = tensor.empty(%b) : tensor<1x?x4xf32>
  %l1 = rnn.mse %g, %y : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<f32>
  %l2 = rnn.mse %e, %z : tensor<1x?x4xf32>, tensor<1x?x4xf32> -> tensor<f32>
  %o = tensor.empty() : tensor<f32>
  %l = linalg.add ins(%l1, %l2 : tensor<f32>, tensor<f32>) outs(%o : tensor<f32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A weighted cross-entropy (weights= / padding masks) passes its weights to
// its adjoint: dlogits = w (softmax - onehot) / sum(w).
// CHECK-LABEL: func.func @weighted_grad
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x4xf32> {rnn.input = "x"}, %[[Y:[^:]*]]: tensor<?x?xi32> {rnn.target = "y"}, %[[W:[^:]*]]: tensor<?x?xf32> {rnn.target = "w"}
// CHECK: rnn.cross_entropy_grad %{{.*}}, %[[Y]], %{{.*}} weights(%[[W]] : tensor<?x?xf32>)
func.func @weighted(%x: tensor<?x?x4xf32> {rnn.input = "x"}, %y: tensor<?x?xi32> {rnn.target = "y"},
                    %w: tensor<?x?xf32> {rnn.target = "w"}, %p: tensor<3x4xf32> {rnn.param = "p"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %l = rnn.dense none %x, %p : (tensor<?x?x4xf32>, tensor<3x4xf32>) -> tensor<?x?x3xf32>
  %c = rnn.cross_entropy %l, %y weights(%w : tensor<?x?xf32>) : tensor<?x?x3xf32>, tensor<?x?xi32> -> tensor<f32>
  return %c : tensor<f32>
}

// -----

// An embedding with padding_idx (mask_zero) passes it to its adjoint: that
// row of the table gets no gradient.
// CHECK-LABEL: func.func @padded_table_grad
// CHECK: rnn.embedding_grad %{{.*}}, %{{.*}} {padding_idx = 0 : i64} : (tensor<?x?xi32>, tensor<?x?x4xf32>) -> tensor<6x4xf32>
func.func @padded_table(%x: tensor<?x?xi32> {rnn.input = "x"}, %y: tensor<?x?x4xf32> {rnn.target = "y"},
                        %e: tensor<6x4xf32> {rnn.param = "e"}) -> tensor<f32> attributes {rnn.loss_entry} {
  %v = rnn.embedding %x, %e {padding_idx = 0 : i64} : tensor<?x?xi32>, tensor<6x4xf32> -> tensor<?x?x4xf32>
  %l = rnn.mse %v, %y : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Dropout is linear in its input with a mask drawn from (seed, salt, index):
// its adjoint is the same op, same seed and salt, on the output's adjoint.
// CHECK-LABEL: func.func @dropped_grad
// CHECK-SAME: %[[RNG:[^:]*]]: tensor<2xi64> {rnn.rng}
// CHECK: rnn.dropout %{{.*}}, %[[RNG]] {rate = 5.000000e-01 : f64, salt = 7 : i64} : tensor<?x4xf32>, tensor<2xi64>
// CHECK: %[[D:.*]] = rnn.mse_grad
// CHECK: rnn.dropout %[[D]], %[[RNG]] {rate = 5.000000e-01 : f64, salt = 7 : i64} : tensor<?x4xf32>, tensor<2xi64>
func.func @dropped(%x: tensor<?x4xf32> {rnn.input = "x"}, %y: tensor<?x4xf32> {rnn.target = "y"},
                   %w: tensor<4x4xf32> {rnn.param = "w"}, %rng: tensor<2xi64> {rnn.rng}) -> tensor<f32> attributes {rnn.loss_entry} {
  %g = rnn.dense none %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %d = rnn.dropout %g, %rng {rate = 5.000000e-01 : f64, salt = 7 : i64} : tensor<?x4xf32>, tensor<2xi64>
  %l = rnn.mse %d, %y : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}
