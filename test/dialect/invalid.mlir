// RUN: rnn-opt %s -split-input-file -verify-diagnostics

func.func @onehot_rank(%x: tensor<?x?xi32>) {
  // expected-error @+1 {{'rnn.onehot' op result must have rank 3 (token shape plus a class axis), got 2}}
  %h = rnn.onehot %x : tensor<?x?xi32> -> tensor<?x5xf32>
  return
}

// -----

func.func @onehot_dynamic_classes(%x: tensor<?xi32>) {
  // expected-error @+1 {{'rnn.onehot' op result class axis must be static}}
  %h = rnn.onehot %x : tensor<?xi32> -> tensor<?x?xf32>
  return
}

// -----

func.func @onehot_float_tokens(%x: tensor<?xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit signless integer values}}
  %h = rnn.onehot %x : tensor<?xf32> -> tensor<?x5xf32>
  return
}

// -----

func.func @embedding_dim(%x: tensor<?x?xi32>, %t: tensor<5x16xf32>) {
  // expected-error @+1 {{'rnn.embedding' op result has shape [?, ?, 8], expected [?, ?, 16]}}
  %e = rnn.embedding %x, %t : tensor<?x?xi32>, tensor<5x16xf32> -> tensor<?x?x8xf32>
  return
}

// -----

func.func @embedding_dynamic_table(%x: tensor<?x?xi32>, %t: tensor<?x16xf32>) {
  // expected-error @+1 {{'rnn.embedding' op table must be a static [vocab, dim] matrix, got [?, 16]}}
  %e = rnn.embedding %x, %t : tensor<?x?xi32>, tensor<?x16xf32> -> tensor<?x?x16xf32>
  return
}

// -----

func.func @recurrent_weight_count(%x: tensor<?x?x5xf32>, %w: tensor<32x5xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op expects 4 weights (weight_ih, weight_hh, bias_ih, bias_hh for 1 layer(s) x 1 direction(s)), got 1}}
  %y, %h, %c = rnn.recurrent lstm forward %x weights(%w) {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
      : (tensor<?x?x5xf32>, tensor<32x5xf32>) -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @recurrent_weight_shape(%x: tensor<?x?x5xf32>, %a: tensor<24x5xf32>, %b: tensor<24x8xf32>, %c: tensor<24xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op weight_ih_l0 has shape [24, 5], expected [32, 5]}}
  %y, %h, %c2 = rnn.recurrent lstm forward %x weights(%a, %b, %c, %c) {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
      : (tensor<?x?x5xf32>, tensor<24x5xf32>, tensor<24x8xf32>, tensor<24xf32>, tensor<24xf32>) -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @recurrent_second_layer(%x: tensor<?x?x5xf32>, %a: tensor<24x5xf32>, %b: tensor<24x8xf32>, %c: tensor<24xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op weight_ih_l1 has shape [24, 5], expected [24, 8]}}
  %y, %h = rnn.recurrent gru forward %x weights(%a, %b, %c, %c, %a, %b, %c, %c) {hidden = 8 : i64, layers = 2 : i64, return_sequences = true}
      : (tensor<?x?x5xf32>, tensor<24x5xf32>, tensor<24x8xf32>, tensor<24xf32>, tensor<24xf32>,
         tensor<24x5xf32>, tensor<24x8xf32>, tensor<24xf32>, tensor<24xf32>) -> (tensor<?x?x8xf32>, tensor<2x?x8xf32>)
  return
}

// -----

func.func @recurrent_output(%x: tensor<?x?x5xf32>, %a: tensor<8x5xf32>, %b: tensor<8x8xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op output has shape [?, ?, 8], expected [?, 8]}}
  %y, %h = rnn.recurrent rnn forward %x weights(%a, %b, %c, %c) {hidden = 8 : i64, layers = 1 : i64, return_sequences = false}
      : (tensor<?x?x5xf32>, tensor<8x5xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @recurrent_states(%x: tensor<?x?x5xf32>, %a: tensor<8x5xf32>, %b: tensor<8x8xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op expects 1 final state result(s), got 2}}
  %y, %h, %c2 = rnn.recurrent rnn forward %x weights(%a, %b, %c, %c) {hidden = 8 : i64, layers = 1 : i64, return_sequences = false}
      : (tensor<?x?x5xf32>, tensor<8x5xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @recurrent_activation(%x: tensor<?x?x5xf32>, %a: tensor<24x5xf32>, %b: tensor<24x8xf32>, %c: tensor<24xf32>) {
  // expected-error @+1 {{'rnn.recurrent' op activation applies to rnn cells only}}
  %y, %h = rnn.recurrent gru forward %x weights(%a, %b, %c, %c) {hidden = 8 : i64, layers = 1 : i64, return_sequences = false, activation = 2 : i32}
      : (tensor<?x?x5xf32>, tensor<24x5xf32>, tensor<24x8xf32>, tensor<24xf32>, tensor<24xf32>) -> (tensor<?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @recurrent_hidden(%x: tensor<?x?x5xf32>, %a: tensor<8x5xf32>, %b: tensor<8x8xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{attribute 'hidden' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y, %h = rnn.recurrent rnn forward %x weights(%a, %b, %c, %c) {hidden = 0 : i64, layers = 1 : i64, return_sequences = false}
      : (tensor<?x?x5xf32>, tensor<8x5xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8xf32>, tensor<1x?x8xf32>)
  return
}

// -----

func.func @dense_features(%x: tensor<?x7xf32>, %w: tensor<5x8xf32>) {
  // expected-error @+1 {{'rnn.dense' op input feature size 7 does not match weight [5, 8]}}
  %y = rnn.dense none %x, %w : (tensor<?x7xf32>, tensor<5x8xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @dense_bias(%x: tensor<?x8xf32>, %w: tensor<5x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'rnn.dense' op bias has shape [4], expected [5]}}
  %y = rnn.dense none %x, %w, %b : (tensor<?x8xf32>, tensor<5x8xf32>, tensor<4xf32>) -> tensor<?x5xf32>
  return
}

// -----

func.func @cross_entropy_fit(%l: tensor<?x?x5xf32>, %y: tensor<?xi32>) {
  // expected-error @+1 {{'rnn.cross_entropy' op target [?] does not fit logits [?, ?, 5] (expected the logits' shape without the class axis)}}
  %r = rnn.cross_entropy %l, %y : tensor<?x?x5xf32>, tensor<?xi32> -> tensor<f32>
  return
}

// -----

func.func @mse_fit(%p: tensor<?x1xf32>, %y: tensor<?x2xf32>) {
  // expected-error @+1 {{'rnn.mse' op target [?, 2] does not fit prediction [?, 1]}}
  %r = rnn.mse %p, %y : tensor<?x1xf32>, tensor<?x2xf32> -> tensor<f32>
  return
}

// -----

func.func @lstm_gates_width(%g: tensor<?x24xf32>, %c: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.lstm_gates' op gx has shape [?, 24], expected [?, 32]}}
  %h, %c2 = rnn.lstm_gates %g, %g, %c : tensor<?x24xf32>, tensor<?x8xf32>
  return
}

// -----

func.func @gru_gates_width(%g: tensor<?x32xf32>, %h: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.gru_gates' op gx has shape [?, 32], expected [?, 24]}}
  %h2 = rnn.gru_gates %g, %g, %h : tensor<?x32xf32>, tensor<?x8xf32>
  return
}

// -----

func.func @recurrence_args(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.recurrence' op body must take 2 arguments (one step of each input, then the states), got 1}}
  %r = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    rnn.yield %h : tensor<?x8xf32>
  }
  return
}

// -----

func.func @recurrence_step_type(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.recurrence' op body argument #0 must be one step of input #0 ([?, 5])}}
  %r = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%x: tensor<?x6xf32>, %h: tensor<?x8xf32>):
    rnn.yield %h : tensor<?x8xf32>
  }
  return
}

// -----

func.func @recurrence_next_state(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>) {
  %r = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%x: tensor<?x5xf32>, %h: tensor<?x8xf32>):
    // expected-error @+1 {{'rnn.yield' op next state #0 must have the type of init #0}}
    rnn.yield %x : tensor<?x5xf32>
  }
  return
}

// -----

func.func @recurrence_results(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.recurrence' op expects 2 results (1 sequence(s), 1 final state(s)), got 1}}
  %r = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%x: tensor<?x5xf32>, %h: tensor<?x8xf32>):
    rnn.yield %h, %h : tensor<?x8xf32>, tensor<?x8xf32>
  }
  return
}

// -----

func.func @recurrence_sequence_type(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>) {
  // expected-error @+1 {{'rnn.recurrence' op sequence result #0 has shape [?, ?, 9], expected [?, ?, 8]}}
  %s, %r = rnn.recurrence(%xs) init(%h0) : (tensor<?x?x5xf32>, tensor<?x8xf32>) -> (tensor<?x?x9xf32>, tensor<?x8xf32>) {
  ^bb0(%x: tensor<?x5xf32>, %h: tensor<?x8xf32>):
    rnn.yield %h, %h : tensor<?x8xf32>, tensor<?x8xf32>
  }
  return
}

// -----

func.func @yield_outside() {
  // expected-error @+1 {{'rnn.yield' op expects parent op to be one of 'rnn.recurrence, rnn.decode'}}
  rnn.yield
}

// -----

func.func @lengths_rank(%x: tensor<?xi32>) {
  // expected-error @+1 {{'rnn.sequence_lengths' op tokens must be [B, T], got [?]}}
  %n = rnn.sequence_lengths %x : tensor<?xi32> -> tensor<?xi32>
  return
}

// -----

func.func @last_step_shape(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{'rnn.last_step' op result has shape [?, 7], expected [?, 8]}}
  %y = rnn.last_step %x : (tensor<?x?x8xf32>) -> tensor<?x7xf32>
  return
}

// -----

func.func @attention_dot_sizes(%q: tensor<?x4xf32>, %k: tensor<?x?x8xf32>) {
  // expected-error @+1 {{'rnn.attention' op dot attention needs equal query and key sizes, got 4 and 8}}
  %c, %w = rnn.attention dot %q, %k : (tensor<?x4xf32>, tensor<?x?x8xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  return
}

// -----

func.func @attention_general_weight(%q: tensor<?x4xf32>, %k: tensor<?x?x8xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{'rnn.attention' op weight has shape [8, 4], expected [4, 8]}}
  %c, %s = rnn.attention general %q, %k weights(%w) : (tensor<?x4xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  return
}

// -----

func.func @attention_additive_count(%q: tensor<?x4xf32>, %k: tensor<?x?x8xf32>, %w: tensor<3x4xf32>) {
  // expected-error @+1 {{'rnn.attention' op additive attention takes three weights: query [A, Hq], key [A, Hk], v [1, A]}}
  %c, %s = rnn.attention additive %q, %k weights(%w) : (tensor<?x4xf32>, tensor<?x?x8xf32>, tensor<3x4xf32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  return
}

// -----

func.func @attention_scores_shape(%q: tensor<?x8xf32>, %k: tensor<?x7x8xf32>) {
  // expected-error @+1 {{'rnn.attention' op scores has shape [?, 6], expected [?, 7]}}
  %c, %s = rnn.attention dot %q, %k : (tensor<?x8xf32>, tensor<?x7x8xf32>) -> (tensor<?x8xf32>, tensor<?x6xf32>)
  return
}

// -----

func.func @decode_prev_type(%h0: tensor<?x4xf32>) {
  // expected-error @+1 {{'rnn.decode' op body argument #0 must be the previous token ids, tensor<?xi32>}}
  %a, %h = rnn.decode init(%h0) {start = 1 : i64, end = 2 : i64, max_len = 3 : i64}
      : (tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    rnn.yield %ht, %ht : tensor<?x4xf32>, tensor<?x4xf32>
  }
  return
}

// -----

func.func @decode_tokens(%h0: tensor<?x4xf32>) {
  // expected-error @+1 {{'rnn.decode' op start and end tokens must be in [0, 4)}}
  %a, %h = rnn.decode init(%h0) {start = 1 : i64, end = 9 : i64, max_len = 3 : i64}
      : (tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %ht: tensor<?x4xf32>):
    rnn.yield %ht, %ht : tensor<?x4xf32>, tensor<?x4xf32>
  }
  return
}

// -----

func.func @decode_no_state(%y: tensor<?x?xi32>) {
  // expected-error @+1 {{'rnn.decode' op expects at least one carried state (it gives the batch size)}}
  %a = rnn.decode init() teacher(%y) {start = 1 : i64, end = 2 : i64, max_len = 3 : i64}
      : (tensor<?x?xi32>) -> (tensor<?x?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>):
    %z = arith.constant dense<0.0> : tensor<1x4xf32>
    %c = tensor.cast %z : tensor<1x4xf32> to tensor<?x4xf32>
    rnn.yield %c : tensor<?x4xf32>
  }
  return
}

// -----

func.func @dense_grad_shapes(%dy: tensor<?x7xf32>, %x: tensor<?x5xf32>, %w: tensor<8x5xf32>) {
  // expected-error @+1 {{'rnn.dense_grad' op dy has shape [?, 7], expected [?, 8]}}
  %dx, %dw, %db = rnn.dense_grad %dy, %x, %w : (tensor<?x7xf32>, tensor<?x5xf32>, tensor<8x5xf32>) -> (tensor<?x5xf32>, tensor<8x5xf32>, tensor<8xf32>)
  return
}

// -----

func.func @embedding_grad_dim(%t: tensor<?x?xi32>, %dy: tensor<?x?x3xf32>) {
  // expected-error @+1 {{'rnn.embedding_grad' op dy has shape [?, ?, 3], expected [?, ?, 4]}}
  %de = rnn.embedding_grad %t, %dy : (tensor<?x?xi32>, tensor<?x?x3xf32>) -> tensor<7x4xf32>
  return
}

// -----

func.func @last_step_grad_dy(%dy: tensor<?x4xf32>, %x: tensor<?x?x5xf32>) {
  // expected-error @+1 {{'rnn.last_step_grad' op dy has shape [?, 4], expected [?, 5]}}
  %dx = rnn.last_step_grad %dy, %x : (tensor<?x4xf32>, tensor<?x?x5xf32>) -> tensor<?x?x5xf32>
  return
}

// -----

func.func @attention_grad_dscores(%q: tensor<2x4xf32>, %k: tensor<2x3x4xf32>, %dc: tensor<2x4xf32>, %ds: tensor<2x4xf32>) {
  // expected-error @+1 {{'rnn.attention_grad' op dscores has shape [2, 4], expected [2, 3]}}
  %dq, %dk = rnn.attention_grad dot %q, %k grads(%dc, %ds)
      : (tensor<2x4xf32>, tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x3x4xf32>)
  return
}

// -----

func.func @attention_grad_weights(%q: tensor<?x4xf32>, %k: tensor<?x?x3xf32>, %w: tensor<4x3xf32>, %dc: tensor<?x3xf32>, %ds: tensor<?x?xf32>) {
  // expected-error @+1 {{'rnn.attention_grad' op dweights must have the types of the weights}}
  %dq, %dk, %dw = rnn.attention_grad general %q, %k weights(%w) grads(%dc, %ds)
      : (tensor<?x4xf32>, tensor<?x?x3xf32>, tensor<4x3xf32>, tensor<?x3xf32>, tensor<?x?xf32>) -> (tensor<?x4xf32>, tensor<?x?x3xf32>, tensor<3x4xf32>)
  return
}

// -----

func.func @ce_weights_shape(%l: tensor<2x3x5xf32>, %y: tensor<2x3xi32>, %w: tensor<2x4xf32>) {
  // expected-error @+1 {{'rnn.cross_entropy' op weights has shape [2, 4], expected [2, 3]}}
  %c = rnn.cross_entropy %l, %y weights(%w : tensor<2x4xf32>) : tensor<2x3x5xf32>, tensor<2x3xi32> -> tensor<f32>
  return
}

// -----

func.func @dropout_rate(%x: tensor<?x4xf32>, %rng: tensor<2xi64>) {
  // expected-error @+1 {{'rnn.dropout' op rate must be in [0, 1), got 1}}
  %d = rnn.dropout %x, %rng {rate = 1.0 : f64, salt = 0 : i64} : tensor<?x4xf32>, tensor<2xi64>
  return
}

// -----

func.func @dropout_rng(%x: tensor<?x4xf32>, %rng: tensor<3xi64>) {
  // expected-error @+1 {{'rnn.dropout' op rng has shape [3], expected [2]}}
  %d = rnn.dropout %x, %rng {rate = 0.5 : f64, salt = 0 : i64} : tensor<?x4xf32>, tensor<3xi64>
  return
}

// -----

func.func @dropout_offsets(%x: tensor<?x?x4xf32>, %rng: tensor<2xi64>, %o: index) {
  // expected-error @+1 {{'rnn.dropout' op needs no offsets or one per dimension of the input (3), got 2}}
  %d = rnn.dropout %x, %rng at [%o, %o] {rate = 0.5 : f64, salt = 0 : i64} : tensor<?x?x4xf32>, tensor<2xi64>
  return
}

// -----

func.func @parallel_args(%w: i64) {
  // expected-error @+1 {{'rnn.parallel' op region must take (thread index: i64, thread count: i64)}}
  rnn.parallel work(%w) {
  ^bb0(%tid: index):
    rnn.parallel_end
  }
  return
}

// -----

func.func @parallel_end_outside() {
  // expected-error @+1 {{'rnn.parallel_end' op expects parent op 'rnn.parallel'}}
  rnn.parallel_end
}
