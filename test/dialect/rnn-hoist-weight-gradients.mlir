// RUN: rnn-opt %s -rnn-hoist-weight-gradients -split-input-file | FileCheck %s

// The shape rnn-bptt gives an RNN's adjoint loop: the state adjoint dh is
// carried, the saved states hs are a step input, and dW/db are summed over the
// steps as carried accumulators. After the pass the loop outputs dy_t as a
// sequence, the accumulators pass through, and one dense_grad over the
// [B, T, ...] sequences (dy and the saved states, read as the input sequence
// they already are) is added to their final values after the loop.
// CHECK-LABEL: func.func @rnn_adjoint
// CHECK-SAME: (%[[HS:[^:]*]]: tensor<?x?x8xf32>, %[[DYS:[^:]*]]: tensor<?x?x8xf32>, %[[W:[^:]*]]: tensor<8x8xf32>, %[[DH0:[^:]*]]: tensor<?x8xf32>, %[[Z:[^:]*]]: tensor<8x8xf32>, %[[ZB:[^:]*]]: tensor<8xf32>)
// CHECK:      %[[R:.*]]:4 = rnn.recurrence reverse(%[[HS]], %[[DYS]]) init(%[[DH0]], %[[Z]], %[[ZB]])
// CHECK-SAME:   -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>)
// CHECK-NEXT: ^bb0(%[[H:.*]]: tensor<?x8xf32>, %[[DY:.*]]: tensor<?x8xf32>, %[[DH:.*]]: tensor<?x8xf32>, %[[AW:.*]]: tensor<8x8xf32>, %[[AB:.*]]: tensor<8xf32>):
// CHECK:        %[[G:.*]] = rnn.activation_grad
// CHECK:        %[[DX:.*]], %{{.*}}, %{{.*}} = rnn.dense_grad %[[G]], %[[H]], %[[W]]
// CHECK-NOT:    linalg.add
// CHECK:        rnn.yield %[[G]], %[[DX]], %[[AW]], %[[AB]]
// CHECK:      %{{.*}}, %[[DW:.*]], %[[DB:.*]] = rnn.dense_grad %[[R]]#0, %[[HS]], %[[W]] : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x8xf32>)
// CHECK:      %[[SW:.*]] = linalg.add ins(%[[R]]#2, %[[DW]] : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK:      %[[SB:.*]] = linalg.add ins(%[[R]]#3, %[[DB]] : tensor<8xf32>, tensor<8xf32>)
// CHECK:      return %[[R]]#1, %[[SW]], %[[SB]]
func.func @rnn_adjoint(%hs: tensor<?x?x8xf32>, %dys: tensor<?x?x8xf32>, %w: tensor<8x8xf32>,
                       %dh0: tensor<?x8xf32>, %z: tensor<8x8xf32>, %zb: tensor<8xf32>)
    -> (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) {
  %dh, %aw, %ab = rnn.recurrence reverse(%hs, %dys) init(%dh0, %z, %zb)
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>)
      -> (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) {
  ^bb0(%h: tensor<?x8xf32>, %dy: tensor<?x8xf32>, %dht: tensor<?x8xf32>, %accw: tensor<8x8xf32>, %accb: tensor<8xf32>):
    %g = rnn.activation_grad tanh %h, %dht : tensor<?x8xf32>
    %dx, %dw, %db = rnn.dense_grad %g, %h, %w
        : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>)
    %e = tensor.empty() : tensor<8x8xf32>
    %sw = linalg.add ins(%accw, %dw : tensor<8x8xf32>, tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
    %eb = tensor.empty() : tensor<8xf32>
    %sb = linalg.add ins(%db, %accb : tensor<8xf32>, tensor<8xf32>) outs(%eb : tensor<8xf32>) -> tensor<8xf32>
    rnn.yield %dx, %sw, %sb : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
  }
  return %dh, %aw, %ab : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>
}

// -----

// An accumulator that is also read inside the step is not a plain sum over
// steps: the loop is left alone.
// CHECK-LABEL: func.func @read_inside
// CHECK:       rnn.recurrence reverse(%arg0) init(%arg2, %arg3) : (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<8x8xf32>)
// CHECK:       linalg.add
// CHECK-NOT:   rnn.dense_grad
func.func @read_inside(%hs: tensor<?x?x8xf32>, %w: tensor<8x8xf32>, %dh0: tensor<?x8xf32>, %z: tensor<8x8xf32>)
    -> tensor<8x8xf32> {
  %dh, %aw = rnn.recurrence reverse(%hs) init(%dh0, %z)
      : (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<8x8xf32>) {
  ^bb0(%h: tensor<?x8xf32>, %dht: tensor<?x8xf32>, %accw: tensor<8x8xf32>):
    %dx, %dw, %db = rnn.dense_grad %dht, %h, %accw
        : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>)
    %e = tensor.empty() : tensor<8x8xf32>
    %sw = linalg.add ins(%accw, %dw : tensor<8x8xf32>, tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
    rnn.yield %dx, %sw : tensor<?x8xf32>, tensor<8x8xf32>
  }
  return %aw : tensor<8x8xf32>
}
