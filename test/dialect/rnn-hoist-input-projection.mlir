// RUN: rnn-opt %s -rnn-hoist-input-projection -split-input-file | FileCheck %s

// The input projection of every step becomes one dense over the sequence; the
// loop reads its steps, and the raw input is no longer a loop input.
// CHECK-LABEL: func.func @lstm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x5xf32>, %{{.*}}: tensor<?x8xf32>, %{{.*}}: tensor<?x8xf32>, %[[WIH:.*]]: tensor<32x5xf32>, %[[WHH:.*]]: tensor<32x8xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[P:.*]] = rnn.dense none %[[X]], %[[WIH]], %[[B]] : (tensor<?x?x5xf32>, tensor<32x5xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
// CHECK: rnn.recurrence(%[[P]]) init(
// CHECK-NEXT: ^bb0(%[[GX:.*]]: tensor<?x32xf32>, %[[H:.*]]: tensor<?x8xf32>, %[[C:.*]]: tensor<?x8xf32>):
// CHECK-NEXT: %[[GH:.*]] = rnn.dense none %[[H]], %[[WHH]]
// CHECK-NEXT: rnn.lstm_gates %[[GX]], %[[GH]], %[[C]]
func.func @lstm(%x: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>, %c0: tensor<?x8xf32>,
                %wih: tensor<32x5xf32>, %whh: tensor<32x8xf32>, %b: tensor<32xf32>) -> tensor<?x?x8xf32> {
  %ys, %h, %c = rnn.recurrence(%x) init(%h0, %c0)
      : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %wih, %b : (tensor<?x5xf32>, tensor<32x5xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    %gh = rnn.dense none %ht, %whh : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
  return %ys : tensor<?x?x8xf32>
}

// -----

// A projection of the state (not of an input step) stays in the loop.
// CHECK-LABEL: func.func @stays
// CHECK-NOT: rnn.dense
// CHECK: rnn.recurrence(%arg0) init(
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<?x4xf32>, %[[H:.*]]: tensor<?x4xf32>):
// CHECK-NEXT: rnn.dense none %[[H]], %arg2
func.func @stays(%x: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>, %w: tensor<4x4xf32>) -> tensor<?x4xf32> {
  %h = rnn.recurrence(%x) init(%h0) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32> {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %g = rnn.dense none %ht, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %xt, %g : tensor<?x4xf32>
    rnn.yield %h2 : tensor<?x4xf32>
  }
  return %h : tensor<?x4xf32>
}
