// rnn.attention end to end against PyTorch: dot, general and additive scores,
// one-step and sequence queries, masked by source lengths.
// RUN: rnnc %s -o %t.exe
// RUN: %python %S/Inputs/check_attention.py %t.exe %t.work | FileCheck %s
// CHECK: dot: ok
// CHECK: general: ok
// CHECK: additive: ok
// CHECK: general-seq: ok
// CHECK: masked positions have zero weight: ok

module attributes {rnn.model = "attn"} {
  func.func @attn(
      %q: tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.input = "q", rnn.kind = "f32"},
      %qs: tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.input = "qs", rnn.kind = "f32"},
      %k: tensor<?x?x6xf32> {rnn.dims = ["B", "T", "6"], rnn.input = "k", rnn.kind = "f32"},
      %n: tensor<?xi32> {rnn.dims = ["B"], rnn.input = "n", rnn.kind = "lengths"},
      %w: tensor<6x6xf32> {rnn.param = "gen.weight", rnn.init = "uniform:0.4"},
      %wq: tensor<5x6xf32> {rnn.param = "add.query.weight", rnn.init = "uniform:0.4"},
      %wk: tensor<5x6xf32> {rnn.param = "add.key.weight", rnn.init = "uniform:0.4"},
      %v: tensor<1x5xf32> {rnn.param = "add.v.weight", rnn.init = "uniform:0.4"})
      -> (tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.output = "ctx_dot"},
          tensor<?x?xf32> {rnn.dims = ["B", "T"], rnn.output = "w_dot"},
          tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.output = "ctx_general"},
          tensor<?x?xf32> {rnn.dims = ["B", "T"], rnn.output = "w_general"},
          tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.output = "ctx_additive"},
          tensor<?x?xf32> {rnn.dims = ["B", "T"], rnn.output = "w_additive"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.output = "ctx_seq"},
          tensor<?x?x?xf32> {rnn.dims = ["B", "Q", "T"], rnn.output = "w_seq"})
      attributes {rnn.entry} {
    %c1, %w1 = rnn.attention dot %q, %k lengths(%n)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>) -> (tensor<?x6xf32>, tensor<?x?xf32>)
    %c2, %w2 = rnn.attention general %q, %k lengths(%n) weights(%w)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<6x6xf32>) -> (tensor<?x6xf32>, tensor<?x?xf32>)
    %c3, %w3 = rnn.attention additive %q, %k lengths(%n) weights(%wq, %wk, %v)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<1x5xf32>)
        -> (tensor<?x6xf32>, tensor<?x?xf32>)
    %c4, %w4 = rnn.attention general %qs, %k lengths(%n) weights(%w)
        : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<6x6xf32>) -> (tensor<?x?x6xf32>, tensor<?x?x?xf32>)
    return %c1, %w1, %c2, %w2, %c3, %w3, %c4, %w4
        : tensor<?x6xf32>, tensor<?x?xf32>, tensor<?x6xf32>, tensor<?x?xf32>, tensor<?x6xf32>, tensor<?x?xf32>,
          tensor<?x?x6xf32>, tensor<?x?x?xf32>
  }
}
