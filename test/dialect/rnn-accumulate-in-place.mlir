// RUN: rnn-opt %s -rnn-accumulate-in-place -split-input-file | FileCheck %s

#xk = affine_map<(n, k, b) -> (b, n)>
#hk = affine_map<(n, k, b) -> (b, k)>
#nk = affine_map<(n, k, b) -> (n, k)>

// acc + (dG^T h from zero) becomes dG^T h started from acc: no fill, no add.
// CHECK-LABEL: func.func @weight_grad
// CHECK-SAME: (%[[ACC:[^:]*]]: tensor<8x4xf32>
// CHECK-NOT:  linalg.fill
// CHECK-NOT:  linalg.add
// CHECK:      %[[R:.*]] = linalg.generic {{.*}} outs(%[[ACC]] : tensor<8x4xf32>)
// CHECK:      return %[[R]]
func.func @weight_grad(%acc: tensor<8x4xf32>, %dg: tensor<?x8xf32>, %h: tensor<?x4xf32>) -> tensor<8x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %d = linalg.generic {indexing_maps = [#xk, #hk, #nk], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%dg, %h : tensor<?x8xf32>, tensor<?x4xf32>) outs(%f : tensor<8x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %r = linalg.add ins(%acc, %d : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// -----

// Not folded: the reduction starts from ones (not a plain sum), and a sum
// that is used twice.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: linalg.add
func.func @kept(%acc: tensor<8xf32>, %x: tensor<?x8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %one = arith.constant 1.0 : f32
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f1 = linalg.fill ins(%one : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %f0 = linalg.fill ins(%z : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %s1 = linalg.generic {indexing_maps = [affine_map<(n, b) -> (b, n)>, affine_map<(n, b) -> (n)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%f1 : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %s0 = linalg.generic {indexing_maps = [affine_map<(n, b) -> (b, n)>, affine_map<(n, b) -> (n)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%f0 : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %r1 = linalg.add ins(%acc, %s1 : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r0 = linalg.add ins(%acc, %s0 : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %u = linalg.add ins(%r0, %s0 : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  return %r1, %u : tensor<8xf32>, tensor<8xf32>
}
