// RUN: rnn-opt %s --rnn-pack-weights="panel=8 min-rows=4 min-elements=64" --canonicalize --cse | FileCheck %s
// RUN: rnn-opt %s --rnn-pack-weights="panel=8 min-elements=65" | FileCheck %s --check-prefix=SMALL
// RUN: not rnn-opt %s --rnn-pack-weights="panel=0" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: rnn-opt %s --rnn-pack-weights="panel=8 min-rows=4 min-elements=64 prepared=true" --canonicalize --cse | FileCheck %s --check-prefix=PREP

// BAD: error: rnn-pack-weights: panel and min-rows must be positive, min-elements not negative

// Weights under `min-elements` (here 65: @recurrent's 16x4) are left alone.
// SMALL-LABEL: func.func @recurrent
// SMALL-NOT:   linalg.transpose
// SMALL-LABEL: func.func @backward
// SMALL:       linalg.transpose

#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>

// The recurrent projection h @ W^T, W [16, 4]: two whole panels of 8, made
// before the loop (none when the batch is under 4 rows); each step picks the
// panel form or the original contraction by the same condition.
// CHECK-DAG:   #[[XK:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG:   #[[PKQ:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG:   #[[MPQ:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG:   #[[SX:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK-DAG:   #[[SW:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d4, d3)>
// CHECK-DAG:   #[[SO:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @recurrent
// CHECK:       %[[ROWS:.*]] = tensor.dim %arg0, %c0
// CHECK:       %[[BIG:.*]] = arith.cmpi uge, %[[ROWS]], %c4
// CHECK:       %[[N:.*]] = arith.select %[[BIG]], %c2, %c0
// CHECK:       %[[E:.*]] = tensor.expand_shape %arg1 {{\[}}[0, 1], [2]] output_shape [2, 8, 4] : tensor<16x4xf32> into tensor<2x8x4xf32>
// CHECK:       %[[S:.*]] = tensor.extract_slice %[[E]][0, 0, 0] [%[[N]], 8, 4] [1, 1, 1]
// CHECK:       %[[I:.*]] = tensor.empty(%[[N]]) : tensor<?x4x8xf32>
// CHECK:       %[[P:.*]] = linalg.transpose ins(%[[S]] : tensor<?x8x4xf32>) outs(%[[I]] : tensor<?x4x8xf32>) permutation = [0, 2, 1]
// CHECK:       scf.for {{.*}} iter_args(%[[H:.*]] = %arg0)
// CHECK:         %[[Z:.*]] = linalg.fill {{.*}} -> tensor<?x16xf32>
// CHECK:         scf.if %[[BIG]] -> (tensor<?x16xf32>) {
// CHECK:           %[[PS:.*]] = tensor.cast %[[P]] : tensor<?x4x8xf32> to tensor<2x4x8xf32>
// CHECK:           tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 2, 8] : tensor<?x16xf32> into tensor<?x2x8xf32>
// CHECK:           %[[G:.*]] = linalg.generic {indexing_maps = [#[[XK]], #[[PKQ]], #[[MPQ]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[H]], %[[PS]] : tensor<?x4xf32>, tensor<2x4x8xf32>) outs(%{{.*}} : tensor<?x2x8xf32>)
// CHECK:             arith.mulf
// CHECK-NEXT:        arith.addf
// CHECK:           %[[C:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0], [1, 2]] : tensor<?x2x8xf32> into tensor<?x16xf32>
// CHECK:           scf.yield %[[C]]
// CHECK:         } else {
// CHECK:           %[[O:.*]] = linalg.generic {{.*}} ins(%[[H]], %arg1 : tensor<?x4xf32>, tensor<16x4xf32>) outs(%[[Z]] : tensor<?x16xf32>)
// CHECK:           scf.yield %[[O]]
func.func @recurrent(%h0: tensor<?x4xf32>, %w: tensor<16x4xf32>, %steps: index) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %steps step %c1 iter_args(%h = %h0) -> tensor<?x4xf32> {
    %b = tensor.dim %h, %c0 : tensor<?x4xf32>
    %e = tensor.empty(%b) : tensor<?x16xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
    %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<?x4xf32>, tensor<16x4xf32>) outs(%z : tensor<?x16xf32>) {
    ^bb0(%a: f32, %x: f32, %o: f32):
      %p = arith.mulf %a, %x : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x16xf32>
    %n = tensor.extract_slice %g[0, 0] [%b, 4] [1, 1] : tensor<?x16xf32> to tensor<?x4xf32>
    scf.yield %n : tensor<?x4xf32>
  }
  return %r : tensor<?x4xf32>
}

// The same step loop inside another loop (rnn-stacked-wavefront's chunk
// loop, with the branch of its forall), its state carried by the outer
// loop: the row count is traced through both loops' iteration arguments, so
// the panels are packed once, above the outer loop.
// CHECK-LABEL: func.func @chunked
// CHECK:       %[[ROWS:.*]] = tensor.dim %arg0, %c0
// CHECK:       %[[BIG:.*]] = arith.cmpi uge, %[[ROWS]], %c4
// CHECK:       %[[P:.*]] = linalg.transpose
// CHECK:       scf.for
// CHECK:         scf.if %arg{{[0-9]+}}
// CHECK:           scf.for
// CHECK-NOT:         linalg.transpose
// CHECK:             scf.if %[[BIG]] -> (tensor<?x16xf32>) {
// CHECK:               tensor.cast %[[P]] : tensor<?x4x8xf32> to tensor<2x4x8xf32>
func.func @chunked(%h0: tensor<?x4xf32>, %w: tensor<16x4xf32>, %chunks: index, %steps: index, %on: i1) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %o = scf.for %k = %c0 to %chunks step %c1 iter_args(%hk = %h0) -> tensor<?x4xf32> {
    %rk = scf.if %on -> tensor<?x4xf32> {
      %r = scf.for %i = %c0 to %steps step %c1 iter_args(%h = %hk) -> tensor<?x4xf32> {
        %b = tensor.dim %h, %c0 : tensor<?x4xf32>
        %e = tensor.empty(%b) : tensor<?x16xf32>
        %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
        %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
            ins(%h, %w : tensor<?x4xf32>, tensor<16x4xf32>) outs(%z : tensor<?x16xf32>) {
        ^bb0(%a: f32, %x: f32, %acc: f32):
          %p = arith.mulf %a, %x : f32
          %s = arith.addf %acc, %p : f32
          linalg.yield %s : f32
        } -> tensor<?x16xf32>
        %n = tensor.extract_slice %g[0, 0] [%b, 4] [1, 1] : tensor<?x16xf32> to tensor<?x4xf32>
        scf.yield %n : tensor<?x4xf32>
      }
      scf.yield %r : tensor<?x4xf32>
    } else {
      scf.yield %hk : tensor<?x4xf32>
    }
    scf.yield %rk : tensor<?x4xf32>
  }
  return %o : tensor<?x4xf32>
}

// The gradient through it, dG @ W with W [16, 12] read as (k, n): one panel
// of 8 output columns plus 4 leftover ones, which keep the original form on
// the weight's last 4 columns. The row count is found through the step's
// tensor.empty back to a size defined before the loop.
// CHECK-LABEL: func.func @backward
// CHECK-SAME:    (%[[DG:.*]]: tensor<?x?x16xf32>, %[[W:.*]]: tensor<16x12xf32>, %[[B:.*]]: index)
// CHECK:       %[[BIG:.*]] = arith.cmpi uge, %[[B]], %c4
// CHECK:       %[[N:.*]] = arith.select %[[BIG]], %c1, %c0
// CHECK:       %[[WS:.*]] = tensor.extract_slice %[[W]][0, 0] [16, 8] [1, 1] : tensor<16x12xf32> to tensor<16x8xf32>
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[WS]] {{\[}}[0], [1, 2]] output_shape [16, 1, 8]
// CHECK:       %[[S:.*]] = tensor.extract_slice %[[E]][0, 0, 0] [16, %[[N]], 8] [1, 1, 1]
// CHECK:       %[[P:.*]] = linalg.transpose ins(%[[S]] : tensor<16x?x8xf32>) outs(%{{.*}} : tensor<?x16x8xf32>) permutation = [1, 0, 2]
// CHECK:       scf.for
// CHECK:         scf.if %[[BIG]] -> (tensor<?x12xf32>) {
// CHECK:           tensor.cast %[[P]] : tensor<?x16x8xf32> to tensor<1x16x8xf32>
// CHECK:           %[[OF:.*]] = tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 8] [1, 1] : tensor<?x12xf32> to tensor<?x8xf32>
// CHECK:           tensor.expand_shape %[[OF]]
// CHECK:           %[[G:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x1x8xf32>)
// CHECK:           %[[C:.*]] = tensor.collapse_shape %[[G]]
// CHECK:           %[[I1:.*]] = tensor.insert_slice %[[C]] into %{{.*}}[0, 0] [%{{.*}}, 8] [1, 1] : tensor<?x8xf32> into tensor<?x12xf32>
// CHECK:           %[[WR:.*]] = tensor.extract_slice %[[W]][0, 8] [16, 4] [1, 1] : tensor<16x12xf32> to tensor<16x4xf32>
// CHECK:           %[[OR:.*]] = tensor.extract_slice %[[I1]][0, 8] [%{{.*}}, 4] [1, 1] : tensor<?x12xf32> to tensor<?x4xf32>
// CHECK:           %[[T:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[WR]] : tensor<?x16xf32>, tensor<16x4xf32>) outs(%[[OR]] : tensor<?x4xf32>)
// CHECK:           %[[I2:.*]] = tensor.insert_slice %[[T]] into %[[I1]][0, 8] [%{{.*}}, 4] [1, 1]
// CHECK:           scf.yield %[[I2]]
// CHECK:         } else {
// CHECK:           linalg.generic {{.*}} ins(%{{.*}}, %[[W]] : tensor<?x16xf32>, tensor<16x12xf32>)
func.func @backward(%dg: tensor<?x?x16xf32>, %w: tensor<16x12xf32>, %b: index) -> tensor<?x12xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %t = tensor.dim %dg, %c1 : tensor<?x?x16xf32>
  %init = tensor.empty(%b) : tensor<?x12xf32>
  %r = scf.for %i = %c0 to %t step %c1 iter_args(%acc = %init) -> tensor<?x12xf32> {
    %d = tensor.extract_slice %dg[0, %i, 0] [%b, 1, 16] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x16xf32>
    %e = tensor.empty(%b) : tensor<?x12xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x12xf32>) -> tensor<?x12xf32>
    %g = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%d, %w : tensor<?x16xf32>, tensor<16x12xf32>) outs(%z : tensor<?x12xf32>) {
    ^bb0(%a: f32, %x: f32, %o: f32):
      %p = arith.mulf %a, %x : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x12xf32>
    %n = linalg.add ins(%g, %acc : tensor<?x12xf32>, tensor<?x12xf32>) outs(%e : tensor<?x12xf32>) -> tensor<?x12xf32>
    scf.yield %n : tensor<?x12xf32>
  }
  return %r : tensor<?x12xf32>
}

// A sequence-wide contraction outside every loop ([B, T, 4] x [20, 4]^T,
// the hoisted input projection): always the panels, packed once for both
// contractions reading the weight; the output's last axis expanded into
// [panels, 8] (its leading axes left as they are), the 4 leftover columns
// in the original form on the weight's last rows (maps SX, SW, SO above).
// CHECK-LABEL: func.func @sequence
// CHECK:       %[[WS:.*]] = tensor.extract_slice %arg1[0, 0] [16, 4] [1, 1] : tensor<20x4xf32> to tensor<16x4xf32>
// CHECK:       %[[WE:.*]] = tensor.expand_shape %[[WS]] {{\[}}[0, 1], [2]] output_shape [2, 8, 4]
// CHECK:       %[[P:.*]] = linalg.transpose ins(%[[WE]] : tensor<2x8x4xf32>) outs(%{{.*}} : tensor<2x4x8xf32>) permutation = [0, 2, 1]
// CHECK-NOT:   linalg.transpose
// CHECK:       %[[OS:.*]] = tensor.extract_slice %arg2[0, 0, 0] [%{{.*}}, %{{.*}}, 16] [1, 1, 1] : tensor<?x?x20xf32> to tensor<?x?x16xf32>
// CHECK:       %[[OE:.*]] = tensor.expand_shape %[[OS]] {{\[}}[0], [1], [2, 3]] output_shape [%{{.*}}, %{{.*}}, 2, 8] : tensor<?x?x16xf32> into tensor<?x?x2x8xf32>
// CHECK:       %[[G:.*]] = linalg.generic {indexing_maps = [#[[SX]], #[[SW]], #[[SO]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %[[P]] : tensor<?x?x4xf32>, tensor<2x4x8xf32>) outs(%[[OE]] : tensor<?x?x2x8xf32>)
// CHECK:       tensor.collapse_shape %[[G]] {{\[}}[0], [1], [2, 3]]
// CHECK:       tensor.extract_slice %arg1[16, 0] [4, 4] [1, 1] : tensor<20x4xf32> to tensor<4x4xf32>
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%arg0, %[[P]] : tensor<?x?x4xf32>, tensor<2x4x8xf32>)
#xk3 = affine_map<(b, t, n, k) -> (b, t, k)>
#wk3 = affine_map<(b, t, n, k) -> (n, k)>
#out3 = affine_map<(b, t, n, k) -> (b, t, n)>
func.func @sequence(%x: tensor<?x?x4xf32>, %w: tensor<20x4xf32>, %z: tensor<?x?x20xf32>) -> (tensor<?x?x20xf32>, tensor<?x?x20xf32>) {
  %g = linalg.generic {indexing_maps = [#xk3, #wk3, #out3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x4xf32>, tensor<20x4xf32>) outs(%z : tensor<?x?x20xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x20xf32>
  %g2 = linalg.generic {indexing_maps = [#xk3, #wk3, #out3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x4xf32>, tensor<20x4xf32>) outs(%g : tensor<?x?x20xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x20xf32>
  return %g, %g2 : tensor<?x?x20xf32>, tensor<?x?x20xf32>
}

// Left alone: a weight made inside the loop, and output columns fewer than
// one panel (in the loop and outside).
// CHECK-LABEL: func.func @untouched
// CHECK-NOT:   linalg.transpose
// CHECK-NOT:   scf.if
// CHECK:       return
func.func @untouched(%h0: tensor<?x4xf32>, %w: tensor<16x4xf32>, %w6: tensor<6x4xf32>, %steps: index)
    -> (tensor<?x6xf32>, tensor<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %b0 = tensor.dim %h0, %c0 : tensor<?x4xf32>
  %e0 = tensor.empty(%b0) : tensor<?x6xf32>
  %outside = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h0, %w6 : tensor<?x4xf32>, tensor<6x4xf32>) outs(%e0 : tensor<?x6xf32>) {
  ^bb0(%a: f32, %x: f32, %o: f32):
    %p = arith.mulf %a, %x : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x6xf32>
  %r = scf.for %i = %c0 to %steps step %c1 iter_args(%h = %h0) -> tensor<?x4xf32> {
    %b = tensor.dim %h, %c0 : tensor<?x4xf32>
    %e = tensor.empty(%b) : tensor<?x16xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
    %wl = linalg.fill ins(%cst : f32) outs(%w : tensor<16x4xf32>) -> tensor<16x4xf32>
    %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %wl : tensor<?x4xf32>, tensor<16x4xf32>) outs(%z : tensor<?x16xf32>) {
    ^bb0(%a: f32, %x: f32, %o: f32):
      %p = arith.mulf %a, %x : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x16xf32>
    %e6 = tensor.empty(%b) : tensor<?x6xf32>
    %g6 = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w6 : tensor<?x4xf32>, tensor<6x4xf32>) outs(%e6 : tensor<?x6xf32>) {
    ^bb0(%a: f32, %x: f32, %o: f32):
      %p = arith.mulf %a, %x : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x6xf32>
    %n = tensor.extract_slice %g[0, 0] [%b, 4] [1, 1] : tensor<?x16xf32> to tensor<?x4xf32>
    %n6 = tensor.extract_slice %g6[0, 0] [%b, 4] [1, 1] : tensor<?x6xf32> to tensor<?x4xf32>
    %s = arith.addf %cst, %cst : f32
    scf.yield %n : tensor<?x4xf32>
  }
  return %outside, %r : tensor<?x6xf32>, tensor<?x4xf32>
}

// With `prepared`, an inference function's per-step panels are all made,
// whatever the batch (for rnn-split-prepare to move to load time); the step
// still picks the form by the batch. Other functions keep the dynamic count.
// PREP-LABEL: func.func @recurrent(
// PREP:       arith.select
// PREP-LABEL: func.func @recurrent_entry(
// PREP-NOT:   arith.select
// PREP:       %[[E:.*]] = tensor.expand_shape %arg1 {{\[}}[0, 1], [2]] output_shape [2, 8, 4] : tensor<16x4xf32> into tensor<2x8x4xf32>
// PREP:       %[[I:.*]] = tensor.empty() : tensor<2x4x8xf32>
// PREP:       %[[P:.*]] = linalg.transpose ins(%[[E]] : tensor<2x8x4xf32>) outs(%[[I]] : tensor<2x4x8xf32>) permutation = [0, 2, 1]
// PREP:       %[[BIG:.*]] = arith.cmpi uge, %{{.*}}, %c4
// PREP:       scf.for
// PREP:         scf.if %[[BIG]] -> (tensor<?x16xf32>) {
// PREP:           linalg.generic {{.*}} ins(%{{.*}}, %[[P]] : tensor<?x4xf32>, tensor<2x4x8xf32>)
// PREP:         } else {
// PREP:           linalg.generic {{.*}} ins(%{{.*}}, %arg1 : tensor<?x4xf32>, tensor<16x4xf32>)
func.func @recurrent_entry(%h0: tensor<?x4xf32>, %w: tensor<16x4xf32>, %steps: index) -> tensor<?x4xf32>
    attributes {rnn.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %steps step %c1 iter_args(%h = %h0) -> tensor<?x4xf32> {
    %b = tensor.dim %h, %c0 : tensor<?x4xf32>
    %e = tensor.empty(%b) : tensor<?x16xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
    %g = linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<?x4xf32>, tensor<16x4xf32>) outs(%z : tensor<?x16xf32>) {
    ^bb0(%a: f32, %x: f32, %o: f32):
      %p = arith.mulf %a, %x : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x16xf32>
    %n = tensor.extract_slice %g[0, 0] [%b, 4] [1, 1] : tensor<?x16xf32> to tensor<?x4xf32>
    scf.yield %n : tensor<?x4xf32>
  }
  return %r : tensor<?x4xf32>
}
