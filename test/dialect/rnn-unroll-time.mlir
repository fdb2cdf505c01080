// RUN: rnn-opt %s --rnn-unroll-time --canonicalize | FileCheck %s
// RUN: rnn-opt %s --rnn-unroll-time="factor=1" --canonicalize | FileCheck %s --check-prefix=FULLONLY
// RUN: rnn-opt %s --rnn-unroll-time="factor=3 full-max-steps=0" --canonicalize | FileCheck %s --check-prefix=THREE
// RUN: not rnn-opt %s --rnn-unroll-time="factor=0" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: rnn-unroll-time: factor must be >= 1 and full-max-steps >= 0 (got 0, 8)

#id = affine_map<(b, n) -> (b, n)>

// One step of a toy recurrence: h = tanh(x_t + h), written into the output
// sequence. A per-step temporary (tensor.empty with the batch size) feeds
// the step's map.
func.func private @step(%h: tensor<?x4xf32>, %x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %h, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%b) : tensor<?x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %x : tensor<?x4xf32>, tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// A dynamic number of steps: two steps per iteration up to the last even
// step, then an epilogue loop for the rest (0 or 1 step). The temporary is
// hoisted above both loops, so the unrolled steps share it.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x4xf32>, %[[H0:.*]]: tensor<?x4xf32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[T:.*]] = tensor.dim %[[X]], %[[C1]]
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x4xf32>
// CHECK: %[[REM:.*]] = arith.remsi %[[T]], %[[C2]]
// CHECK: %[[UB:.*]] = arith.subi %[[T]], %[[REM]]
// CHECK: %[[MAIN:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %[[UB]] step %[[C2]] iter_args(%[[H:.*]] = %[[H0]], %{{.*}} = %{{.*}})
// CHECK: tensor.extract_slice %[[X]][0, %[[I]], 0]
// CHECK: %[[S0:.*]] = linalg.generic {{.*}} outs(%[[E]] :
// CHECK: tensor.insert_slice %[[S0]] into %{{.*}}[0, %[[I]], 0]
// CHECK: %[[I1:.*]] = arith.addi %[[I]], %[[C1]]
// CHECK: tensor.extract_slice %[[X]][0, %[[I1]], 0]
// CHECK: %[[S1:.*]] = linalg.generic {{.*}} ins(%[[S0]], %{{.*}} : {{.*}}) outs(%[[E]] :
// CHECK: tensor.insert_slice %[[S1]] into %{{.*}}[0, %[[I1]], 0]
// CHECK: scf.yield %[[S1]]
// CHECK: } {rnn.shape_preserving}
// CHECK: %[[EPI:.*]]:2 = scf.for %{{.*}} = %[[UB]] to %[[T]] step %[[C1]] iter_args(%{{.*}} = %[[MAIN]]#0, %{{.*}} = %[[MAIN]]#1)
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: } {rnn.shape_preserving}
// CHECK: return %[[EPI]]#1

// factor=1: a dynamic length is left rolled.
// FULLONLY-LABEL: func.func @dynamic
// FULLONLY: scf.for
// FULLONLY-COUNT-1: linalg.generic
// FULLONLY-NOT: scf.for
// FULLONLY: return

// THREE-LABEL: func.func @dynamic
// THREE: scf.for %{{.*}} step %c3
// THREE-COUNT-3: linalg.generic
// THREE: } {rnn.shape_preserving}
// THREE: scf.for %{{.*}} step %c1
func.func @dynamic(%x: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %seq0 = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %r:2 = scf.for %i = %c0 to %t step %c1 iter_args(%h = %h0, %seq = %seq0)
      -> (tensor<?x4xf32>, tensor<?x?x4xf32>) {
    %xt = tensor.extract_slice %x[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x?x4xf32> to tensor<?x4xf32>
    %e = tensor.empty(%b) : tensor<?x4xf32>
    %hn = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%h, %xt : tensor<?x4xf32>, tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      %th = math.tanh %s : f32
      linalg.yield %th : f32
    } -> tensor<?x4xf32>
    %seqn = tensor.insert_slice %hn into %seq[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x4xf32> into tensor<?x?x4xf32>
    scf.yield %hn, %seqn : tensor<?x4xf32>, tensor<?x?x4xf32>
  } {rnn.shape_preserving}
  return %r#1 : tensor<?x?x4xf32>
}

// Three static steps (at most full-max-steps): unrolled fully, no loop left,
// the steps at 0, 1 and 2.
// CHECK-LABEL: func.func @static_short
// CHECK-NOT: scf.for
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, 1, 4]
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 0] [%{{.*}}, 1, 4]
// CHECK: tensor.extract_slice %{{.*}}[0, 2, 0] [%{{.*}}, 1, 4]
// CHECK-NOT: scf.for
// CHECK: return

// factor=1 still unrolls short static loops fully.
// FULLONLY-LABEL: func.func @static_short
// FULLONLY-NOT: scf.for
// FULLONLY: return

// full-max-steps=0: unrolled by 3, which divides the length: no epilogue.
// THREE-LABEL: func.func @static_short
// THREE-NOT: scf.for
// THREE-COUNT-3: call @step
// THREE-NOT: call @step
// THREE: return
func.func @static_short(%x: tensor<?x3x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x3x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %b = tensor.dim %x, %c0 : tensor<?x3x4xf32>
  %seq0 = tensor.empty(%b) : tensor<?x3x4xf32>
  %r:2 = scf.for %i = %c0 to %c3 step %c1 iter_args(%h = %h0, %seq = %seq0)
      -> (tensor<?x4xf32>, tensor<?x3x4xf32>) {
    %xt = tensor.extract_slice %x[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x3x4xf32> to tensor<?x4xf32>
    %hn = func.call @step(%h, %xt) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    %seqn = tensor.insert_slice %hn into %seq[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x4xf32> into tensor<?x3x4xf32>
    scf.yield %hn, %seqn : tensor<?x4xf32>, tensor<?x3x4xf32>
  } {rnn.shape_preserving}
  return %r#1 : tensor<?x3x4xf32>
}

// Twenty static steps: by the factor, 10 iterations of 2 steps, no epilogue.
// CHECK-LABEL: func.func @static_long
// CHECK: scf.for %{{.*}} = %c0 to %c20 step %c2
// CHECK-COUNT-2: func.call @step
// CHECK: } {rnn.shape_preserving}
// CHECK-NOT: scf.for
// CHECK: return
func.func @static_long(%x: tensor<?x20x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  %b = tensor.dim %x, %c0 : tensor<?x20x4xf32>
  %r = scf.for %i = %c0 to %c20 step %c1 iter_args(%h = %h0) -> (tensor<?x4xf32>) {
    %xt = tensor.extract_slice %x[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x20x4xf32> to tensor<?x4xf32>
    %hn = func.call @step(%h, %xt) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    scf.yield %hn : tensor<?x4xf32>
  } {rnn.shape_preserving}
  return %r : tensor<?x4xf32>
}

// A loop that is not over time steps (no rnn.shape_preserving) is left alone.
// CHECK-LABEL: func.func @not_time
// CHECK: scf.for %{{.*}} step %c1
// CHECK-COUNT-1: func.call @step
// CHECK: return
func.func @not_time(%x: tensor<?x20x4xf32>, %h0: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  %b = tensor.dim %x, %c0 : tensor<?x20x4xf32>
  %r = scf.for %i = %c0 to %c20 step %c1 iter_args(%h = %h0) -> (tensor<?x4xf32>) {
    %xt = tensor.extract_slice %x[0, %i, 0] [%b, 1, 4] [1, 1, 1] : tensor<?x20x4xf32> to tensor<?x4xf32>
    %hn = func.call @step(%h, %xt) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    scf.yield %hn : tensor<?x4xf32>
  }
  return %r : tensor<?x4xf32>
}
