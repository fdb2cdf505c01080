/* A hand-written "compiled model" for the generate tests: it provides rnnc_model_desc,
 * rnnc_model_forward and rnnc_model_step in C (linked with librnnrt.a, whose main() runs the
 * command line), so that the scores are exactly known. Build with -DVARIANT=N:
 *   1  scores=probs   {0.1, 0.2, 0.3, 0.4}
 *   2  scores=logits  {1, 3, 3, 0}           (b and c tie)
 *   3  no scores=     {0.1, 0.2, 0.3, 0.4}   (looks like probabilities)
 *   4  no scores=     {0.1, 0.2, 0.3, 0.5}   (sums to 1.1: logits)
 *   5  scores=logits  NaN at the third generated token
 *   6  the descriptor says `step` but rnnc_model_step is not defined
 *   7  `step` but the tokens input is [T] (rank 1)
 * The scores are the same at every position, plus the parameter w (zeros from `init`).
 * Every call checks the ABI: the slots (param, input, states in, output, states out), their
 * shapes, that the states in are those the previous call wrote (the number of tokens seen so
 * far), and, when stdout is a regular file, that every byte of the text so far was written
 * (flushed) before the call: the runtime streams its output. A failed check prints
 * 'fake model: ...' and exits 3. */
#include "rnn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VARIANT
#error "build with -DVARIANT=N"
#endif

#if VARIANT == 1
#define SCORES_ATTR " scores=probs"
static const float base[4] = {0.1f, 0.2f, 0.3f, 0.4f};
#elif VARIANT == 2 || VARIANT == 5
#define SCORES_ATTR " scores=logits"
static const float base[4] = {1.0f, 3.0f, 3.0f, 0.0f};
#elif VARIANT == 3 || VARIANT == 6
#define SCORES_ATTR ""
static const float base[4] = {0.1f, 0.2f, 0.3f, 0.4f};
#elif VARIANT == 4
#define SCORES_ATTR ""
static const float base[4] = {0.1f, 0.2f, 0.3f, 0.5f};
#elif VARIANT == 7
#define SCORES_ATTR ""
static const float base[4] = {0.1f, 0.2f, 0.3f, 0.4f};
#endif

#if VARIANT == 7
#define INPUT_LINE "input x tokens 1 T vocab=V\n"
#define OUTPUT_LINE "output y 2 T 4 vocab=V" SCORES_ATTR "\n"
#define STATE_LINES "state n 1 1\n"
#else
#define INPUT_LINE "input x tokens 2 B T vocab=V\n"
#define OUTPUT_LINE "output y 3 B T 4 vocab=V" SCORES_ATTR "\n"
#define STATE_LINES "state n 2 B 1\nstate m 2 2 B\n"
#endif

const char rnnc_model_desc[] =
    "rnnc-model 1\n"
    "model fake\n"
    "vocab V 4 chars\n"
    "tok 61\ntok 62\ntok 63\ntok 64\n"
    INPUT_LINE
    OUTPUT_LINE
    "param w 1 4 zeros\n"
    "step\n"
    STATE_LINES
    "end\n";

static void fill_scores(const rnnrt_tensor *w, float *y, int64_t t, int64_t first) {
  const float *wd = w->data;
  for (int64_t i = 0; i < t; i++)
    for (int k = 0; k < 4; k++) y[i * 4 + k] = base[k] + wd[k];
#if VARIANT == 5
  /* position `first + i` of the text; the prime is one letter: NaN when the third generated
   * token is chosen (after the model has seen 3 tokens) */
  for (int64_t i = 0; i < t; i++)
    if (first + i == 2) y[i * 4 + 1] = NAN;
#else
  (void)first;
#endif
}

void rnnc_model_forward(rnnrt_tensor *a) {
  fill_scores(&a[0], a[2].data, a[1].sizes[a[1].rank - 1], 0);
}

#if VARIANT != 6
static int64_t seen;  /* tokens fed so far */
static int64_t calls;
static off_t stdout_start = -1; /* offset of stdout when the program started (-1: not a file) */

__attribute__((constructor)) static void note_stdout(void) {
  struct stat st;
  if (fstat(1, &st) == 0 && S_ISREG(st.st_mode)) stdout_start = lseek(1, 0, SEEK_CUR);
}

static void die(const char *what) {
  fprintf(stderr, "fake model: %s\n", what);
  exit(3);
}

static void check_stream(int64_t t) {
  if (stdout_start < 0) return;
  /* the first call runs on the prime (printed before it); later calls on the token just
   * printed; chars of this vocab are one byte */
  int64_t want = calls == 0 ? t : seen + 1;
  off_t now = lseek(1, 0, SEEK_CUR);
  if (now - stdout_start != want) {
    fprintf(stderr, "fake model: call %lld: %lld bytes on stdout, expected %lld (not flushed?)\n",
            (long long)calls, (long long)(now - stdout_start), (long long)want);
    exit(3);
  }
}

void rnnc_model_step(rnnrt_tensor *a) {
#if VARIANT == 7
  rnnrt_tensor *w = &a[0], *x = &a[1], *n_in = &a[2], *y = &a[3], *n_out = &a[4];
  int64_t t = x->sizes[0];
  if (x->rank != 1 || y->rank != 2 || y->sizes[0] != t || n_in->rank != 1) die("bad shapes");
#else
  rnnrt_tensor *w = &a[0], *x = &a[1], *n_in = &a[2], *m_in = &a[3], *y = &a[4], *n_out = &a[5], *m_out = &a[6];
  int64_t t = x->sizes[1];
  if (w->rank != 1 || w->sizes[0] != 4) die("param slot: expected w [4]");
  if (x->rank != 2 || x->sizes[0] != 1 || t < 1) die("input slot: expected x [1, T]");
  if (calls > 0 && t != 1) die("input slot: expected x [1, 1] after the prime");
  if (y->rank != 3 || y->sizes[0] != 1 || y->sizes[1] != t || y->sizes[2] != 4) die("output slot: expected y [1, T, 4]");
  if (n_in->rank != 2 || n_in->sizes[0] != 1 || n_in->sizes[1] != 1 || n_out->rank != 2 || n_out->sizes[0] != 1 ||
      n_out->sizes[1] != 1)
    die("state slots: expected n [1, 1]");
  if (m_in->rank != 2 || m_in->sizes[0] != 2 || m_in->sizes[1] != 1 || m_out->rank != 2 || m_out->sizes[0] != 2 ||
      m_out->sizes[1] != 1)
    die("state slots: expected m [2, 1]");
  if (n_in->data == n_out->data || m_in->data == m_out->data) die("states in and out share a buffer");
  const float *mi = m_in->data;
  float *mo = m_out->data;
  if (mi[0] != (float)seen || mi[1] != -(float)seen) die("state m in is not the previous call's state m out");
  mo[0] = (float)(seen + t);
  mo[1] = -(float)(seen + t);
  const int32_t *ids = x->data;
  for (int64_t i = 0; i < t; i++)
    if (ids[i] < 0 || ids[i] > 3) die("token id out of range");
#endif
  check_stream(t);
  if (((const float *)n_in->data)[0] != (float)seen) die("state n in is not the previous call's state n out");
  fill_scores(w, y->data, t, seen);
  seen += t;
  ((float *)n_out->data)[0] = (float)seen;
  calls++;
}
#endif
