// RUN: rnn-opt %s --rnn-vectorize-kernels="share-kernels=true parallel=true" | FileCheck %s
// RUN: rnn-opt %s --rnn-vectorize-kernels="parallel=true" | FileCheck %s --check-prefix=NOSHARE

// share-kernels: a kernel the module repeats is emitted once, in a private
// function `kernel_N` its copies call. The functions come last, in the order
// of their first copies.

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
#bias = affine_map<(m, n) -> (n)>
#id = affine_map<(m, n) -> (m, n)>

// A bias broadcast into a fresh buffer and the contraction that then
// accumulates into it (a layer's input projection), in two functions (two
// directions of a layer, or the forward and the loss's forward): the
// broadcast is not run in either; the contraction is a call to one function
// that takes the bias as one more argument and starts its accumulators from
// it.
// CHECK-LABEL: func.func @projection_a
// CHECK-SAME:    (%[[X:.*]]: memref<?x32xf32>, %[[W:.*]]: memref<64x32xf32>, %[[B:.*]]: memref<64xf32>)
// CHECK:         %[[BUF:.*]] = memref.alloc
// CHECK-NOT:     vector.store
// CHECK:         call @kernel(%[[X]], %[[W]], %[[BUF]], %[[B]]) : (memref<?x32xf32>, memref<64x32xf32>, memref<?x64xf32>, memref<64xf32>) -> ()
// CHECK-NEXT:    return %[[BUF]]
// NOSHARE-LABEL: func.func @projection_a
// NOSHARE-NOT:   call
// NOSHARE:       vector.fma
func.func @projection_a(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %b: memref<64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %x, %c0 : memref<?x32xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%a: f32, %v: f32, %acc: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<?x64xf32>
}

// CHECK-LABEL: func.func @projection_b
// CHECK-NOT:     vector.store
// CHECK:         call @kernel(
func.func @projection_b(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %b: memref<64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %d = memref.dim %x, %c0 : memref<?x32xf32>
  %buf = memref.alloc(%d) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%buf : memref<?x64xf32>) {
  ^bb0(%a: f32, %v: f32, %acc: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return %buf : memref<?x64xf32>
}

// The same contraction accumulating into its output (no seed), inside a
// loop in two functions: a second kernel (rnn.kernel_in_loop), which a
// third copy outside any loop does not share; that one, alone, stays
// inline. The same op on the same buffer twice in one function is one
// kernel too (both copies call it).
// CHECK-LABEL: func.func @steps_a
// CHECK:         scf.for
// CHECK-NEXT:      call @kernel_0(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NEXT:      call @kernel_0(%{{.*}}, %{{.*}}, %{{.*}})
func.func @steps_a(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %y: memref<?x64xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%a: f32, %v: f32, %acc: f32):
      %p = arith.mulf %a, %v : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%a: f32, %v: f32, %acc: f32):
      %p = arith.mulf %a, %v : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}

// CHECK-LABEL: func.func @once
// CHECK-NOT:     call
// CHECK:         vector.fma
func.func @once(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %y: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %v: f32, %acc: f32):
    %p = arith.mulf %a, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Inside an rnn.parallel region (the iterations of an scf.forall, a layer
// per thread) in two functions: a third kernel, which is not shared among
// the threads itself (no rnn.parallel in it), unlike @kernel above.
// CHECK-LABEL: func.func @nested_a
// CHECK:         rnn.parallel
// CHECK:           call @kernel_1(
func.func @nested_a(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %y: memref<?x64xf32>, %work: i64) {
  rnn.parallel work(%work) {
  ^bb0(%tid: i64, %count: i64):
    linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%a: f32, %v: f32, %acc: f32):
      %p = arith.mulf %a, %v : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    rnn.parallel_end
  }
  return
}

// CHECK-LABEL: func.func @nested_b
// CHECK:           call @kernel_1(
func.func @nested_b(%x: memref<?x32xf32>, %w: memref<64x32xf32>, %y: memref<?x64xf32>, %work: i64) {
  rnn.parallel work(%work) {
  ^bb0(%tid: i64, %count: i64):
    linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%a: f32, %v: f32, %acc: f32):
      %p = arith.mulf %a, %v : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    rnn.parallel_end
  }
  return
}

// Not shared: two maps that differ only in a constant from above; a
// contraction too small for a call (4 x 4 x 8: it stays inline in both
// functions).
// CHECK-LABEL: func.func @maps_a
// CHECK-NOT:     call
// CHECK:         return
func.func @maps_a(%a: memref<?x64xf32>, %out: memref<?x64xf32>, %s: memref<4x8xf32>, %t: memref<4x8xf32>, %u: memref<4x4xf32>) {
  %c = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x64xf32>) outs(%out : memref<?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %c : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %1, %c : f32
    %3 = arith.addf %2, %c : f32
    linalg.yield %3 : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s, %t : memref<4x8xf32>, memref<4x8xf32>) outs(%u : memref<4x4xf32>) {
  ^bb0(%p0: f32, %v: f32, %acc: f32):
    %p = arith.mulf %p0, %v : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @maps_b
// CHECK-NOT:     call
// CHECK:         return
func.func @maps_b(%a: memref<?x64xf32>, %out: memref<?x64xf32>, %s: memref<4x8xf32>, %t: memref<4x8xf32>, %u: memref<4x4xf32>) {
  %c = arith.constant 0.25 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x64xf32>) outs(%out : memref<?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %c : f32
    %1 = math.tanh %0 : f32
    %2 = arith.mulf %1, %c : f32
    %3 = arith.addf %2, %c : f32
    linalg.yield %3 : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s, %t : memref<4x8xf32>, memref<4x8xf32>) outs(%u : memref<4x4xf32>) {
  ^bb0(%p0: f32, %v: f32, %acc: f32):
    %p = arith.mulf %p0, %v : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// The kernels. The seeded one reads the bias (its last argument) where the
// others read their output, and never loads its output.
// CHECK-LABEL: func.func private @kernel
// CHECK-SAME:    (%[[KX:.*]]: memref<?x32xf32>, %[[KW:.*]]: memref<64x32xf32>, %[[KO:.*]]: memref<?x64xf32>, %[[KB:.*]]: memref<64xf32>)
// CHECK-SAME:    attributes {rnn.kernel}
// CHECK-NOT:     load %[[KO]]
// CHECK:         rnn.parallel
// CHECK-NOT:     load %[[KO]]
// CHECK:         vector.fma
// CHECK-NOT:     load %[[KO]]
// CHECK:         memref.load %[[KB]]
// CHECK-NOT:     load %[[KO]]
// CHECK:         return
// CHECK-LABEL: func.func private @kernel_0
// CHECK-SAME:    (%{{.*}}: memref<?x32xf32>, %{{.*}}: memref<64x32xf32>, %[[LO:.*]]: memref<?x64xf32>)
// CHECK-SAME:    attributes {rnn.kernel, rnn.kernel_in_loop}
// CHECK:         rnn.parallel
// CHECK:         memref.load %[[LO]]
// CHECK-LABEL: func.func private @kernel_1
// CHECK-SAME:    attributes {rnn.kernel}
// CHECK-NOT:     rnn.parallel
// CHECK:         vector.fma
// CHECK-NOT:     rnn.parallel
// CHECK:         return
// CHECK-NOT:   func.func

// NOSHARE-NOT: func.func private
