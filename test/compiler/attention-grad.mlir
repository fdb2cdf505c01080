// rnn.attention_grad and rnn.last_step_grad end to end against PyTorch autograd
// (vector-Jacobian products with random cotangents of both attention results,
// in float64), relative error <= 1e-4: dot / general / additive (A != Hq,
// Hq != Hk), one-step and sequence queries, with and without source lengths
// (mixed within the batch); masked key positions get exactly zero dkeys.
// RUN: rnnc %s -o %t.exe
// RUN: %python %S/Inputs/check_attention_grad.py %t.exe %t.work | FileCheck %s
// CHECK-DAG: attention_grad dot/step: ok
// CHECK-DAG: attention_grad dot/step/lengths: ok
// CHECK-DAG: attention_grad dot/seq: ok
// CHECK-DAG: attention_grad dot/seq/lengths: ok
// CHECK-DAG: attention_grad general/step: ok
// CHECK-DAG: attention_grad general/step/lengths: ok
// CHECK-DAG: attention_grad general/seq: ok
// CHECK-DAG: attention_grad general/seq/lengths: ok
// CHECK-DAG: attention_grad additive/step: ok
// CHECK-DAG: attention_grad additive/step/lengths: ok
// CHECK-DAG: attention_grad additive/seq: ok
// CHECK-DAG: attention_grad additive/seq/lengths: ok
// CHECK-DAG: last_step_grad: ok
// CHECK-DAG: last_step_grad/lengths: ok
// CHECK-DAG: masked positions have zero dkeys: ok
// CHECK: all attention adjoints match autograd

module attributes {rnn.model = "attn_grads"} {
  func.func @attn_grads(
      %q: tensor<?x4xf32> {rnn.dims = ["B", "4"], rnn.input = "q", rnn.kind = "f32"},
      %qs: tensor<?x?x4xf32> {rnn.dims = ["B", "Q", "4"], rnn.input = "qs", rnn.kind = "f32"},
      %qd: tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.input = "qd", rnn.kind = "f32"},
      %qds: tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.input = "qds", rnn.kind = "f32"},
      %k: tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.input = "k", rnn.kind = "f32"},
      %n: tensor<?xi32> {rnn.dims = ["B"], rnn.input = "n", rnn.kind = "lengths", rnn.max = "S"},
      %dctx: tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.input = "dctx", rnn.kind = "f32"},
      %dctxs: tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.input = "dctxs", rnn.kind = "f32"},
      %dsc: tensor<?x?xf32> {rnn.dims = ["B", "S"], rnn.input = "dsc", rnn.kind = "f32"},
      %dscs: tensor<?x?x?xf32> {rnn.dims = ["B", "Q", "S"], rnn.input = "dscs", rnn.kind = "f32"},
      %w: tensor<4x6xf32> {rnn.param = "gen.weight", rnn.init = "uniform:0.5"},
      %wq: tensor<3x4xf32> {rnn.param = "add.query.weight", rnn.init = "uniform:0.5"},
      %wk: tensor<3x6xf32> {rnn.param = "add.key.weight", rnn.init = "uniform:0.5"},
      %v: tensor<1x3xf32> {rnn.param = "add.v.weight", rnn.init = "uniform:0.5"})
      -> (tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.output = "dot_step_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "dot_step_dk"},
          tensor<?x6xf32> {rnn.dims = ["B", "6"], rnn.output = "dot_step_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "dot_step_len_dk"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.output = "dot_seq_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "dot_seq_dk"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "Q", "6"], rnn.output = "dot_seq_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "dot_seq_len_dk"},
          tensor<?x4xf32> {rnn.dims = ["B", "4"], rnn.output = "gen_step_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "gen_step_dk"},
          tensor<4x6xf32> {rnn.dims = ["4", "6"], rnn.output = "gen_step_dw"},
          tensor<?x4xf32> {rnn.dims = ["B", "4"], rnn.output = "gen_step_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "gen_step_len_dk"},
          tensor<4x6xf32> {rnn.dims = ["4", "6"], rnn.output = "gen_step_len_dw"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "Q", "4"], rnn.output = "gen_seq_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "gen_seq_dk"},
          tensor<4x6xf32> {rnn.dims = ["4", "6"], rnn.output = "gen_seq_dw"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "Q", "4"], rnn.output = "gen_seq_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "gen_seq_len_dk"},
          tensor<4x6xf32> {rnn.dims = ["4", "6"], rnn.output = "gen_seq_len_dw"},
          tensor<?x4xf32> {rnn.dims = ["B", "4"], rnn.output = "add_step_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "add_step_dk"},
          tensor<3x4xf32> {rnn.dims = ["3", "4"], rnn.output = "add_step_dwq"},
          tensor<3x6xf32> {rnn.dims = ["3", "6"], rnn.output = "add_step_dwk"},
          tensor<1x3xf32> {rnn.dims = ["1", "3"], rnn.output = "add_step_dv"},
          tensor<?x4xf32> {rnn.dims = ["B", "4"], rnn.output = "add_step_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "add_step_len_dk"},
          tensor<3x4xf32> {rnn.dims = ["3", "4"], rnn.output = "add_step_len_dwq"},
          tensor<3x6xf32> {rnn.dims = ["3", "6"], rnn.output = "add_step_len_dwk"},
          tensor<1x3xf32> {rnn.dims = ["1", "3"], rnn.output = "add_step_len_dv"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "Q", "4"], rnn.output = "add_seq_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "add_seq_dk"},
          tensor<3x4xf32> {rnn.dims = ["3", "4"], rnn.output = "add_seq_dwq"},
          tensor<3x6xf32> {rnn.dims = ["3", "6"], rnn.output = "add_seq_dwk"},
          tensor<1x3xf32> {rnn.dims = ["1", "3"], rnn.output = "add_seq_dv"},
          tensor<?x?x4xf32> {rnn.dims = ["B", "Q", "4"], rnn.output = "add_seq_len_dq"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "add_seq_len_dk"},
          tensor<3x4xf32> {rnn.dims = ["3", "4"], rnn.output = "add_seq_len_dwq"},
          tensor<3x6xf32> {rnn.dims = ["3", "6"], rnn.output = "add_seq_len_dwk"},
          tensor<1x3xf32> {rnn.dims = ["1", "3"], rnn.output = "add_seq_len_dv"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "ls_dx"},
          tensor<?x?x6xf32> {rnn.dims = ["B", "S", "6"], rnn.output = "ls_len_dx"})
      attributes {rnn.entry} {
    %dot_step_dq, %dot_step_dk =
        rnn.attention_grad dot %qd, %k grads(%dctx, %dsc)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?x6xf32>, tensor<?x?xf32>)
        -> (tensor<?x6xf32>, tensor<?x?x6xf32>)
    %dot_step_len_dq, %dot_step_len_dk =
        rnn.attention_grad dot %qd, %k lengths(%n) grads(%dctx, %dsc)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<?x6xf32>, tensor<?x?xf32>)
        -> (tensor<?x6xf32>, tensor<?x?x6xf32>)
    %dot_seq_dq, %dot_seq_dk =
        rnn.attention_grad dot %qds, %k grads(%dctxs, %dscs)
        : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?x?xf32>)
        -> (tensor<?x?x6xf32>, tensor<?x?x6xf32>)
    %dot_seq_len_dq, %dot_seq_len_dk =
        rnn.attention_grad dot %qds, %k lengths(%n) grads(%dctxs, %dscs)
        : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<?x?x6xf32>,
           tensor<?x?x?xf32>)
        -> (tensor<?x?x6xf32>, tensor<?x?x6xf32>)
    %gen_step_dq, %gen_step_dk, %gen_step_dw =
        rnn.attention_grad general %q, %k weights(%w) grads(%dctx, %dsc)
        : (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<?x6xf32>, tensor<?x?xf32>)
        -> (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>)
    %gen_step_len_dq, %gen_step_len_dk, %gen_step_len_dw =
        rnn.attention_grad general %q, %k lengths(%n) weights(%w) grads(%dctx, %dsc)
        : (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<4x6xf32>, tensor<?x6xf32>,
           tensor<?x?xf32>)
        -> (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>)
    %gen_seq_dq, %gen_seq_dk, %gen_seq_dw =
        rnn.attention_grad general %qs, %k weights(%w) grads(%dctxs, %dscs)
        : (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<?x?x6xf32>,
           tensor<?x?x?xf32>)
        -> (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>)
    %gen_seq_len_dq, %gen_seq_len_dk, %gen_seq_len_dw =
        rnn.attention_grad general %qs, %k lengths(%n) weights(%w) grads(%dctxs, %dscs)
        : (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<4x6xf32>, tensor<?x?x6xf32>,
           tensor<?x?x?xf32>)
        -> (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>)
    %add_step_dq, %add_step_dk, %add_step_dwq, %add_step_dwk, %add_step_dv =
        rnn.attention_grad additive %q, %k weights(%wq, %wk, %v) grads(%dctx, %dsc)
        : (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>,
           tensor<?x6xf32>, tensor<?x?xf32>)
        -> (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>)
    %add_step_len_dq, %add_step_len_dk, %add_step_len_dwq, %add_step_len_dwk, %add_step_len_dv =
        rnn.attention_grad additive %q, %k lengths(%n) weights(%wq, %wk, %v) grads(%dctx, %dsc)
        : (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<3x4xf32>, tensor<3x6xf32>,
           tensor<1x3xf32>, tensor<?x6xf32>, tensor<?x?xf32>)
        -> (tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>)
    %add_seq_dq, %add_seq_dk, %add_seq_dwq, %add_seq_dwk, %add_seq_dv =
        rnn.attention_grad additive %qs, %k weights(%wq, %wk, %v) grads(%dctxs, %dscs)
        : (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>,
           tensor<?x?x6xf32>, tensor<?x?x?xf32>)
        -> (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>)
    %add_seq_len_dq, %add_seq_len_dk, %add_seq_len_dwq, %add_seq_len_dwk, %add_seq_len_dv =
        rnn.attention_grad additive %qs, %k lengths(%n) weights(%wq, %wk, %v) grads(%dctxs, %dscs)
        : (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<?xi32>, tensor<3x4xf32>, tensor<3x6xf32>,
           tensor<1x3xf32>, tensor<?x?x6xf32>, tensor<?x?x?xf32>)
        -> (tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>)
    %ls_dx = rnn.last_step_grad %dctx, %k
        : (tensor<?x6xf32>, tensor<?x?x6xf32>) -> tensor<?x?x6xf32>
    %ls_len_dx = rnn.last_step_grad %dctx, %k lengths(%n)
        : (tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?xi32>) -> tensor<?x?x6xf32>
    return %dot_step_dq, %dot_step_dk, %dot_step_len_dq, %dot_step_len_dk, %dot_seq_dq,
        %dot_seq_dk, %dot_seq_len_dq, %dot_seq_len_dk, %gen_step_dq, %gen_step_dk, %gen_step_dw,
        %gen_step_len_dq, %gen_step_len_dk, %gen_step_len_dw, %gen_seq_dq, %gen_seq_dk,
        %gen_seq_dw, %gen_seq_len_dq, %gen_seq_len_dk, %gen_seq_len_dw, %add_step_dq,
        %add_step_dk, %add_step_dwq, %add_step_dwk, %add_step_dv, %add_step_len_dq,
        %add_step_len_dk, %add_step_len_dwq, %add_step_len_dwk, %add_step_len_dv, %add_seq_dq,
        %add_seq_dk, %add_seq_dwq, %add_seq_dwk, %add_seq_dv, %add_seq_len_dq, %add_seq_len_dk,
        %add_seq_len_dwq, %add_seq_len_dwk, %add_seq_len_dv, %ls_dx, %ls_len_dx
        : tensor<?x6xf32>, tensor<?x?x6xf32>, tensor<?x6xf32>, tensor<?x?x6xf32>,
          tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>,
          tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<?x4xf32>,
          tensor<?x?x6xf32>, tensor<4x6xf32>, tensor<?x?x4xf32>, tensor<?x?x6xf32>,
          tensor<4x6xf32>, tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<4x6xf32>,
          tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>,
          tensor<?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>, tensor<1x3xf32>,
          tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>, tensor<3x6xf32>,
          tensor<1x3xf32>, tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<3x4xf32>,
          tensor<3x6xf32>, tensor<1x3xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>
  }
}
