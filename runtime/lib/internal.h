/* internal.h - helpers shared by the runtime's source files (not installed). */
#ifndef RNNRT_INTERNAL_H
#define RNNRT_INTERNAL_H

#include "rnn_runtime.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define RNNRT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RNNRT_PRINTF(a, b)
#endif

/* ---- util.c ---- */
/* Sets err->msg (if err is non-NULL); always returns -1 so callers can `return rnnrt_fail(...)`. */
int rnnrt_fail(rnnrt_error *err, const char *fmt, ...) RNNRT_PRINTF(2, 3);
/* Copies src into dst (capacity cap > 0, always NUL-terminated, truncated if needed) with
 * control characters escaped (\n, \t, \r, \xNN), so that a message quoting file contents
 * or arguments stays on one line. */
void rnnrt_escape_controls(char *dst, size_t cap, const char *src);
/* a*b into *out; false on overflow or negative operands. */
bool rnnrt_mul_ok(int64_t a, int64_t b, int64_t *out);
bool rnnrt_add_ok(int64_t a, int64_t b, int64_t *out);
/* Reads a whole file (regular file or pipe) into a malloc'd buffer (NUL-terminated, the NUL
 * not counted). Errors name the path. */
int rnnrt_read_file(const char *path, unsigned char **buf, size_t *size, rnnrt_error *err);
bool rnnrt_host_is_le(void);
/* Byte-swaps n elements of width w (2, 4 or 8) in place. */
void rnnrt_bswap_inplace(void *data, size_t w, int64_t n);
uint64_t rnnrt_load_le64(const unsigned char *p);
char *rnnrt_strdup(const char *s);
char *rnnrt_strndup(const char *s, size_t n);

/* ---- npy.c ---- */
/* Writes a whole .npy image into an open atomic file (no commit). */
int rnnrt_npy_emit(rnnrt_afile *f, rnnrt_dtype dtype, int64_t rank, const int64_t *shape, const void *data,
                   rnnrt_error *err);

/* ---- json.c: small strict JSON (RFC 8259) parser ---- */
typedef enum rnnrt_json_type {
  RNNRT_JSON_NULL,
  RNNRT_JSON_FALSE,
  RNNRT_JSON_TRUE,
  RNNRT_JSON_NUMBER,
  RNNRT_JSON_STRING,
  RNNRT_JSON_ARRAY,
  RNNRT_JSON_OBJECT
} rnnrt_json_type;

typedef struct rnnrt_json rnnrt_json;
struct rnnrt_json {
  rnnrt_json_type type;
  double num;          /* NUMBER */
  bool is_int;         /* NUMBER written as an integer that fits int64 */
  int64_t ival;        /* valid if is_int */
  char *str;           /* STRING: NUL-terminated UTF-8 (may contain \0 via \u0000) */
  size_t len;          /* STRING byte length; ARRAY/OBJECT: number of items */
  rnnrt_json *items;   /* ARRAY/OBJECT values */
  char **keys;         /* OBJECT keys (NUL-terminated) */
  size_t *key_lens;
};

#define RNNRT_JSON_MAX_DEPTH 64
/* Parses exactly one JSON value (surrounding whitespace allowed). Duplicate object keys,
 * invalid UTF-8, control characters in strings, and trailing garbage are errors. On error
 * writes a message like "at byte 17: expected ':'" to errbuf. */
int rnnrt_json_parse(const char *text, size_t len, rnnrt_json *out, char *errbuf, size_t errsz);
void rnnrt_json_free(rnnrt_json *v);
/* Member lookup in an OBJECT (key without embedded NUL); NULL if absent. */
const rnnrt_json *rnnrt_json_get(const rnnrt_json *obj, const char *key);

/* ---- utf8 (util.c) ---- */
/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
size_t rnnrt_utf8_seq_len(const unsigned char *s, size_t n);
bool rnnrt_utf8_valid(const unsigned char *s, size_t n);

/* ---- optim.c: clipping and optimizer updates of `train` (PyTorch's rules) ---- */
typedef enum { RNNRT_OPTIM_SGD, RNNRT_OPTIM_ADAM } rnnrt_optim_kind;
typedef struct rnnrt_optim_cfg {
  rnnrt_optim_kind kind;
  double lr;
  double momentum;      /* sgd */
  bool nesterov;        /* sgd */
  double beta1, beta2, eps; /* adam */
  double weight_decay;  /* L2, added to the gradient (both) */
  double clip;          /* max global gradient norm; 0: no clipping */
} rnnrt_optim_cfg;
/* Global L2 norm of n gradient buffers (accumulated in double). */
double rnnrt_grad_norm(float *const *grads, const int64_t *numel, int64_t n);
/* clip_grad_norm_: scales every gradient by max_norm / (norm + 1e-6) when the norm exceeds
 * max_norm (> 0). Returns the norm before clipping (not finite if a gradient is not). */
double rnnrt_clip_grads(float *const *grads, const int64_t *numel, int64_t n, double max_norm);
/* One update of one parameter; `step` counts from 1. SGD uses buf when momentum != 0 (its
 * contents are ignored at step 1); Adam uses m and v (zero before step 1). */
void rnnrt_sgd_update(const rnnrt_optim_cfg *o, int64_t step, float *p, const float *g, float *buf, int64_t n);
void rnnrt_adam_update(const rnnrt_optim_cfg *o, int64_t step, float *p, const float *g, float *m, float *v,
                       int64_t n);

/* ---- safetensors.c ---- */
/* rnnrt_st_write with a "__metadata__" object of n_meta string pairs (meta[2k] = key,
 * meta[2k+1] = value; n_meta may be 0). */
int rnnrt_st_write_meta(const char *path, const rnnrt_st_entry *entries, size_t n, const char *const *meta,
                        size_t n_meta, rnnrt_error *err);

#endif
