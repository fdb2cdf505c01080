// gen-rnn.mlir without its step function: the program has no rnnc_model_step and its
// descriptor no `step` line, so it cannot generate.
module attributes {rnn.model = "gen", rnn.vocabs = [{kind = "chars", name = "V", size = 4 : i64, tokens = ["a", "b", "c", "d"]}]} {
  func.func @gen(%x: tensor<?x?xi32> {rnn.dims = ["B", "T"], rnn.input = "x", rnn.kind = "tokens", rnn.vocab = "V"},
                 %wih: tensor<8x4xf32> {rnn.param = "cell.weight_ih_l0", rnn.init = "uniform:0.35"},
                 %whh: tensor<8x8xf32> {rnn.param = "cell.weight_hh_l0", rnn.init = "uniform:0.35"},
                 %bih: tensor<8xf32> {rnn.param = "cell.bias_ih_l0", rnn.init = "uniform:0.35"},
                 %bhh: tensor<8xf32> {rnn.param = "cell.bias_hh_l0", rnn.init = "uniform:0.35"},
                 %wo: tensor<4x8xf32> {rnn.param = "head.weight", rnn.init = "uniform:0.35"},
                 %bo: tensor<4xf32> {rnn.param = "head.bias", rnn.init = "uniform:0.35"})
      -> (tensor<?x?x4xf32> {rnn.dims = ["B", "T", "4"], rnn.output = "probs", rnn.vocab = "V", rnn.scores = "probs"})
      attributes {rnn.entry} {
    %oh = rnn.onehot %x : tensor<?x?xi32> -> tensor<?x?x4xf32>
    %c0 = arith.constant 0 : index
    %b = tensor.dim %x, %c0 : tensor<?x?xi32>
    %e = tensor.empty(%b) : tensor<?x8xf32>
    %zero = arith.constant 0.0 : f32
    %h0 = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    %ys, %h = rnn.recurrence(%oh) init(%h0) : (tensor<?x?x4xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>) {
    ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x8xf32>):
      %gx = rnn.dense none %xt, %wih, %bih : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x8xf32>
      %gh = rnn.dense none %ht, %whh, %bhh : (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
      %h2 = rnn.rnn_gates tanh %gx, %gh : tensor<?x8xf32>
      rnn.yield %h2, %h2 : tensor<?x8xf32>, tensor<?x8xf32>
    }
    %l = rnn.dense none %ys, %wo, %bo : (tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %p = rnn.softmax %l : tensor<?x?x4xf32>
    return %p : tensor<?x?x4xf32>
  }
}
