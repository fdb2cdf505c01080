// RUN: rnn-opt %s -rnn-gate-epilogue="block=32 min-work=8192" -split-input-file | FileCheck %s
// RUN: rnn-opt %s -rnn-gate-epilogue="block=32 min-work=8192" -split-input-file -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -cse -canonicalize | FileCheck %s --check-prefix=BUF

#bias = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#pa = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#pw = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
#po = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#ra = affine_map<(d0, d1, d2) -> (d0, d2)>
#rw = affine_map<(d0, d1, d2) -> (d1, d2)>
#ro = affine_map<(d0, d1, d2) -> (d0, d1)>

// A two-gate cell's step (the shape of convert-rnn-to-linalg and
// rnn-pack-weights' output): the recurrent pre-activations [B, 128] start
// from the bias and are computed in panels of 32 (batch >= 4) or from the
// rows of W (batch < 4); the gate map reads both 64-column gates, the input
// projection's gates and the cell state (updated in place), and writes the
// hidden state into the state the contraction reads (rnn-carry-in-place),
// copied into its row of the output sequence.
// The pass makes an scf.forall over 2 blocks of 32 units: each iteration
// computes both gates' [B, 32] blocks (bias block, then the contraction on
// one panel or 32 rows) and the gate map on them. The hidden state goes to
// the sequence row (the copy into the row is gone) and is copied into the
// state after the blocks; the cell state stays in place.
// CHECK-LABEL: func.func @two_gates
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x128xf32>, %[[W:.*]]: tensor<128x64xf32>, %[[WP:.*]]: tensor<4x64x32xf32>, %[[BH:.*]]: tensor<128xf32>
// CHECK:         scf.for %[[T:.*]] = {{.*}} iter_args(%[[H:.*]] = %{{.*}}, %[[C:.*]] = %{{.*}}, %[[SEQ:.*]] = %{{.*}})
// CHECK:           %[[PRE:.*]] = tensor.empty(%{{.*}}) : tensor<?x128xf32>
// CHECK-DAG:       %[[G0:.*]] = tensor.extract_slice %[[PRE]][0, 0] [%{{.*}}, 64]
// CHECK-DAG:       %[[G1:.*]] = tensor.extract_slice %[[PRE]][0, 64] [%{{.*}}, 64]
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[SEQ]][0, %[[T]], 0]
// CHECK:           %[[F:.*]]:4 = scf.forall (%[[J:.*]]) in (2) shared_outs(%[[S0:.*]] = %[[G0]], %[[S1:.*]] = %[[G1]], %[[SH:.*]] = %[[ROW]], %[[SC:.*]] = %[[C]])
// CHECK:             %[[J0:.*]] = arith.muli %[[J]], %c32
// CHECK:             %[[B0:.*]] = tensor.extract_slice %[[S0]][0, %[[J0]]] [%{{.*}}, 32]
// CHECK:             %[[B1:.*]] = tensor.extract_slice %[[S1]][0, %[[J0]]] [%{{.*}}, 32]
// CHECK:             %[[TILES:.*]]:2 = scf.if
// CHECK:               %[[BIAS0:.*]] = tensor.extract_slice %[[BH]][%[[J0]]] [32]
// CHECK:               linalg.generic {{.*}} ins(%[[BIAS0]] : tensor<32xf32>) outs(%[[B0]] : tensor<?x32xf32>)
// CHECK:               tensor.expand_shape {{.*}} into tensor<?x1x32xf32>
// CHECK:               tensor.extract_slice %[[WP]][{{.*}}, 0, 0] [1, 64, 32]
// CHECK:               linalg.generic {{.*}} ins(%[[H]], %{{.*}} : tensor<?x64xf32>, tensor<1x64x32xf32>) outs(%{{.*}} : tensor<?x1x32xf32>)
// CHECK:               linalg.generic {{.*}} outs(%[[B1]] : tensor<?x32xf32>)
// CHECK:             } else {
// CHECK:               tensor.extract_slice %[[W]][%[[J0]], 0] [32, 64]
// CHECK:               linalg.generic {{.*}} ins(%[[H]], %{{.*}} : tensor<?x64xf32>, tensor<32x64xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK:             %[[HB:.*]] = tensor.extract_slice %[[SH]][0, %[[J0]]] [%{{.*}}, 32]
// CHECK:             %[[CB:.*]] = tensor.extract_slice %[[SC]][0, %[[J0]]] [%{{.*}}, 32]
// CHECK:             %[[GM:.*]]:2 = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[TILES]]#0, %[[TILES]]#1, %[[CB]] : {{.*}}) outs(%[[HB]], %[[CB]] : tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK:             scf.forall.in_parallel
// CHECK-NEXT:          tensor.parallel_insert_slice %[[TILES]]#0 into %[[S0]][0, %[[J0]]]
// CHECK-NEXT:          tensor.parallel_insert_slice %[[TILES]]#1 into %[[S1]][0, %[[J0]]]
// CHECK-NEXT:          tensor.parallel_insert_slice %[[GM]]#0 into %[[SH]][0, %[[J0]]]
// CHECK-NEXT:          tensor.parallel_insert_slice %[[GM]]#1 into %[[SC]][0, %[[J0]]]
// CHECK:           } {rnn.gate_blocks = 32 : i64}
// CHECK-NOT:       linalg.copy ins(%[[F]]#2 {{.*}}) outs(%[[ROW]]
// CHECK:           %[[HN:.*]] = linalg.copy ins(%[[F]]#2 : tensor<?x64xf32>) outs(%[[H]] : tensor<?x64xf32>)
// CHECK:           %[[SEQN:.*]] = tensor.insert_slice %[[F]]#2 into %[[SEQ]][0, %[[T]], 0]
// CHECK:           scf.yield %[[HN]], %[[F]]#3, %[[SEQN]]
// Bufferized: the blocks write their gates, hidden state and cell state in
// place, with nothing allocated or copied inside the forall.
// BUF-LABEL:   func.func @two_gates
// BUF:           scf.forall
// BUF-NOT:         memref.alloc
// BUF-NOT:         memref.copy
// BUF:           } {rnn.gate_blocks = 32 : i64}
func.func @two_gates(%x: tensor<?x?x128xf32>, %w: tensor<128x64xf32>, %wp: tensor<4x64x32xf32>,
                     %bh: tensor<128xf32>, %h0: tensor<?x64xf32>, %c0: tensor<?x64xf32>,
                     %seq0: tensor<?x?x64xf32>) -> (tensor<?x64xf32>, tensor<?x?x64xf32>) {
  %i0 = arith.constant 0 : index
  %i1 = arith.constant 1 : index
  %i4 = arith.constant 4 : index
  %b = tensor.dim %x, %i0 : tensor<?x?x128xf32>
  %t = tensor.dim %x, %i1 : tensor<?x?x128xf32>
  %batched = arith.cmpi uge, %b, %i4 : index
  %r:3 = scf.for %s = %i0 to %t step %i1 iter_args(%h = %h0, %c = %c0, %seq = %seq0)
      -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x?x64xf32>) {
    %xs = tensor.extract_slice %x[0, %s, 0] [%b, 1, 128] [1, 1, 1] : tensor<?x?x128xf32> to tensor<?x128xf32>
    %e = tensor.empty(%b) : tensor<?x128xf32>
    %bias = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
        ins(%bh : tensor<128xf32>) outs(%e : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x128xf32>
    %rec = scf.if %batched -> (tensor<?x128xf32>) {
      %ex = tensor.expand_shape %bias [[0], [1, 2]] output_shape [%b, 4, 32] : tensor<?x128xf32> into tensor<?x4x32xf32>
      %m = linalg.generic {indexing_maps = [#pa, #pw, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
          ins(%h, %wp : tensor<?x64xf32>, tensor<4x64x32xf32>) outs(%ex : tensor<?x4x32xf32>) {
      ^bb0(%a: f32, %bb: f32, %o: f32):
        %p = arith.mulf %a, %bb : f32
        %q = arith.addf %o, %p : f32
        linalg.yield %q : f32
      } -> tensor<?x4x32xf32>
      %co = tensor.collapse_shape %m [[0], [1, 2]] : tensor<?x4x32xf32> into tensor<?x128xf32>
      scf.yield %co : tensor<?x128xf32>
    } else {
      %m = linalg.generic {indexing_maps = [#ra, #rw, #ro], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%h, %w : tensor<?x64xf32>, tensor<128x64xf32>) outs(%bias : tensor<?x128xf32>) {
      ^bb0(%a: f32, %bb: f32, %o: f32):
        %p = arith.mulf %a, %bb : f32
        %q = arith.addf %o, %p : f32
        linalg.yield %q : f32
      } -> tensor<?x128xf32>
      scf.yield %m : tensor<?x128xf32>
    }
    %x0 = tensor.extract_slice %xs[0, 0] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
    %x1 = tensor.extract_slice %xs[0, 64] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
    %r0 = tensor.extract_slice %rec[0, 0] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
    %r1 = tensor.extract_slice %rec[0, 64] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
    %g:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%x0, %x1, %r0, %r1, %c : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>)
        outs(%h, %c : tensor<?x64xf32>, tensor<?x64xf32>) {
    ^bb0(%a0: f32, %a1: f32, %g0: f32, %g1: f32, %cp: f32, %oh: f32, %oc: f32):
      %i = arith.addf %a0, %g0 : f32
      %f = arith.addf %a1, %g1 : f32
      %fc = arith.mulf %f, %cp : f32
      %cn = arith.addf %fc, %i : f32
      %hn = arith.mulf %cn, %i : f32
      linalg.yield %hn, %cn : f32, f32
    } -> (tensor<?x64xf32>, tensor<?x64xf32>)
    %row = tensor.extract_slice %seq[0, %s, 0] [%b, 1, 64] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x64xf32>
    %cp = linalg.copy ins(%g#0 : tensor<?x64xf32>) outs(%row : tensor<?x64xf32>) -> tensor<?x64xf32>
    %seqn = tensor.insert_slice %cp into %seq[0, %s, 0] [%b, 1, 64] [1, 1, 1] : tensor<?x64xf32> into tensor<?x?x64xf32>
    scf.yield %g#0, %g#1, %seqn : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x?x64xf32>
  }
  return %r#0, %r#2 : tensor<?x64xf32>, tensor<?x?x64xf32>
}

// -----

#bias = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#ra = affine_map<(d0, d1, d2) -> (d0, d2)>
#rw = affine_map<(d0, d1, d2) -> (d1, d2)>
#ro = affine_map<(d0, d1, d2) -> (d0, d1)>

// Left alone: a contraction too small for the blocks (128 x 16 = 2048
// multiply-adds per example < min-work), and a map reading only one of the
// two gates (the blocks would not compute all of the pre-activations).
// CHECK-LABEL: func.func @small
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @small(%h: tensor<?x16xf32>, %w: tensor<128x16xf32>, %bh: tensor<128xf32>) -> tensor<?x64xf32> {
  %i0 = arith.constant 0 : index
  %b = tensor.dim %h, %i0 : tensor<?x16xf32>
  %e = tensor.empty(%b) : tensor<?x128xf32>
  %bias = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bh : tensor<128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x128xf32>
  %m = linalg.generic {indexing_maps = [#ra, #rw, #ro], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %w : tensor<?x16xf32>, tensor<128x16xf32>) outs(%bias : tensor<?x128xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %p = arith.mulf %a, %bb : f32
    %q = arith.addf %o, %p : f32
    linalg.yield %q : f32
  } -> tensor<?x128xf32>
  %r0 = tensor.extract_slice %m[0, 0] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %r1 = tensor.extract_slice %m[0, 64] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %o = tensor.empty(%b) : tensor<?x64xf32>
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r0, %r1 : tensor<?x64xf32>, tensor<?x64xf32>) outs(%o : tensor<?x64xf32>) {
  ^bb0(%g0: f32, %g1: f32, %out: f32):
    %s = arith.mulf %g0, %g1 : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @one_gate_of_two
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @one_gate_of_two(%h: tensor<?x256xf32>, %w: tensor<128x256xf32>, %bh: tensor<128xf32>) -> tensor<?x64xf32> {
  %i0 = arith.constant 0 : index
  %b = tensor.dim %h, %i0 : tensor<?x256xf32>
  %e = tensor.empty(%b) : tensor<?x128xf32>
  %bias = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bh : tensor<128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x128xf32>
  %m = linalg.generic {indexing_maps = [#ra, #rw, #ro], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %w : tensor<?x256xf32>, tensor<128x256xf32>) outs(%bias : tensor<?x128xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %p = arith.mulf %a, %bb : f32
    %q = arith.addf %o, %p : f32
    linalg.yield %q : f32
  } -> tensor<?x128xf32>
  %r1 = tensor.extract_slice %m[0, 64] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %o = tensor.empty(%b) : tensor<?x64xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r1 : tensor<?x64xf32>) outs(%o : tensor<?x64xf32>) {
  ^bb0(%g1: f32, %out: f32):
    %s = arith.mulf %g1, %g1 : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}

// Left alone: besides both gates, the map reads the pre-activations through
// a slice that is not a gate's columns (every other column): the whole
// contraction would have to run next to the blocks.
// CHECK-LABEL: func.func @other_slice
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @other_slice(%h: tensor<?x256xf32>, %w: tensor<128x256xf32>, %bh: tensor<128xf32>) -> tensor<?x64xf32> {
  %i0 = arith.constant 0 : index
  %b = tensor.dim %h, %i0 : tensor<?x256xf32>
  %e = tensor.empty(%b) : tensor<?x128xf32>
  %bias = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bh : tensor<128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x128xf32>
  %m = linalg.generic {indexing_maps = [#ra, #rw, #ro], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %w : tensor<?x256xf32>, tensor<128x256xf32>) outs(%bias : tensor<?x128xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %p = arith.mulf %a, %bb : f32
    %q = arith.addf %o, %p : f32
    linalg.yield %q : f32
  } -> tensor<?x128xf32>
  %r0 = tensor.extract_slice %m[0, 0] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %r1 = tensor.extract_slice %m[0, 64] [%b, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %r2 = tensor.extract_slice %m[0, 0] [%b, 64] [1, 2] : tensor<?x128xf32> to tensor<?x64xf32>
  %o = tensor.empty(%b) : tensor<?x64xf32>
  %g = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r0, %r1, %r2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) outs(%o : tensor<?x64xf32>) {
  ^bb0(%g0: f32, %g1: f32, %g2: f32, %out: f32):
    %s = arith.mulf %g0, %g1 : f32
    %t = arith.addf %s, %g2 : f32
    linalg.yield %t : f32
  } -> tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}
