/* Hand-written "compiled models" with a loss for the grad/train tests: rnnc_model_desc,
 * rnnc_model_forward and rnnc_model_grad in C (linked with librnnrt.a, whose main() runs the
 * command line), so that the gradients are exactly known and PyTorch can reproduce them.
 * Build with -DVARIANT=N:
 *   1  linreg: x f32[B, 3] -> pred = x W^T + b, f32[B, 2]; mse against y f32[B, 2]
 *   2  bigram: x tokens[B, T] of chars "abcd " -> logits = E[x] [B, T, 5]; cross-entropy
 *      against y tokens[B, T] (next-token prediction; --text)
 *   3  classifier: x f32[B, 4] -> logits = x W^T + b [B, 3] (probs out); cross-entropy
 *      against y class[B] of 3
 *   4  series: x f32[B, T, 1] -> pred = w0 x[:, T-1] + w1 mean_t x + b, f32[B, 1]; mse
 *      against y f32[B, 1] (--csv)
 *   5  linreg's descriptor, but rnnc_model_grad is not defined
 *   6  linreg without a loss (no grad line, no target)
 *   7  linreg whose input has no example axis: x f32[3]
 *   8  tbigram: the bigram with a recurrent state for truncated BPTT (a `grad_state` line,
 *      rnnc_model_grad_state): h_t = 0.5 h_{t-1} + 0.1 (x_t + 1) per example (state s.h
 *      [1, B, 1], zero for rnnc_model_grad), logits_t = E[x_t] + h_t on class 0; -DTSTATE="\"...\""
 *      replaces the tstate's shape, -DNO_GRAD_STATE leaves rnnc_model_grad_state undefined
 *   9  linreg with a `grad_state` line (its input has no time axis); rnnc_model_grad_state
 *      must not be called
 * -DTRAIN_LINE="\"...\"" replaces the train line. Environment: FAKE_SLEEP_US=N sleeps N us per
 * gradient call (of either gradient function); FAKE_NAN_AT=K makes the loss of the K-th gradient call NaN, FAKE_NANGRAD_AT=K
 * its gradient of the bias. Every call checks its slots (ranks, shapes, batch sizes agree); a
 * failed check prints 'fake model: ...' and exits 3. */
#define _DEFAULT_SOURCE
#include "rnn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VARIANT
#error "build with -DVARIANT=N"
#endif

#if VARIANT == 2
#ifndef TRAIN_LINE
#define TRAIN_LINE "optimizer=adam(lr=0.1,beta1=0.9,beta2=0.999,eps=1e-08) epochs=3 batch=4 validation=0.2"
#endif
const char rnnc_model_desc[] = "rnnc-model 1\nmodel bigram\nvocab V 5 chars\ntok 61\ntok 62\ntok 63\ntok 64\ntok 20\n"
                               "input x tokens 2 B T vocab=V\ntarget y tokens 2 B T vocab=V\n"
                               "output logits 3 B T 5 vocab=V scores=logits\nparam emb.weight 2 5 5 normal:1\ngrad\n"
                               "train " TRAIN_LINE "\nend\n";
#elif VARIANT == 8
#ifndef TRAIN_LINE
#define TRAIN_LINE "optimizer=adam(lr=0.1,beta1=0.9,beta2=0.999,eps=1e-08) epochs=3 batch=3 validation=0.2 bptt=truncate(4)"
#endif
#ifndef TSTATE
#define TSTATE "3 1 B 1"
#endif
const char rnnc_model_desc[] = "rnnc-model 1\nmodel tbigram\nvocab V 5 chars\ntok 61\ntok 62\ntok 63\ntok 64\ntok 20\n"
                               "input x tokens 2 B T vocab=V\ntarget y tokens 2 B T vocab=V\n"
                               "output logits 3 B T 5 vocab=V scores=logits\nparam emb.weight 2 5 5 normal:1\ngrad\n"
                               "grad_state\ntstate s.h " TSTATE "\ntrain " TRAIN_LINE "\nend\n";
#elif VARIANT == 3
#ifndef TRAIN_LINE
#define TRAIN_LINE "optimizer=sgd(lr=0.5,momentum=0.9,nesterov=false) epochs=4 batch=8 validation=0.25 seed=3"
#endif
const char rnnc_model_desc[] = "rnnc-model 1\nmodel classifier\ninput x f32 2 B 4\ntarget y class 1 B classes=3\n"
                               "output probs 2 B 3 scores=probs\nparam head.weight 2 3 4 uniform:0.5\n"
                               "param head.bias 1 3 uniform:0.5\ngrad\ntrain " TRAIN_LINE "\nend\n";
#elif VARIANT == 4
#ifndef TRAIN_LINE
#define TRAIN_LINE "optimizer=adam(lr=0.05,beta1=0.9,beta2=0.999,eps=1e-08) epochs=5 batch=8 validation=0.2"
#endif
const char rnnc_model_desc[] = "rnnc-model 1\nmodel series\ninput x f32 3 B T 1\ntarget y f32 2 B 1\n"
                               "output pred 2 B 1\nparam lin.weight 2 1 2 uniform:0.5\nparam lin.bias 1 1 zeros\ngrad\n"
                               "train " TRAIN_LINE "\nend\n";
#else
#ifndef TRAIN_LINE
#define TRAIN_LINE "optimizer=sgd(lr=0.1,momentum=0.9,nesterov=false) epochs=5 batch=4"
#endif
#if VARIANT == 9
const char rnnc_model_desc[] = "rnnc-model 1\nmodel linreg\ninput x f32 2 B 3\ntarget y f32 2 B 2\noutput pred 2 B 2\n"
                               "param lin.weight 2 2 3 uniform:0.5\nparam lin.bias 1 2 uniform:0.5\ngrad\n"
                               "grad_state\ntstate s.h 3 1 B 1\ntrain " TRAIN_LINE "\nend\n";
#elif VARIANT == 6
const char rnnc_model_desc[] = "rnnc-model 1\nmodel linreg\ninput x f32 2 B 3\noutput pred 2 B 2\n"
                               "param lin.weight 2 2 3 uniform:0.5\nparam lin.bias 1 2 uniform:0.5\nend\n";
#elif VARIANT == 7
const char rnnc_model_desc[] = "rnnc-model 1\nmodel linreg\ninput x f32 1 3\ntarget y f32 1 2\noutput pred 1 2\n"
                               "param lin.weight 2 2 3 uniform:0.5\nparam lin.bias 1 2 uniform:0.5\ngrad\nend\n";
#else
const char rnnc_model_desc[] = "rnnc-model 1\nmodel linreg\ninput x f32 2 B 3\ntarget y f32 2 B 2\noutput pred 2 B 2\n"
                               "param lin.weight 2 2 3 uniform:0.5\nparam lin.bias 1 2 uniform:0.5\ngrad\n"
                               "train " TRAIN_LINE "\nend\n";
#endif
#endif

static void check(int ok, const char *what) {
  if (!ok) {
    printf("fake model: %s\n", what);
    fflush(stdout);
    exit(3);
  }
}

static void check_shape(const rnnrt_tensor *t, int64_t rank, int64_t d0, int64_t d1, int64_t d2, const char *what) {
  int64_t d[3] = {d0, d1, d2};
  check(t->rank == rank && t->data != NULL, what);
  for (int64_t k = 0; k < rank; k++) check(d[k] < 0 || t->sizes[k] == d[k], what);
  check(((uintptr_t)t->data & 63) == 0, "buffer not 64-byte aligned");
}

static long calls;

/* FAKE_NAN_AT / FAKE_NANGRAD_AT: is this gradient call the K-th? */
static inline int nan_at(const char *var) {
  const char *s = getenv(var);
  return s && atol(s) == calls;
}

static inline void enter_grad(void) {
  calls++;
  const char *s = getenv("FAKE_SLEEP_US");
  if (s) usleep((useconds_t)atol(s));
}

#if VARIANT == 1 || VARIANT == 5 || VARIANT == 6 || VARIANT == 7 || VARIANT == 9
/* slots: W [2,3], b [2], x [B,3], (y [B,2]), then pred [B,2] or loss, dW, db */
static void linreg(const rnnrt_tensor *a, int64_t B, float *pred) {
  const float *W = a[0].data, *bias = a[1].data, *x = a[2].data;
  for (int64_t i = 0; i < B; i++)
    for (int o = 0; o < 2; o++) {
      float s = bias[o];
      for (int k = 0; k < 3; k++) s += x[i * 3 + k] * W[o * 3 + k];
      pred[i * 2 + o] = s;
    }
}

void rnnc_model_forward(rnnrt_tensor *a) {
  check_shape(&a[0], 2, 2, 3, 0, "forward: W");
  check_shape(&a[1], 1, 2, 0, 0, "forward: b");
#if VARIANT == 7
  check_shape(&a[2], 1, 3, 0, 0, "forward: x");
  linreg(a, 1, a[3].data);
#else
  check_shape(&a[2], 2, -1, 3, 0, "forward: x");
  int64_t B = a[2].sizes[0];
  check_shape(&a[3], 2, B, 2, 0, "forward: pred");
  linreg(a, B, a[3].data);
#endif
}

#if VARIANT == 9
void rnnc_model_grad_state(rnnrt_tensor *a) { (void)a; check(0, "grad_state: called for a model without a time axis"); }
#endif
#if VARIANT == 1 || VARIANT == 9
void rnnc_model_grad(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 2, 3, 0, "grad: W");
  check_shape(&a[1], 1, 2, 0, 0, "grad: b");
  check_shape(&a[2], 2, -1, 3, 0, "grad: x");
  int64_t B = a[2].sizes[0];
  check(B >= 1, "grad: empty batch");
  check_shape(&a[3], 2, B, 2, 0, "grad: y");
  check(a[4].rank == 0 && a[4].data, "grad: loss slot");
  check_shape(&a[5], 2, 2, 3, 0, "grad: dW");
  check_shape(&a[6], 1, 2, 0, 0, "grad: db");
  float pred[2 * 4096];
  check(B <= 4096, "grad: batch too large for the fake");
  linreg(a, B, pred);
  const float *x = a[2].data, *y = a[3].data;
  float *dW = a[5].data, *db = a[6].data;
  double loss = 0;
  memset(dW, 0, 6 * sizeof *dW);
  memset(db, 0, 2 * sizeof *db);
  for (int64_t i = 0; i < B; i++)
    for (int o = 0; o < 2; o++) {
      float r = pred[i * 2 + o] - y[i * 2 + o];
      loss += (double)r * r;
      float g = 2.0f * r / (float)(B * 2);
      db[o] += g;
      for (int k = 0; k < 3; k++) dW[o * 3 + k] += g * x[i * 3 + k];
    }
  *(float *)a[4].data = nan_at("FAKE_NAN_AT") ? NAN : (float)(loss / (double)(B * 2));
  if (nan_at("FAKE_NANGRAD_AT")) db[1] = INFINITY;
}
#elif VARIANT == 7
void rnnc_model_grad(rnnrt_tensor *a) { (void)a; check(0, "grad: called for a model without an example axis"); }
#endif
#endif

#if VARIANT == 2
/* slots: E [5,5], x [B,T], (y [B,T]), then logits [B,T,5] or loss, dE */
void rnnc_model_forward(rnnrt_tensor *a) {
  check_shape(&a[0], 2, 5, 5, 0, "forward: E");
  check_shape(&a[1], 2, -1, -1, 0, "forward: x");
  int64_t n = a[1].sizes[0] * a[1].sizes[1];
  check_shape(&a[2], 3, a[1].sizes[0], a[1].sizes[1], 5, "forward: logits");
  const float *E = a[0].data;
  const int32_t *x = a[1].data;
  float *out = a[2].data;
  for (int64_t i = 0; i < n; i++) memcpy(out + i * 5, E + x[i] * 5, 5 * sizeof *out);
}

void rnnc_model_grad(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 5, 5, 0, "grad: E");
  check_shape(&a[1], 2, -1, -1, 0, "grad: x");
  check_shape(&a[2], 2, a[1].sizes[0], a[1].sizes[1], 0, "grad: y");
  check(a[3].rank == 0, "grad: loss slot");
  check_shape(&a[4], 2, 5, 5, 0, "grad: dE");
  int64_t n = a[1].sizes[0] * a[1].sizes[1];
  const float *E = a[0].data;
  const int32_t *x = a[1].data, *y = a[2].data;
  float *dE = a[4].data;
  double loss = 0;
  memset(dE, 0, 25 * sizeof *dE);
  for (int64_t i = 0; i < n; i++) {
    check(x[i] >= 0 && x[i] < 5 && y[i] >= 0 && y[i] < 5, "grad: token id out of range");
    const float *l = E + x[i] * 5;
    float m = l[0], p[5], s = 0;
    for (int k = 1; k < 5; k++) m = fmaxf(m, l[k]);
    for (int k = 0; k < 5; k++) s += (p[k] = expf(l[k] - m));
    loss += (double)(logf(s) + m - l[y[i]]);
    for (int k = 0; k < 5; k++) dE[x[i] * 5 + k] += (p[k] / s - (k == y[i])) / (float)n;
  }
  *(float *)a[3].data = nan_at("FAKE_NAN_AT") ? NAN : (float)(loss / (double)n);
}
#endif

#if VARIANT == 8
/* The loss of a window from states h0 [B] (NULL: zero), its gradient dE (the states
 * detached) and the final states h1 [B] (NULL: not wanted); logits too if out is not NULL. */
static double tbigram(const float *E, const int32_t *x, const int32_t *y, int64_t B, int64_t T, const float *h0,
                      float *h1, float *dE, float *out) {
  double loss = 0;
  int64_t n = B * T;
  if (dE) memset(dE, 0, 25 * sizeof *dE);
  for (int64_t b = 0; b < B; b++) {
    float h = h0 ? h0[b] : 0;
    for (int64_t t = 0; t < T; t++) {
      int64_t i = b * T + t;
      check(x[i] >= 0 && x[i] < 5, "tbigram: token id out of range");
      h = 0.5f * h + 0.1f * (float)(x[i] + 1);
      float l[5], p[5], m, s = 0;
      for (int k = 0; k < 5; k++) l[k] = E[x[i] * 5 + k] + (k == 0 ? h : 0);
      if (out) memcpy(out + i * 5, l, sizeof l);
      if (!y) continue;
      check(y[i] >= 0 && y[i] < 5, "tbigram: target id out of range");
      m = l[0];
      for (int k = 1; k < 5; k++) m = fmaxf(m, l[k]);
      for (int k = 0; k < 5; k++) s += (p[k] = expf(l[k] - m));
      loss += (double)(logf(s) + m - l[y[i]]);
      for (int k = 0; k < 5; k++) dE[x[i] * 5 + k] += (p[k] / s - (k == y[i])) / (float)n;
    }
    if (h1) h1[b] = h;
  }
  return loss / (double)n;
}

/* slots: E [5,5], x [B,T], then logits [B,T,5] */
void rnnc_model_forward(rnnrt_tensor *a) {
  check_shape(&a[0], 2, 5, 5, 0, "forward: E");
  check_shape(&a[1], 2, -1, -1, 0, "forward: x");
  check_shape(&a[2], 3, a[1].sizes[0], a[1].sizes[1], 5, "forward: logits");
  tbigram(a[0].data, a[1].data, NULL, a[1].sizes[0], a[1].sizes[1], NULL, NULL, NULL, a[2].data);
}

/* slots: E, x, y, loss, dE */
void rnnc_model_grad(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 5, 5, 0, "grad: E");
  check_shape(&a[1], 2, -1, -1, 0, "grad: x");
  check_shape(&a[2], 2, a[1].sizes[0], a[1].sizes[1], 0, "grad: y");
  check(a[3].rank == 0, "grad: loss slot");
  check_shape(&a[4], 2, 5, 5, 0, "grad: dE");
  double loss = tbigram(a[0].data, a[1].data, a[2].data, a[1].sizes[0], a[1].sizes[1], NULL, NULL, a[4].data, NULL);
  *(float *)a[3].data = nan_at("FAKE_NAN_AT") ? NAN : (float)loss;
}

#ifndef NO_GRAD_STATE
/* slots: E, x, y, s.h in [1,B,1], loss, dE, s.h out [1,B,1] */
void rnnc_model_grad_state(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 5, 5, 0, "grad_state: E");
  check_shape(&a[1], 2, -1, -1, 0, "grad_state: x");
  int64_t B = a[1].sizes[0], T = a[1].sizes[1];
  check(B >= 1 && T >= 1, "grad_state: empty window");
  check_shape(&a[2], 2, B, T, 0, "grad_state: y");
  check_shape(&a[3], 3, 1, B, 1, "grad_state: state in");
  check(a[4].rank == 0, "grad_state: loss slot");
  check_shape(&a[5], 2, 5, 5, 0, "grad_state: dE");
  check_shape(&a[6], 3, 1, B, 1, "grad_state: state out");
  check(a[3].data != a[6].data, "grad_state: state in and out share a buffer");
  double loss = tbigram(a[0].data, a[1].data, a[2].data, B, T, a[3].data, a[6].data, a[5].data, NULL);
  *(float *)a[4].data = nan_at("FAKE_NAN_AT") ? NAN : (float)loss;
  if (nan_at("FAKE_NANGRAD_AT")) ((float *)a[5].data)[3] = INFINITY;
}
#endif
#endif

#if VARIANT == 3
/* slots: W [3,4], b [3], x [B,4], (y [B]), then probs [B,3] or loss, dW, db */
static void logits3(const rnnrt_tensor *a, int64_t i, float *l) {
  const float *W = a[0].data, *bias = a[1].data, *x = a[2].data;
  for (int o = 0; o < 3; o++) {
    l[o] = bias[o];
    for (int k = 0; k < 4; k++) l[o] += x[i * 4 + k] * W[o * 4 + k];
  }
}

static void softmax3(const float *l, float *p) {
  float m = fmaxf(l[0], fmaxf(l[1], l[2])), s = 0;
  for (int k = 0; k < 3; k++) s += (p[k] = expf(l[k] - m));
  for (int k = 0; k < 3; k++) p[k] /= s;
}

void rnnc_model_forward(rnnrt_tensor *a) {
  check_shape(&a[2], 2, -1, 4, 0, "forward: x");
  int64_t B = a[2].sizes[0];
  check_shape(&a[3], 2, B, 3, 0, "forward: probs");
  for (int64_t i = 0; i < B; i++) {
    float l[3];
    logits3(a, i, l);
    softmax3(l, (float *)a[3].data + i * 3);
  }
}

void rnnc_model_grad(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 3, 4, 0, "grad: W");
  check_shape(&a[1], 1, 3, 0, 0, "grad: b");
  check_shape(&a[2], 2, -1, 4, 0, "grad: x");
  int64_t B = a[2].sizes[0];
  check_shape(&a[3], 1, B, 0, 0, "grad: y");
  check(a[4].rank == 0, "grad: loss slot");
  const float *x = a[2].data;
  const int32_t *y = a[3].data;
  float *dW = a[5].data, *db = a[6].data;
  double loss = 0;
  memset(dW, 0, 12 * sizeof *dW);
  memset(db, 0, 3 * sizeof *db);
  for (int64_t i = 0; i < B; i++) {
    check(y[i] >= 0 && y[i] < 3, "grad: class id out of range");
    float l[3], p[3];
    logits3(a, i, l);
    softmax3(l, p);
    loss += -log((double)p[y[i]]);
    for (int o = 0; o < 3; o++) {
      float g = (p[o] - (o == y[i])) / (float)B;
      db[o] += g;
      for (int k = 0; k < 4; k++) dW[o * 4 + k] += g * x[i * 4 + k];
    }
  }
  *(float *)a[4].data = nan_at("FAKE_NAN_AT") ? NAN : (float)(loss / (double)B);
}
#endif

#if VARIANT == 4
/* slots: W [1,2], b [1], x [B,T,1], (y [B,1]), then pred [B,1] or loss, dW, db */
static float feats(const rnnrt_tensor *a, int64_t i, float *f) {
  const float *x = a[2].data, *W = a[0].data, *bias = a[1].data;
  int64_t T = a[2].sizes[1];
  double m = 0;
  for (int64_t t = 0; t < T; t++) m += x[i * T + t];
  f[0] = x[i * T + T - 1];
  f[1] = (float)(m / (double)T);
  return W[0] * f[0] + W[1] * f[1] + bias[0];
}

void rnnc_model_forward(rnnrt_tensor *a) {
  check_shape(&a[2], 3, -1, -1, 1, "forward: x");
  int64_t B = a[2].sizes[0];
  check_shape(&a[3], 2, B, 1, 0, "forward: pred");
  float f[2];
  for (int64_t i = 0; i < B; i++) ((float *)a[3].data)[i] = feats(a, i, f);
}

void rnnc_model_grad(rnnrt_tensor *a) {
  enter_grad();
  check_shape(&a[0], 2, 1, 2, 0, "grad: W");
  check_shape(&a[2], 3, -1, -1, 1, "grad: x");
  int64_t B = a[2].sizes[0];
  check_shape(&a[3], 2, B, 1, 0, "grad: y");
  const float *y = a[3].data;
  float *dW = a[5].data, *db = a[6].data, f[2];
  double loss = 0;
  dW[0] = dW[1] = db[0] = 0;
  for (int64_t i = 0; i < B; i++) {
    float r = feats(a, i, f) - y[i];
    loss += (double)r * r;
    float g = 2.0f * r / (float)B;
    dW[0] += g * f[0];
    dW[1] += g * f[1];
    db[0] += g;
  }
  *(float *)a[4].data = nan_at("FAKE_NAN_AT") ? NAN : (float)(loss / (double)B);
}
#endif
