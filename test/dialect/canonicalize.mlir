// RUN: rnn-opt %s -canonicalize -split-input-file | FileCheck %s

// A many-to-one layer: the output sequence is unused, so the loop stops
// producing it and only carries its states.
// CHECK-LABEL: func.func @drop_unused_sequence
// CHECK: %[[R:.*]]:2 = rnn.recurrence(%{{.*}}) init(%{{.*}}, %{{.*}}) : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: %[[H:.*]], %[[C:.*]] = rnn.lstm_gates
// CHECK-NEXT: rnn.yield %[[H]], %[[C]] : tensor<?x8xf32>, tensor<?x8xf32>
// CHECK: return %[[R]]#0
func.func @drop_unused_sequence(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>, %c0: tensor<?x8xf32>,
    %wih: tensor<32x5xf32>, %whh: tensor<32x8xf32>) -> tensor<?x8xf32> {
  %ys, %h, %c = rnn.recurrence(%xs) init(%h0, %c0)
      : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %wih : (tensor<?x5xf32>, tensor<32x5xf32>) -> tensor<?x32xf32>
    %gh = rnn.dense none %ht, %whh : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
  return %h : tensor<?x8xf32>
}

// -----

// Used sequences stay, unused ones go, in order.
// CHECK-LABEL: func.func @keep_used_sequence
// CHECK: %[[R:.*]]:2 = rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
// CHECK: rnn.yield %[[B:.*]], %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32>
// CHECK: return %[[R]]#0
func.func @keep_used_sequence(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x?x4xf32> {
  %a, %b, %h = rnn.recurrence(%xs) init(%h0)
      : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %n = rnn.rnn_gates tanh %xt, %ht : tensor<?x4xf32>
    rnn.yield %xt, %n, %n : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
  return %b : tensor<?x?x4xf32>
}

// -----

// Nothing to drop: unchanged.
// CHECK-LABEL: func.func @all_used
// CHECK: rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
func.func @all_used(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  %ys, %h = rnn.recurrence(%xs) init(%h0)
      : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %n = rnn.rnn_gates tanh %xt, %ht : tensor<?x4xf32>
    rnn.yield %n, %n : tensor<?x4xf32>, tensor<?x4xf32>
  }
  return %ys, %h : tensor<?x?x4xf32>, tensor<?x4xf32>
}

// -----

// A step input the body does not read is dropped (the last one stays: it
// sizes the loop).
// CHECK-LABEL: func.func @drop_unused_input
// CHECK: rnn.recurrence(%arg1) init(%arg2) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<?x4xf32>, %{{.*}}: tensor<?x4xf32>):
func.func @drop_unused_input(%a: tensor<?x?x3xf32>, %b: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %h = rnn.recurrence(%a, %b) init(%h0) : (tensor<?x?x3xf32>, tensor<?x?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32> {
  ^bb0(%at: tensor<?x3xf32>, %bt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %h2 = rnn.rnn_gates tanh %bt, %ht : tensor<?x4xf32>
    rnn.yield %h2 : tensor<?x4xf32>
  }
  return %h : tensor<?x4xf32>
}

// -----

// Two per-step outputs yielding the same value (the adjoint loop's gate
// adjoints, read by both weight gradients) are one sequence: the second's
// uses read the first, and the loop produces it once.
// CHECK-LABEL: func.func @merge_duplicate_sequences
// CHECK: %[[R:.*]]:3 = rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4xf32>)
// CHECK: %[[N:.*]] = rnn.rnn_gates
// CHECK-NEXT: rnn.yield %[[N]], %{{.*}}, %[[N]] : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#0
func.func @merge_duplicate_sequences(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>)
    -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %a, %b, %c, %h = rnn.recurrence(%xs) init(%h0)
      : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %n = rnn.rnn_gates tanh %xt, %ht : tensor<?x4xf32>
    rnn.yield %n, %xt, %n, %n : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
  return %a, %b, %c : tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
}
