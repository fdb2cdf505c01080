// RUN: rnn-opt %s --split-input-file --rnn-split-prepare | FileCheck %s

#xk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// The forward and step functions both transpose %w (the same ops: one
// prepared tensor) and the step function also narrows it to f16 through a
// transpose (only the last op's result leaves the parameter-only work: one
// more prepared tensor, the intermediate stays inside the prepare function).
// The transpose of an input and the loss function stay as they are.
// CHECK-LABEL: func.func @fwd(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x8xf32> {rnn.input = "x"}, %[[W:[^:]*]]: tensor<16x8xf32> {rnn.param = "w"},
// CHECK-SAME:    %[[PT:[^:]*]]: tensor<8x16xf32> {rnn.prepared = "w.transposed"},
// CHECK-SAME:    %{{[^:]*}}: tensor<8x16xf16> {rnn.prepared = "w.f16"})
// CHECK-NOT:     linalg.transpose ins(%[[W]]
// CHECK:         scf.for
// CHECK:           linalg.generic {{.*}} ins(%{{.*}}, %[[PT]] : tensor<?x8xf32>, tensor<8x16xf32>)
// CHECK:         linalg.transpose ins(%[[X]]
// CHECK-LABEL: func.func @step(
// CHECK-SAME:    %{{[^:]*}}: tensor<16x8xf32> {rnn.param = "w"}, %{{[^:]*}}: tensor<?x8xf32> {rnn.state = "h"},
// CHECK-SAME:    %[[PT2:[^:]*]]: tensor<8x16xf32> {rnn.prepared = "w.transposed"},
// CHECK-SAME:    %[[PH:[^:]*]]: tensor<8x16xf16> {rnn.prepared = "w.f16"})
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     arith.truncf
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[PT2]] : tensor<?x8xf32>, tensor<8x16xf32>)
// CHECK:         tensor.cast %[[PH]] : tensor<8x16xf16> to tensor<?x16xf16>
// CHECK-LABEL: func.func @fwd_loss(
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<16x8xf32>)
// CHECK-LABEL: func.func @fwd_prepare(
// CHECK-SAME:    %[[A:[^:]*]]: tensor<16x8xf32> {rnn.param = "w"})
// CHECK-SAME:    -> (tensor<8x16xf32> {rnn.prepared = "w.transposed"}, tensor<8x16xf16> {rnn.prepared = "w.f16"})
// CHECK-SAME:    attributes {rnn.prepare_entry}
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[A]] : tensor<16x8xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[H:.*]] = linalg.generic {{.*}} ins(%[[T]] : tensor<8x16xf32>)
// CHECK:           arith.truncf
// CHECK:         return %[[T]], %[[H]]
func.func @fwd(%x: tensor<?x8xf32> {rnn.input = "x"}, %w: tensor<16x8xf32> {rnn.param = "w"})
    -> (tensor<?x16xf32> {rnn.output = "y"}, tensor<8x?xf32> {rnn.output = "xt"}) attributes {rnn.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %wt = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %z = tensor.empty(%d) : tensor<?x16xf32>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (tensor<?x16xf32>) {
    %g = linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %wt : tensor<?x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<?x16xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x16xf32>
    scf.yield %g : tensor<?x16xf32>
  }
  %ex = tensor.empty(%d) : tensor<8x?xf32>
  %xt = linalg.transpose ins(%x : tensor<?x8xf32>) outs(%ex : tensor<8x?xf32>) permutation = [1, 0]
  return %r, %xt : tensor<?x16xf32>, tensor<8x?xf32>
}

func.func @step(%w: tensor<16x8xf32> {rnn.param = "w"}, %h: tensor<?x8xf32> {rnn.state = "h"})
    -> (tensor<?x16xf32> {rnn.output = "y"}, tensor<?x16xf16> {rnn.output = "yh"}) attributes {rnn.step_entry} {
  %c0 = arith.constant 0 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %wt = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  %eh = tensor.empty() : tensor<8x16xf16>
  %wh = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%wt : tensor<8x16xf32>) outs(%eh : tensor<8x16xf16>) {
  ^bb0(%a: f32, %o: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  } -> tensor<8x16xf16>
  %d = tensor.dim %h, %c0 : tensor<?x8xf32>
  %z = tensor.empty(%d) : tensor<?x16xf32>
  %g = linalg.generic {indexing_maps = [#xk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %wt : tensor<?x8xf32>, tensor<8x16xf32>) outs(%z : tensor<?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x16xf32>
  %whd = tensor.cast %wh : tensor<8x16xf16> to tensor<?x16xf16>
  return %g, %whd : tensor<?x16xf32>, tensor<?x16xf16>
}

func.func @fwd_loss(%w: tensor<16x8xf32> {rnn.param = "w"}) -> tensor<8x16xf32> attributes {rnn.loss_entry} {
  %e = tensor.empty() : tensor<8x16xf32>
  %wt = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  return %wt : tensor<8x16xf32>
}

// -----

// Nothing reads only parameters: no prepare function, the signature is kept.
// CHECK-LABEL: func.func @plain(
// CHECK-SAME:    %{{[^:]*}}: tensor<?x8xf32> {rnn.input = "x"}, %{{[^:]*}}: tensor<8xf32> {rnn.param = "b"})
// CHECK-SAME:    -> (tensor<?x8xf32> {rnn.output = "y"}) attributes {rnn.entry}
// CHECK-NOT:   rnn.prepare_entry
#bcast = affine_map<(d0, d1) -> (d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @plain(%x: tensor<?x8xf32> {rnn.input = "x"}, %b: tensor<8xf32> {rnn.param = "b"})
    -> (tensor<?x8xf32> {rnn.output = "y"}) attributes {rnn.entry} {
  %y = linalg.generic {indexing_maps = [#bcast, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<8xf32>) outs(%x : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
