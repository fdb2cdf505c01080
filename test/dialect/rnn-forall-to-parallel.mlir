// RUN: rnn-opt %s -rnn-forall-to-parallel -split-input-file -verify-diagnostics | FileCheck %s

// A bufferized two-iteration scf.forall (rnn-concurrent-directions' pair of
// directions): thread tid of n runs iterations tid, tid + n, ... (both, in
// order, when it is alone), each as the forall's body with the iteration
// index lb + k * step.
// CHECK-LABEL: func.func @directions
// CHECK-SAME:  (%[[OUT:.*]]: memref<2x?xf32>, %[[N:.*]]: index)
// CHECK:       rnn.parallel work(%{{.*}}) {
// CHECK-NEXT:  ^bb0(%[[TID:.*]]: i64, %[[NT:.*]]: i64):
// CHECK-DAG:     %[[T:.*]] = arith.index_castui %[[TID]] : i64 to index
// CHECK-DAG:     %[[NN:.*]] = arith.index_castui %[[NT]] : i64 to index
// CHECK:         scf.for %[[K:.*]] = %[[T]] to %[[COUNT:.*]] step %[[NN]] {
// CHECK:           %[[I:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:           %[[ROW:.*]] = memref.subview %[[OUT]][%[[I]], 0] [1, %[[N]]] [1, 1]
// CHECK:           linalg.fill ins(%{{.*}} : f32) outs(%[[ROW]]
// CHECK:         }
// CHECK-NEXT:    rnn.parallel_end
// CHECK-NOT:   scf.forall
func.func @directions(%out: memref<2x?xf32>, %n: index) {
  %cst = arith.constant 1.0 : f32
  scf.forall (%i) in (2) {
    %row = memref.subview %out[%i, 0] [1, %n] [1, 1] : memref<2x?xf32> to memref<?xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%row : memref<?xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// Still on tensors: the pass runs after bufferization.
func.func @tensors(%t: tensor<2xf32>) -> tensor<2xf32> {
  %cst = arith.constant 1.0 : f32
  // expected-error @+1 {{still has shared outputs}}
  %r = scf.forall (%i) in (2) shared_outs(%o = %t) -> tensor<2xf32> {
    %s = tensor.from_elements %cst : tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%i] [1] [1] : tensor<1xf32> into tensor<2xf32>
    }
  }
  return %r : tensor<2xf32>
}
