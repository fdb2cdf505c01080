// RUN: rnn-opt %s -rnn-rows-in-place -split-input-file | FileCheck %s
// RUN: rnn-opt %s -rnn-rows-in-place -split-input-file -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -cse -canonicalize | FileCheck %s --check-prefix=BUF
// RUN: rnn-opt %s -split-input-file -one-shot-bufferize="bufferize-function-boundaries" -canonicalize -cse -canonicalize | FileCheck %s --check-prefix=BEFORE

// Two directions side by side (rnn-concurrent-directions' shape): each
// branch fills a [B, T, 8] sequence step by step, from a tensor.empty, and
// the result goes into its row of the stacked [2, B, T, 8] output. Both
// empties become the row, extracted from the shared output before the
// scf.if; bufferized, the branches write the row in place and nothing is
// copied (without the pass, each branch fills a fresh buffer that is copied
// into the row).
// CHECK-LABEL: func.func @directions
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x8xf32>
// CHECK-DAG:     %[[B:.*]] = tensor.dim %[[X]], %c0
// CHECK-DAG:     %[[T:.*]] = tensor.dim %[[X]], %c1
// CHECK:         scf.forall (%[[I:.*]]) in (2) shared_outs(%[[O:.*]] = %{{.*}})
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[O]][%[[I]], 0, 0, 0] [1, %[[B]], %[[T]], 8] [1, 1, 1, 1] : tensor<2x?x?x8xf32> to tensor<?x?x8xf32>
// CHECK-NEXT:      scf.if
// CHECK-NOT:         tensor.empty
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ROW]])
// CHECK:           } else {
// CHECK-NOT:         tensor.empty
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ROW]])
// CHECK:           scf.forall.in_parallel
// BUF-LABEL:   func.func @directions
// BUF:           scf.forall
// BUF-NOT:         memref.alloc
// BUF-NOT:         memref.copy
// BUF:           return
// BEFORE-LABEL: func.func @directions
// BEFORE:         scf.forall
// BEFORE:           memref.alloc
// BEFORE:           memref.copy
func.func @directions(%x: tensor<?x?x8xf32>) -> tensor<2x?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %init = tensor.empty(%b, %t) : tensor<2x?x?x8xf32>
  %r = scf.forall (%i) in (2) shared_outs(%o = %init) -> (tensor<2x?x?x8xf32>) {
    %first = arith.cmpi eq, %i, %c0 : index
    %seq = scf.if %first -> (tensor<?x?x8xf32>) {
      %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
      %f = scf.for %s = %c0 to %t step %c1 iter_args(%acc = %e) -> (tensor<?x?x8xf32>) {
        %slot = tensor.extract_slice %acc[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step = linalg.fill ins(%one : f32) outs(%slot : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins = tensor.insert_slice %step into %acc[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        scf.yield %ins : tensor<?x?x8xf32>
      }
      scf.yield %f : tensor<?x?x8xf32>
    } else {
      %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
      %f = scf.for %s = %c0 to %t step %c1 iter_args(%acc = %e) -> (tensor<?x?x8xf32>) {
        %slot = tensor.extract_slice %acc[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step = linalg.fill ins(%two : f32) outs(%slot : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins = tensor.insert_slice %step into %acc[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        scf.yield %ins : tensor<?x?x8xf32>
      }
      scf.yield %f : tensor<?x?x8xf32>
    }
    %d0 = tensor.dim %seq, %c0 : tensor<?x?x8xf32>
    %d1 = tensor.dim %seq, %c1 : tensor<?x?x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %seq into %o[%i, 0, 0, 0] [1, %d0, %d1, 8] [1, 1, 1, 1] : tensor<?x?x8xf32> into tensor<2x?x?x8xf32>
    }
  }
  return %r : tensor<2x?x?x8xf32>
}

// -----

// The training forward's shape: each branch fills two saved sequences in one
// loop, both started from one tensor.empty (CSE merges equal empties) in the
// first branch and from an empty defined above the forall in the second.
// Each use of an empty becomes its own row: the loop's two iteration
// arguments start from the rows of the two stacked outputs; the empty above
// the forall keeps its other use. Bufferized, nothing is allocated or
// copied in the forall.
// CHECK-LABEL: func.func @saved_sequences
// CHECK:         %[[OUTSIDE:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x8xf32>
// CHECK:         scf.forall (%[[I:.*]]) in (2) shared_outs(%[[O1:.*]] = %{{.*}}, %[[O2:.*]] = %{{.*}})
// CHECK-DAG:       %[[ROW1:.*]] = tensor.extract_slice %[[O1]][%[[I]], 0, 0, 0]
// CHECK-DAG:       %[[ROW2:.*]] = tensor.extract_slice %[[O2]][%[[I]], 0, 0, 0]
// CHECK:           scf.if
// CHECK-NOT:         tensor.empty
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ROW1]], %{{.*}} = %[[ROW2]])
// CHECK:           } else {
// CHECK-NOT:         tensor.empty
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ROW1]], %{{.*}} = %[[ROW2]])
// CHECK:         return %{{.*}}, %{{.*}}, %[[OUTSIDE]]
// BUF-LABEL:   func.func @saved_sequences
// BUF:           scf.forall
// BUF-NOT:         memref.alloc
// BUF-NOT:         memref.copy
// BUF:           return
// BEFORE-LABEL: func.func @saved_sequences
// BEFORE:         scf.forall
// BEFORE:           memref.alloc
// BEFORE:           memref.copy
func.func @saved_sequences(%x: tensor<?x?x8xf32>) -> (tensor<2x?x?x8xf32>, tensor<2x?x?x8xf32>, tensor<?x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %init = tensor.empty(%b, %t) : tensor<2x?x?x8xf32>
  %above = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %r:2 = scf.forall (%i) in (2) shared_outs(%o1 = %init, %o2 = %init) -> (tensor<2x?x?x8xf32>, tensor<2x?x?x8xf32>) {
    %first = arith.cmpi eq, %i, %c0 : index
    %seq:2 = scf.if %first -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
      %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
      %f:2 = scf.for %s = %c0 to %t step %c1 iter_args(%a1 = %e, %a2 = %e) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
        %slot1 = tensor.extract_slice %a1[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step1 = linalg.fill ins(%one : f32) outs(%slot1 : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins1 = tensor.insert_slice %step1 into %a1[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        %slot2 = tensor.extract_slice %a2[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step2 = linalg.fill ins(%two : f32) outs(%slot2 : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins2 = tensor.insert_slice %step2 into %a2[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        scf.yield %ins1, %ins2 : tensor<?x?x8xf32>, tensor<?x?x8xf32>
      }
      scf.yield %f#0, %f#1 : tensor<?x?x8xf32>, tensor<?x?x8xf32>
    } else {
      %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
      %f:2 = scf.for %s = %c0 to %t step %c1 iter_args(%a1 = %above, %a2 = %e) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
        %slot1 = tensor.extract_slice %a1[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step1 = linalg.fill ins(%two : f32) outs(%slot1 : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins1 = tensor.insert_slice %step1 into %a1[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        %slot2 = tensor.extract_slice %a2[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
        %step2 = linalg.fill ins(%one : f32) outs(%slot2 : tensor<?x8xf32>) -> tensor<?x8xf32>
        %ins2 = tensor.insert_slice %step2 into %a2[0, %s, 0] [%b, 1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<?x?x8xf32>
        scf.yield %ins1, %ins2 : tensor<?x?x8xf32>, tensor<?x?x8xf32>
      }
      scf.yield %f#0, %f#1 : tensor<?x?x8xf32>, tensor<?x?x8xf32>
    }
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %seq#0 into %o1[%i, 0, 0, 0] [1, %b, %t, 8] [1, 1, 1, 1] : tensor<?x?x8xf32> into tensor<2x?x?x8xf32>
      tensor.parallel_insert_slice %seq#1 into %o2[%i, 0, 0, 0] [1, %b, %t, 8] [1, 1, 1, 1] : tensor<?x?x8xf32> into tensor<2x?x?x8xf32>
    }
  }
  return %r#0, %r#1, %above : tensor<2x?x?x8xf32>, tensor<2x?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// A branch that yields its tensor.empty as it is (nothing written): the
// yielded value itself becomes the row.
// CHECK-LABEL: func.func @yields_empty
// CHECK:         scf.forall (%[[I:.*]]) in (2) shared_outs(%[[O:.*]] = %{{.*}})
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[O]][%[[I]], 0, 0]
// CHECK:           scf.if
// CHECK:             linalg.fill {{.*}} outs(%[[ROW]] :
// CHECK:           } else {
// CHECK-NEXT:        scf.yield %[[ROW]]
func.func @yields_empty(%b: index) -> tensor<2x?x8xf32> {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %init = tensor.empty(%b) : tensor<2x?x8xf32>
  %r = scf.forall (%i) in (2) shared_outs(%o = %init) -> (tensor<2x?x8xf32>) {
    %first = arith.cmpi eq, %i, %c0 : index
    %v = scf.if %first -> (tensor<?x8xf32>) {
      %e = tensor.empty(%b) : tensor<?x8xf32>
      %f = linalg.fill ins(%one : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
      scf.yield %f : tensor<?x8xf32>
    } else {
      %e = tensor.empty(%b) : tensor<?x8xf32>
      scf.yield %e : tensor<?x8xf32>
    }
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %v into %o[%i, 0, 0] [1, %b, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x?x8xf32>
    }
  }
  return %r : tensor<2x?x8xf32>
}

// -----

// Left alone: a result that one branch builds on something else than a
// tensor.empty (here the function's argument: the row would hold the
// argument's values only where the branch writes), and rows whose sizes
// differ between the branches.
// CHECK-LABEL: func.func @not_empty
// CHECK-NOT:     tensor.extract_slice %{{.*}}[%{{.*}}, 0, 0]
// CHECK:         tensor.empty(%{{.*}}) : tensor<?x8xf32>
// CHECK:         scf.forall.in_parallel
func.func @not_empty(%x: tensor<?x8xf32>, %n: index) -> (tensor<2x?x8xf32>, tensor<2x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 1.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x8xf32>
  %init = tensor.empty(%b) : tensor<2x?x8xf32>
  %r:2 = scf.forall (%i) in (2) shared_outs(%o = %init, %p = %init) -> (tensor<2x?x8xf32>, tensor<2x?x8xf32>) {
    %first = arith.cmpi eq, %i, %c0 : index
    %v:2 = scf.if %first -> (tensor<?x8xf32>, tensor<?x8xf32>) {
      %e = tensor.empty(%b) : tensor<?x8xf32>
      %f = linalg.fill ins(%cst : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
      %e2 = tensor.empty(%b) : tensor<?x8xf32>
      scf.yield %f, %e2 : tensor<?x8xf32>, tensor<?x8xf32>
    } else {
      %f = linalg.fill ins(%cst : f32) outs(%x : tensor<?x8xf32>) -> tensor<?x8xf32>
      %e2 = tensor.empty(%n) : tensor<?x8xf32>
      scf.yield %f, %e2 : tensor<?x8xf32>, tensor<?x8xf32>
    }
    %d0 = tensor.dim %v#0, %c0 : tensor<?x8xf32>
    %d1 = tensor.dim %v#1, %c0 : tensor<?x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %v#0 into %o[%i, 0, 0] [1, %d0, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x?x8xf32>
      tensor.parallel_insert_slice %v#1 into %p[%i, 0, 0] [1, %d1, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<2x?x8xf32>
    }
  }
  return %r#0, %r#1 : tensor<2x?x8xf32>, tensor<2x?x8xf32>
}
