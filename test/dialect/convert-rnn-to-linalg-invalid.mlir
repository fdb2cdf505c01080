// RUN: rnn-opt %s -convert-rnn-to-linalg -split-input-file -verify-diagnostics

func.func @layer_level(%x: tensor<?x?x5xf32>, %a: tensor<8x5xf32>, %b: tensor<8x8xf32>, %c: tensor<8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'rnn.recurrent' op must be expanded by rnn-expand-recurrent first}}
  %y, %h = rnn.recurrent rnn forward %x weights(%a, %b, %c, %c) {hidden = 8 : i64, layers = 1 : i64, return_sequences = false}
      : (tensor<?x?x5xf32>, tensor<8x5xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8xf32>, tensor<1x?x8xf32>)
  return %y : tensor<?x8xf32>
}
