// RUN: rnn-opt %s -rnn-teacher-forcing -split-input-file | FileCheck %s

// A teacher-forced decoder is a recurrence over the teacher's tokens shifted
// right by one step: the start token, then y[:, 0 .. T-2]; same body.
// CHECK-LABEL: func.func @teacher
// CHECK-SAME: (%[[Y:.*]]: tensor<?x?xi32>, %[[H0:.*]]: tensor<?x4xf32>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[START:.*]] = arith.constant 3 : i32
// CHECK: %[[B:.*]] = tensor.dim %[[Y]], %[[C0]]
// CHECK: %[[T:.*]] = tensor.dim %[[Y]], %[[C1]]
// CHECK: %[[COL:.*]] = linalg.fill ins(%[[START]] : i32) outs(%{{.*}} : tensor<?x1xi32>)
// CHECK: %[[TM1:.*]] = arith.subi %[[T]], %[[C1]]
// CHECK: %[[HEAD:.*]] = tensor.extract_slice %[[Y]][0, 0] [%[[B]], %[[TM1]]] [1, 1]
// CHECK: %[[PREV:.*]] = tensor.concat dim(1) %[[COL]], %[[HEAD]]
// CHECK: %[[R:.*]]:2 = rnn.recurrence(%[[PREV]]) init(%[[H0]]) : (tensor<?x?xi32>, tensor<?x4xf32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>)
// CHECK-NEXT: ^bb0(%[[P:.*]]: tensor<?xi32>, %[[H:.*]]: tensor<?x4xf32>):
// CHECK-NEXT:   rnn.embedding %[[P]]
// CHECK-NOT: rnn.decode
// CHECK: return %[[R]]#0
func.func @teacher(%y: tensor<?x?xi32>, %h0: tensor<?x4xf32>, %emb: tensor<6x4xf32>, %w: tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  %a:2 = rnn.decode init(%h0) teacher(%y) {start = 3 : i64, end = 4 : i64, max_len = 5 : i64}
      : (tensor<?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %h: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %h : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  return %a#0 : tensor<?x?x6xf32>
}

// -----

// Greedy decoding depends on its own outputs: it stays an rnn.decode.
// CHECK-LABEL: func.func @greedy
// CHECK: rnn.decode init(
func.func @greedy(%h0: tensor<?x4xf32>, %emb: tensor<6x4xf32>, %w: tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  %a:2 = rnn.decode init(%h0) {start = 3 : i64, end = 4 : i64, max_len = 5 : i64}
      : (tensor<?x4xf32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %h: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %h : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  return %a#0 : tensor<?x?x6xf32>
}
