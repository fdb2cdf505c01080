// rnn.decode end to end against PyTorch: an LSTM-cell decoder with masked
// Luong (general) attention over encoder states, teacher-forced and greedy.
// RUN: rnnc %s -o %t.exe
// RUN: %python %S/Inputs/check_decode.py %t.exe %t.work | FileCheck %s
// CHECK: teacher forcing: scores ok, attention weights ok
// CHECK: greedy: tokens ok, scores ok

module attributes {rnn.model = "dec", rnn.vocabs = [{kind = "ids", name = "V", size = 6 : i64}]} {
  func.func @dec(
      %h0: tensor<?x8xf32> {rnn.dims = ["B", "8"], rnn.input = "h0", rnn.kind = "f32"},
      %c0: tensor<?x8xf32> {rnn.dims = ["B", "8"], rnn.input = "c0", rnn.kind = "f32"},
      %keys: tensor<?x?x8xf32> {rnn.dims = ["B", "T", "8"], rnn.input = "keys", rnn.kind = "f32"},
      %n: tensor<?xi32> {rnn.dims = ["B"], rnn.input = "n", rnn.kind = "lengths"},
      %y: tensor<?x?xi32> {rnn.dims = ["B", "U"], rnn.input = "y", rnn.kind = "tokens", rnn.vocab = "V"},
      %emb: tensor<6x4xf32> {rnn.param = "emb.weight", rnn.init = "normal:1"},
      %wih: tensor<32x4xf32> {rnn.param = "cell.weight_ih", rnn.init = "uniform:0.35"},
      %whh: tensor<32x8xf32> {rnn.param = "cell.weight_hh", rnn.init = "uniform:0.35"},
      %bih: tensor<32xf32> {rnn.param = "cell.bias_ih", rnn.init = "uniform:0.35"},
      %bhh: tensor<32xf32> {rnn.param = "cell.bias_hh", rnn.init = "uniform:0.35"},
      %wa: tensor<8x8xf32> {rnn.param = "att.weight", rnn.init = "uniform:0.35"},
      %wo: tensor<6x16xf32> {rnn.param = "out.weight", rnn.init = "uniform:0.25"},
      %bo: tensor<6xf32> {rnn.param = "out.bias", rnn.init = "uniform:0.25"})
      -> (tensor<?x?x6xf32> {rnn.dims = ["B", "U", "6"], rnn.output = "forced"},
          tensor<?x?x?xf32> {rnn.dims = ["B", "U", "T"], rnn.output = "forced_attn"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "7", "6"], rnn.output = "greedy"})
      attributes {rnn.entry} {
    %f, %fa, %fh, %fc = rnn.decode init(%h0, %c0) teacher(%y) {start = 1 : i64, end = 2 : i64, max_len = 7 : i64}
        : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x?xi32>)
        -> (tensor<?x?x6xf32>, tensor<?x?x?xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
    ^bb0(%prev: tensor<?xi32>, %h: tensor<?x8xf32>, %c: tensor<?x8xf32>):
      %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
      %gx = rnn.dense none %e, %wih, %bih : (tensor<?x4xf32>, tensor<32x4xf32>, tensor<32xf32>) -> tensor<?x32xf32>
      %gh = rnn.dense none %h, %whh, %bhh : (tensor<?x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<?x32xf32>
      %h2, %c2 = rnn.lstm_gates %gx, %gh, %c : tensor<?x32xf32>, tensor<?x8xf32>
      %ctx, %aw = rnn.attention general %h2, %keys lengths(%n) weights(%wa)
          : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
      %cat = tensor.concat dim(1) %h2, %ctx : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x16xf32>
      %s = rnn.dense none %cat, %wo, %bo : (tensor<?x16xf32>, tensor<6x16xf32>, tensor<6xf32>) -> tensor<?x6xf32>
      rnn.yield %s, %aw, %h2, %c2 : tensor<?x6xf32>, tensor<?x?xf32>, tensor<?x8xf32>, tensor<?x8xf32>
    }
    %g, %gh2, %gc2 = rnn.decode init(%h0, %c0) {start = 1 : i64, end = 2 : i64, max_len = 7 : i64}
        : (tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x6xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
    ^bb0(%prev: tensor<?xi32>, %h: tensor<?x8xf32>, %c: tensor<?x8xf32>):
      %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
      %gx = rnn.dense none %e, %wih, %bih : (tensor<?x4xf32>, tensor<32x4xf32>, tensor<32xf32>) -> tensor<?x32xf32>
      %gh = rnn.dense none %h, %whh, %bhh : (tensor<?x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<?x32xf32>
      %h2, %c2 = rnn.lstm_gates %gx, %gh, %c : tensor<?x32xf32>, tensor<?x8xf32>
      %ctx, %aw = rnn.attention general %h2, %keys lengths(%n) weights(%wa)
          : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
      %cat = tensor.concat dim(1) %h2, %ctx : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x16xf32>
      %s = rnn.dense none %cat, %wo, %bo : (tensor<?x16xf32>, tensor<6x16xf32>, tensor<6xf32>) -> tensor<?x6xf32>
      rnn.yield %s, %h2, %c2 : tensor<?x6xf32>, tensor<?x8xf32>, tensor<?x8xf32>
    }
    %gs = tensor.cast %g : tensor<?x?x6xf32> to tensor<?x?x6xf32>
    return %f, %fa, %gs : tensor<?x?x6xf32>, tensor<?x?x?xf32>, tensor<?x?x6xf32>
  }
}
