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

// -----

// A state every step yields unchanged (a weight-gradient accumulator whose
// sum rnn-hoist-weight-gradients moved after the loop) is dropped: the
// body reads its initial value, the final state is the initial one. The
// state that changes stays.
// CHECK-LABEL: func.func @drop_invariant_state
// CHECK-SAME: (%[[XS:.*]]: tensor<?x?x4xf32>, %[[H0:.*]]: tensor<?x4xf32>, %[[ACC:.*]]: tensor<4x4xf32>)
// CHECK: %[[R:.*]]:2 = rnn.recurrence reverse(%[[XS]]) init(%[[H0]]) : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
// CHECK-NEXT: ^bb0(%[[XT:.*]]: tensor<?x4xf32>, %[[HT:.*]]: tensor<?x4xf32>):
// CHECK-NEXT: %[[G:.*]] = rnn.dense none %[[HT]], %[[ACC]]
// CHECK-NEXT: %[[N:.*]] = rnn.rnn_gates tanh %[[XT]], %[[G]]
// CHECK-NEXT: rnn.yield %[[N]], %[[N]] : tensor<?x4xf32>, tensor<?x4xf32>
// CHECK: return %[[R]]#0, %[[R]]#1, %[[ACC]]
func.func @drop_invariant_state(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>, %acc0: tensor<4x4xf32>)
    -> (tensor<?x?x4xf32>, tensor<?x4xf32>, tensor<4x4xf32>) {
  %ys, %acc, %h = rnn.recurrence reverse(%xs) init(%acc0, %h0)
      : (tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %at: tensor<4x4xf32>, %ht: tensor<?x4xf32>):
    %g = rnn.dense none %ht, %at : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %n = rnn.rnn_gates tanh %xt, %g : tensor<?x4xf32>
    rnn.yield %n, %at, %n : tensor<?x4xf32>, tensor<4x4xf32>, tensor<?x4xf32>
  }
  return %ys, %h, %acc : tensor<?x?x4xf32>, tensor<?x4xf32>, tensor<4x4xf32>
}

// -----

// rnn-bptt's adjoint of a bidirectional layer's concatenation: the output
// gradient with its reverse half zeroed, then the forward half read. The
// insertion is only read outside what it writes: the read takes the same
// slice of the gradient itself, and the insertion and its fill go. (The
// patterns are the rnn dialect's: it is loaded, here by rnn.mse_grad.)
// CHECK-LABEL: func.func @extracts_around_dead_insert
// CHECK:         %[[DY:.*]] = rnn.mse_grad
// CHECK-NOT:     tensor.insert_slice
// CHECK-NOT:     linalg.fill
// CHECK-DAG:     %[[F:.*]] = tensor.extract_slice %[[DY]][0, 0, 0] [%{{.*}}, %{{.*}}, 8] [1, 1, 1]
// CHECK-DAG:     %[[R:.*]] = tensor.extract_slice %[[DY]][0, 0, 8] [%{{.*}}, %{{.*}}, 8] [1, 1, 1]
// CHECK:         return %[[F]], %[[R]]
func.func @extracts_around_dead_insert(%y: tensor<?x?x16xf32>, %target: tensor<?x?x16xf32>, %b: index, %t: index)
    -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %one = arith.constant dense<1.0> : tensor<f32>
  %dy = rnn.mse_grad %y, %target, %one : tensor<?x?x16xf32>, tensor<f32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %r = tensor.extract_slice %dy[0, 0, 8] [%b, %t, 8] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x?x8xf32>
  %ins = tensor.insert_slice %z into %dy[0, 0, 8] [%b, %t, 8] [1, 1, 1] : tensor<?x?x8xf32> into tensor<?x?x16xf32>
  %f = tensor.extract_slice %ins[0, 0, 0] [%b, %t, 8] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x?x8xf32>
  return %f, %r : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// Left alone: an insertion also read where it writes (or used otherwise):
// the destination would be read after the write into its buffer.
// CHECK-LABEL: func.func @insert_still_read
// CHECK:         %[[INS:.*]] = tensor.insert_slice
// CHECK:         tensor.extract_slice %[[INS]][0, 0, 0]
// CHECK:         tensor.extract_slice %[[INS]][0, 0, 4]
func.func @insert_still_read(%y: tensor<?x?x16xf32>, %target: tensor<?x?x16xf32>, %x: tensor<?x?x8xf32>, %b: index, %t: index)
    -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %one = arith.constant dense<1.0> : tensor<f32>
  %dy = rnn.mse_grad %y, %target, %one : tensor<?x?x16xf32>, tensor<f32>
  %ins = tensor.insert_slice %x into %dy[0, 0, 8] [%b, %t, 8] [1, 1, 1] : tensor<?x?x8xf32> into tensor<?x?x16xf32>
  %f = tensor.extract_slice %ins[0, 0, 0] [%b, %t, 8] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x?x8xf32>
  %g = tensor.extract_slice %ins[0, 0, 4] [%b, %t, 8] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x?x8xf32>
  return %f, %g : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// Offsets that are all zero are dropped (the same masks); others stay.
// CHECK-LABEL: func.func @dropout_zero_offsets
// CHECK:       rnn.dropout %{{[^ ]*}}, %{{[^ ]*}} {rate
// CHECK:       rnn.dropout %{{[^ ]*}}, %{{[^ ]*}} at [%c0, %{{.*}}, %c0] {rate
func.func @dropout_zero_offsets(%x: tensor<?x?x4xf32>, %rng: tensor<2xi64>, %o: index)
    -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %c0 = arith.constant 0 : index
  %a = rnn.dropout %x, %rng at [%c0, %c0, %c0] {rate = 0.5 : f64, salt = 1 : i64} : tensor<?x?x4xf32>, tensor<2xi64>
  %b = rnn.dropout %x, %rng at [%c0, %o, %c0] {rate = 0.5 : f64, salt = 1 : i64} : tensor<?x?x4xf32>, tensor<2xi64>
  return %a, %b : tensor<?x?x4xf32>, tensor<?x?x4xf32>
}
