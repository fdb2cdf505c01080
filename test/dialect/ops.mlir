// RUN: rnn-opt %s | FileCheck %s
// RUN: rnn-opt %s | rnn-opt | FileCheck %s
// RUN: rnn-opt %s -mlir-print-op-generic | rnn-opt | FileCheck %s

// CHECK-LABEL: func.func @layers
func.func @layers(%x: tensor<?x?xi32>, %table: tensor<5x16xf32>,
                  %wih: tensor<32x16xf32>, %whh: tensor<32x8xf32>, %bih: tensor<32xf32>, %bhh: tensor<32xf32>,
                  %w: tensor<5x8xf32>, %b: tensor<5xf32>, %y: tensor<?x?xi32>) -> (tensor<?x?x5xf32>, tensor<f32>) {
  // CHECK: rnn.onehot %{{.*}} : tensor<?x?xi32> -> tensor<?x?x5xf32>
  %h = rnn.onehot %x : tensor<?x?xi32> -> tensor<?x?x5xf32>
  // CHECK: rnn.embedding %{{.*}}, %{{.*}} : tensor<?x?xi32>, tensor<5x16xf32> -> tensor<?x?x16xf32>
  %e = rnn.embedding %x, %table : tensor<?x?xi32>, tensor<5x16xf32> -> tensor<?x?x16xf32>
  // CHECK: %[[OUT:.*]], %{{.*}}:2 = rnn.recurrent lstm forward %{{.*}} weights(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
  %seq, %hn, %cn = rnn.recurrent lstm forward %e weights(%wih, %whh, %bih, %bhh)
      {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
      : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>)
      -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
  // CHECK: rnn.dense none %[[OUT]], %{{.*}}, %{{.*}} : (tensor<?x?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x?x5xf32>
  %logits = rnn.dense none %seq, %w, %b : (tensor<?x?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x?x5xf32>
  // CHECK: rnn.dense tanh %{{.*}}, %{{.*}} : (tensor<?x?x8xf32>, tensor<5x8xf32>) -> tensor<?x?x5xf32>
  %nobias = rnn.dense tanh %seq, %w : (tensor<?x?x8xf32>, tensor<5x8xf32>) -> tensor<?x?x5xf32>
  // CHECK: rnn.softmax %{{.*}} : tensor<?x?x5xf32>
  %p = rnn.softmax %logits : tensor<?x?x5xf32>
  // CHECK: rnn.cross_entropy %{{.*}}, %{{.*}} : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
  %l = rnn.cross_entropy %logits, %y : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
  return %p, %l : tensor<?x?x5xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @bidirectional_gru
func.func @bidirectional_gru(%x: tensor<?x?x4xf32>, %lens: tensor<?xi32>,
    %a: tensor<18x4xf32>, %b: tensor<18x6xf32>, %c: tensor<18xf32>,
    %d: tensor<18x4xf32>, %e: tensor<18x6xf32>, %f: tensor<18xf32>) -> tensor<?x12xf32> {
  // CHECK: rnn.recurrent gru bidirectional %{{.*}} weights({{.*}}) lengths(%{{.*}}) {hidden = 6 : i64, layers = 1 : i64, return_sequences = false}
  %y, %hn = rnn.recurrent gru bidirectional %x weights(%a, %b, %c, %c, %d, %e, %f, %f) lengths(%lens)
      {hidden = 6 : i64, layers = 1 : i64, return_sequences = false}
      : (tensor<?x?x4xf32>, tensor<18x4xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>,
         tensor<18x4xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>, tensor<?xi32>)
      -> (tensor<?x12xf32>, tensor<2x?x6xf32>)
  return %y : tensor<?x12xf32>
}

// CHECK-LABEL: func.func @cells
func.func @cells(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>, %c0: tensor<?x8xf32>,
                 %wih: tensor<32x5xf32>, %whh: tensor<32x8xf32>, %bih: tensor<32xf32>, %bhh: tensor<32xf32>,
                 %w3: tensor<24x5xf32>, %u3: tensor<24x8xf32>, %w1: tensor<8x5xf32>, %u1: tensor<8x8xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x8xf32>) {
  // CHECK: rnn.recurrence reverse(%{{.*}}) init(%{{.*}}, %{{.*}})
  // CHECK: ^bb0(%[[XT:.*]]: tensor<?x5xf32>, %[[H:.*]]: tensor<?x8xf32>, %[[C:.*]]: tensor<?x8xf32>):
  %ys, %h, %c = rnn.recurrence reverse(%xs) init(%h0, %c0)
      : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %wih, %bih : (tensor<?x5xf32>, tensor<32x5xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    %gh = rnn.dense none %ht, %whh, %bhh : (tensor<?x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    // CHECK: rnn.lstm_gates %{{.*}}, %{{.*}}, %[[C]] : tensor<?x32xf32>, tensor<?x8xf32>
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
    // CHECK: rnn.yield %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
  // CHECK: rnn.recurrence(%{{.*}}) init(%{{.*}})
  %final = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %w3 : (tensor<?x5xf32>, tensor<24x5xf32>) -> tensor<?x24xf32>
    %gh = rnn.dense none %ht, %u3 : (tensor<?x8xf32>, tensor<24x8xf32>) -> tensor<?x24xf32>
    // CHECK: rnn.gru_gates %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x24xf32>, tensor<?x8xf32>
    %h2 = rnn.gru_gates %gx, %gh, %ht : tensor<?x24xf32>, tensor<?x8xf32>
    %ex = rnn.dense none %xt, %w1 : (tensor<?x5xf32>, tensor<8x5xf32>) -> tensor<?x8xf32>
    %eh = rnn.dense none %h2, %u1 : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    // CHECK: rnn.rnn_gates relu %{{.*}}, %{{.*}} : tensor<?x8xf32>
    %h3 = rnn.rnn_gates relu %ex, %eh : tensor<?x8xf32>
    rnn.yield %h3 : tensor<?x8xf32>
  }
  return %ys, %final : tensor<?x?x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func.func @lengths
// CHECK: rnn.sequence_lengths %{{.*}} : tensor<?x?xi32> -> tensor<?xi32>
// CHECK: rnn.sequence_lengths %{{.*}} {padding = 2 : i64} : tensor<?x?xi32> -> tensor<?xi32>
func.func @lengths(%x: tensor<?x?xi32>) -> (tensor<?xi32>, tensor<?xi32>) {
  %a = rnn.sequence_lengths %x : tensor<?x?xi32> -> tensor<?xi32>
  %b = rnn.sequence_lengths %x {padding = 2 : i64} : tensor<?x?xi32> -> tensor<?xi32>
  return %a, %b : tensor<?xi32>, tensor<?xi32>
}

// CHECK-LABEL: func.func @last
// CHECK: rnn.last_step %{{.*}} lengths(%{{.*}}) : (tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
// CHECK: rnn.last_step %{{.*}} : (tensor<?x?x8xf32>) -> tensor<?x8xf32>
func.func @last(%x: tensor<?x?x8xf32>, %n: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %a = rnn.last_step %x lengths(%n) : (tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  %b = rnn.last_step %x : (tensor<?x?x8xf32>) -> tensor<?x8xf32>
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK: rnn.attention dot %{{.*}}, %{{.*}} : (tensor<?x8xf32>, tensor<?x?x8xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
// CHECK: rnn.attention general %{{.*}}, %{{.*}} lengths(%{{.*}}) weights(%{{.*}})
// CHECK: rnn.attention additive %{{.*}}, %{{.*}} weights(%{{.*}}, %{{.*}}, %{{.*}})
func.func @attention(%q: tensor<?x8xf32>, %qs: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>, %n: tensor<?xi32>,
                     %w: tensor<8x8xf32>, %wq: tensor<4x8xf32>, %wk: tensor<4x8xf32>, %v: tensor<1x4xf32>) {
  %c1, %w1 = rnn.attention dot %q, %k : (tensor<?x8xf32>, tensor<?x?x8xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  %c2, %w2 = rnn.attention general %qs, %k lengths(%n) weights(%w)
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x?xf32>)
  %c3, %w3 = rnn.attention additive %q, %k weights(%wq, %wk, %v)
      : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x4xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  return
}

// CHECK-LABEL: func.func @decode
// CHECK: rnn.decode init(%{{.*}}) teacher(%{{.*}}) {end = 2 : i64, max_len = 9 : i64, start = 1 : i64}
// CHECK: ^bb0(%{{.*}}: tensor<?xi32>, %{{.*}}: tensor<?x4xf32>):
// CHECK: rnn.decode init(%{{.*}}) {end = 2 : i64, max_len = 9 : i64, start = 1 : i64}
func.func @decode(%h0: tensor<?x4xf32>, %y: tensor<?x?xi32>, %emb: tensor<6x4xf32>, %w: tensor<6x4xf32>)
    -> (tensor<?x?x6xf32>, tensor<?x?x6xf32>) {
  %a, %ha = rnn.decode init(%h0) teacher(%y) {start = 1 : i64, end = 2 : i64, max_len = 9 : i64}
      : (tensor<?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %h: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %h : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  %b, %hb = rnn.decode init(%h0) {start = 1 : i64, end = 2 : i64, max_len = 9 : i64}
      : (tensor<?x4xf32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %h: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %h : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  return %a, %b : tensor<?x?x6xf32>, tensor<?x?x6xf32>
}

// CHECK-LABEL: func.func @adjoints
// CHECK: rnn.activation_grad tanh
// CHECK: rnn.dense_grad
// CHECK: rnn.lstm_gates_grad
// CHECK: rnn.gru_gates_grad
// CHECK: rnn.softmax_grad
// CHECK: rnn.cross_entropy_grad
// CHECK: rnn.mse_grad
// CHECK: rnn.embedding_grad
// CHECK: rnn.last_step_grad %{{.*}}, %{{.*}} lengths(%{{.*}}) : (tensor<?x5xf32>, tensor<?x?x5xf32>, tensor<?xi32>) -> tensor<?x?x5xf32>
// CHECK: rnn.attention_grad general %{{.*}}, %{{.*}} lengths(%{{.*}}) weights(%{{.*}}) grads(%{{.*}}, %{{.*}})
func.func @adjoints(%y: tensor<?x8xf32>, %x: tensor<?x5xf32>, %w: tensor<8x5xf32>, %g32: tensor<?x32xf32>,
                   %g24: tensor<?x24xf32>, %l: tensor<?x?x5xf32>, %t: tensor<?x?xi32>, %dl: tensor<f32>,
                   %emb: tensor<?x?x3xf32>) {
  %a = rnn.activation_grad tanh %y, %y : tensor<?x8xf32>
  %dx, %dw, %db = rnn.dense_grad %y, %x, %w : (tensor<?x8xf32>, tensor<?x5xf32>, tensor<8x5xf32>) -> (tensor<?x5xf32>, tensor<8x5xf32>, tensor<8xf32>)
  %dg, %dc = rnn.lstm_gates_grad %g32, %g32, %y, %y, %y : tensor<?x32xf32>, tensor<?x8xf32>
  %dgx, %dgh, %dh = rnn.gru_gates_grad %g24, %g24, %y, %y : tensor<?x24xf32>, tensor<?x8xf32>
  %ds = rnn.softmax_grad %l, %l : tensor<?x?x5xf32>
  %dce = rnn.cross_entropy_grad %l, %t, %dl : tensor<?x?x5xf32>, tensor<?x?xi32>, tensor<f32>
  %dm = rnn.mse_grad %y, %y, %dl : tensor<?x8xf32>, tensor<f32>
  %de = rnn.embedding_grad %t, %emb : (tensor<?x?xi32>, tensor<?x?x3xf32>) -> tensor<7x3xf32>
  %n = arith.constant dense<2> : tensor<3xi32>
  %nd = tensor.cast %n : tensor<3xi32> to tensor<?xi32>
  %dlast = rnn.last_step_grad %x, %l lengths(%nd) : (tensor<?x5xf32>, tensor<?x?x5xf32>, tensor<?xi32>) -> tensor<?x?x5xf32>
  %sq = arith.constant dense<0.5> : tensor<5x5xf32>
  %dq, %dk, %dwa = rnn.attention_grad general %x, %l lengths(%nd) weights(%sq) grads(%x, %x)
      : (tensor<?x5xf32>, tensor<?x?x5xf32>, tensor<?xi32>, tensor<5x5xf32>, tensor<?x5xf32>, tensor<?x5xf32>)
      -> (tensor<?x5xf32>, tensor<?x?x5xf32>, tensor<5x5xf32>)
  return
}
