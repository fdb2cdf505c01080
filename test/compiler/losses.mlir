// Loss lowering, end to end against PyTorch: a program whose inputs are logits
// (or predictions) and targets, and whose outputs are the mean losses.
// RUN: rnnc %s -o %t.exe
// RUN: %python %S/Inputs/check_losses.py %t.exe %t.work | FileCheck %s
// CHECK: cross_entropy B=1 T=1: ok
// CHECK: cross_entropy B=3 T=7: ok
// CHECK: mse B=4: ok
// CHECK: all losses match torch

module attributes {rnn.model = "losses", rnn.vocabs = [{kind = "ids", name = "C", size = 5 : i64}]} {
  func.func @losses(
      %logits: tensor<?x?x5xf32> {rnn.dims = ["B", "T", "5"], rnn.input = "logits", rnn.kind = "f32"},
      %y: tensor<?x?xi32> {rnn.dims = ["B", "T"], rnn.input = "y", rnn.kind = "tokens", rnn.vocab = "C"},
      %pred: tensor<?x3xf32> {rnn.dims = ["N", "3"], rnn.input = "pred", rnn.kind = "f32"},
      %target: tensor<?x3xf32> {rnn.dims = ["N", "3"], rnn.input = "target", rnn.kind = "f32"})
      -> (tensor<f32> {rnn.dims = [], rnn.output = "ce"}, tensor<f32> {rnn.dims = [], rnn.output = "mse"})
      attributes {rnn.entry} {
    %ce = rnn.cross_entropy %logits, %y : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
    %mse = rnn.mse %pred, %target : tensor<?x3xf32>, tensor<?x3xf32> -> tensor<f32>
    return %ce, %mse : tensor<f32>, tensor<f32>
  }
}
