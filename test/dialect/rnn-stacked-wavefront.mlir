// RUN: rnn-opt %s -rnn-stacked-wavefront=min-step-work=0 -cse -split-input-file | FileCheck %s
// RUN: rnn-opt %s -rnn-stacked-wavefront=max-step-work=4000 -split-input-file | FileCheck %s --check-prefix=BIG
// RUN: rnn-opt %s -rnn-stacked-wavefront=min-step-work=5000 -split-input-file | FileCheck %s --check-prefix=BIG
// RUN: not rnn-opt %s -rnn-stacked-wavefront=chunks=0 -split-input-file 2>&1 | FileCheck %s --check-prefix=CHUNKS

// Two stacked LSTM layers as rnn-hoist-input-projection leaves them. Time
// is cut into chunks of C = max(1, ceil(T / 16)) steps, n = ceil(T / C) of
// them, and a loop over n + 1 chunk indices runs, in a two-iteration
// scf.forall, layer 1 over chunk k (iteration 0) and layer 2 over chunk
// k - 1 (iteration 1: zero steps at k = 0, and layer 1 zero steps at k = n).
// Layer 2's projection of layer 1's chunk runs after the forall (shared by
// the threads) and is carried to the next iteration. Each branch gives the
// other iteration's rows the shape its own branch gives them, and layer 2
// reads its carried chunk as a slice of [B, len2] (all of it), so that
// both branches' rows have the same sizes (rnn-rows-in-place). Layer 2's sequence is
// assembled chunk by chunk; layer 1's final state comes out of the loop.
// CHECK-LABEL: func.func @stacked
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x16xf32>, %[[W1:[^:]*]]: tensor<128x16xf32>, %[[U1:[^:]*]]: tensor<128x32xf32>, %[[W2:[^:]*]]: tensor<128x32xf32>, %[[U2:[^:]*]]: tensor<128x32xf32>, %[[H0:[^:]*]]: tensor<?x32xf32>)
// CHECK:      %[[P1:.*]] = rnn.dense none %[[X]], %[[W1]]
// CHECK-DAG:  %[[B:.*]] = tensor.dim %[[P1]], %c0
// CHECK-DAG:  %[[T:.*]] = tensor.dim %[[P1]], %c1
// CHECK:      %[[CT:.*]] = arith.ceildivui %[[T]], %c16
// CHECK:      %[[C:.*]] = arith.maxui %[[CT]], %c1
// CHECK:      %[[N:.*]] = arith.ceildivui %[[T]], %[[C]]
// CHECK:      %[[UB:.*]] = arith.addi %[[N]], %c1
// CHECK:      %[[NOIN:.*]] = tensor.empty(%[[B]], %c0) : tensor<?x?x128xf32>
// CHECK:      %[[FULL:.*]] = tensor.empty(%[[B]], %[[T]]) : tensor<?x?x32xf32>
// CHECK:      %[[L:.*]]:6 = scf.for %[[K:.*]] = %c0 to %[[UB]] step %c1 iter_args(%[[S1H:.*]] = %[[H0]], %[[S1C:.*]] = %[[H0]], %[[S2H:.*]] = %[[H0]], %[[S2C:.*]] = %[[H0]], %[[IN2:.*]] = %[[NOIN]], %[[Y2:.*]] = %[[FULL]])
// CHECK:        %[[S:.*]]:6 = scf.forall (%[[I:.*]]) in (2) shared_outs
// CHECK:          %[[R:.*]]:6 = scf.if
// CHECK:            %[[CH:.*]] = tensor.extract_slice %[[P1]][0, %[[OFF1:.*]], 0] [%[[B]], %[[LEN1:.*]], 128] [1, 1, 1]
// CHECK:            %[[A:.*]]:3 = rnn.recurrence(%[[CH]]) init(%[[S1H]], %[[S1C]])
// CHECK:              rnn.dense none %{{.*}}, %[[U1]]
// CHECK:            %[[NO2:.*]] = tensor.empty(%[[B]], %[[LEN2:.*]]) : tensor<?x?x32xf32>
// CHECK:            scf.yield %[[A]]#0, %[[A]]#1, %[[A]]#2, %[[NO2]],
// CHECK:          } else {
// CHECK:            %[[FED:.*]] = tensor.extract_slice %[[IN2]][0, 0, 0] [%[[B]], %[[LEN2]], 128] [1, 1, 1]
// CHECK:            %[[BB:.*]]:3 = rnn.recurrence(%[[FED]]) init(%[[S2H]], %[[S2C]])
// CHECK:              rnn.dense none %{{.*}}, %[[U2]]
// CHECK:            %[[NO1:.*]] = tensor.empty(%[[B]], %[[LEN1]]) : tensor<?x?x32xf32>
// CHECK:            scf.yield %[[NO1]], {{.*}}, %[[BB]]#0, %[[BB]]#1, %[[BB]]#2
// CHECK:          scf.forall.in_parallel {
// CHECK-NEXT:       tensor.parallel_insert_slice %[[R]]#0 into %{{.*}}[%[[I]], 0, 0, 0]
// CHECK:        } {rnn.wavefront}
// CHECK-DAG:    %[[H1:.*]] = tensor.extract_slice %[[S]]#1[0, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[C1:.*]] = tensor.extract_slice %[[S]]#2[0, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[H2:.*]] = tensor.extract_slice %[[S]]#4[1, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[C2:.*]] = tensor.extract_slice %[[S]]#5[1, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[Y1C:.*]] = tensor.extract_slice %[[S]]#0[0, 0, 0, 0] [1, %[[B]], %[[LEN1]], 32]
// CHECK-DAG:    %[[P2:.*]] = rnn.dense none %[[Y1C]], %[[W2]] : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
// CHECK-DAG:    %[[Y2C:.*]] = tensor.extract_slice %[[S]]#3[1, 0, 0, 0] [1, %[[B]], %[[LEN2]], 32]
// CHECK-DAG:    %[[Y2N:.*]] = tensor.insert_slice %[[Y2C]] into %[[Y2]][0, %{{.*}}, 0] [%[[B]], %[[LEN2]], 32]
// CHECK:        scf.yield %[[H1]], %[[C1]], %[[H2]], %[[C2]], %[[P2]], %[[Y2N]]
// CHECK:      } {rnn.chunks}
// CHECK:      return %[[L]]#5, %[[L]]#0
// BIG-LABEL: func.func @stacked
// BIG-NOT:   scf.forall
// BIG:       return
func.func @stacked(%x: tensor<?x?x16xf32>, %w1: tensor<128x16xf32>, %u1: tensor<128x32xf32>,
                   %w2: tensor<128x32xf32>, %u2: tensor<128x32xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x32xf32>) attributes {rnn.entry} {
  %p1 = rnn.dense none %x, %w1 : (tensor<?x?x16xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  %y1, %h1, %c1 = rnn.recurrence(%p1) init(%h0, %h0)
      : (tensor<?x?x128xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x128xf32>, %h: tensor<?x32xf32>, %c: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u1 : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %h2, %c2 = rnn.lstm_gates %g, %gh, %c : tensor<?x128xf32>, tensor<?x32xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
  }
  %p2 = rnn.dense none %y1, %w2 : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
  %y2, %h3, %c3 = rnn.recurrence(%p2) init(%h0, %h0)
      : (tensor<?x?x128xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%g: tensor<?x128xf32>, %h: tensor<?x32xf32>, %c: tensor<?x32xf32>):
    %gh = rnn.dense none %h, %u2 : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
    %h2, %c2 = rnn.lstm_gates %g, %gh, %c : tensor<?x128xf32>, tensor<?x32xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2, %h1 : tensor<?x?x32xf32>, tensor<?x32xf32>
}

// -----

// Many-to-one (layer 2 keeps no sequence) over a static length, layer 2
// reading layer 1's sequence directly (tanh cells, one state each): the
// chunks have a dynamic length; layer 1's sequence, also returned, is
// assembled; only layer 2's final state is read.
// CHECK-LABEL: func.func @many_to_one
// CHECK:      %[[FULL1:.*]] = tensor.empty(%{{.*}}) : tensor<?x12x32xf32>
// CHECK:      %[[L:.*]]:4 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[Y1:.*]] = %[[FULL1]])
// CHECK:        scf.forall (%{{.*}}) in (2) shared_outs({{.*}}) -> (tensor<2x?x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>)
// CHECK:          rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x8xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>)
// CHECK:          rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
// CHECK:        } {rnn.wavefront}
// CHECK:        tensor.insert_slice %{{.*}} into %[[Y1]]
// CHECK:      } {rnn.chunks}
// CHECK:      return %[[L]]#1, %[[L]]#3 : tensor<?x32xf32>, tensor<?x12x32xf32>
func.func @many_to_one(%x: tensor<?x12x8xf32>, %u1: tensor<32x32xf32>, %v1: tensor<32x8xf32>,
                       %u2: tensor<32x32xf32>, %v2: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x12x32xf32>) attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x12x8xf32>, tensor<?x32xf32>) -> (tensor<?x12x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x8xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense none %xt, %v1 : (tensor<?x8xf32>, tensor<32x8xf32>) -> tensor<?x32xf32>
    %b = rnn.dense tanh %h, %u1 : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %h2 = rnn.recurrence(%y1) init(%h0)
      : (tensor<?x12x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32> {
  ^bb0(%yt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense none %yt, %v2 : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %b = rnn.dense tanh %h, %u2 : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b : tensor<?x32xf32>
  }
  return %h2, %y1 : tensor<?x32xf32>, tensor<?x12x32xf32>
}

// -----

// Left alone: a reverse layer 2 (it needs layer 1's last step first), a
// function that is not the forward entry (a gradient function saves both
// layers' steps; the step function mostly runs one step per call), and a
// layer 1 whose sequence is read before layer 2.
// CHECK-LABEL: func.func @reverse
// CHECK-NOT:   scf.forall
// CHECK-LABEL: func.func @not_inference
// CHECK-NOT:   scf.forall
// CHECK-LABEL: func.func @step_entry
// CHECK-NOT:   scf.forall
// CHECK-LABEL: func.func @read_between
// CHECK-NOT:   scf.forall
// CHECK:       return
func.func @reverse(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence reverse(%y1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}
func.func @not_inference(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence(%y1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}
func.func @step_entry(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.step_entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence(%y1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}
func.func @read_between(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %z = rnn.dense none %y1, %u : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %y2, %h2 = rnn.recurrence(%y1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2, %z : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @after
// CHECK: scf.forall
// CHECK: {rnn.chunks}
// CHECK: return
func.func @after(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence(%y1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}

// CHUNKS: rnn-stacked-wavefront: chunks must be positive
