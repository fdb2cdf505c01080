// RUN: rnn-opt %s --rnn-narrow-weights | FileCheck %s
// RUN: rnn-opt %s --rnn-narrow-weights="type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: not rnn-opt %s --rnn-narrow-weights="type=f8" 2>&1 | FileCheck %s --check-prefix=BAD

#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// The recurrent weight read inside the time loop: one f16 copy before the
// loop (round to nearest even), shared by both contractions that read it;
// their bodies widen the element. The step input (loop-carried) stays f32.
// CHECK-LABEL: func.func @forward
// CHECK:       %[[E:.*]] = tensor.empty() : tensor<1024x256xf16>
// CHECK:       %[[W16:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<1024x256xf32>) outs(%[[E]] : tensor<1024x256xf16>)
// CHECK:         arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT:   linalg.generic
// CHECK:       scf.for
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[W16]] : tensor<?x256xf32>, tensor<1024x256xf16>)
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f16, %[[O:.*]]: f32):
// CHECK-NEXT:      %[[BW:.*]] = arith.extf %[[B]] : f16 to f32
// CHECK-NEXT:      arith.mulf %[[A]], %[[BW]] : f32
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[W16]] : tensor<?x256xf32>, tensor<1024x256xf16>)
// BF16-LABEL: func.func @forward
// BF16:       arith.truncf %{{.*}} : f32 to bf16
// BF16:       arith.extf %{{.*}} : bf16 to f32
// BAD: rnn-narrow-weights: type must be f16 or bf16, got 'f8'
func.func @forward(%h0: tensor<?x256xf32>, %w: tensor<1024x256xf32>, %small: tensor<8x256xf32>,
                   %n: index) -> tensor<?x256xf32> attributes {rnn.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%h = %h0) -> (tensor<?x256xf32>) {
    %d = tensor.dim %h, %c0 : tensor<?x256xf32>
    %z = tensor.empty(%d) : tensor<?x1024xf32>
    %g = linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<?x256xf32>, tensor<1024x256xf32>) outs(%z : tensor<?x1024xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x1024xf32>
    %g2 = linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<?x256xf32>, tensor<1024x256xf32>) outs(%g : tensor<?x1024xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x1024xf32>
    // A weight below min-elements (8 x 256 = 2048) stays f32.
    %z8 = tensor.empty(%d) : tensor<?x8xf32>
    %s8 = linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h, %small : tensor<?x256xf32>, tensor<8x256xf32>) outs(%z8 : tensor<?x8xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x8xf32>
    %hn = tensor.extract_slice %g2[0, 0] [%d, 256] [1, 1] : tensor<?x1024xf32> to tensor<?x256xf32>
    scf.yield %hn : tensor<?x256xf32>
  }
  return %r : tensor<?x256xf32>
}
// CHECK:         ins(%{{.*}}, %arg2 : tensor<?x256xf32>, tensor<8x256xf32>)

// A contraction outside any loop (the hoisted input projection: the weight
// is read once per call) and the gradient functions keep f32.
// CHECK-LABEL: func.func @hoisted
// CHECK-NOT:   f16
// CHECK:       return
func.func @hoisted(%x: tensor<?x256xf32>, %w: tensor<1024x256xf32>, %z: tensor<?x1024xf32>) -> tensor<?x1024xf32> attributes {rnn.entry} {
  %g = linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x256xf32>, tensor<1024x256xf32>) outs(%z : tensor<?x1024xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1024xf32>
  return %g : tensor<?x1024xf32>
}

// CHECK-LABEL: func.func @grad
// CHECK-NOT:   f16
// CHECK:       return
func.func @grad(%h0: tensor<?x256xf32>, %w: tensor<1024x256xf32>, %n: index) -> tensor<?x1024xf32> attributes {rnn.grad_entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d = tensor.dim %h0, %c0 : tensor<?x256xf32>
  %z = tensor.empty(%d) : tensor<?x1024xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<?x1024xf32>) {
    %g = linalg.generic {indexing_maps = [#xk, #wk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h0, %w : tensor<?x256xf32>, tensor<1024x256xf32>) outs(%acc : tensor<?x1024xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    } -> tensor<?x1024xf32>
    scf.yield %g : tensor<?x1024xf32>
  }
  return %r : tensor<?x1024xf32>
}
