// RUN: rnn-opt %s --rnn-vectorize-kernels="parallel=true" | FileCheck %s
// RUN: rnn-opt %s --rnn-vectorize-kernels="parallel=true parallel-min-work=1000000000" | FileCheck %s --check-prefix=NONE
// RUN: rnn-opt %s --rnn-vectorize-kernels="vector-width=16 parallel=true parallel-min-work=1" --canonicalize | FileCheck %s --check-prefix=PANEL

#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// A contraction with enough work: the kernel runs inside rnn.parallel, its
// `work` the product of the loop lengths (multiply-adds). Each thread takes a
// share of the rows when there are more rows than columns, else of the
// columns: chunks of ceil(len / threads) rounded up to whole tiles (24 rows;
// 8 columns in the dot form, one vector in the broadcast form), clamped to
// the range.
// CHECK-LABEL: func.func @dot
// CHECK:       %[[W:.*]] = arith.index_castui %{{.*}} : index to i64
// CHECK:       rnn.parallel work(%[[W]]) {
// CHECK-NEXT:  ^bb0(%[[TID:.*]]: i64, %[[NT:.*]]: i64):
// CHECK-DAG:     %[[T:.*]] = arith.index_castui %[[TID]] : i64 to index
// CHECK-DAG:     %[[N:.*]] = arith.index_castui %[[NT]] : i64 to index
// CHECK:         arith.ceildivui %{{.*}}, %[[N]] : index
// CHECK:         arith.ceildivui %{{.*}}, %c8 : index
// CHECK:         arith.muli %[[T]], %{{.*}} : index
// CHECK:         arith.minui
// CHECK:         arith.ceildivui %{{.*}}, %c24 : index
// CHECK:         %[[ROWS:.*]] = arith.cmpi ugt
// CHECK:         arith.select %[[ROWS]]
// CHECK:         vector.fma
// CHECK:         rnn.parallel_end
// CHECK-NEXT:  }
// CHECK-NEXT:  return
// NONE-LABEL: func.func @dot
// NONE-NOT:   rnn.parallel
// NONE:       return
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

// Too little static work (8 x 8 x 8 multiply-adds): no region.
// CHECK-LABEL: func.func @small
// CHECK-NOT:   rnn.parallel
// CHECK:       vector.fma
// CHECK:       return
func.func @small(%x: memref<8x8xf32>, %w: memref<8x8xf32>, %y: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x8xf32>, memref<8x8xf32>) outs(%y : memref<8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Dynamic sizes count as 16 rows when the static ones give at least 1024
// elements: a copy of a step's [B, 2048] gates is emitted as a parallel
// kernel (the runtime keeps it on one thread when B is small); a [B, 512]
// copy stays whole (parallel code for every small map of a small model
// doubled its compile time).
// CHECK-LABEL: func.func @dynamic_rows
// CHECK:       rnn.parallel
// CHECK:       vector.store
// CHECK:       rnn.parallel_end
// CHECK-NOT:   rnn.parallel
// CHECK:       return
func.func @dynamic_rows(%a: memref<?x2048xf32>, %b: memref<?x2048xf32>, %c: memref<?x512xf32>, %d: memref<?x512xf32>) {
  memref.copy %a, %b : memref<?x2048xf32> to memref<?x2048xf32>
  memref.copy %c, %d : memref<?x512xf32> to memref<?x512xf32>
  return
}

// Over batch x time (two dynamic sizes) from 256 static elements: the
// [B, T, 512] output copy is shared, a [B, T, 128] one stays whole.
// CHECK-LABEL: func.func @dynamic_sequence
// CHECK:       rnn.parallel
// CHECK:       rnn.parallel_end
// CHECK-NOT:   rnn.parallel
// CHECK:       return
func.func @dynamic_sequence(%a: memref<?x?x512xf32>, %b: memref<?x?x512xf32>, %c: memref<?x?x128xf32>, %d: memref<?x?x128xf32>) {
  memref.copy %a, %b : memref<?x?x512xf32> to memref<?x?x512xf32>
  memref.copy %c, %d : memref<?x?x128xf32> to memref<?x?x128xf32>
  return
}

// An elementwise map: work = elements x body ops (2 here); the rows are
// shared when there are at least as many as threads, else the last axis in
// whole vectors (chunks rounded up to 8).
// CHECK-LABEL: func.func @gates
// CHECK:       %[[C2:.*]] = arith.constant 2 : index
// CHECK:       %[[DIM:.*]] = memref.dim
// CHECK:       arith.muli %[[DIM]], %[[C2]]
// CHECK:       rnn.parallel work(
// CHECK:         arith.ceildivui %{{.*}}, %c8 : index
// CHECK:         %[[BYROWS:.*]] = arith.cmpi uge
// CHECK:         arith.select %[[BYROWS]]
// CHECK:         vector.fma
// CHECK:         rnn.parallel_end
// NONE-LABEL: func.func @gates
// NONE-NOT:   rnn.parallel
// NONE:       return
func.func @gates(%a: memref<?x4096xf32>, %bias: memref<4096xf32>, %out: memref<?x4096xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %bias : memref<?x4096xf32>, memref<4096xf32>) outs(%out : memref<?x4096xf32>) {
  ^bb0(%x: f32, %b: f32, %o: f32):
    %s = arith.addf %x, %b : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// A column-sum reduction: only the columns (the parallel loop) are shared,
// never the rows being summed.
// CHECK-LABEL: func.func @colsum
// CHECK:       rnn.parallel work(
// CHECK-NOT:     arith.cmpi uge
// CHECK:         arith.ceildivui %{{.*}}, %c8 : index
// CHECK-NOT:     arith.select
// CHECK:         scf.for
// CHECK:         rnn.parallel_end
func.func @colsum(%a: memref<?x4096xf32>, %out: memref<4096xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<?x4096xf32>) outs(%out : memref<4096xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %o, %x : f32
    linalg.yield %s : f32
  }
  return
}

// An output not indexed by every loop (each element written once per row,
// the last row's value kept): sharing the rows would race, so no region.
// CHECK-LABEL: func.func @overwrite
// CHECK-NOT:   rnn.parallel
// CHECK:       return
func.func @overwrite(%a: memref<4096x64xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4096x64xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  return
}

// Packed weight panels (rnn-pack-weights) `x(m, k) * wp(p, k, q) -> out(m, p,
// q)` with 16 lanes: the rows of the register tiles are the broadcast input's
// rows m (an outer loop of the output, not its second-to-last axis p), tiles
// of 12 rows x the panel's 2 vectors (24 accumulators; then 8, 4, 1 rows), one
// contiguous panel row per reduction step; each thread takes whole panels.
// PANEL-LABEL: func.func @panels
// PANEL:       rnn.parallel work
// PANEL:         %[[PER:.*]] = arith.ceildivui %c4, %{{.*}} : index
// PANEL:         %[[LO:.*]] = arith.minui %{{.*}}, %c4 : index
// PANEL:         %[[HI:.*]] = arith.minui %{{.*}}, %c4 : index
// PANEL:         scf.for %[[P:.*]] = %[[LO]] to %[[HI]] step %c1 {
// PANEL:           scf.for %[[M:.*]] = %c0 to %{{.*}} step %c12 {
// PANEL:             scf.for %[[K:.*]] = %c0 to %c64 step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PANEL:               vector.load %arg1[%[[P]], %[[K]], %c0] : memref<4x64x32xf32>, vector<16xf32>
// PANEL:               memref.load %arg0[%[[M]], %[[K]]] : memref<?x64xf32>
// PANEL:               vector.broadcast
// PANEL:               vector.fma
// PANEL:           step %c8 {
// PANEL:           step %c4 {
// PANEL:         rnn.parallel_end
#pk_xk = affine_map<(m, p, q, k) -> (m, k)>
#pk_pkq = affine_map<(m, p, q, k) -> (p, k, q)>
#pk_mpq = affine_map<(m, p, q, k) -> (m, p, q)>
func.func @panels(%x: memref<?x64xf32>, %wp: memref<4x64x32xf32>, %o: memref<?x4x32xf32>) {
  linalg.generic {indexing_maps = [#pk_xk, #pk_pkq, #pk_mpq], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wp : memref<?x64xf32>, memref<4x64x32xf32>) outs(%o : memref<?x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}
