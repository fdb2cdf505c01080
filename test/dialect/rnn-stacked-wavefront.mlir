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
// the threads) and is carried to the next iteration. Inside the forall a
// layer's chunk has its length in its own iteration and zero steps in the
// other (the selects); each branch gives the other iteration's rows those
// sizes, and layer 2 reads its carried chunk as a slice of [B, len] (all of
// it), so that both branches' rows have the same sizes
// (rnn-rows-in-place). Layer 2's sequence, returned, is a shared output of
// the forall itself: its chunk is inserted at its offset (zero steps from
// iteration 0). Layer 1's final state comes out of the loop.
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
// CHECK:        %[[KC:.*]] = arith.muli %[[K]], %[[C]]
// CHECK:        %[[OFF1:.*]] = arith.minui %[[KC]], %[[T]]
// CHECK:        %[[LEN1:.*]] = arith.minui %[[C]], %{{.*}}
// CHECK:        arith.select
// CHECK:        %[[LEN2:.*]] = arith.select
// CHECK:        %[[S:.*]]:6 = scf.forall (%[[I:.*]]) in (2) shared_outs(%[[R1:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[R4:.*]] = %[[Y2]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x?x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>, tensor<?x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>)
// CHECK:          %[[FIRST:.*]] = arith.cmpi eq, %[[I]], %c0
// CHECK:          %[[IN1L:.*]] = arith.select %[[FIRST]], %[[LEN1]], %c0
// CHECK:          %[[IN2L:.*]] = arith.select %[[FIRST]], %c0, %[[LEN2]]
// CHECK:          %[[R:.*]]:6 = scf.if %[[FIRST]]
// CHECK:            %[[CH:.*]] = tensor.extract_slice %[[P1]][0, %[[OFF1]], 0] [%[[B]], %[[IN1L]], 128] [1, 1, 1]
// CHECK:            %[[A:.*]]:3 = rnn.recurrence(%[[CH]]) init(%[[S1H]], %[[S1C]])
// CHECK:              rnn.dense none %{{.*}}, %[[U1]]
// CHECK:            %[[NO2:.*]] = tensor.empty(%[[B]], %[[IN2L]]) : tensor<?x?x32xf32>
// CHECK:            scf.yield %[[A]]#0, %[[A]]#1, %[[A]]#2, %[[NO2]],
// CHECK:          } else {
// CHECK:            %[[FED:.*]] = tensor.extract_slice %[[IN2]][0, %c0, 0] [%[[B]], %[[IN2L]], 128] [1, 1, 1]
// CHECK:            %[[BB:.*]]:3 = rnn.recurrence(%[[FED]]) init(%[[S2H]], %[[S2C]])
// CHECK:              rnn.dense none %{{.*}}, %[[U2]]
// CHECK:            %[[NO1:.*]] = tensor.empty(%[[B]], %[[IN1L]]) : tensor<?x?x32xf32>
// CHECK:            scf.yield %[[NO1]], {{.*}}, %[[BB]]#0, %[[BB]]#1, %[[BB]]#2
// CHECK:          scf.forall.in_parallel {
// CHECK-NEXT:       tensor.parallel_insert_slice %[[R]]#0 into %[[R1]][%[[I]], 0, 0, 0]
// CHECK:            tensor.parallel_insert_slice %[[R]]#3 into %[[R4]][0, %{{.*}}, 0] [%[[B]], %[[IN2L]], 32] [1, 1, 1] : tensor<?x?x32xf32> into tensor<?x?x32xf32>
// CHECK:        } {rnn.wavefront}
// CHECK-DAG:    %[[H1:.*]] = tensor.extract_slice %[[S]]#1[0, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[C1:.*]] = tensor.extract_slice %[[S]]#2[0, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[H2:.*]] = tensor.extract_slice %[[S]]#4[1, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[C2:.*]] = tensor.extract_slice %[[S]]#5[1, 0, 0] [1, %[[B]], 32]
// CHECK-DAG:    %[[Y1C:.*]] = tensor.extract_slice %[[S]]#0[0, 0, 0, 0] [1, %[[B]], %[[LEN1]], 32]
// CHECK-DAG:    %[[P2:.*]] = rnn.dense none %[[Y1C]], %[[W2]] : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
// CHECK:        scf.yield %[[H1]], %[[C1]], %[[H2]], %[[C2]], %[[P2]], %[[S]]#3
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
// chunks have a dynamic length; layer 1's sequence, also returned, is a
// shared output of the forall (layer 1's chunk inserted at its offset, zero
// steps from iteration 1), read by layer 2 as its slice; only layer 2's
// final state is read.
// CHECK-LABEL: func.func @many_to_one
// CHECK:      %[[FULL1:.*]] = tensor.empty(%{{.*}}) : tensor<?x12x32xf32>
// CHECK:      %[[L:.*]]:4 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[Y1:.*]] = %[[FULL1]])
// CHECK:        %[[S:.*]]:3 = scf.forall (%{{.*}}) in (2) shared_outs(%[[R1:.*]] = %[[Y1]], {{.*}}) -> (tensor<?x12x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>)
// CHECK:          rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x8xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>)
// CHECK:          rnn.recurrence(%{{.*}}) init(%{{.*}}) : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
// CHECK:          tensor.parallel_insert_slice %{{.*}} into %[[R1]][0, %{{.*}}, 0]
// CHECK:        } {rnn.wavefront}
// CHECK:        %[[CH:.*]] = tensor.extract_slice %[[S]]#0[0, %{{.*}}, 0]
// CHECK:        scf.yield %{{.*}}, %{{.*}}, %[[CH]], %[[S]]#0
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

// Left alone: layers of different directions (layer 2 reverse needs layer
// 1's last step first), the step function (it mostly runs one step per
// call), and a layer 2 that reads layer 1 other than as its input sequence
// (its initial state is layer 1's final one).
// CHECK-LABEL: func.func @reverse
// CHECK-NOT:   scf.forall
// CHECK-LABEL: func.func @step_entry
// CHECK-NOT:   scf.forall
// CHECK-LABEL: func.func @init_from_layer1
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
func.func @init_from_layer1(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %y2, %h2 = rnn.recurrence(%y1) init(%h1)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2 : tensor<?x?x32xf32>
}

// -----

// Any function but the step function: the loss and gradient functions'
// forward passes too (a function without an entry attribute here). Both
// layers reverse: chunks are counted from the end, [T - min(kC + C, T),
// T - min(kC, T)).
// CHECK-LABEL: func.func @both_reverse
// CHECK:       %[[T:.*]] = tensor.dim %{{.*}}, %c1
// CHECK:       scf.for %[[K:[^ ]*]] =
// CHECK:         %[[KC:.*]] = arith.muli %[[K]], %[[C:.*]] : index
// CHECK:         %[[LO:.*]] = arith.minui %[[KC]], %[[T]]
// CHECK:         %[[LEN:.*]] = arith.minui %[[C]], %{{.*}}
// CHECK:         %[[HI:.*]] = arith.addi %[[LO]], %[[LEN]]
// CHECK:         %[[OFF:.*]] = arith.subi %[[T]], %[[HI]]
// CHECK:         scf.forall
// CHECK:           tensor.extract_slice %{{.*}}[0, %[[OFF]], 0]
// CHECK:           rnn.recurrence reverse(
// CHECK:         } else {
// CHECK:           rnn.recurrence reverse(
// CHECK:       } {rnn.chunks}
func.func @both_reverse(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> {
  %y1, %h1 = rnn.recurrence reverse(%x) init(%h0)
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

// -----

// An op between the layers that reads layer 1's sequence (not on the way to
// layer 2) runs after the pipeline, on the assembled sequence.
// CHECK-LABEL: func.func @read_between
// CHECK:       %[[L:.*]]:{{[0-9]+}} = scf.for
// CHECK:         scf.forall
// CHECK:       } {rnn.chunks}
// CHECK-NEXT:  %[[Z:.*]] = rnn.dense none %[[L]]#{{[0-9]+}}, %{{.*}} : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
// CHECK-NEXT:  return %[[L]]#{{[0-9]+}}, %[[Z]]
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

// -----

// The adjoint of two stacked layers as rnn-bptt leaves it: layer 2's
// adjoint (reverse) yields its gate gradients dG2, whose input gradient
// (dx of an rnn.dense_grad: dG2 W2) is layer 1's output gradient; each
// adjoint also reads a saved sequence of the forward pass (external: sliced
// per chunk). The pair runs from the end: dx of dG2's chunk runs after the
// forall (its x, only giving dx its type, sliced likewise), and the
// dense_grad itself, whose weight gradient is read, moves after the loop
// with the op that reads it, on the assembled dG2.
// CHECK-LABEL: func.func @adjoint
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<?x?x32xf32>, %[[S1:[^:]*]]: tensor<?x?x32xf32>, %[[S2:[^:]*]]: tensor<?x?x32xf32>, %[[X1:[^:]*]]: tensor<?x?x32xf32>, %[[W2:[^:]*]]: tensor<32x32xf32>
// CHECK:       %[[L:.*]]:{{[0-9]+}} = scf.for
// CHECK:         %[[S:.*]]:{{[0-9]+}} = scf.forall
// CHECK:           %[[DYC:.*]] = tensor.extract_slice %[[DY]][0, %[[OFF1:[^,]*]], 0]
// CHECK:           %[[S2C:.*]] = tensor.extract_slice %[[S2]][0, %[[OFF1]], 0]
// CHECK:           rnn.recurrence reverse(%[[DYC]], %[[S2C]])
// CHECK:         } else {
// CHECK:           %[[FED:.*]] = tensor.extract_slice %{{.*}}[0, %c0, 0]
// CHECK:           %[[S1C:.*]] = tensor.extract_slice %[[S1]][0, %[[OFF2:[^,]*]], 0]
// CHECK:           rnn.recurrence reverse(%[[FED]], %[[S1C]])
// CHECK:         } {rnn.wavefront}
// CHECK:         %[[DG:.*]] = tensor.extract_slice %[[S]]#0[0, %[[OFF1]], 0]
// CHECK:         %[[XC:.*]] = tensor.extract_slice %[[X1]][0, %[[OFF1]], 0]
// CHECK:         %[[DX:.*]], %{{.*}}, %{{.*}} = rnn.dense_grad %[[DG]], %[[XC]], %[[W2]]
// CHECK:         scf.yield {{.*}}%[[DX]]
// CHECK:       } {rnn.chunks}
// CHECK:       %{{.*}}, %[[DW:.*]], %{{.*}} = rnn.dense_grad %[[L]]#{{[0-9]+}}, %[[X1]], %[[W2]]
// CHECK-NEXT:  %[[SUM:.*]] = linalg.add ins(%[[DW]], %[[DW]]
// CHECK-NEXT:  return %{{.*}}, %[[SUM]]
func.func @adjoint(%dy: tensor<?x?x32xf32>, %s1: tensor<?x?x32xf32>, %s2: tensor<?x?x32xf32>, %x1: tensor<?x?x32xf32>,
                   %w2: tensor<32x32xf32>, %u: tensor<32x32xf32>, %h0: tensor<?x32xf32>)
    -> (tensor<?x?x32xf32>, tensor<32x32xf32>) attributes {rnn.grad_entry} {
  %dg2, %dh2 = rnn.recurrence reverse(%dy, %s2) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%dyt: tensor<?x32xf32>, %st: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %g = arith.addf %a, %dyt : tensor<?x32xf32>
    %g2 = arith.mulf %g, %st : tensor<?x32xf32>
    rnn.yield %g2, %g2 : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %dx, %dw, %db = rnn.dense_grad %dg2, %x1, %w2 : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x32xf32>) -> (tensor<?x?x32xf32>, tensor<32x32xf32>, tensor<32xf32>)
  %e = tensor.empty() : tensor<32x32xf32>
  %sum = linalg.add ins(%dw, %dw : tensor<32x32xf32>, tensor<32x32xf32>) outs(%e : tensor<32x32xf32>) -> tensor<32x32xf32>
  %dg1, %dh1 = rnn.recurrence reverse(%dx, %s1) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%dyt: tensor<?x32xf32>, %st: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %g = arith.addf %a, %dyt : tensor<?x32xf32>
    %g2 = arith.mulf %g, %st : tensor<?x32xf32>
    rnn.yield %g2, %g2 : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %dg1, %sum : tensor<?x?x32xf32>, tensor<32x32xf32>
}

// -----

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

// -----

// Dropout between the layers (training): on the chain, after layer 1's
// chunk; its clone draws the masks of the chunk's place in the whole
// sequence (the time offset of the chunk, OFF1, added to dimension 1). The
// dropped sequence, also returned, is assembled chunk by chunk.
// CHECK-LABEL: func.func @dropout
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x32xf32>, %{{[^:]*}}: tensor<32x32xf32>, %[[W:[^:]*]]: tensor<32x32xf32>, %[[RNG:[^:]*]]: tensor<2xi64>
// CHECK:       %[[L:.*]]:{{[0-9]+}} = scf.for %[[K:[^ ]*]] = {{.*}} iter_args({{.*}}, %[[DFULL:[^ ]*]] = %{{[^ ]*}})
// CHECK:         %[[KC:.*]] = arith.muli %[[K]], %{{.*}}
// CHECK:         %[[OFF1:.*]] = arith.minui %[[KC]]
// CHECK:         %[[LEN1:.*]] = arith.minui
// CHECK:         scf.forall
// CHECK:         } {rnn.wavefront}
// CHECK:         %[[Y1C:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, %{{.*}}, %[[LEN1]], 32]
// CHECK:         %[[D:.*]] = rnn.dropout %[[Y1C]], %[[RNG]] at [%c0, %[[OFF1]], %c0] {rate = 3.000000e-01 : f64, salt = 7 : i64}
// CHECK:         %[[P2:.*]] = rnn.dense none %[[D]], %[[W]]
// CHECK:         %[[DINS:.*]] = tensor.insert_slice %[[D]] into %[[DFULL]][0, %[[OFF1]], 0] [%{{.*}}, %[[LEN1]], 32]
// CHECK:         scf.yield {{.*}}%[[P2]], {{.*}}%[[DINS]]
// CHECK:       } {rnn.chunks}
func.func @dropout(%x: tensor<?x?x32xf32>, %u: tensor<32x32xf32>, %w: tensor<32x32xf32>, %rng: tensor<2xi64>,
                   %h0: tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) attributes {rnn.loss_entry} {
  %y1, %h1 = rnn.recurrence(%x) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    rnn.yield %b, %b : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %d = rnn.dropout %y1, %rng {rate = 3.000000e-01 : f64, salt = 7 : i64} : tensor<?x?x32xf32>, tensor<2xi64>
  %p = rnn.dense none %d, %w : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
  %y2, %h2 = rnn.recurrence(%p) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%xt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %b = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %s = arith.addf %b, %xt : tensor<?x32xf32>
    rnn.yield %s, %s : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %y2, %d : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// In the adjoint (reverse, chunks from the end), the dropout on layer 1's
// output gradient (dx of dG2 W2) is offset by the chunk's start, T - hi.
// CHECK-LABEL: func.func @dropout_adjoint
// CHECK:       scf.for
// CHECK:         %[[HI:.*]] = arith.addi
// CHECK:         %[[OFF1:.*]] = arith.subi %{{.*}}, %[[HI]]
// CHECK:         scf.forall
// CHECK:         } {rnn.wavefront}
// CHECK:         %[[DX:.*]], %{{.*}}, %{{.*}} = rnn.dense_grad
// CHECK:         %[[D:.*]] = rnn.dropout %[[DX]], %{{.*}} at [%c0, %[[OFF1]], %c0]
// CHECK:         scf.yield {{.*}}%[[D]]
// CHECK:       } {rnn.chunks}
func.func @dropout_adjoint(%dy: tensor<?x?x32xf32>, %x1: tensor<?x?x32xf32>, %w2: tensor<32x32xf32>,
                           %u: tensor<32x32xf32>, %rng: tensor<2xi64>, %h0: tensor<?x32xf32>)
    -> tensor<?x?x32xf32> attributes {rnn.grad_entry} {
  %dg2, %dh2 = rnn.recurrence reverse(%dy) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%dyt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %g = arith.addf %a, %dyt : tensor<?x32xf32>
    rnn.yield %g, %g : tensor<?x32xf32>, tensor<?x32xf32>
  }
  %dx, %dw, %db = rnn.dense_grad %dg2, %x1, %w2 : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x32xf32>) -> (tensor<?x?x32xf32>, tensor<32x32xf32>, tensor<32xf32>)
  %dd = rnn.dropout %dx, %rng {rate = 3.000000e-01 : f64, salt = 7 : i64} : tensor<?x?x32xf32>, tensor<2xi64>
  %dg1, %dh1 = rnn.recurrence reverse(%dd) init(%h0)
      : (tensor<?x?x32xf32>, tensor<?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32xf32>) {
  ^bb0(%dyt: tensor<?x32xf32>, %h: tensor<?x32xf32>):
    %a = rnn.dense tanh %h, %u : (tensor<?x32xf32>, tensor<32x32xf32>) -> tensor<?x32xf32>
    %g = arith.addf %a, %dyt : tensor<?x32xf32>
    rnn.yield %g, %g : tensor<?x32xf32>, tensor<?x32xf32>
  }
  return %dg1 : tensor<?x?x32xf32>
}
