// RUN: rnn-opt %s --rnn-transpose-weights | FileCheck %s

#xk = affine_map<(b, t, n, k) -> (b, t, k)>
#wk = affine_map<(b, t, n, k) -> (n, k)>
#kn = affine_map<(b, t, n, k) -> (k, n)>
#out = affine_map<(b, t, n, k) -> (b, t, n)>
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>

// The sequence-wide input projection [B, T, 128] x [2048, 128]^T: one
// transposed copy of the weight right at the function's entry, shared by
// both contractions that read it in the dot form; their maps read it as
// (k, n), so the output's last axis is contiguous in it.
// CHECK-DAG:   #[[KN:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-LABEL: func.func @projection
// CHECK:       %[[E:.*]] = tensor.empty() : tensor<128x2048xf32>
// CHECK-NEXT:  %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<2048x128xf32>) outs(%[[E]] : tensor<128x2048xf32>) permutation = [1, 0]
// CHECK-NOT:   linalg.transpose
// CHECK:       linalg.generic {indexing_maps = [#{{.*}}, #[[KN]], #{{.*}}]{{.*}} ins(%arg0, %[[WT]] : tensor<?x?x128xf32>, tensor<128x2048xf32>)
// CHECK:       linalg.generic {indexing_maps = [#{{.*}}, #[[KN]], #{{.*}}]{{.*}} ins(%arg0, %[[WT]] : tensor<?x?x128xf32>, tensor<128x2048xf32>)
func.func @projection(%x: tensor<?x?x128xf32>, %w: tensor<2048x128xf32>, %z: tensor<?x?x2048xf32>)
    -> (tensor<?x?x2048xf32>, tensor<?x?x2048xf32>) {
  %g = linalg.generic {indexing_maps = [#xk, #wk, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x128xf32>, tensor<2048x128xf32>) outs(%z : tensor<?x?x2048xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2048xf32>
  %g2 = linalg.generic {indexing_maps = [#xk, #wk, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x128xf32>, tensor<2048x128xf32>) outs(%z : tensor<?x?x2048xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %b, %a : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2048xf32>
  return %g, %g2 : tensor<?x?x2048xf32>, tensor<?x?x2048xf32>
}

// Left alone: a 2-D output (rows = batch: a GEMV at batch 1), a contraction
// inside a time loop, and a weight already read as (k, n).
// CHECK-LABEL: func.func @untouched
// CHECK-NOT:   linalg.transpose
// CHECK:       return
func.func @untouched(%x: tensor<?x128xf32>, %w: tensor<2048x128xf32>, %z: tensor<?x2048xf32>,
                     %xs: tensor<?x?x128xf32>, %wt: tensor<128x2048xf32>, %zs: tensor<?x?x2048xf32>,
                     %n: index) -> (tensor<?x2048xf32>, tensor<?x?x2048xf32>, tensor<?x?x2048xf32>) {
  %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x128xf32>, tensor<2048x128xf32>) outs(%z : tensor<?x2048xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x2048xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %l = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zs) -> (tensor<?x?x2048xf32>) {
    %s = linalg.generic {indexing_maps = [#xk, #wk, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%xs, %w : tensor<?x?x128xf32>, tensor<2048x128xf32>) outs(%acc : tensor<?x?x2048xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s2 = arith.addf %o, %p : f32
      linalg.yield %s2 : f32
    } -> tensor<?x?x2048xf32>
    scf.yield %s : tensor<?x?x2048xf32>
  }
  %k = linalg.generic {indexing_maps = [#xk, #kn, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%xs, %wt : tensor<?x?x128xf32>, tensor<128x2048xf32>) outs(%zs : tensor<?x?x2048xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2048xf32>
  return %g, %k, %l : tensor<?x2048xf32>, tensor<?x?x2048xf32>, tensor<?x?x2048xf32>
}

// A per-step contraction with a tiny reduction (hidden 5 <= max-step-reduction,
// 8): the transposed copy is made once, outside the loop, and read as (k, n)
// inside it.
// CHECK-LABEL: func.func @tiny_step
// CHECK:       %[[WT:.*]] = linalg.transpose ins(%arg1 : tensor<20x5xf32>) outs(%{{.*}} : tensor<5x20xf32>) permutation = [1, 0]
// CHECK:       scf.for
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #[[KN2:.*]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[WT]] : tensor<?x5xf32>, tensor<5x20xf32>)
func.func @tiny_step(%h0: tensor<?x5xf32>, %w: tensor<20x5xf32>, %z: tensor<?x20xf32>, %n: index) -> tensor<?x5xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%h = %h0) -> (tensor<?x5xf32>) {
    %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<?x5xf32>, tensor<20x5xf32>) outs(%z : tensor<?x20xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x20xf32>
    %b = tensor.dim %h, %c0 : tensor<?x5xf32>
    %next = tensor.extract_slice %g[0, 0] [%b, 5] [1, 1] : tensor<?x20xf32> to tensor<?x5xf32>
    scf.yield %next : tensor<?x5xf32>
  }
  return %r : tensor<?x5xf32>
}
