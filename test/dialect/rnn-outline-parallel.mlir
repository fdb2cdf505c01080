// RUN: rnn-opt %s -split-input-file --rnn-outline-parallel -verify-diagnostics | FileCheck %s

// Each rnn.parallel region becomes a private function taking (context,
// thread index, thread count): its entry block loads the values the region
// used from above out of the context struct (the constant is cloned
// instead) and branches to the region's blocks, whose rnn.parallel_end
// becomes llvm.return. The op becomes a stack slot for the context
// (allocated in the entry block, not in the loop), stores of the values,
// and a call of the runtime with the function's address and the work.
// CHECK-LABEL: llvm.func @kernel(
// CHECK-SAME:    %[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[W:.*]]: i64)
// CHECK-NEXT:    %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK-NEXT:    %[[SLOT:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(i64, ptr)> {alignment = 8 : i64}
// CHECK:       ^[[LOOP:.*]](%{{.*}}: i64):
// CHECK:         %[[A0:.*]] = llvm.getelementptr %[[SLOT]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr)>
// CHECK-NEXT:    llvm.store %[[N]], %[[A0]] : i64, !llvm.ptr
// CHECK-NEXT:    %[[A1:.*]] = llvm.getelementptr %[[SLOT]][0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr)>
// CHECK-NEXT:    llvm.store %[[P]], %[[A1]] : !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[FN:.*]] = llvm.mlir.addressof @kernel_parallel : !llvm.ptr
// CHECK-NEXT:    llvm.call @rnnc_parallel_run(%[[FN]], %[[SLOT]], %[[W]]) : (!llvm.ptr, !llvm.ptr, i64) -> ()
// CHECK-NOT:   rnn.parallel
// CHECK:         llvm.return

// CHECK:       llvm.func @rnnc_parallel_run(!llvm.ptr, !llvm.ptr, i64)
// CHECK-LABEL: llvm.func internal @kernel_parallel(
// CHECK-SAME:    %[[CTX:.*]]: !llvm.ptr, %[[TID:.*]]: i64, %[[NT:.*]]: i64)
// CHECK-NEXT:    %[[ZERO:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK-NEXT:    %[[G0:.*]] = llvm.getelementptr %[[CTX]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr)>
// CHECK-NEXT:    %[[NN:.*]] = llvm.load %[[G0]] : !llvm.ptr -> i64
// CHECK-NEXT:    %[[G1:.*]] = llvm.getelementptr %[[CTX]][0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr)>
// CHECK-NEXT:    %[[PP:.*]] = llvm.load %[[G1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    llvm.br ^[[BODY:.*]](%[[TID]], %[[NT]] : i64, i64)
// CHECK-NEXT:  ^[[BODY]](%[[T:.*]]: i64, %{{.*}}: i64):
// CHECK-NEXT:    %[[OFF:.*]] = llvm.mul %[[T]], %[[NN]] : i64
// CHECK-NEXT:    %[[Q:.*]] = llvm.getelementptr %[[PP]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK-NEXT:    llvm.store %[[ZERO]], %[[Q]] : f32, !llvm.ptr
// CHECK-NEXT:    llvm.br ^[[END:.*]]
// CHECK-NEXT:  ^[[END]]:
// CHECK-NEXT:    llvm.return
llvm.func @kernel(%p: !llvm.ptr, %n: i64, %w: i64) {
  %zero = llvm.mlir.constant(0.0 : f32) : f32
  %c0 = llvm.mlir.constant(0 : i64) : i64
  llvm.br ^loop(%c0 : i64)
^loop(%i: i64):
  rnn.parallel work(%w) {
  ^bb0(%tid: i64, %nt: i64):
    %off = llvm.mul %tid, %n : i64
    %q = llvm.getelementptr %p[%off] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %zero, %q : f32, !llvm.ptr
    llvm.br ^end
  ^end:
    rnn.parallel_end
  }
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %next = llvm.add %i, %c1 : i64
  %more = llvm.icmp "slt" %next, %n : i64
  llvm.cond_br %more, ^loop(%next : i64), ^exit
^exit:
  llvm.return
}

// -----

// Two regions in one function: two functions, uniquely named; a region that
// uses nothing from above gets a null context.
// CHECK-LABEL: llvm.func @two(
// CHECK-NOT:     llvm.alloca
// CHECK:         %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK:         %[[F0:.*]] = llvm.mlir.addressof @two_parallel : !llvm.ptr
// CHECK:         llvm.call @rnnc_parallel_run(%[[F0]], %[[NULL]], %{{.*}})
// CHECK:         llvm.mlir.addressof @two_parallel_0 : !llvm.ptr
// CHECK:       llvm.func internal @two_parallel(
// CHECK:       llvm.func internal @two_parallel_0(
llvm.func @two(%w: i64) {
  rnn.parallel work(%w) {
  ^bb0(%tid: i64, %nt: i64):
    rnn.parallel_end
  }
  rnn.parallel work(%w) {
  ^bb0(%tid: i64, %nt: i64):
    rnn.parallel_end
  }
  llvm.return
}

// -----

// Before the conversion to the LLVM dialect the pass refuses to run.
func.func @early(%m: memref<4xf32>, %w: i64) {
  // expected-error @+1 {{'rnn.parallel' op must be inside an llvm.func when outlined (run after the conversion to the LLVM dialect)}}
  rnn.parallel work(%w) {
  ^bb0(%tid: i64, %nt: i64):
    %c0 = arith.constant 0 : index
    %x = memref.load %m[%c0] : memref<4xf32>
    rnn.parallel_end
  }
  return
}

// -----

llvm.func @mixed(%w: i64) {
  %m = memref.alloca() : memref<4xf32>
  // expected-error @+1 {{'rnn.parallel' op uses a value of non-LLVM type 'memref<4xf32>' from above (run after the conversion to the LLVM dialect)}}
  rnn.parallel work(%w) {
  ^bb0(%tid: i64, %nt: i64):
    %c0 = arith.constant 0 : index
    %x = memref.load %m[%c0] : memref<4xf32>
    rnn.parallel_end
  }
  llvm.return
}
