// RUN: rnn-opt %s -rnn-carry-in-place | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// The next state is computed into the carried tensor (destination-passing),
// so bufferization updates it in place; the output sequence's copy and the
// other results are untouched.
// CHECK-LABEL: func.func @step
// CHECK:       scf.for {{.*}} iter_args(%[[H:.*]] = %{{.*}}, %[[C:.*]] = %{{.*}}) -> (tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK:         %[[R:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}}, %[[C]] : tensor<?x4xf32>, tensor<?x4xf32>) outs(%[[H]], %[[C]] : tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK:         scf.yield %[[R]]#0, %[[R]]#1
func.func @step(%g: tensor<?x4xf32>, %h0: tensor<?x4xf32>, %c0: tensor<?x4xf32>, %n: index) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %z = arith.constant 0 : index
  %one = arith.constant 1 : index
  %b = tensor.dim %h0, %z : tensor<?x4xf32>
  %r:2 = scf.for %t = %z to %n step %one iter_args(%h = %h0, %c = %c0) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
    %e = tensor.empty(%b) : tensor<?x4xf32>
    %s:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%g, %c : tensor<?x4xf32>, tensor<?x4xf32>) outs(%e, %e : tensor<?x4xf32>, tensor<?x4xf32>) {
    ^bb0(%a: f32, %cc: f32, %o1: f32, %o2: f32):
      %c2 = arith.addf %a, %cc : f32
      %h2 = math.tanh %c2 : f32
      linalg.yield %h2, %c2 : f32, f32
    } -> (tensor<?x4xf32>, tensor<?x4xf32>)
    scf.yield %s#0, %s#1 : tensor<?x4xf32>, tensor<?x4xf32>
  } {rnn.shape_preserving}
  return %r#0, %r#1 : tensor<?x4xf32>, tensor<?x4xf32>
}

// A loop not marked rnn.shape_preserving may carry tensors whose dynamic
// sizes change from one iteration to the next (here [?, 0] then [?, %n]: the
// chunks of rnn-stacked-wavefront): written into the carried tensor, the
// value would not fit. The dynamic one keeps its init; the static one
// (sizes that cannot change) is still computed in place.
// CHECK-LABEL: func.func @sizes_change
// CHECK:       scf.for {{.*}} iter_args(%[[V:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}})
// CHECK:         %[[E:.*]] = tensor.empty
// CHECK:         linalg.generic {{.*}} outs(%[[E]] : tensor<?x?xf32>)
// CHECK:         linalg.generic {{.*}} outs(%[[S]] : tensor<4x4xf32>)
func.func @sizes_change(%x: tensor<?x?xf32>, %y: tensor<4x4xf32>, %b: index, %n: index) -> (tensor<?x?xf32>, tensor<4x4xf32>) {
  %z = arith.constant 0 : index
  %one = arith.constant 1 : index
  %e0 = tensor.empty(%b) : tensor<?x0xf32>
  %v0 = tensor.cast %e0 : tensor<?x0xf32> to tensor<?x?xf32>
  %s0 = tensor.empty() : tensor<4x4xf32>
  %r:2 = scf.for %t = %z to %n step %one iter_args(%v = %v0, %s = %s0) -> (tensor<?x?xf32>, tensor<4x4xf32>) {
    %chunk = tensor.extract_slice %x[0, 0] [%b, %n] [1, 1] : tensor<?x?xf32> to tensor<?x?xf32>
    %e = tensor.empty(%b, %n) : tensor<?x?xf32>
    %w = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%chunk : tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
    ^bb0(%a: f32, %o: f32):
      %m = arith.mulf %a, %a : f32
      linalg.yield %m : f32
    } -> tensor<?x?xf32>
    %es = tensor.empty() : tensor<4x4xf32>
    %u = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%y : tensor<4x4xf32>) outs(%es : tensor<4x4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %m = arith.mulf %a, %a : f32
      linalg.yield %m : f32
    } -> tensor<4x4xf32>
    scf.yield %w, %u : tensor<?x?xf32>, tensor<4x4xf32>
  }
  return %r#0, %r#1 : tensor<?x?xf32>, tensor<4x4xf32>
}

// An op that reads its output (an accumulation) keeps its init.
// CHECK-LABEL: func.func @reads_init
// CHECK:       scf.for {{.*}} iter_args(%[[A:.*]] = %{{.*}})
// CHECK:         %[[E:.*]] = tensor.empty
// CHECK:         linalg.generic {{.*}} outs(%[[E]] : tensor<4x4xf32>)
func.func @reads_init(%x: tensor<4x4xf32>, %a0: tensor<4x4xf32>, %n: index) -> tensor<4x4xf32> {
  %z = arith.constant 0 : index
  %one = arith.constant 1 : index
  %r = scf.for %t = %z to %n step %one iter_args(%a = %a0) -> (tensor<4x4xf32>) {
    %e = tensor.empty() : tensor<4x4xf32>
    %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
    ^bb0(%v: f32, %o: f32):
      %w = arith.addf %v, %o : f32
      linalg.yield %w : f32
    } -> tensor<4x4xf32>
    scf.yield %s : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}
