// RUN: rnn-opt %s -rnn-concurrent-directions -split-input-file | FileCheck %s
// RUN: rnn-opt %s -rnn-concurrent-directions=min-step-work=100000 -split-input-file | FileCheck %s --check-prefix=SMALL

// A bidirectional LSTM layer as rnn-hoist-input-projection leaves it: each
// direction's input projection (used by that direction only) and its
// recurrence go into one branch of a two-iteration scf.forall; the zero
// initial state, used by both, stays outside. Each direction's results are
// its row of the stacked results.
// CHECK-LABEL: func.func @bidirectional
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x16xf32>, %[[WF:[^:]*]]: tensor<128x16xf32>, %[[UF:[^:]*]]: tensor<128x32xf32>, %[[WR:[^:]*]]: tensor<128x16xf32>, %[[UR:[^:]*]]: tensor<128x32xf32>, %[[H0:[^:]*]]: tensor<?x32xf32>)
// CHECK-DAG:  %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK-DAG:  %[[T:.*]] = tensor.dim %[[X]], %c1
// CHECK-DAG:  %[[SEQ:.*]] = tensor.empty(%[[B]], %[[T]]) : tensor<2x?x?x32xf32>
// CHECK:      %[[S:.*]]:3 = scf.forall (%[[I:.*]]) in (2) shared_outs(%[[O:.*]] = %[[SEQ]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x?x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>)
// CHECK:        %[[FIRST:.*]] = arith.cmpi eq, %[[I]], %c0
// CHECK:        %[[R:.*]]:3 = scf.if %[[FIRST]]
// CHECK:          %[[PF:.*]] = rnn.dense none %[[X]], %[[WF]]
// CHECK:          %[[RF:.*]]:3 = rnn.recurrence(%[[PF]]) init(%[[H0]], %[[H0]])
// CHECK:            rnn.dense none %{{.*}}, %[[UF]]
// CHECK:          scf.yield %[[RF]]#0, %[[RF]]#1, %[[RF]]#2
// CHECK:        } else {
// CHECK:          %[[PR:.*]] = rnn.dense none %[[X]], %[[WR]]
// CHECK:          %[[RR:.*]]:3 = rnn.recurrence reverse(%[[PR]]) init(%[[H0]], %[[H0]])
// CHECK:            rnn.dense none %{{.*}}, %[[UR]]
// CHECK:          scf.yield %[[RR]]#0, %[[RR]]#1, %[[RR]]#2
// CHECK:        scf.forall.in_parallel {
// CHECK-NEXT:     tensor.parallel_insert_slice %[[R]]#0 into %[[O]][%[[I]], 0, 0, 0]
// CHECK:      } {rnn.directions}
// CHECK-DAG:  %[[YF:.*]] = tensor.extract_slice %[[S]]#0[0, 0, 0, 0] [1, %[[B]], %[[T]], 32] [1, 1, 1, 1] : tensor<2x?x?x32xf32> to tensor<?x?x32xf32>
// CHECK-DAG:  %[[YR:.*]] = tensor.extract_slice %[[S]]#0[1, 0, 0, 0] [1, %[[B]], %[[T]], 32] [1, 1, 1, 1] : tensor<2x?x?x32xf32> to tensor<?x?x32xf32>
// CHECK:      return %[[YF]], %[[YR]]
// SMALL-LABEL: func.func @bidirectional
// SMALL-NOT:   scf.forall
func.func @bidirectional(%x: tensor<?x?x16xf32>, %wf: tensor<128x16xf32>, %uf: tensor<128x32xf32>,
                         %wr: tensor<128x16xf32>, %ur: tensor<128x32xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) attributes {rnn.entry} {
  %pf = rnn.dense none %x, %wf : (tensor<?x?x16xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  %yf, %hf, %cf = rnn.recurrence(%pf) init(%h0, %h0)
      : (tensor<?x?x128xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x128xf32>, %h: tensor<?x32xf32>, %c: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %uf : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %h2, %c2 = rnn.lstm_gates %g, %gh, %c : tensor<?x128xf32>, tensor<?x32xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
  }
  %pr = rnn.dense none %x, %wr : (tensor<?x?x16xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  %yr, %hr, %cr = rnn.recurrence reverse(%pr) init(%h0, %h0)
      : (tensor<?x?x128xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x128xf32>, %h: tensor<?x32xf32>, %c: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %ur : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %h2, %c2 = rnn.lstm_gates %g, %gh, %c : tensor<?x128xf32>, tensor<?x32xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %yf, %yr : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// Stacked, not bidirectional: the second layer reads the first's outputs.
// Nothing to run side by side.
// CHECK-LABEL: func.func @stacked
// CHECK-NOT:   scf.forall
func.func @stacked(%x: tensor<?x?x32xf32>, %u: tensor<128x32xf32>, %v: tensor<32x128xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence reverse(%y1) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}

// -----

// Two independent forward recurrences: not mirror images, left alone.
// CHECK-LABEL: func.func @same_direction
// CHECK-NOT:   scf.forall
func.func @same_direction(%x: tensor<?x?x32xf32>, %u: tensor<128x32xf32>, %v: tensor<32x128xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence(%x) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y1, %y2 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// A mirrored pair in a gradient function (the adjoint recurrences, or the
// training forward with its saved sequences) runs side by side as well.
// CHECK-LABEL: func.func @gradient
// CHECK:       scf.forall (%{{.*}}) in (2)
// CHECK:         rnn.recurrence(
// CHECK:       } else {
// CHECK:         rnn.recurrence reverse(
// CHECK:       } {rnn.directions}
func.func @gradient(%x: tensor<?x?x32xf32>, %u: tensor<128x32xf32>, %v: tensor<32x128xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) attributes {rnn.grad_entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence reverse(%x) init(%h0) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %s = rnn.dense tanh %gh, %v : (tensor<?x128xf32>, tensor<32x128xf32>) -> tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y1, %y2 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}
