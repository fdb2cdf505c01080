// RUN: rnn-opt %s -convert-rnn-to-linalg -cse -split-input-file | FileCheck %s

// A reversed LSTM recurrence becomes an scf.for over time whose iteration
// arguments are the two states and the output sequence; step t reads x[:, T-1-t]
// and writes its output in place at the same index.
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @lstm_reverse
// CHECK-SAME: (%[[XS:.*]]: tensor<?x?x5xf32>, %[[H0:.*]]: tensor<?x8xf32>, %[[C0:.*]]: tensor<?x8xf32>, %[[WIH:.*]]: tensor<32x5xf32>, %[[WHH:.*]]: tensor<32x8xf32>, %[[BIH:.*]]: tensor<32xf32>, %[[BHH:.*]]: tensor<32xf32>)
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[XS]], %c0
// CHECK-DAG: %[[T:.*]] = tensor.dim %[[XS]], %c1
// CHECK: %[[SEQ0:.*]] = tensor.empty(%[[B]], %[[T]]) : tensor<?x?x8xf32>
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[I:.*]] = %c0 to %[[T]] step %c1 iter_args(%[[H:.*]] = %[[H0]], %[[C:.*]] = %[[C0]], %[[SEQ:.*]] = %[[SEQ0]])
// CHECK:   %[[LAST:.*]] = arith.subi %[[T]], %c1
// CHECK:   %[[TT:.*]] = arith.subi %[[LAST]], %[[I]]
// CHECK:   %[[XT:.*]] = tensor.extract_slice %[[XS]][0, %[[TT]], 0] [%[[B]], 1, 5] [1, 1, 1] : tensor<?x?x5xf32> to tensor<?x5xf32>
// CHECK:   %[[SEEDX:.*]] = linalg.generic {indexing_maps = [#[[BIAS]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[BIH]] : tensor<32xf32>)
// CHECK:   %[[GX:.*]] = linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XT]], %[[WIH]] : tensor<?x5xf32>, tensor<32x5xf32>) outs(%[[SEEDX]] : tensor<?x32xf32>)
// CHECK:     arith.mulf
// CHECK:     arith.addf
// CHECK:   %[[GH:.*]] = linalg.generic {{.*}} ins(%[[H]], %[[WHH]] : tensor<?x8xf32>, tensor<32x8xf32>)
// CHECK:   tensor.extract_slice %[[GX]][0, 0] [%{{.*}}, 8]
// CHECK:   tensor.extract_slice %[[GX]][0, 8] [%{{.*}}, 8]
// CHECK:   tensor.extract_slice %[[GX]][0, 16] [%{{.*}}, 8]
// CHECK:   tensor.extract_slice %[[GX]][0, 24] [%{{.*}}, 8]
// CHECK:   %[[G:.*]]:2 = linalg.generic {{.*}} ins({{.*}}, %[[C]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>)
// i, f: sigmoid; g: tanh; o: sigmoid; then tanh(c').
// CHECK:     arith.divf
// CHECK:     arith.divf
// CHECK:     math.tanh
// CHECK:     arith.divf
// CHECK:     math.tanh
// CHECK:     linalg.yield
// CHECK:   %[[SLOT:.*]] = tensor.extract_slice %[[SEQ]][0, %[[TT]], 0] [%[[B]], 1, 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x8xf32>
// CHECK:   %[[COPY:.*]] = linalg.copy ins(%[[G]]#0 : tensor<?x8xf32>) outs(%[[SLOT]] : tensor<?x8xf32>)
// CHECK:   %[[NSEQ:.*]] = tensor.insert_slice %[[COPY]] into %[[SEQ]][0, %[[TT]], 0] [%[[B]], 1, 8] [1, 1, 1]
// CHECK:   scf.yield %[[G]]#0, %[[G]]#1, %[[NSEQ]]
// CHECK: return %[[LOOP]]#2, %[[LOOP]]#1
// CHECK-NOT: rnn.
func.func @lstm_reverse(%xs: tensor<?x?x5xf32>, %h0: tensor<?x8xf32>, %c0: tensor<?x8xf32>,
                 %wih: tensor<32x5xf32>, %whh: tensor<32x8xf32>, %bih: tensor<32xf32>, %bhh: tensor<32xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x8xf32>) {
  %ys, %h, %c = rnn.recurrence reverse(%xs) init(%h0, %c0)
      : (tensor<?x?x5xf32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  ^bb0(%xt: tensor<?x5xf32>, %ht: tensor<?x8xf32>, %ct: tensor<?x8xf32>):
    %gx = rnn.dense none %xt, %wih, %bih : (tensor<?x5xf32>, tensor<32x5xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    %gh = rnn.dense none %ht, %whh, %bhh : (tensor<?x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    %h2, %c2 = rnn.lstm_gates %gx, %gh, %ct : tensor<?x32xf32>, tensor<?x8xf32>
    rnn.yield %h2, %h2, %c2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
  }
  return %ys, %c : tensor<?x?x8xf32>, tensor<?x8xf32>
}

// -----

// GRU gates: three column blocks of each projection plus h; the reset gate
// multiplies the hidden projection's n block (PyTorch), h' = n + z * (h - n).
// CHECK-LABEL: func.func @gru_gates
// CHECK-COUNT-6: tensor.extract_slice
// CHECK: linalg.generic {{.*}} ins({{.*}} : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK: ^bb0(%[[XR:.*]]: f32, %[[XZ:.*]]: f32, %[[XN:.*]]: f32, %[[HR:.*]]: f32, %[[HZ:.*]]: f32, %[[HN:.*]]: f32, %[[H:.*]]: f32, %{{.*}}: f32):
// CHECK:   arith.addf %[[XR]], %[[HR]]
// CHECK:   %[[R:.*]] = arith.divf
// CHECK:   arith.addf %[[XZ]], %[[HZ]]
// CHECK:   %[[Z:.*]] = arith.divf
// CHECK:   %[[RH:.*]] = arith.mulf %[[R]], %[[HN]]
// CHECK:   %[[NPRE:.*]] = arith.addf %[[XN]], %[[RH]]
// CHECK:   %[[N:.*]] = math.tanh %[[NPRE]]
// CHECK:   %[[D:.*]] = arith.subf %[[H]], %[[N]]
// CHECK:   %[[ZD:.*]] = arith.mulf %[[Z]], %[[D]]
// CHECK:   %[[NEW:.*]] = arith.addf %[[N]], %[[ZD]]
// CHECK:   linalg.yield %[[NEW]]
func.func @gru_gates(%gx: tensor<?x12xf32>, %gh: tensor<?x12xf32>, %h: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %h2 = rnn.gru_gates %gx, %gh, %h : tensor<?x12xf32>, tensor<?x4xf32>
  return %h2 : tensor<?x4xf32>
}

// -----

// CHECK-LABEL: func.func @rnn_gates_relu
// CHECK: linalg.generic
// CHECK:   %[[S:.*]] = arith.addf
// CHECK:   %[[R:.*]] = arith.maximumf %[[S]], %cst
// CHECK:   linalg.yield %[[R]]
func.func @rnn_gates_relu(%gx: tensor<?x4xf32>, %gh: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %h = rnn.rnn_gates relu %gx, %gh : tensor<?x4xf32>
  return %h : tensor<?x4xf32>
}

// -----

// Dense on a sequence: contraction over the last axis for any rank, seeded with
// the bias, then the activation elementwise.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @dense_seq
// CHECK: %[[SEED:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<5xf32>) outs(%{{.*}} : tensor<?x?x5xf32>)
// CHECK: %[[MM:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<?x?x8xf32>, tensor<5x8xf32>) outs(%[[SEED]] : tensor<?x?x5xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[MM]] : tensor<?x?x5xf32>)
// CHECK:   arith.negf
// CHECK:   math.exp
// CHECK:   arith.divf
func.func @dense_seq(%x: tensor<?x?x8xf32>, %w: tensor<5x8xf32>, %b: tensor<5xf32>) -> tensor<?x?x5xf32> {
  %y = rnn.dense sigmoid %x, %w, %b : (tensor<?x?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x?x5xf32>
  return %y : tensor<?x?x5xf32>
}

// -----

// Without a bias the accumulator starts at zero.
// CHECK-LABEL: func.func @dense_nobias
// CHECK: %[[Z:.*]] = linalg.fill ins(%cst : f32)
// CHECK: linalg.generic {{.*}} outs(%[[Z]] : tensor<?x5xf32>)
func.func @dense_nobias(%x: tensor<?x8xf32>, %w: tensor<5x8xf32>) -> tensor<?x5xf32> {
  %y = rnn.dense none %x, %w : (tensor<?x8xf32>, tensor<5x8xf32>) -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}

// -----

// Softmax: the row max, the sum of exp(x - max) (one reduction each), then
// exp(x - max) / sum.
// CHECK-LABEL: func.func @softmax
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAX0:.*]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0 : tensor<?x?x5xf32>) outs(%[[MAX0]] : tensor<?x?xf32>)
// CHECK:   arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %[[MAX]] : tensor<?x?x5xf32>, tensor<?x?xf32>)
// CHECK:   arith.subf
// CHECK:   math.exp
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[MAX]], %[[SUM]] : tensor<?x?x5xf32>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:   arith.subf
// CHECK:   math.exp
// CHECK:   arith.divf
func.func @softmax(%x: tensor<?x?x5xf32>) -> tensor<?x?x5xf32> {
  %y = rnn.softmax %x : tensor<?x?x5xf32>
  return %y : tensor<?x?x5xf32>
}

// -----

// CHECK-LABEL: func.func @onehot
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<?x?xi32>) outs(%{{.*}} : tensor<?x?x5xf32>)
// CHECK: ^bb0(%[[TOK:.*]]: i32, %{{.*}}: f32):
// CHECK:   %[[CLS:.*]] = linalg.index 2 : index
// CHECK:   %[[T:.*]] = arith.index_cast %[[TOK]] : i32 to index
// CHECK:   %[[EQ:.*]] = arith.cmpi eq, %[[T]], %[[CLS]]
// CHECK:   arith.select %[[EQ]]
func.func @onehot(%x: tensor<?x?xi32>) -> tensor<?x?x5xf32> {
  %h = rnn.onehot %x : tensor<?x?xi32> -> tensor<?x?x5xf32>
  return %h : tensor<?x?x5xf32>
}

// -----

// CHECK-LABEL: func.func @embedding
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<?x?xi32>) outs(%{{.*}} : tensor<?x?x16xf32>)
// CHECK: ^bb0(%[[TOK:.*]]: i32, %{{.*}}: f32):
// CHECK:   %[[COL:.*]] = linalg.index 2 : index
// CHECK:   %[[ROW:.*]] = arith.index_cast %[[TOK]] : i32 to index
// CHECK:   %[[V:.*]] = tensor.extract %arg1[%[[ROW]], %[[COL]]] : tensor<5x16xf32>
// CHECK:   linalg.yield %[[V]]
func.func @embedding(%x: tensor<?x?xi32>, %t: tensor<5x16xf32>) -> tensor<?x?x16xf32> {
  %e = rnn.embedding %x, %t : tensor<?x?xi32>, tensor<5x16xf32> -> tensor<?x?x16xf32>
  return %e : tensor<?x?x16xf32>
}

// -----

// Padded batch: at step t, rows with t >= lengths[b] keep their state and get
// a zero output.
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @padded
// CHECK-SAME: %[[LENS:[a-z0-9]+]]: tensor<?xi32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} iter_args(%[[H:.*]] = %{{.*}}, %[[SEQ:.*]] = %{{.*}})
// CHECK:   %[[NEW:.*]] = linalg.generic
// CHECK:     math.tanh
// CHECK:   %[[TI:.*]] = arith.index_cast %[[I]] : index to i32
// CHECK:   %[[KEPT:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}, #{{.*}}, #{{.*}}], {{.*}}} ins(%[[LENS]], %[[NEW]], %[[H]] : tensor<?xi32>, tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK:     %[[V:.*]] = arith.cmpi slt, %[[TI]], %{{.*}} : i32
// CHECK:     arith.select %[[V]]
// CHECK:   %[[OUT:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}, #{{.*}}], {{.*}}} ins(%[[LENS]], %[[NEW]] : tensor<?xi32>, tensor<?x4xf32>)
// CHECK:     %[[V2:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i32
// CHECK:     arith.select %[[V2]], %{{.*}}, %cst
// CHECK:   linalg.copy ins(%[[OUT]] : tensor<?x4xf32>)
// CHECK:   scf.yield %[[KEPT]]
func.func @padded(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>, %lens: tensor<?xi32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  %ys, %h = rnn.recurrence(%xs) init(%h0) lengths(%lens)
      : (tensor<?x?x4xf32>, tensor<?x4xf32>, tensor<?xi32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %n = rnn.rnn_gates tanh %xt, %ht : tensor<?x4xf32>
    rnn.yield %n, %n : tensor<?x4xf32>, tensor<?x4xf32>
  }
  return %ys, %h : tensor<?x?x4xf32>, tensor<?x4xf32>
}

// -----

// Lengths of padded token rows: one past the last non-padding position.
// CHECK-LABEL: func.func @sequence_lengths
// CHECK: %[[Z:.*]] = linalg.fill ins(%c0_i32 : i32)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<?x?xi32>) outs(%[[Z]] : tensor<?xi32>)
// CHECK: ^bb0(%[[TOK:.*]]: i32, %[[ACC:.*]]: i32):
// CHECK:   %[[T:.*]] = linalg.index 1
// CHECK:   %[[T1:.*]] = arith.addi %[[T]], %c1
// CHECK:   %[[T1I:.*]] = arith.index_cast %[[T1]] : index to i32
// CHECK:   %[[ISTOK:.*]] = arith.cmpi ne, %[[TOK]], %c3_i32
// CHECK:   %[[CAND:.*]] = arith.select %[[ISTOK]], %[[T1I]], %c0_i32
// CHECK:   arith.maxsi %[[ACC]], %[[CAND]]
func.func @sequence_lengths(%x: tensor<?x?xi32>) -> tensor<?xi32> {
  %n = rnn.sequence_lengths %x {padding = 3 : i64} : tensor<?x?xi32> -> tensor<?xi32>
  return %n : tensor<?xi32>
}

// -----

// Cross-entropy, reduction='mean': per position logsumexp(logits) minus the
// target's logit, summed in f64 into a scalar and divided by the number of
// positions.
// CHECK-LABEL: func.func @cross_entropy
// CHECK: %[[MX:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<?x?x5xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK:   arith.maximumf
// CHECK: %[[SE:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MX]] : tensor<?x?x5xf32>, tensor<?x?xf32>)
// CHECK:   math.exp
// CHECK: %[[N:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: %[[TOT:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%arg1, %[[MX]], %[[SE]] : tensor<?x?xi32>, tensor<?x?xf32>, tensor<?x?xf32>) outs(%{{.*}} : tensor<f64>)
// CHECK: ^bb0(%[[TGT:.*]]: i32, %[[M:.*]]: f32, %[[S:.*]]: f32, %[[ACC:.*]]: f64):
// CHECK:   %[[I0:.*]] = linalg.index 0
// CHECK:   %[[I1:.*]] = linalg.index 1
// CHECK:   %[[C:.*]] = arith.index_cast %[[TGT]] : i32 to index
// CHECK:   %[[PICK:.*]] = tensor.extract %arg0[%[[I0]], %[[I1]], %[[C]]]
// CHECK:   %[[LOG:.*]] = math.log %[[S]]
// CHECK:   %[[LSE:.*]] = arith.addf %[[LOG]], %[[M]]
// CHECK:   %[[V:.*]] = arith.subf %[[LSE]], %[[PICK]]
// CHECK:   %[[V64:.*]] = arith.extf %[[V]] : f32 to f64
// CHECK:   arith.addf %[[ACC]], %[[V64]]
// CHECK: %[[SUM:.*]] = tensor.extract %[[TOT]][]
// CHECK: %[[N64:.*]] = arith.extf %[[N]] : f32 to f64
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUM]], %[[N64]]
// CHECK: %[[M32:.*]] = arith.truncf %[[MEAN]] : f64 to f32
// CHECK: tensor.from_elements %[[M32]] : tensor<f32>
func.func @cross_entropy(%l: tensor<?x?x5xf32>, %y: tensor<?x?xi32>) -> tensor<f32> {
  %r = rnn.cross_entropy %l, %y : tensor<?x?x5xf32>, tensor<?x?xi32> -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @mse
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%arg0, %arg1 : tensor<?x1xf32>, tensor<?x1xf32>) outs(%{{.*}} : tensor<f64>)
// CHECK:   %[[D:.*]] = arith.subf
// CHECK:   %[[SQ:.*]] = arith.mulf %[[D]], %[[D]]
// CHECK:   %[[SQ64:.*]] = arith.extf %[[SQ]] : f32 to f64
// CHECK:   arith.addf %{{.*}}, %[[SQ64]]
// CHECK: arith.divf
func.func @mse(%p: tensor<?x1xf32>, %y: tensor<?x1xf32>) -> tensor<f32> {
  %r = rnn.mse %p, %y : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @last_step
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<?xi32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK: ^bb0(%[[LEN:.*]]: i32, %{{.*}}: f32):
// CHECK:   %[[L:.*]] = arith.index_cast %[[LEN]] : i32 to index
// CHECK:   %[[T:.*]] = arith.subi %[[L]], %c1
// CHECK:   %[[B:.*]] = linalg.index 0
// CHECK:   %[[F:.*]] = linalg.index 1
// CHECK:   tensor.extract %arg0[%[[B]], %[[T]], %[[F]]]
// CHECK-LABEL: func.func @last_step_nolengths
// CHECK: %[[STEPS:.*]] = tensor.dim %arg0, %c1
// CHECK: linalg.generic
// CHECK:   arith.subi %[[STEPS]], %c1
func.func @last_step(%x: tensor<?x?x8xf32>, %n: tensor<?xi32>) -> tensor<?x8xf32> {
  %y = rnn.last_step %x lengths(%n) : (tensor<?x?x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func @last_step_nolengths(%x: tensor<?x?x8xf32>) -> tensor<?x8xf32> {
  %y = rnn.last_step %x : (tensor<?x?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Attention: masked scores (-inf past each example's length), softmax over the
// source axis, weighted sum of the keys.
// CHECK-LABEL: func.func @attention_dot
// CHECK: %[[SC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<?x8xf32>, tensor<?x?x8xf32>)
// CHECK: %[[MASKED:.*]] = linalg.generic {{.*}} ins(%[[SC]], %arg2 : tensor<?x?xf32>, tensor<?xi32>)
// CHECK:   %[[S:.*]] = linalg.index 1
// CHECK:   arith.cmpi slt
// CHECK:   arith.select %{{.*}}, %{{.*}}, %cst
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: %[[CTX:.*]] = linalg.generic {{.*}} ins(%[[W:.*]], %arg1 : tensor<?x?xf32>, tensor<?x?x8xf32>)
// CHECK: return %[[CTX]], %[[W]]
func.func @attention_dot(%q: tensor<?x8xf32>, %k: tensor<?x?x8xf32>, %n: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?x?xf32>) {
  %c, %w = rnn.attention dot %q, %k lengths(%n) : (tensor<?x8xf32>, tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?x?xf32>)
  return %c, %w : tensor<?x8xf32>, tensor<?x?xf32>
}

// -----

// Greedy decoding: max_len steps; step 0 reads the start token; each next
// step reads the argmax of the previous scores.
// CHECK-LABEL: func.func @decode_greedy
// CHECK-DAG: %[[MAXLEN:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[START:.*]] = arith.constant 1 : i32
// CHECK: %[[PREV0:.*]] = linalg.fill ins(%[[START]] : i32)
// CHECK: scf.for %[[T:.*]] = %c0 to %[[MAXLEN]] step %c1 iter_args(%[[PREV:.*]] = %[[PREV0]], %[[H:.*]] = %arg0, %[[SEQ:.*]] = %{{.*}})
// CHECK:   tensor.extract %arg1[
// CHECK:   %[[ARG:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK:     arith.cmpf ogt
// CHECK:   linalg.copy
// CHECK:   scf.yield %[[ARG]]#1, %{{.*}}, %{{.*}} : tensor<?xi32>, tensor<?x4xf32>, tensor<?x?x6xf32>
func.func @decode_greedy(%h0: tensor<?x4xf32>, %emb: tensor<6x4xf32>, %w: tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  %a, %h = rnn.decode init(%h0) {start = 1 : i64, end = 2 : i64, max_len = 5 : i64}
      : (tensor<?x4xf32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %ht: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %ht : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  return %a : tensor<?x?x6xf32>
}

// -----

// Teacher forcing: as many steps as the teacher has; step t+1 reads teacher[:, t].
// CHECK-LABEL: func.func @decode_teacher
// CHECK: %[[STEPS:.*]] = tensor.dim %arg1, %c1
// CHECK: scf.for %[[T:.*]] = %c0 to %[[STEPS]] step %c1
// CHECK:   %[[NEXT:.*]] = tensor.extract_slice %arg1[0, %[[T]]] [%{{.*}}, 1] [1, 1] : tensor<?x?xi32> to tensor<?xi32>
// CHECK:   scf.yield %[[NEXT]]
func.func @decode_teacher(%h0: tensor<?x4xf32>, %y: tensor<?x?xi32>, %emb: tensor<6x4xf32>, %w: tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  %a, %h = rnn.decode init(%h0) teacher(%y) {start = 1 : i64, end = 2 : i64, max_len = 5 : i64}
      : (tensor<?x4xf32>, tensor<?x?xi32>) -> (tensor<?x?x6xf32>, tensor<?x4xf32>) {
  ^bb0(%prev: tensor<?xi32>, %ht: tensor<?x4xf32>):
    %e = rnn.embedding %prev, %emb : tensor<?xi32>, tensor<6x4xf32> -> tensor<?x4xf32>
    %h2 = rnn.rnn_gates tanh %e, %ht : tensor<?x4xf32>
    %s = rnn.dense none %h2, %w : (tensor<?x4xf32>, tensor<6x4xf32>) -> tensor<?x6xf32>
    rnn.yield %s, %h2 : tensor<?x6xf32>, tensor<?x4xf32>
  }
  return %a : tensor<?x?x6xf32>
}

// -----

// Dropout: the seed and training flag are read once; each element hashes its
// indices (splitmix64) and is kept when the top 24 bits reach rate * 2^24
// (0.25 * 2^24 = 4194304), scaled by 1 / (1 - rate).
// CHECK-LABEL: func.func @dropout
// CHECK: %[[SEED:.*]] = tensor.extract %{{.*}}[%c0]
// CHECK: %[[FLAG:.*]] = tensor.extract %{{.*}}[%c1]
// CHECK: %[[ON:.*]] = arith.cmpi ne, %[[FLAG]]
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi uge, %{{.*}}, %c4194304_i64
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.select %[[ON]]
func.func @dropout(%x: tensor<?x4xf32>, %rng: tensor<2xi64>) -> tensor<?x4xf32> {
  %d = rnn.dropout %x, %rng {rate = 2.500000e-01 : f64, salt = 3 : i64} : tensor<?x4xf32>, tensor<2xi64>
  return %d : tensor<?x4xf32>
}

// -----

// With offsets (a chunk of a sequence, rnn-stacked-wavefront), each index is
// hashed with the dimension's offset added: the element at (b, t, f) of the
// chunk draws the mask of (b + o0, t + o1, f + o2) of the whole.
// CHECK-LABEL: func.func @dropout_offsets
// CHECK-SAME: (%{{[^:]*}}: tensor<?x?x4xf32>, %{{[^:]*}}: tensor<2xi64>, %[[O0:[^:]*]]: index, %[[O1:[^:]*]]: index)
// CHECK: linalg.generic
// CHECK: %[[I0:.*]] = linalg.index 0
// CHECK: arith.addi %[[I0]], %[[O0]] : index
// CHECK: %[[I1:.*]] = linalg.index 1
// CHECK: arith.addi %[[I1]], %[[O1]] : index
// CHECK: %[[I2:.*]] = linalg.index 2
// CHECK: arith.addi %[[I2]], %[[O0]] : index
func.func @dropout_offsets(%x: tensor<?x?x4xf32>, %rng: tensor<2xi64>, %o0: index, %o1: index) -> tensor<?x?x4xf32> {
  %d = rnn.dropout %x, %rng at [%o0, %o1, %o0] {rate = 2.500000e-01 : f64, salt = 3 : i64} : tensor<?x?x4xf32>, tensor<2xi64>
  return %d : tensor<?x?x4xf32>
}

// -----

// A per-step output that is an incoming state (the previous h the gradient
// saves) is stored at the start of the step, before the step's ops (which
// rnn-carry-in-place lets update the state's buffer in place); the step's
// own output is stored at the end.
// CHECK-LABEL: func.func @saves_incoming_state
// CHECK: scf.for %[[I:.*]] = %{{.*}} iter_args(%[[H:.*]] = %{{.*}}, %[[OUT:.*]] = %{{.*}}, %[[PREV:.*]] = %{{.*}})
// CHECK-NEXT: %[[XT:.*]] = tensor.extract_slice
// CHECK-NEXT: %[[PSLOT:.*]] = tensor.extract_slice %[[PREV]][0, %[[I]], 0]
// CHECK-NEXT: %[[PCOPY:.*]] = linalg.copy ins(%[[H]] : tensor<?x4xf32>) outs(%[[PSLOT]] : tensor<?x4xf32>)
// CHECK-NEXT: %[[NPREV:.*]] = tensor.insert_slice %[[PCOPY]] into %[[PREV]][0, %[[I]], 0]
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[XT]], %[[H]] :
// CHECK: %[[OSLOT:.*]] = tensor.extract_slice %[[OUT]][0, %[[I]], 0]
// CHECK: linalg.copy ins(%[[G]] : tensor<?x4xf32>) outs(%[[OSLOT]] : tensor<?x4xf32>)
// CHECK: scf.yield %[[G]], %{{.*}}, %[[NPREV]]
func.func @saves_incoming_state(%xs: tensor<?x?x4xf32>, %h0: tensor<?x4xf32>)
    -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %ys, %prev, %h = rnn.recurrence(%xs) init(%h0)
      : (tensor<?x?x4xf32>, tensor<?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4xf32>) {
  ^bb0(%xt: tensor<?x4xf32>, %ht: tensor<?x4xf32>):
    %h2 = rnn.rnn_gates tanh %xt, %ht : tensor<?x4xf32>
    rnn.yield %h2, %ht, %h2 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
  return %ys, %prev : tensor<?x?x4xf32>, tensor<?x?x4xf32>
}
