// RUN: rnn-opt %s -split-input-file -rnn-forward-copies | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A step's gate adjoints: two results of one kernel, each computed into a
// temporary and copied into its column block of the saved sequence's slot.
// The kernel writes the blocks in place; temporaries and copies go, and the
// slot's views move above the kernel.
// CHECK-LABEL: func.func @blocks
// CHECK-NOT:     memref.alloc
// CHECK:         %[[SLOT:.*]] = memref.subview %{{.*}}[0, %{{.*}}, 0] [4, 1, 16]
// CHECK:         %[[B0:.*]] = memref.subview %[[SLOT]][0, 0] [4, 8]
// CHECK:         %[[B1:.*]] = memref.subview %[[SLOT]][0, 8] [4, 8]
// CHECK:         linalg.generic {{.*}} outs(%[[B0]], %[[B1]] :
// CHECK-NOT:     memref.copy
// CHECK:         return
func.func @blocks(%a: memref<4x8xf32>, %seq: memref<4x5x16xf32>, %t: index) {
  %x = memref.alloc() : memref<4x8xf32>
  %y = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%x, %y : memref<4x8xf32>, memref<4x8xf32>) {
  ^bb0(%v: f32, %o0: f32, %o1: f32):
    %w = arith.addf %v, %v : f32
    linalg.yield %v, %w : f32, f32
  }
  %slot = memref.subview %seq[0, %t, 0] [4, 1, 16] [1, 1, 1] : memref<4x5x16xf32> to memref<4x16xf32, strided<[80, 1], offset: ?>>
  %s0 = memref.subview %slot[0, 0] [4, 8] [1, 1] : memref<4x16xf32, strided<[80, 1], offset: ?>> to memref<4x8xf32, strided<[80, 1], offset: ?>>
  memref.copy %x, %s0 : memref<4x8xf32> to memref<4x8xf32, strided<[80, 1], offset: ?>>
  %s1 = memref.subview %slot[0, 8] [4, 8] [1, 1] : memref<4x16xf32, strided<[80, 1], offset: ?>> to memref<4x8xf32, strided<[80, 1], offset: ?>>
  memref.copy %y, %s1 : memref<4x8xf32> to memref<4x8xf32, strided<[80, 1], offset: ?>>
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A temporary that is a view of a larger buffer, copied with linalg.copy.
// CHECK-LABEL: func.func @view_source
// CHECK-NOT:     memref.alloc
// CHECK:         linalg.generic {{.*}} outs(%arg1 : memref<4x8xf32>)
// CHECK-NOT:     copy
func.func @view_source(%a: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %big = memref.alloc() : memref<4x16xf32>
  %x = memref.subview %big[0, 8] [4, 8] [1, 1] : memref<4x16xf32> to memref<4x8xf32, strided<[16, 1], offset: 8>>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%x : memref<4x8xf32, strided<[16, 1], offset: 8>>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.copy ins(%x : memref<4x8xf32, strided<[16, 1], offset: 8>>) outs(%out : memref<4x8xf32>)
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Not forwarded: something between the kernel and the copy writes memory
// (it could touch the destination).
// CHECK-LABEL: func.func @write_between
// CHECK:         %[[X:.*]] = memref.alloc
// CHECK:         linalg.generic {{.*}} outs(%[[X]] :
// CHECK:         memref.store
// CHECK:         memref.copy %[[X]], %arg1
func.func @write_between(%a: memref<4x8xf32>, %out: memref<4x8xf32>, %f: f32) {
  %c0 = arith.constant 0 : index
  %x = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%x : memref<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  memref.store %f, %out[%c0, %c0] : memref<4x8xf32>
  memref.copy %x, %out : memref<4x8xf32> to memref<4x8xf32>
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Not forwarded: the kernel reads the destination's buffer, which it would
// overwrite before reading.
// CHECK-LABEL: func.func @reads_destination
// CHECK:         %[[X:.*]] = memref.alloc
// CHECK:         linalg.generic {{.*}} ins(%arg0 : memref<4x8xf32>) outs(%[[X]] :
// CHECK:         memref.copy %[[X]], %arg0
func.func @reads_destination(%a: memref<4x8xf32>) {
  %x = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%x : memref<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %w = arith.mulf %v, %v : f32
    linalg.yield %w : f32
  }
  memref.copy %x, %a : memref<4x8xf32> to memref<4x8xf32>
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Not forwarded: the temporary is read again after the copy, and an
// accumulating kernel (it reads its output) keeps its buffer.
// CHECK-LABEL: func.func @other_uses
// CHECK:         %[[X:.*]] = memref.alloc
// CHECK:         memref.copy %[[X]], %arg1
// CHECK:         memref.copy %[[X]], %arg2
// CHECK:         %[[Y:.*]] = memref.alloc
// CHECK:         memref.copy %[[Y]], %arg1
func.func @other_uses(%a: memref<4x8xf32>, %out: memref<4x8xf32>, %out2: memref<4x8xf32>) {
  %x = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%x : memref<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  memref.copy %x, %out : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %x, %out2 : memref<4x8xf32> to memref<4x8xf32>
  %y = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%y : memref<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %w = arith.addf %v, %o : f32
    linalg.yield %w : f32
  }
  memref.copy %y, %out : memref<4x8xf32> to memref<4x8xf32>
  return
}
