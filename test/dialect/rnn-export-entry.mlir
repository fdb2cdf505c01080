// RUN: rnn-opt %s -rnn-export-entry -split-input-file -verify-diagnostics | FileCheck %s

// The descriptor lists vocabularies (tokens in hex), inputs, targets, outputs
// and parameters (in slot order: parameters first, then inputs), then the
// training settings. The entry point builds one memref per slot of the
// rnnrt_tensor array and writes the result into the output slot.
// CHECK-LABEL: module attributes
// CHECK: func.func private @tiny(%{{.*}}: tensor<?x?xi32>, %{{.*}}: tensor<4x3xf32>) -> tensor<?x?x3xf32> attributes {rnn.entry}
// CHECK: llvm.mlir.global external constant @rnnc_model_desc("rnnc-model 1\0Amodel tiny\0Avocab V 4 chars\0Atok 61\0Atok 62\0Atok 63\0Atok c3a9\0Ainput x tokens 2 B T vocab=V\0Atarget y tokens 2 B T vocab=V\0Aoutput e 3 B T 3\0Aparam e.weight 2 4 3 normal:1\0Atrain epochs=3\0Aend\0A\00")
// CHECK-LABEL: func.func @rnnc_model_forward(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr)
// Slot 1 (the input x): data pointer at field 0, dynamic sizes from field 2.
// CHECK: %[[XDATA:.*]] = llvm.getelementptr %[[ARGS]][1, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, i64, array<6 x i64>)>
// CHECK: llvm.load %[[XDATA]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.getelementptr %[[ARGS]][1, 2, 0]
// CHECK: llvm.getelementptr %[[ARGS]][1, 2, 1]
// CHECK: %[[XM:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<?x?xi32>
// CHECK: %[[X:.*]] = bufferization.to_tensor %[[XM]] restrict : memref<?x?xi32> to tensor<?x?xi32>
// Slot 0 (the parameter): static sizes, no loads of sizes.
// CHECK: llvm.getelementptr %[[ARGS]][0, 0]
// CHECK-NOT: llvm.getelementptr %[[ARGS]][0, 2
// CHECK: %[[W:.*]] = bufferization.to_tensor %{{.*}} restrict : memref<4x3xf32> to tensor<4x3xf32>
// CHECK: %[[R:.*]] = call @tiny(%[[X]], %[[W]])
// Slot 2 (the output).
// CHECK: llvm.getelementptr %[[ARGS]][2, 0]
// CHECK: %[[OM:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<?x?x3xf32>
// CHECK: bufferization.materialize_in_destination %[[R]] in restrict writable %[[OM]]
// CHECK: return
module attributes {rnn.model = "tiny", rnn.train = "epochs=3",
    rnn.targets = [{dims = ["B", "T"], kind = "tokens", name = "y", vocab = "V"}],
    rnn.vocabs = [{kind = "chars", name = "V", size = 4 : i64, tokens = ["a", "b", "c", "é"]}]} {
  func.func @tiny(%x: tensor<?x?xi32> {rnn.dims = ["B", "T"], rnn.input = "x", rnn.kind = "tokens", rnn.vocab = "V"},
                  %w: tensor<4x3xf32> {rnn.init = "normal:1", rnn.param = "e.weight"})
      -> (tensor<?x?x3xf32> {rnn.dims = ["B", "T", "3"], rnn.output = "e"}) attributes {rnn.entry} {
    %e = rnn.embedding %x, %w : tensor<?x?xi32>, tensor<4x3xf32> -> tensor<?x?x3xf32>
    return %e : tensor<?x?x3xf32>
  }
}

// -----

// expected-error @+1 {{no function is marked rnn.entry}}
module {
  func.func @f() {
    return
  }
}

// -----

// A step function: the same model with explicit states; its slots are params,
// inputs, states in, outputs, states out. The descriptor gains `step` and the
// states, and the output's `scores` kind.
// CHECK-LABEL: module attributes
// CHECK: llvm.mlir.global external constant @rnnc_model_desc("rnnc-model 1\0Amodel gen\0Ainput x f32 3 B T 2\0Aoutput y 3 B T 2 scores=logits\0Aparam w 2 2 2 zeros\0Astep\0Astate s.h 2 B 2\0Aend\0A\00")
// CHECK-LABEL: func.func @rnnc_model_forward(
// CHECK-LABEL: func.func @rnnc_model_step(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr)
// Slots: w = 0, x = 1, s.h in = 2, y = 3, s.h out = 4.
// CHECK: llvm.getelementptr %[[ARGS]][1, 0]
// CHECK: llvm.getelementptr %[[ARGS]][2, 0]
// CHECK: llvm.getelementptr %[[ARGS]][0, 0]
// CHECK: %[[R:.*]]:2 = call @gen_step(
// CHECK: llvm.getelementptr %[[ARGS]][3, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#0
// CHECK: llvm.getelementptr %[[ARGS]][4, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#1
module attributes {rnn.model = "gen"} {
  func.func @gen(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                 %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"})
      -> (tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.output = "y", rnn.scores = "logits"})
      attributes {rnn.entry} {
    %y = rnn.dense none %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %y : tensor<?x?x2xf32>
  }
  func.func @gen_step(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                      %h: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"},
                      %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"})
      -> (tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.output = "y"},
          tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"}) attributes {rnn.step_entry} {
    %y = rnn.dense none %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %y, %h : tensor<?x?x2xf32>, tensor<?x2xf32>
  }
}

// -----

module {
  func.func @f(%x: tensor<?x2xf32> {rnn.input = "x", rnn.kind = "f32"}) -> (tensor<?x2xf32> {rnn.output = "y"}) attributes {rnn.entry} {
    return %x : tensor<?x2xf32>
  }
  // expected-error @+1 {{'func.func' op the step function's input 'z' is not one of the forward function's}}
  func.func @g(%x: tensor<?x2xf32> {rnn.input = "z", rnn.kind = "f32"}) -> (tensor<?x2xf32> {rnn.output = "y"}) attributes {rnn.step_entry} {
    return %x : tensor<?x2xf32>
  }
}

// -----

// Truncated BPTT with dropout: the gradient function's `rnn.rng` argument is
// read from the exported global rnnc_model_rng ({seed, training}), not from a
// slot; the descriptor's `grad_state` line carries the values saved per step;
// the loss-with-states function becomes rnnc_model_loss_state (params, inputs,
// targets, states in -> loss, states out: slots 0..3 -> 4, 5).
// CHECK-LABEL: module attributes
// CHECK: llvm.mlir.global external constant @rnnc_model_desc({{.*}}\0Agrad\0Agrad_state saved=6\0Atstate s.h 2 B 2\0Aend\0A\00")
// CHECK: llvm.mlir.global external @rnnc_model_rng(dense<0> : tensor<2xi64>) {addr_space = 0 : i32} : !llvm.array<2 x i64>
// The gradient functions (one caller each) are inlined into their entry
// points and erased: their results go straight to the output slots.
// CHECK-NOT: func.func private @win_grad(
// CHECK-NOT: func.func private @win_loss(
// CHECK-LABEL: func.func @rnnc_model_grad(
// CHECK-NOT: call @win_loss(
// CHECK: %[[L0:.*]] = rnn.mse
// CHECK: bufferization.materialize_in_destination %[[L0]]
// CHECK-LABEL: func.func @rnnc_model_grad_state(
// CHECK: llvm.mlir.addressof @rnnc_model_rng : !llvm.ptr
// CHECK-NOT: call @win_grad(
// CHECK: %[[L:.*]] = rnn.mse
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<2x2xf32>
// CHECK: bufferization.materialize_in_destination %[[L]]
// CHECK: bufferization.materialize_in_destination %[[Z]]
// CHECK-LABEL: func.func @rnnc_model_loss_state(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr)
// CHECK: llvm.mlir.addressof @rnnc_model_rng : !llvm.ptr
// CHECK: %[[R:.*]]:2 = call @win(
// CHECK: llvm.getelementptr %[[ARGS]][4, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#0
// CHECK: llvm.getelementptr %[[ARGS]][5, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#1
module attributes {rnn.model = "win", rnn.targets = [{dims = ["B", "T", "2"], kind = "f32", name = "y"}]} {
  func.func @fwd(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                 %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"})
      -> (tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.output = "o"}) attributes {rnn.entry} {
    %y = rnn.dense none %x, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %y : tensor<?x?x2xf32>
  }
  func.func @win(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                 %y: tensor<?x?x2xf32> {rnn.target = "y"},
                 %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"},
                 %h: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"},
                 %rng: tensor<2xi64> {rnn.rng})
      -> (tensor<f32> {rnn.output = "loss"}, tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"})
      attributes {rnn.loss_state_entry} {
    %l = rnn.mse %x, %y : tensor<?x?x2xf32>, tensor<?x?x2xf32> -> tensor<f32>
    return %l, %h : tensor<f32>, tensor<?x2xf32>
  }
  func.func @win_grad(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                      %y: tensor<?x?x2xf32> {rnn.target = "y"},
                      %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"},
                      %h: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"},
                      %rng: tensor<2xi64> {rnn.rng})
      -> (tensor<f32> {rnn.output = "loss"}, tensor<2x2xf32> {rnn.output = "w"},
          tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "s.h"})
      attributes {rnn.grad_state_entry, rnn.saved_per_step = 6 : i64} {
    %l = rnn.mse %x, %y : tensor<?x?x2xf32>, tensor<?x?x2xf32> -> tensor<f32>
    %z = arith.constant dense<0.0> : tensor<2x2xf32>
    return %l, %z, %h : tensor<f32>, tensor<2x2xf32>, tensor<?x2xf32>
  }
  func.func @win_loss(%x: tensor<?x?x2xf32> {rnn.dims = ["B", "T", "2"], rnn.input = "x", rnn.kind = "f32"},
                      %y: tensor<?x?x2xf32> {rnn.target = "y"},
                      %w: tensor<2x2xf32> {rnn.param = "w", rnn.init = "zeros"})
      -> (tensor<f32> {rnn.output = "loss"}) attributes {rnn.grad_entry} {
    %l = rnn.mse %x, %y : tensor<?x?x2xf32>, tensor<?x?x2xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// A prepare function (rnn-split-prepare): the descriptor lists each prepared
// tensor with its bytes (8 x 2 f32, 8 x 2 f16), rnnc_model_prepare reads the
// params (slot 0) and writes the prepared tensors after them (slots 1, 2);
// rnnc_model_forward_prepared takes them after params, inputs and outputs
// (w = 0, x = 1, y = 2, prepared 3 and 4); rnnc_model_forward runs the
// preparation itself (a wrapper without the prepared arguments).
// CHECK-LABEL: module attributes
// CHECK: llvm.mlir.global external constant @rnnc_model_desc("rnnc-model 1\0Amodel prep\0Ainput x f32 2 B 2\0Aoutput y 2 B 8\0Aparam w 2 8 2 zeros\0Aprepared w.transposed 64\0Aprepared w.f16 32\0Aend\0A\00")
// CHECK-LABEL: func.func @rnnc_model_forward_prepared(
// CHECK-SAME: %[[ARGS:.*]]: !llvm.ptr)
// CHECK: llvm.getelementptr %[[ARGS]][1, 0]
// CHECK: llvm.getelementptr %[[ARGS]][0, 0]
// CHECK: llvm.getelementptr %[[ARGS]][3, 0]
// CHECK: llvm.getelementptr %[[ARGS]][4, 0]
// CHECK: call @prep(
// CHECK: llvm.getelementptr %[[ARGS]][2, 0]
// CHECK-LABEL: func.func private @prep_unprepared(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x2xf32>, %[[W:[^:]*]]: tensor<8x2xf32>) -> tensor<?x8xf32>
// CHECK: %[[P:.*]]:2 = call @prep_prepare(%[[W]])
// CHECK: call @prep(%[[X]], %[[W]], %[[P]]#0, %[[P]]#1)
// CHECK-LABEL: func.func @rnnc_model_forward(
// CHECK-SAME: %[[ARGS2:.*]]: !llvm.ptr)
// CHECK: call @prep_unprepared(
// CHECK: llvm.getelementptr %[[ARGS2]][2, 0]
// CHECK-LABEL: func.func @rnnc_model_prepare(
// CHECK-SAME: %[[ARGS3:.*]]: !llvm.ptr)
// CHECK: llvm.getelementptr %[[ARGS3]][0, 0]
// CHECK: %[[R:.*]]:2 = call @prep_prepare(
// CHECK: llvm.getelementptr %[[ARGS3]][1, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#0
// CHECK: llvm.getelementptr %[[ARGS3]][2, 0]
// CHECK: bufferization.materialize_in_destination %[[R]]#1
module attributes {rnn.model = "prep"} {
  func.func @prep(%x: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.input = "x", rnn.kind = "f32"},
                  %w: tensor<8x2xf32> {rnn.param = "w", rnn.init = "zeros"},
                  %wt: tensor<2x8xf32> {rnn.prepared = "w.transposed"},
                  %wh: tensor<2x8xf16> {rnn.prepared = "w.f16"})
      -> (tensor<?x8xf32> {rnn.dims = ["B", "8"], rnn.output = "y"}) attributes {rnn.entry} {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %x, %c0 : tensor<?x2xf32>
    %e = tensor.empty(%d) : tensor<?x8xf32>
    %y = linalg.matmul ins(%x, %wt : tensor<?x2xf32>, tensor<2x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @prep_prepare(%w: tensor<8x2xf32> {rnn.param = "w"})
      -> (tensor<2x8xf32> {rnn.prepared = "w.transposed"}, tensor<2x8xf16> {rnn.prepared = "w.f16"})
      attributes {rnn.prepare_entry} {
    %e = tensor.empty() : tensor<2x8xf32>
    %t = linalg.transpose ins(%w : tensor<8x2xf32>) outs(%e : tensor<2x8xf32>) permutation = [1, 0]
    %eh = tensor.empty() : tensor<2x8xf16>
    %h = arith.truncf %t : tensor<2x8xf32> to tensor<2x8xf16>
    return %t, %h : tensor<2x8xf32>, tensor<2x8xf16>
  }
}

// -----

module {
  // expected-error @+1 {{'func.func' op argument #1 takes the prepared tensor 'w.panels', which no prepare function returns}}
  func.func @f(%x: tensor<?x2xf32> {rnn.input = "x", rnn.kind = "f32"}, %p: tensor<2x2xf32> {rnn.prepared = "w.panels"})
      -> (tensor<?x2xf32> {rnn.output = "y"}) attributes {rnn.entry} {
    return %x : tensor<?x2xf32>
  }
}

// -----

// A step function with nothing to prepare (only the forward function takes
// prepared tensors): rnnc_model_step_prepared is the step function's plain
// entry (the prepared slots after its own are not read), and rnnc_model_step
// does not call the prepare function.
// CHECK-LABEL: module attributes
// CHECK-LABEL: func.func @rnnc_model_step(
// CHECK-NOT:   call @sp_prepare
// CHECK:       call @sp_step(
// CHECK-LABEL: func.func @rnnc_model_step_prepared(
// CHECK-NOT:   call @sp_prepare
// CHECK:       call @sp_step(
module attributes {rnn.model = "sp"} {
  func.func @sp(%x: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.input = "x", rnn.kind = "f32"},
                %w: tensor<8x2xf32> {rnn.param = "w", rnn.init = "zeros"},
                %wt: tensor<2x8xf32> {rnn.prepared = "w.transposed"})
      -> (tensor<?x8xf32> {rnn.dims = ["B", "8"], rnn.output = "y"}) attributes {rnn.entry} {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %x, %c0 : tensor<?x2xf32>
    %e = tensor.empty(%d) : tensor<?x8xf32>
    %y = linalg.matmul ins(%x, %wt : tensor<?x2xf32>, tensor<2x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @sp_step(%x: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.input = "x", rnn.kind = "f32"},
                     %w: tensor<8x2xf32> {rnn.param = "w", rnn.init = "zeros"},
                     %h: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "h"})
      -> (tensor<?x8xf32> {rnn.dims = ["B", "8"], rnn.output = "y"},
          tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.state = "h"}) attributes {rnn.step_entry} {
    %c0 = arith.constant 0 : index
    %d = tensor.dim %x, %c0 : tensor<?x2xf32>
    %e = tensor.empty(%d) : tensor<?x8xf32>
    return %e, %h : tensor<?x8xf32>, tensor<?x2xf32>
  }
  func.func @sp_prepare(%w: tensor<8x2xf32> {rnn.param = "w"})
      -> (tensor<2x8xf32> {rnn.prepared = "w.transposed"}) attributes {rnn.prepare_entry} {
    %e = tensor.empty() : tensor<2x8xf32>
    %t = linalg.transpose ins(%w : tensor<8x2xf32>) outs(%e : tensor<2x8xf32>) permutation = [1, 0]
    return %t : tensor<2x8xf32>
  }
}
