// The adjoint ops end to end against PyTorch autograd (vector-Jacobian
// products with random cotangents), relative error <= 1e-4.
// RUN: rnnc %s -o %t.exe
// RUN: %python %S/Inputs/check_grad_ops.py %t.exe %t.work | FileCheck %s
// CHECK-DAG: lstm_gates_grad: ok
// CHECK-DAG: gru_gates_grad: ok
// CHECK-DAG: activation_grad tanh/sigmoid/relu: ok
// CHECK-DAG: dense_grad: ok
// CHECK-DAG: softmax_grad: ok
// CHECK-DAG: cross_entropy_grad: ok
// CHECK-DAG: mse_grad: ok
// CHECK-DAG: embedding_grad: ok
// CHECK: all adjoints match autograd

module attributes {rnn.model = "grads", rnn.vocabs = [{kind = "ids", name = "C", size = 4 : i64}, {kind = "ids", name = "E", size = 6 : i64}]} {
  func.func @grads(
      %gx: tensor<?x12xf32> {rnn.dims = ["B", "12"], rnn.input = "gx", rnn.kind = "f32"},
      %gh: tensor<?x12xf32> {rnn.dims = ["B", "12"], rnn.input = "gh", rnn.kind = "f32"},
      %c: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "c", rnn.kind = "f32"},
      %dh: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "dh", rnn.kind = "f32"},
      %dc: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "dc", rnn.kind = "f32"},
      %rx: tensor<?x9xf32> {rnn.dims = ["B", "9"], rnn.input = "rx", rnn.kind = "f32"},
      %rh: tensor<?x9xf32> {rnn.dims = ["B", "9"], rnn.input = "rh", rnn.kind = "f32"},
      %h: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "h", rnn.kind = "f32"},
      %ax: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "ax", rnn.kind = "f32"},
      %x3: tensor<?x?x5xf32> {rnn.dims = ["B", "T", "5"], rnn.input = "x3", rnn.kind = "f32"},
      %dy3: tensor<?x?x4xf32> {rnn.dims = ["B", "T", "4"], rnn.input = "dy3", rnn.kind = "f32"},
      %z: tensor<?x?x4xf32> {rnn.dims = ["B", "T", "4"], rnn.input = "z", rnn.kind = "f32"},
      %tgt: tensor<?x?xi32> {rnn.dims = ["B", "T"], rnn.input = "tgt", rnn.kind = "tokens", rnn.vocab = "C"},
      %pred: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "pred", rnn.kind = "f32"},
      %ptgt: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "ptgt", rnn.kind = "f32"},
      %tok: tensor<?x?xi32> {rnn.dims = ["B", "T"], rnn.input = "tok", rnn.kind = "tokens", rnn.vocab = "E"},
      %w: tensor<4x5xf32> {rnn.param = "w", rnn.init = "uniform:1"},
      %w3: tensor<3x3xf32> {rnn.param = "w3", rnn.init = "uniform:1"})
      -> (tensor<?x12xf32> {rnn.dims = ["B", "12"], rnn.output = "lstm_dg"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "lstm_dc"},
          tensor<?x9xf32> {rnn.dims = ["B", "9"], rnn.output = "gru_dgx"},
          tensor<?x9xf32> {rnn.dims = ["B", "9"], rnn.output = "gru_dgh"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "gru_dh"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "act_tanh"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "act_sigmoid"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "act_relu"},
          tensor<?x?x5xf32> {rnn.dims = ["B", "T", "5"], rnn.output = "dense_dx"},
          tensor<4x5xf32> {rnn.dims = ["4", "5"], rnn.output = "dense_dw"},
          tensor<4xf32> {rnn.dims = ["4"], rnn.output = "dense_db"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "T", "4"], rnn.output = "softmax_dz"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "T", "4"], rnn.output = "ce_dlogits"},
          tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.output = "mse_dpred"},
          tensor<6x4xf32> {rnn.dims = ["6", "4"], rnn.output = "emb_dtable"})
      attributes {rnn.entry} {
    %dl = arith.constant dense<1.5> : tensor<f32>
    %dg, %dcp = rnn.lstm_gates_grad %gx, %gh, %c, %dh, %dc : tensor<?x12xf32>, tensor<?x3xf32>
    %dgx, %dgh, %dhp = rnn.gru_gates_grad %rx, %rh, %h, %dh : tensor<?x9xf32>, tensor<?x3xf32>
    %yt = rnn.rnn_gates tanh %ax, %h : tensor<?x3xf32>
    %ys = rnn.dense sigmoid %ax, %w3 : (tensor<?x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
    %yr = rnn.rnn_gates relu %ax, %h : tensor<?x3xf32>
    %at = rnn.activation_grad tanh %yt, %dh : tensor<?x3xf32>
    %as = rnn.activation_grad sigmoid %ys, %dh : tensor<?x3xf32>
    %ar = rnn.activation_grad relu %yr, %dh : tensor<?x3xf32>
    %dx, %dw, %db = rnn.dense_grad %dy3, %x3, %w
        : (tensor<?x?x4xf32>, tensor<?x?x5xf32>, tensor<4x5xf32>) -> (tensor<?x?x5xf32>, tensor<4x5xf32>, tensor<4xf32>)
    %sy = rnn.softmax %z : tensor<?x?x4xf32>
    %dz = rnn.softmax_grad %sy, %dy3 : tensor<?x?x4xf32>
    %dlog = rnn.cross_entropy_grad %z, %tgt, %dl : tensor<?x?x4xf32>, tensor<?x?xi32>, tensor<f32>
    %dp = rnn.mse_grad %pred, %ptgt, %dl : tensor<?x3xf32>, tensor<f32>
    %dt = rnn.embedding_grad %tok, %dy3 : (tensor<?x?xi32>, tensor<?x?x4xf32>) -> tensor<6x4xf32>
    return %dg, %dcp, %dgx, %dgh, %dhp, %at, %as, %ar, %dx, %dw, %db, %dz, %dlog, %dp, %dt
        : tensor<?x12xf32>, tensor<?x3xf32>, tensor<?x9xf32>, tensor<?x9xf32>, tensor<?x3xf32>,
          tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x?x5xf32>, tensor<4x5xf32>,
          tensor<4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x3xf32>, tensor<6x4xf32>
  }
}
