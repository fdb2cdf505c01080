/* A hand-written "compiled model" for the optional descriptor keys of padded batches and
 * decoders (end=, max=, padding=): it provides rnnc_model_desc and rnnc_model_forward in C
 * (linked with librnnrt.a, whose main() runs the command line), so that the outputs are
 * exactly known. Build with -DVARIANT=N:
 *   1  input src tokens [B, S] padding=0, input src_len lengths [B] max=S, output out
 *      [B, 5, 4] end=1
 *   2  the same model without the keys, its time axis named T (the runtime used to check
 *      lengths against a symbol named T; it no longer guesses)
 * The model is a decoder of 5 steps: row b writes, at step p < src_len[b], 'x' for the source
 * tokens 'a' and 'c', 'y' for 'b' and '^' for the padding '_'; then '$' (id 1, the end token),
 * 'x', and '$' at the remaining steps (scores one-hot). Every call prints 'fake model: called'
 * on stderr, so that a test sees whether the runtime called the model. */
#include "rnn_runtime.h"

#include <stdio.h>

#ifndef VARIANT
#error "build with -DVARIANT=N"
#endif

#if VARIANT == 1
#define SRC_LINE "input src tokens 2 B S vocab=Src padding=0\n"
#define LEN_LINE "input src_len lengths 1 B max=S\n"
#define OUT_LINE "output out 3 B 5 4 vocab=Tgt scores=probs end=1\n"
#else
#define SRC_LINE "input src tokens 2 B T vocab=Src\n"
#define LEN_LINE "input src_len lengths 1 B\n"
#define OUT_LINE "output out 3 B 5 4 vocab=Tgt scores=probs\n"
#endif

const char rnnc_model_desc[] =
    "rnnc-model 1\n"
    "model fakepad\n"
    "vocab Src 4 chars\n"
    "tok 5f\ntok 61\ntok 62\ntok 63\n" /* _ a b c */
    "vocab Tgt 4 chars\n"
    "tok 5e\ntok 24\ntok 78\ntok 79\n" /* ^ $ x y */
    SRC_LINE LEN_LINE OUT_LINE
    "end\n";

void rnnc_model_forward(rnnrt_tensor *a) {
  const rnnrt_tensor *src = &a[0], *len = &a[1], *out = &a[2];
  static const int map[4] = {0, 2, 3, 2};
  int64_t b = src->sizes[0], s = src->sizes[1];
  const int32_t *ids = src->data, *n = len->data;
  float *y = out->data;
  fprintf(stderr, "fake model: called\n");
  for (int64_t r = 0; r < b; r++) {
    int64_t l = n[r] < 0 ? 0 : n[r] > s ? s : n[r];
    for (int64_t p = 0; p < 5; p++) {
      int tok = p < l ? map[ids[r * s + p] & 3] : p == l ? 1 : p == l + 1 ? 2 : 1;
      for (int k = 0; k < 4; k++) y[(r * 5 + p) * 4 + k] = k == tok ? 1.0f : 0.0f;
    }
  }
}
