// RUN: rnn-opt %s --rnn-vectorize-kernels | FileCheck %s
// RUN: rnn-opt %s --rnn-vectorize-kernels="vector-width=16" | FileCheck %s --check-prefix=W16

#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#kn = affine_map<(m, n, k) -> (k, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#red = affine_map<(d0, d1) -> (d0)>

// Dot form (x @ W^T, PyTorch's [out, in] weights). With 3 rows or more: tiles
// of 4 weight rows (columns of the output) outermost, 3 x 4 register tiles of
// 8-lane accumulators over the reduction axis, rows innermost so the 4 weight
// rows stay in L1; the reduction 4 vectors per iteration, then one vector per
// iteration for what is left; the reduction's last partial chunk as one masked step (when
// there is one); horizontal sums; the accumulation into the output. Two rows
// (batch 2) take the same branch: 2 x 4 tiles, each weight row read once for
// both. With one row (a GEMV at batch 1): 1 x 8 tiles, then 4, then 1 column.
// CHECK-LABEL: func.func @dot
// CHECK:       %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c2
// CHECK:       scf.if %[[MANY]] {
// CHECK:         scf.for %[[N:.*]] = %{{.*}} step %c4
// CHECK:           scf.for %[[M:.*]] = %{{.*}} step %c3
// CHECK:             scf.for %[[K:.*]] = %c0 to %c256 step %c32 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-2:       vector.load
// CHECK:               vector.fma
// CHECK:               arith.addi %[[K]], %c8
// CHECK:               arith.addi %[[K]], %c16
// CHECK:               arith.addi %[[K]], %c24
// CHECK:             scf.for %{{.*}} = %c256 to %c256 step %c8 iter_args
// CHECK:             scf.if %{{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:               %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:               vector.maskedload %arg0[{{.*}}], %[[MASK]]
// CHECK-COUNT-12:    vector.reduction <add>
// CHECK:             memref.load %arg2[%[[M]], %[[N]]]
// CHECK:             arith.addf
// CHECK:             memref.store
// CHECK:           scf.for {{.*}} step %c2
// CHECK:             scf.for {{.*}} step %c32 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:               %[[X0:.*]] = vector.load %arg0
// CHECK:               %[[W0:.*]] = vector.load %arg1
// CHECK:               vector.fma %[[X0]], %[[W0]]
// CHECK:               %[[X1:.*]] = vector.load %arg0
// CHECK:               vector.fma %[[X1]], %[[W0]]
// CHECK:       } else {
// CHECK:         scf.for {{.*}} step %c1
// CHECK:           scf.for {{.*}} step %c8
// CHECK:             scf.for {{.*}} step %c8 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:           scf.for {{.*}} step %c4
// CHECK:           scf.for {{.*}} step %c1
// CHECK-NOT:   linalg.generic
// CHECK:       return
func.func @dot(%x: memref<?x256xf32>, %w: memref<1024x256xf32>, %y: memref<?x1024xf32>) {
  linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x256xf32>, memref<1024x256xf32>) outs(%y : memref<?x1024xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A weight stored narrow (rnn-narrow-weights: the body widens it): its
// vectors are loaded as f16 and widened (F16C's vcvtph2ps), the arithmetic
// stays f32.
// CHECK-LABEL: func.func @dot_f16
// CHECK:       vector.load %arg1[{{.*}}] : memref<1024x250xf16>, vector<8xf16>
// CHECK-NEXT:  arith.extf {{.*}} : vector<8xf16> to vector<8xf32>
// CHECK:       vector.fma {{.*}} : vector<8xf32>
// CHECK:       vector.maskedload %arg1{{.*}} : memref<1024x250xf16>, vector<8xi1>, vector<8xf16> into vector<8xf16>
// CHECK-NOT:   linalg.generic
func.func @dot_f16(%x: memref<?x250xf32>, %w: memref<1024x250xf16>, %y: memref<?x1024xf32>) {
  linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x250xf32>, memref<1024x250xf16>) outs(%y : memref<?x1024xf32>) {
  ^bb0(%a: f32, %b: f16, %o: f32):
    %bw = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %bw : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// The merged weight gradient of rnn-hoist-weight-gradients (dW = sum over
// b, t of dG[b, t, :]^T h[b, t, :]): broadcast form whose broadcast input
// has the output's rows as its contiguous last axis and the reduction steps
// 4H floats apart. Each block of 128 rows x one reduction block (4 batch
// rows of T steps at 8 lanes) is first copied into a contiguous buffer
// [4, T, 128] (one vector of rows at a time, the last one masked), and the
// row tiles broadcast from it instead of from dG; the buffer is freed at the
// end.
// CHECK-LABEL: func.func @weight_grad
// CHECK:       %[[T:.*]] = memref.dim %arg0, %c1
// CHECK:       %[[P:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<4x?x128xf32>
// CHECK:       scf.for %[[M0:.*]] = %c0 to %c640 step %c128
// CHECK:         scf.for %[[B0:.*]] = %c0 to %{{.*}} step %c4
// CHECK:           scf.for %[[B:.*]] = %[[B0]] to %{{.*}} step %c1
// CHECK:             scf.for %[[TT:.*]] = %c0 to %{{.*}} step %c1
// CHECK:               scf.for %[[R:.*]] = %[[M0]] to %{{.*}} step %c8
// CHECK:                 %[[V:.*]] = vector.load %arg0[%[[B]], %[[TT]], %[[R]]]
// CHECK:                 vector.store %[[V]], %[[P]][
// CHECK:               scf.if
// CHECK:                 vector.maskedload %arg0
// CHECK:                 vector.maskedstore %[[P]]
// CHECK:           scf.for %{{.*}} step %c24
// CHECK:             scf.for %{{.*}} = %[[M0]] to %{{.*}} step %c4
// CHECK:                   vector.load %arg1
// CHECK:                   %[[S:.*]] = memref.load %[[P]][
// CHECK:                   vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK:                   vector.fma
// CHECK-NOT:   memref.load %arg0
// CHECK:       memref.dealloc %[[P]]
// CHECK-NEXT:  return
// W16-LABEL: func.func @weight_grad
// W16:       memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x128xf32>
func.func @weight_grad(%dg: memref<?x?x640xf32>, %h: memref<?x?x96xf32>, %dw: memref<640x96xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j, b, t) -> (b, t, i)>,
                                   affine_map<(i, j, b, t) -> (b, t, j)>,
                                   affine_map<(i, j, b, t) -> (i, j)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%dg, %h : memref<?x?x640xf32>, memref<?x?x96xf32>) outs(%dw : memref<640x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Inside a loop (a per-step adjoint of an attention decoder) the same
// contraction broadcasts from dG in place: a packed block would be
// allocated at every step.
// CHECK-LABEL: func.func @weight_grad_in_loop
// CHECK-NOT:   memref.alloc
// CHECK:       scf.for
// CHECK:         memref.load %arg0
// CHECK-NOT:   memref.alloc
// CHECK:       return
func.func @weight_grad_in_loop(%dg: memref<?x?x640xf32>, %h: memref<?x?x96xf32>, %dw: memref<640x96xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [affine_map<(i, j, b, t) -> (b, t, i)>,
                                     affine_map<(i, j, b, t) -> (b, t, j)>,
                                     affine_map<(i, j, b, t) -> (i, j)>],
                    iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
        ins(%dg, %h : memref<?x?x640xf32>, memref<?x?x96xf32>) outs(%dw : memref<640x96xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}

// Broadcast form (dG @ W of the backward pass: the output's last axis is
// contiguous in W), blocked in GotoBLAS order: blocks of 128 rows outermost,
// the 1024-long reduction cut into blocks of 256, then column chunks of 3
// vectors, then 4 rows x 3 vectors of accumulators loaded from the output,
// each reduction step one broadcast scalar per row times one vector per
// chunk, stored at the end of the block; the 16 columns after the 10 chunks
// of 24 as one tile of 2 vectors (static sizes: no mask, no scf.if).
// CHECK-LABEL: func.func @bcast
// CHECK:       scf.for %[[M0:.*]] = %c0 to %{{.*}} step %c128
// CHECK:         %[[M1:.*]] = arith.minui
// CHECK:         scf.for %[[K0:.*]] = %c0 to %c1024 step %c256
// CHECK:           %[[K1:.*]] = arith.minui
// CHECK:           scf.for %{{.*}} step %c24
// CHECK:             scf.for %{{.*}} = %[[M0]] to %{{.*}} step %c4
// CHECK-COUNT-12:      vector.load %arg2
// CHECK:               scf.for %[[K:.*]] = %[[K0]] to %[[K1]] step %c1 iter_args
// CHECK:                 vector.load %arg1[%[[K]]
// CHECK:                 %[[S:.*]] = memref.load %arg0
// CHECK:                 vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK:                 vector.fma
// CHECK-COUNT-12:      vector.store
// CHECK-NOT:         step %c3
// CHECK:             scf.for %{{.*}} step %c1
// CHECK-NOT:       scf.if
// CHECK:           scf.for %{{.*}} step %c4
// CHECK-NEXT:        arith.addi
// CHECK-COUNT-8:     vector.load %arg2[%{{.*}}, %c{{240|248}}]
// CHECK:             scf.for
// CHECK-COUNT-2:       vector.load %arg1[%{{.*}}, %c{{240|248}}]
// CHECK-NOT:   linalg.generic
// CHECK:       return
// With 16 lanes (AVX-512, 32 vector registers): 8 rows x 3 vectors of
// accumulators, reduction blocks of 128 steps (the chunk's 128 x 48 block
// of W stays in L1).
// W16-LABEL: func.func @bcast
// W16:       scf.for %{{.*}} step %c128
// W16:         scf.for %{{.*}} = %c0 to %c1024 step %c128
// W16:           scf.for %{{.*}} step %c48
// W16:             scf.for %{{.*}} step %c8
// W16-COUNT-24:      vector.load %arg2{{.*}} vector<16xf32>
// W16:               scf.for
// W16-COUNT-3:         vector.load %arg1{{.*}} vector<16xf32>
func.func @bcast(%g: memref<?x1024xf32>, %w: memref<1024x256xf32>, %d: memref<?x256xf32>) {
  linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g, %w : memref<?x1024xf32>, memref<1024x256xf32>) outs(%d : memref<?x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// The same contraction as a step of a loop (the per-step dG @ W_hh of the
// backward pass, its rows the batch): row tiles of 8 and 4, then remainders
// of 3 and 2 rows before single rows, so that batch 2 and 3 pass over W once.
// CHECK-LABEL: func.func @bcast_in_loop
// CHECK:       scf.for
// CHECK:             scf.for %{{.*}} step %c4
// CHECK:             scf.for %{{.*}} step %c3
// CHECK:               scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-3:         memref.load %arg0
// CHECK:             scf.for %{{.*}} step %c2
// CHECK:               scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:             scf.for %{{.*}} step %c1
// W16-LABEL: func.func @bcast_in_loop
// W16:             scf.for %{{.*}} step %c8
// W16:             scf.for %{{.*}} step %c4
// W16:             scf.for %{{.*}} step %c3
// W16:             scf.for %{{.*}} step %c2
// W16:             scf.for %{{.*}} step %c1
func.func @bcast_in_loop(%g: memref<?x1024xf32>, %w: memref<1024x256xf32>, %d: memref<?x256xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%g, %w : memref<?x1024xf32>, memref<1024x256xf32>) outs(%d : memref<?x256xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}

// Dynamic columns: after the chunks of 3 vectors, single vectors, then the
// last partial one masked.
// CHECK-LABEL: func.func @bcast_dynamic_cols
// CHECK:       scf.for %{{.*}} step %c24
// CHECK:       scf.for %{{.*}} step %c8
// CHECK:         scf.for %{{.*}} step %c4
// CHECK-COUNT-4:   vector.load %arg2
// CHECK:       scf.if
// CHECK:         %[[M:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:         scf.for %{{.*}} step %c4
// CHECK:           vector.maskedload %arg2{{.*}}, %[[M]]
// CHECK-NOT:   scf.if
// CHECK:       return
func.func @bcast_dynamic_cols(%g: memref<?x64xf32>, %w: memref<64x?xf32>, %d: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g, %w : memref<?x64xf32>, memref<64x?xf32>) outs(%d : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}


// Elementwise on a strided column block (a gate of [B, 2H]) with a broadcast
// bias row: 8 lanes at a time up to 32, then columns 32..36 as one masked
// vector; tanh becomes a polynomial (no math.tanh left).
// CHECK-LABEL: func.func @gates
// CHECK:       scf.for %[[B:.*]] = %c0 to %{{.*}} step %c1
// CHECK:         scf.for %[[J:.*]] = %c0 to %c32 step %c8
// CHECK:           vector.load %arg0[%[[B]], %[[J]]] : memref<?x37xf32, strided<[74, 1], offset: ?>>, vector<8xf32>
// CHECK:           vector.load %arg1[%[[J]]] : memref<37xf32>, vector<8xf32>
// CHECK:           arith.addf {{.*}} : vector<8xf32>
// CHECK:           vector.store {{.*}}, %arg2[%[[B]], %[[J]]]
// CHECK:         scf.if
// CHECK:           %[[MASK:.*]] = vector.create_mask %c5 : vector<8xi1>
// CHECK:           vector.maskedload %arg0[%[[B]], %c32], %[[MASK]]
// CHECK:           vector.maskedstore %arg2[%[[B]], %c32], %[[MASK]]
// CHECK-NOT:   math.tanh
// CHECK:       return
func.func @gates(%a: memref<?x37xf32, strided<[74, 1], offset: ?>>, %bias: memref<37xf32>, %out: memref<?x37xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %bias : memref<?x37xf32, strided<[74, 1], offset: ?>>, memref<37xf32>) outs(%out : memref<?x37xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// Named ops are generalized first: a fill is a broadcast store.
// CHECK-LABEL: func.func @fill
// CHECK:       scf.for {{.*}} step %c8
// CHECK:         vector.store %{{.*}}, %arg0{{.*}} : memref<?x16xf32>, vector<8xf32>
// CHECK-NOT:   linalg.fill
func.func @fill(%out: memref<?x16xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%out : memref<?x16xf32>)
  return
}

// Bufferization's memref.copy (a step's gate adjoint into its slot of a
// strided sequence) becomes a linalg.copy and then a vector copy.
// CHECK-LABEL: func.func @memref_copy
// CHECK:       scf.for {{.*}} step %c8
// CHECK:         %[[V:.*]] = vector.load %arg0{{.*}} : memref<?x16xf32>, vector<8xf32>
// CHECK:         vector.store %[[V]], %arg1{{.*}} : memref<?x16xf32, strided<[64, 1], offset: ?>>, vector<8xf32>
// CHECK-NOT:   memref.copy
// CHECK-NOT:   linalg.copy
func.func @memref_copy(%src: memref<?x16xf32>, %dst: memref<?x16xf32, strided<[64, 1], offset: ?>>) {
  memref.copy %src, %dst : memref<?x16xf32> to memref<?x16xf32, strided<[64, 1], offset: ?>>
  return
}

// A transpose (rnn-pack-weights' panels Wp[p, k, q] = W[p*32 + q, k]): tiles
// of 8 x 8, eight vector loads along k (the input's contiguous axis), three
// rounds of eight shuffles, eight vector stores along q; the k and q edges
// past whole tiles (here 36 = 4*8 + 4 columns of k) are scalar copies.
// CHECK-LABEL: func.func @transpose
// CHECK:       scf.for %[[P:.*]] = %c0 to %{{.*}} step %c1
// CHECK:         scf.for %[[K:.*]] = %c0 to %{{.*}} step %c8
// CHECK:           scf.for %[[Q:.*]] = %c0 to %c32 step %c8
// CHECK-COUNT-8:     vector.load %arg0[%[[P]], %{{.*}}, %[[K]]] : memref<?x32x36xf32>, vector<8xf32>
// CHECK:             vector.shuffle {{.*}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK:             vector.shuffle {{.*}} [4, 5, 6, 7, 12, 13, 14, 15]
// CHECK-COUNT-22:    vector.shuffle
// CHECK-COUNT-8:     vector.store %{{.*}}, %arg1[%[[P]], %{{.*}}, %[[Q]]] : memref<?x36x32xf32>, vector<8xf32>
// CHECK:         memref.load %arg0
// CHECK:         memref.store %{{.*}}, %arg1
// CHECK-NOT:   linalg
// CHECK:       return
func.func @transpose(%w: memref<?x32x36xf32>, %p: memref<?x36x32xf32>) {
  linalg.transpose ins(%w : memref<?x32x36xf32>) outs(%p : memref<?x36x32xf32>) permutation = [0, 2, 1]
  return
}

// A full reduction into a 0-d f64 (the MSE loss's sum of squared errors):
// one vector accumulator of f64 along the last loop, the row's tail as one
// masked vector whose disabled lanes add zero, the lanes summed at the end
// and added to the output.
// CHECK-LABEL: func.func @loss_sum
// CHECK:       %[[R:.*]] = scf.for %{{.*}} iter_args(%[[A:.*]] = %{{.*}}) -> (vector<8xf64>)
// CHECK:         %[[IN:.*]] = scf.for %{{.*}} step %c8 iter_args(%[[B:.*]] = %[[A]]) -> (vector<8xf64>)
// CHECK:           vector.load %arg0{{.*}} : memref<?x37xf32>, vector<8xf32>
// CHECK:           arith.subf {{.*}} : vector<8xf32>
// CHECK:           arith.extf {{.*}} : vector<8xf32> to vector<8xf64>
// CHECK:           arith.addf %[[B]], {{.*}} : vector<8xf64>
// CHECK:         vector.maskedload %arg0
// CHECK:         arith.select {{.*}} : vector<8xi1>, vector<8xf64>
// CHECK:       %[[S:.*]] = vector.reduction <add>, %[[R]] : vector<8xf64> into f64
// CHECK:       %[[O:.*]] = memref.load %arg2[] : memref<f64>
// CHECK:       %[[N:.*]] = arith.addf %[[O]], %[[S]] : f64
// CHECK:       memref.store %[[N]], %arg2[] : memref<f64>
// CHECK-NOT:   linalg.generic
func.func @loss_sum(%y: memref<?x37xf32>, %t: memref<?x37xf32>, %out: memref<f64>) {
  linalg.generic {indexing_maps = [affine_map<(b, n) -> (b, n)>, affine_map<(b, n) -> (b, n)>, affine_map<(b, n) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%y, %t : memref<?x37xf32>, memref<?x37xf32>) outs(%out : memref<f64>) {
  ^bb0(%a: f32, %b: f32, %o: f64):
    %d = arith.subf %a, %b : f32
    %sq = arith.mulf %d, %d : f32
    %e = arith.extf %sq : f32 to f64
    %s = arith.addf %o, %e : f64
    linalg.yield %s : f64
  }
  return
}

// A reduction whose last loop is parallel (a bias gradient: column sums over
// rows): vectors along the columns, the reduction loop outside them, the
// output's vector loaded, added to and stored at every step (the scalar
// loops' summation order).
// CHECK-LABEL: func.func @colsum
// CHECK:       scf.for %[[R:.*]] = %c0 to %{{.*}} step %c1
// CHECK:         scf.for %[[C:.*]] = %c0 to %c64 step %c8
// CHECK:           %[[X:.*]] = vector.load %arg0[%[[R]], %[[C]]] : memref<?x64xf32>, vector<8xf32>
// CHECK:           %[[O:.*]] = vector.load %arg1[%[[C]]] : memref<64xf32>, vector<8xf32>
// CHECK:           %[[S:.*]] = arith.addf %[[O]], %[[X]] : vector<8xf32>
// CHECK:           vector.store %[[S]], %arg1[%[[C]]]
// CHECK-NOT:   linalg.generic
func.func @colsum(%a: memref<?x64xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<?x64xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = arith.addf %o, %u : f32
    linalg.yield %s : f32
  }
  return
}

// Not handled, left for convert-linalg-to-loops: a reduction along the last
// loop that is not a contraction, and a contraction whose inputs are contiguous along neither the
// reduction nor the output's last axis.
// CHECK-LABEL: func.func @rowsum
// CHECK:       linalg.generic
func.func @rowsum(%a: memref<?x8xf32>, %out: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x8xf32>) outs(%out : memref<?xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = arith.addf %o, %u : f32
    linalg.yield %s : f32
  }
  return
}
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
// CHECK-LABEL: func.func @colmajor
// CHECK:       linalg.generic
func.func @colmajor(%a: memref<8x8xf32, strided<[1, 8]>>, %b: memref<8x8xf32, strided<[1, 8]>>, %c: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x8xf32, strided<[1, 8]>>, memref<8x8xf32, strided<[1, 8]>>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Over packed panels the reduction is cut into blocks of 256 KiB of a panel
// (4096 steps of 2 x 8 lanes; 2048 of 2 x 16): C4's 650 steps, and any
// RNN layer's, are one block (the rows still in blocks of 128), so each
// output is loaded and stored once; a 5000-step reduction takes two.
// CHECK-LABEL: func.func @panel_blocks
// CHECK:       scf.for %{{.*}} step %c128
// CHECK:         scf.for %{{.*}} = %c0 to %c650 step %c4096
// CHECK:       scf.for %{{.*}} step %c128
// CHECK:         scf.for %{{.*}} = %c0 to %c5000 step %c4096
// W16-LABEL:   func.func @panel_blocks
// W16:         scf.for %{{.*}} = %c0 to %c650 step %c2048
// W16:         scf.for %{{.*}} = %c0 to %c5000 step %c2048
#pb_x = affine_map<(m, p, q, k) -> (m, k)>
#pb_w = affine_map<(m, p, q, k) -> (p, k, q)>
#pb_o = affine_map<(m, p, q, k) -> (m, p, q)>
func.func @panel_blocks(%x: memref<?x650xf32>, %wp: memref<2x650x16xf32>, %out: memref<?x2x16xf32>,
                        %x2: memref<?x5000xf32>, %wp2: memref<2x5000x16xf32>) {
  linalg.generic {indexing_maps = [#pb_x, #pb_w, #pb_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wp : memref<?x650xf32>, memref<2x650x16xf32>) outs(%out : memref<?x2x16xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#pb_x, #pb_w, #pb_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x2, %wp2 : memref<?x5000xf32>, memref<2x5000x16xf32>) outs(%out : memref<?x2x16xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// The same panels as a step of a loop (the recurrent contraction at a batch
// of 4 or more): after the 6-, 4- and 2-row tiles, the last row is one tile
// of 2 vectors, two FMA chains (at 8 lanes; 6 x 2, 4 x 2 and 2 x 2 before
// it have 12, 8 and 4). Its reduction runs 4 steps per iteration into 4
// sets of accumulators (8 chains), summed pairwise at the end, then the
// steps left over one at a time; the 2-row tile's into 2 sets.
// CHECK-LABEL: func.func @panels_in_loop
// CHECK:       scf.for
// CHECK:             scf.for %{{.*}} step %c6
// CHECK:             scf.for %{{.*}} step %c4
// CHECK:             scf.for %{{.*}} step %c2
// CHECK:               scf.for {{.*}} step %c2 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:             scf.for %{{.*}} step %c1
// CHECK:               %[[M:.*]]:8 = scf.for {{.*}} step %c4 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4:         vector.fma
// CHECK:               %[[A:.*]] = arith.addf %[[M]]#0, %[[M]]#2
// CHECK:               %[[B:.*]] = arith.addf %[[M]]#4, %[[M]]#6
// CHECK:               %[[S:.*]] = arith.addf %[[A]], %[[B]]
// CHECK:               scf.for {{.*}} step %c1 iter_args(%{{.*}} = %[[S]], %{{.*}} = %{{.*}}) -> (vector<8xf32>, vector<8xf32>)
// Outside a loop the same narrow tile keeps one set.
// CHECK-LABEL: func.func @panel_blocks_whole
// CHECK-NOT:   step %c4 iter_args
// CHECK:       return
func.func @panels_in_loop(%x: memref<?x64xf32>, %wp: memref<2x64x16xf32>, %out: memref<?x2x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [#pb_x, #pb_w, #pb_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%x, %wp : memref<?x64xf32>, memref<2x64x16xf32>) outs(%out : memref<?x2x16xf32>) {
    ^bb0(%a: f32, %w: f32, %o: f32):
      %p = arith.mulf %a, %w : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}
func.func @panel_blocks_whole(%x: memref<?x64xf32>, %wp: memref<2x64x16xf32>, %out: memref<?x2x16xf32>) {
  linalg.generic {indexing_maps = [#pb_x, #pb_w, #pb_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wp : memref<?x64xf32>, memref<2x64x16xf32>) outs(%out : memref<?x2x16xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A bias broadcast into a fresh buffer that a contraction then accumulates
// into (the hoisted input projection, `rnn.dense` seeded by its bias): the
// broadcast is not run; the register tiles start from the bias, viewed like
// the output's panel axes, instead of loading the output.
// CHECK-LABEL: func.func @seeded_panels
// CHECK-SAME:    (%[[X:.*]]: memref<?x8xf32>, %[[WP:.*]]: memref<4x8x16xf32>, %[[B:.*]]: memref<64xf32>)
// CHECK:       %[[BUF:.*]] = memref.alloc
// CHECK:       %[[OUT:.*]] = memref.expand_shape %[[BUF]]
// CHECK-NOT:   vector.store {{.*}} %[[BUF]]
// CHECK:       scf.for %[[P:.*]] = %c0 to %c4
// CHECK:         scf.for %[[Q:.*]] = %c0 to %c16
// CHECK:           %[[PC:.*]] = arith.muli %[[P]], %c16
// CHECK:           %[[COL:.*]] = arith.addi %[[PC]], %[[Q]]
// CHECK:           vector.load %[[B]][%[[COL]]]
// CHECK-NOT:       vector.load %[[OUT]]
// CHECK:           scf.for {{.*}} iter_args
// CHECK:             vector.fma
// CHECK-COUNT-12:  vector.store {{.*}}, %[[OUT]]
// CHECK:       return %[[BUF]]
#s_b = affine_map<(m, n) -> (n)>
#s_id = affine_map<(m, n) -> (m, n)>
#s_x = affine_map<(m, p, q, k) -> (m, k)>
#s_w = affine_map<(m, p, q, k) -> (p, k, q)>
#s_o = affine_map<(m, p, q, k) -> (m, p, q)>
func.func @seeded_panels(%x: memref<?x8xf32>, %wp: memref<4x8x16xf32>, %b: memref<64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %x, %c0 : memref<?x8xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#s_b, #s_id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %out = memref.expand_shape %buf [[0], [1, 2]] output_shape [%d, 4, 16] : memref<?x64xf32> into memref<?x4x16xf32>
  linalg.generic {indexing_maps = [#s_x, #s_w, #s_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wp : memref<?x8xf32>, memref<4x8x16xf32>) outs(%out : memref<?x4x16xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<?x64xf32>
}

// Panels and leftover columns (rnn-pack-weights: 32 columns in 2 panels of
// 16, then 8 more): two contractions on subviews of the buffer that together
// cover it; each starts from its columns of the bias.
// CHECK-LABEL: func.func @seeded_leftover
// CHECK-SAME:    (%[[X:.*]]: memref<?x8xf32>, %[[WP:.*]]: memref<2x8x16xf32>, %[[WT:.*]]: memref<8x8xf32>, %[[B:.*]]: memref<40xf32>)
// CHECK:       %[[BUF:.*]] = memref.alloc
// CHECK-NOT:   vector.store {{.*}} %[[BUF]]
// CHECK:       arith.muli %{{.*}}, %c16
// CHECK:       vector.load %[[B]]
// CHECK:       vector.fma
// CHECK:       %[[TAIL:.*]] = arith.addi %{{.*}}, %c32
// CHECK:       vector.load %[[B]][%[[TAIL]]]
// CHECK:       return %[[BUF]]
func.func @seeded_leftover(%x: memref<?x8xf32>, %wp: memref<2x8x16xf32>, %wt: memref<8x8xf32>, %b: memref<40xf32>)
    -> memref<?x40xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %x, %c0 : memref<?x8xf32>
  %buf = memref.alloc(%d) : memref<?x40xf32>
  linalg.generic {indexing_maps = [#s_b, #s_id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<40xf32>) outs(%buf : memref<?x40xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  %full = memref.subview %buf[0, 0] [%d, 32] [1, 1] : memref<?x40xf32> to memref<?x32xf32, strided<[40, 1]>>
  %out = memref.expand_shape %full [[0], [1, 2]] output_shape [%d, 2, 16]
      : memref<?x32xf32, strided<[40, 1]>> into memref<?x2x16xf32, strided<[40, 16, 1]>>
  linalg.generic {indexing_maps = [#s_x, #s_w, #s_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wp : memref<?x8xf32>, memref<2x8x16xf32>) outs(%out : memref<?x2x16xf32, strided<[40, 16, 1]>>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  %rest = memref.subview %buf[0, 32] [%d, 8] [1, 1] : memref<?x40xf32> to memref<?x8xf32, strided<[40, 1], offset: 32>>
  linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wt : memref<?x8xf32>, memref<8x8xf32>) outs(%rest : memref<?x8xf32, strided<[40, 1], offset: 32>>) {
  ^bb0(%a: f32, %w1: f32, %o: f32):
    %p = arith.mulf %a, %w1 : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<?x40xf32>
}

// The per-step form: the broadcast is followed by an scf.if whose branches
// each accumulate into the whole buffer (broadcast form over a [K, N] weight,
// dot form over [N, K]); both start from the bias. A long reduction is cut
// into blocks: only the first block starts from the bias, the others from the
// output.
// CHECK-LABEL: func.func @seeded_if
// CHECK-SAME:    (%[[H:.*]]: memref<?x1024xf32>, %[[WT:.*]]: memref<1024x64xf32>, %[[W:.*]]: memref<64x1024xf32>, %[[B:.*]]: memref<64xf32>, %[[BIG:.*]]: i1)
// CHECK:       %[[BUF:.*]] = memref.alloc
// CHECK-NOT:   vector.store {{.*}} %[[BUF]]
// CHECK:       scf.if %[[BIG]] {
// CHECK:         scf.for %[[K0:.*]] = %c0 to %c1024 step %c256
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[K0]], %c0 : index
// CHECK:           scf.if %[[FIRST]] -> (vector<8xf32>
// CHECK:             vector.load %[[B]]
// CHECK:           } else {
// CHECK:             vector.load %[[BUF]]
// CHECK:       } else {
// CHECK:         vector.reduction <add>
// CHECK:         memref.load %[[B]]
// CHECK:         memref.store {{.*}}, %[[BUF]]
// CHECK:       return %[[BUF]]
func.func @seeded_if(%h: memref<?x1024xf32>, %wt: memref<1024x64xf32>, %w: memref<64x1024xf32>, %b: memref<64xf32>,
                     %big: i1) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %h, %c0 : memref<?x1024xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#s_b, #s_id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  scf.if %big {
    linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %wt : memref<?x1024xf32>, memref<1024x64xf32>) outs(%buf : memref<?x64xf32>) {
    ^bb0(%a: f32, %w1: f32, %o: f32):
      %p = arith.mulf %a, %w1 : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  } else {
    linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : memref<?x1024xf32>, memref<64x1024xf32>) outs(%buf : memref<?x64xf32>) {
    ^bb0(%a: f32, %w1: f32, %o: f32):
      %p = arith.mulf %a, %w1 : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return %buf : memref<?x64xf32>
}

// Not seeded: the buffer is read (copied) between the broadcast and the
// contraction, so the broadcast runs and the contraction loads the output.
// CHECK-LABEL: func.func @not_seeded
// CHECK-SAME:    (%{{.*}}: memref<?x1024xf32>, %{{.*}}: memref<1024x64xf32>, %[[B:.*]]: memref<64xf32>, %{{.*}}: memref<?x64xf32>)
// CHECK:       %[[BUF:.*]] = memref.alloc
// CHECK:       vector.load %[[B]]
// CHECK:       vector.store {{.*}}, %[[BUF]]
// CHECK-NOT:   vector.load %[[B]]
// CHECK:       return
func.func @not_seeded(%h: memref<?x1024xf32>, %wt: memref<1024x64xf32>, %b: memref<64xf32>, %copy: memref<?x64xf32>)
    -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %h, %c0 : memref<?x1024xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#s_b, #s_id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.copy ins(%buf : memref<?x64xf32>) outs(%copy : memref<?x64xf32>)
  linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %wt : memref<?x1024xf32>, memref<1024x64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%a: f32, %w1: f32, %o: f32):
    %p = arith.mulf %a, %w1 : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<?x64xf32>
}

// A zero fill (a gradient accumulator) seeds the contraction that first
// accumulates into it even with a loop in between: the buffer is fresh, its
// only users are the fill, the contraction and the return, so nothing in
// between can touch it. The fill does not run; the accumulators start at
// zero.
// (The reduction is long: the first block of each tile starts from zero,
// the later ones from the output.)
// CHECK-LABEL: func.func @zero_seeded_after_loop
// CHECK:       %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK:       %[[BUF:.*]] = memref.alloc() : memref<64x64xf32>
// CHECK-NOT:   vector.store {{.*}}, %[[BUF]]
// CHECK:       scf.for
// CHECK:         memref.store
// CHECK:       scf.yield %[[ZERO]], %[[ZERO]], %[[ZERO]]
// CHECK:       } else {
// CHECK:         vector.load %[[BUF]]
// CHECK:       vector.store {{.*}}, %[[BUF]]
// CHECK:       return %[[BUF]]
func.func @zero_seeded_after_loop(%g: memref<?x64xf32>, %h: memref<?x64xf32>, %other: memref<8xf32>, %n: index)
    -> memref<64x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %buf = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%buf : memref<64x64xf32>)
  scf.for %i = %c0 to %n step %c1 {
    memref.store %one, %other[%c0] : memref<8xf32>
  }
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (k, i)>, affine_map<(i, j, k) -> (k, j)>,
                                   affine_map<(i, j, k) -> (i, j)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g, %h : memref<?x64xf32>, memref<?x64xf32>) outs(%buf : memref<64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<64x64xf32>
}

// Not seeded: the accumulator is filled once and accumulated into at every
// step of a loop (the fill must run; each step's contraction reads it).
// CHECK-LABEL: func.func @zero_accumulated_in_loop
// CHECK:       %[[BUF:.*]] = memref.alloc() : memref<64x64xf32>
// CHECK:       vector.store {{.*}}, %[[BUF]]
// CHECK:       scf.for
// CHECK:         vector.load %[[BUF]]
func.func @zero_accumulated_in_loop(%g: memref<?x64xf32>, %h: memref<?x64xf32>, %n: index) -> memref<64x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %buf = memref.alloc() : memref<64x64xf32>
  linalg.fill ins(%zero : f32) outs(%buf : memref<64x64xf32>)
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (k, i)>, affine_map<(i, j, k) -> (k, j)>,
                                     affine_map<(i, j, k) -> (i, j)>],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%g, %h : memref<?x64xf32>, memref<?x64xf32>) outs(%buf : memref<64x64xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return %buf : memref<64x64xf32>
}

// The per-step adjoint `dG @ W` over panels: canonicalization moved the zero
// fill through the panel reshape, so the packed branch fills the buffer's
// panel view again. Both fills go; both branches start from zero.
// CHECK-LABEL: func.func @zero_refill
// CHECK:       %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK:       %[[BUF:.*]] = memref.alloc
// CHECK-NOT:   vector.store {{.*}}, %[[BUF]]
// CHECK:       scf.if
// CHECK:         %[[PAN:.*]] = memref.expand_shape %[[BUF]]
// CHECK-NOT:     vector.store {{.*}}, %[[PAN]]
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[ZERO]], %{{.*}} = %[[ZERO]],
// CHECK:         vector.store {{.*}}, %[[PAN]]
// CHECK:       } else {
// CHECK:       return %[[BUF]]
func.func @zero_refill(%x: memref<?x8xf32>, %wp: memref<4x8x16xf32>, %w: memref<64x8xf32>, %big: i1) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %d = memref.dim %x, %c0 : memref<?x8xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%buf : memref<?x64xf32>)
  scf.if %big {
    %pan = memref.expand_shape %buf [[0], [1, 2]] output_shape [%d, 4, 16] : memref<?x64xf32> into memref<?x4x16xf32>
    linalg.fill ins(%zero : f32) outs(%pan : memref<?x4x16xf32>)
    linalg.generic {indexing_maps = [affine_map<(m, p, q, k) -> (m, k)>, affine_map<(m, p, q, k) -> (p, k, q)>,
                                     affine_map<(m, p, q, k) -> (m, p, q)>],
                    iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%x, %wp : memref<?x8xf32>, memref<4x8x16xf32>) outs(%pan : memref<?x4x16xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  } else {
    linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x8xf32>, memref<64x8xf32>) outs(%buf : memref<?x64xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return %buf : memref<?x64xf32>
}

// A bias broadcast into a step's slot of a saved sequence (not a fresh
// buffer: the training forward's recurrent pre-activations) is folded too
// when the contractions are the very next ops writing it.
// CHECK-LABEL: func.func @seeded_slot
// CHECK-SAME:    %[[B:[a-z0-9]+]]: memref<64xf32>
// CHECK:       %[[SLOT:.*]] = memref.subview
// CHECK-NOT:   vector.store {{.*}}, %[[SLOT]]
// CHECK:       scf.if
// CHECK:         vector.load %[[B]]
// CHECK:       } else {
// CHECK:         memref.load %[[B]]
func.func @seeded_slot(%h: memref<?x1024xf32>, %wt: memref<1024x64xf32>, %w: memref<64x1024xf32>, %b: memref<64xf32>,
                       %seq: memref<?x?x64xf32>, %t: index, %big: i1) {
  %c0 = arith.constant 0 : index
  %d = memref.dim %h, %c0 : memref<?x1024xf32>
  %slot = memref.subview %seq[0, %t, 0] [%d, 1, 64] [1, 1, 1] : memref<?x?x64xf32> to memref<?x64xf32, strided<[?, 1], offset: ?>>
  linalg.generic {indexing_maps = [#s_b, #s_id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%slot : memref<?x64xf32, strided<[?, 1], offset: ?>>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  scf.if %big {
    linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %wt : memref<?x1024xf32>, memref<1024x64xf32>) outs(%slot : memref<?x64xf32, strided<[?, 1], offset: ?>>) {
    ^bb0(%a: f32, %w1: f32, %o: f32):
      %p = arith.mulf %a, %w1 : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  } else {
    linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : memref<?x1024xf32>, memref<64x1024xf32>) outs(%slot : memref<?x64xf32, strided<[?, 1], offset: ?>>) {
    ^bb0(%a: f32, %w1: f32, %o: f32):
      %p = arith.mulf %a, %w1 : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}
