// RUN: rnn-opt %s -rnn-expand-recurrent -split-input-file | FileCheck %s

// One LSTM layer: one forward recurrence over the input; zero initial states;
// the step is two projections and the gate op; h_n/c_n stacked from the finals.
// CHECK-LABEL: func.func @lstm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x5xf32>, %[[WIH:.*]]: tensor<32x5xf32>, %[[WHH:.*]]: tensor<32x8xf32>, %[[BIH:.*]]: tensor<32xf32>, %[[BHH:.*]]: tensor<32xf32>)
// CHECK: %[[Z0:.*]] = linalg.fill
// CHECK: %[[Z1:.*]] = linalg.fill
// CHECK: %[[R:.*]]:3 = rnn.recurrence(%[[X]]) init(%[[Z0]], %[[Z1]])
// CHECK-NEXT: ^bb0(%[[XT:.*]]: tensor<?x5xf32>, %[[H:.*]]: tensor<?x8xf32>, %[[C:.*]]: tensor<?x8xf32>):
// CHECK-NEXT:   %[[GX:.*]] = rnn.dense none %[[XT]], %[[WIH]], %[[BIH]]
// CHECK-NEXT:   %[[GH:.*]] = rnn.dense none %[[H]], %[[WHH]], %[[BHH]]
// CHECK-NEXT:   %[[H2:.*]], %[[C2:.*]] = rnn.lstm_gates %[[GX]], %[[GH]], %[[C]]
// CHECK-NEXT:   rnn.yield %[[H2]], %[[H2]], %[[C2]]
// CHECK: %[[HN:.*]] = tensor.insert_slice %[[R]]#1 into %{{.*}}[0, 0, 0] [1, %{{.*}}, 8] [1, 1, 1] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK: %[[CN:.*]] = tensor.insert_slice %[[R]]#2 into
// CHECK: return %[[R]]#0, %[[HN]], %[[CN]]
// CHECK-NOT: rnn.recurrent
func.func @lstm(%x: tensor<?x?x5xf32>, %wih: tensor<32x5xf32>, %whh: tensor<32x8xf32>, %bih: tensor<32xf32>, %bhh: tensor<32xf32>)
    -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) {
  %y, %hn, %cn = rnn.recurrent lstm forward %x weights(%wih, %whh, %bih, %bhh)
      {hidden = 8 : i64, layers = 1 : i64, return_sequences = true}
      : (tensor<?x?x5xf32>, tensor<32x5xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>)
      -> (tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>)
  return %y, %hn, %cn : tensor<?x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>
}

// -----

// Two bidirectional GRU layers, many-to-one: four recurrences (forward and
// reverse per layer); layer 1 reads layer 0's forward|backward concatenation;
// the output is the last layer's final states, forward | backward.
// CHECK-LABEL: func.func @bigru_stacked
// CHECK: %[[F0:.*]]:2 = rnn.recurrence(%{{.*}}) init
// CHECK: rnn.gru_gates
// CHECK: %[[B0:.*]]:2 = rnn.recurrence reverse(%{{.*}}) init
// CHECK: %[[CAT0A:.*]] = tensor.insert_slice %[[F0]]#0 into %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 6] [1, 1, 1] : tensor<?x?x6xf32> into tensor<?x?x12xf32>
// CHECK: %[[CAT0:.*]] = tensor.insert_slice %[[B0]]#0 into %[[CAT0A]][0, 0, 6]
// CHECK: %[[F1:.*]]:2 = rnn.recurrence(%[[CAT0]]) init
// CHECK: ^bb0(%{{.*}}: tensor<?x12xf32>, %{{.*}}: tensor<?x6xf32>):
// CHECK: %[[B1:.*]]:2 = rnn.recurrence reverse(%[[CAT0]]) init
// CHECK: %[[OA:.*]] = tensor.insert_slice %[[F1]]#1 into %{{.*}}[0, 0] [%{{.*}}, 6] [1, 1] : tensor<?x6xf32> into tensor<?x12xf32>
// CHECK: %[[O:.*]] = tensor.insert_slice %[[B1]]#1 into %[[OA]][0, 6]
// CHECK: tensor.insert_slice %[[F0]]#1 into %{{.*}}[0, 0, 0]
// CHECK: tensor.insert_slice %[[B0]]#1 into %{{.*}}[1, 0, 0]
// CHECK: tensor.insert_slice %[[F1]]#1 into %{{.*}}[2, 0, 0]
// CHECK: %[[HN:.*]] = tensor.insert_slice %[[B1]]#1 into %{{.*}}[3, 0, 0]
// CHECK: return %[[O]], %[[HN]]
func.func @bigru_stacked(%x: tensor<?x?x4xf32>,
    %a0: tensor<18x4xf32>, %b0: tensor<18x6xf32>, %c0: tensor<18xf32>,
    %a1: tensor<18x12xf32>, %b1: tensor<18x6xf32>, %c1: tensor<18xf32>) -> (tensor<?x12xf32>, tensor<4x?x6xf32>) {
  %y, %hn = rnn.recurrent gru bidirectional %x weights(%a0, %b0, %c0, %c0, %a0, %b0, %c0, %c0,
                                                       %a1, %b1, %c1, %c1, %a1, %b1, %c1, %c1)
      {hidden = 6 : i64, layers = 2 : i64, return_sequences = false}
      : (tensor<?x?x4xf32>, tensor<18x4xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>,
         tensor<18x4xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>,
         tensor<18x12xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>,
         tensor<18x12xf32>, tensor<18x6xf32>, tensor<18xf32>, tensor<18xf32>)
      -> (tensor<?x12xf32>, tensor<4x?x6xf32>)
  return %y, %hn : tensor<?x12xf32>, tensor<4x?x6xf32>
}

// -----

// A reverse Elman layer with relu and static batch: the activation reaches the
// gate op; the states need no dynamic size.
// CHECK-LABEL: func.func @rnn_relu_reverse
// CHECK: tensor.empty() : tensor<2x3xf32>
// CHECK: rnn.recurrence reverse(%{{.*}}) init
// CHECK: rnn.rnn_gates relu
func.func @rnn_relu_reverse(%x: tensor<2x?x4xf32>, %a: tensor<3x4xf32>, %b: tensor<3x3xf32>, %c: tensor<3xf32>) -> tensor<2x?x3xf32> {
  %y, %hn = rnn.recurrent rnn reverse %x weights(%a, %b, %c, %c)
      {hidden = 3 : i64, layers = 1 : i64, return_sequences = true, activation = 2 : i32}
      : (tensor<2x?x4xf32>, tensor<3x4xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x?x3xf32>, tensor<1x2x3xf32>)
  return %y : tensor<2x?x3xf32>
}

// -----

// Stacked layers with dropout= and a dropout seed (a loss function): the
// output of every layer but the last goes through rnn.dropout, salted by
// layer; without rng (forward functions) nothing is inserted.
// CHECK-LABEL: func.func @stacked_dropout
// CHECK-SAME: %[[RNG:[^:]*]]: tensor<2xi64>
// CHECK: %[[L0:.*]]:2 = rnn.recurrence(
// CHECK: %[[D0:.*]] = rnn.dropout %[[L0]]#0, %[[RNG]] {rate = 2.500000e-01 : f64, salt = 64 : i64}
// CHECK: %[[L1:.*]]:2 = rnn.recurrence(%{{.*}}) init(
// CHECK: %[[D1:.*]] = rnn.dropout %[[L1]]#0, %[[RNG]] {rate = 2.500000e-01 : f64, salt = 65 : i64}
// CHECK: rnn.recurrence(
// CHECK-NOT: rnn.dropout
// CHECK: return
func.func @stacked_dropout(%x: tensor<?x?x3xf32>, %w0: tensor<4x3xf32>, %u0: tensor<4x4xf32>, %b0: tensor<4xf32>,
                           %w1: tensor<4x4xf32>, %u1: tensor<4x4xf32>, %b1: tensor<4xf32>,
                           %w2: tensor<4x4xf32>, %u2: tensor<4x4xf32>, %b2: tensor<4xf32>,
                           %rng: tensor<2xi64>) -> tensor<?x?x4xf32> {
  %y, %h = rnn.recurrent rnn forward %x weights(%w0, %u0, %b0, %b0, %w1, %u1, %b1, %b1, %w2, %u2, %b2, %b2) rng(%rng)
      {hidden = 4 : i64, layers = 3 : i64, return_sequences = true, dropout = 2.500000e-01 : f64, dropout_salt = 64 : i64}
      : (tensor<?x?x3xf32>, tensor<4x3xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>,
         tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2xi64>) -> (tensor<?x?x4xf32>, tensor<3x?x4xf32>)
  return %y : tensor<?x?x4xf32>
}
