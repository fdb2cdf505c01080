/* Unit test of memrefCopy (runtime/lib/util.c), the routine MLIR's memref.copy lowering calls
 * for non-contiguous copies: strided and transposed views, offsets, rank 0, empty shapes,
 * against a naive element loop. Linked with librnnrt.a (its main() is not pulled in). */
#include "rnn_runtime.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset;
  int64_t ss[8]; /* sizes[rank], strides[rank] */
} desc_t;
typedef struct {
  int64_t rank;
  void *desc;
} unranked_t;

static int64_t elem_index(const desc_t *d, int64_t rank, int64_t flat) {
  int64_t off = d->offset;
  for (int64_t k = rank - 1; k >= 0; k--) {
    off += (flat % d->ss[k]) * d->ss[rank + k];
    flat /= d->ss[k];
  }
  return off;
}

static int check(const char *what, int64_t rank, const int64_t *sizes, const int64_t *sstr, int64_t soff,
                 const int64_t *dstr, int64_t doff) {
  static float src[4096], dst[4096], want[4096];
  for (int i = 0; i < 4096; i++) src[i] = (float)i, dst[i] = want[i] = -1.0f;
  desc_t s = {src, src, soff, {0}}, d = {dst, dst, doff, {0}};
  int64_t n = 1;
  for (int64_t k = 0; k < rank; k++) {
    s.ss[k] = d.ss[k] = sizes[k];
    s.ss[rank + k] = sstr[k];
    d.ss[rank + k] = dstr[k];
    n *= sizes[k];
  }
  for (int64_t i = 0; i < n; i++) want[elem_index(&d, rank, i)] = src[elem_index(&s, rank, i)];
  unranked_t us = {rank, &s}, ud = {rank, &d};
  memrefCopy(sizeof(float), &us, &ud);
  if (memcmp(dst, want, sizeof dst) != 0) {
    printf("FAIL %s\n", what);
    return 1;
  }
  printf("ok %s\n", what);
  return 0;
}

int main(void) {
  int bad = 0;
  bad += check("rank 0", 0, NULL, NULL, 5, NULL, 7);
  bad += check("rank 1 contiguous", 1, (int64_t[]){10}, (int64_t[]){1}, 3, (int64_t[]){1}, 0);
  bad += check("rank 1 strided", 1, (int64_t[]){10}, (int64_t[]){3}, 1, (int64_t[]){2}, 4);
  /* a [B, 1, H] slice of a [B, T, H] buffer (time step t) into a contiguous [B, H] */
  bad += check("rank 2 row slice", 2, (int64_t[]){3, 4}, (int64_t[]){5 * 4, 1}, 2 * 4, (int64_t[]){4, 1}, 0);
  /* contiguous [B, H] into the backward half of a [B, T, 2H] output */
  bad += check("rank 3 half", 3, (int64_t[]){2, 5, 3}, (int64_t[]){15, 3, 1}, 0, (int64_t[]){30, 6, 1}, 3);
  /* transposed source: innermost stride != 1 */
  bad += check("rank 2 transposed", 2, (int64_t[]){4, 6}, (int64_t[]){1, 4}, 0, (int64_t[]){6, 1}, 0);
  bad += check("rank 3 permuted", 3, (int64_t[]){2, 3, 4}, (int64_t[]){1, 8, 2}, 1, (int64_t[]){12, 4, 1}, 2);
  bad += check("size-1 axes", 3, (int64_t[]){1, 7, 1}, (int64_t[]){99, 2, 1}, 0, (int64_t[]){7, 1, 1}, 0);
  bad += check("empty axis", 2, (int64_t[]){3, 0}, (int64_t[]){5, 1}, 0, (int64_t[]){0, 1}, 0);
  printf("memrefCopy: %s\n", bad ? "FAILED" : "all ok");
  return bad != 0;
}
