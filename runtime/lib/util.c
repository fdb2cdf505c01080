/* util.c - errors, dtypes, shapes, overflow checks, byte order, UTF-8, allocation. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rnnrt_escape_controls(char *dst, size_t cap, const char *src) {
  size_t k = 0;
  for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
    char esc[8];
    size_t n;
    if (*p >= 0x20 && *p != 0x7f) esc[0] = (char)*p, n = 1;
    else if (*p == '\n') memcpy(esc, "\\n", 2), n = 2;
    else if (*p == '\t') memcpy(esc, "\\t", 2), n = 2;
    else if (*p == '\r') memcpy(esc, "\\r", 2), n = 2;
    else n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
    if (k + n >= cap) break;
    memcpy(dst + k, esc, n);
    k += n;
  }
  dst[k] = '\0';
}

int rnnrt_fail(rnnrt_error *err, const char *fmt, ...) {
  if (err) {
    char raw[RNNRT_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    rnnrt_escape_controls(err->msg, sizeof err->msg, raw); /* file contents may hold '\n' */
  }
  return -1;
}

bool rnnrt_mul_ok(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > INT64_MAX / a) return false;
  *out = a * b;
  return true;
}

bool rnnrt_add_ok(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0 || a > INT64_MAX - b) return false;
  *out = a + b;
  return true;
}

static const struct {
  const char *name;
  size_t size;
} dtype_table[] = {
    [RNNRT_DTYPE_UNKNOWN] = {"?", 0},       [RNNRT_DTYPE_F32] = {"F32", 4},
    [RNNRT_DTYPE_F64] = {"F64", 8},         [RNNRT_DTYPE_F16] = {"F16", 2},
    [RNNRT_DTYPE_BF16] = {"BF16", 2},       [RNNRT_DTYPE_I8] = {"I8", 1},
    [RNNRT_DTYPE_I16] = {"I16", 2},         [RNNRT_DTYPE_I32] = {"I32", 4},
    [RNNRT_DTYPE_I64] = {"I64", 8},         [RNNRT_DTYPE_U8] = {"U8", 1},
    [RNNRT_DTYPE_U16] = {"U16", 2},         [RNNRT_DTYPE_U32] = {"U32", 4},
    [RNNRT_DTYPE_U64] = {"U64", 8},         [RNNRT_DTYPE_BOOL] = {"BOOL", 1},
    [RNNRT_DTYPE_F8_E4M3] = {"F8_E4M3", 1}, [RNNRT_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};
#define N_DTYPES (sizeof dtype_table / sizeof dtype_table[0])

const char *rnnrt_dtype_name(rnnrt_dtype dt) {
  if ((size_t)dt >= N_DTYPES) return "?";
  return dtype_table[dt].name;
}

size_t rnnrt_dtype_size(rnnrt_dtype dt) {
  if ((size_t)dt >= N_DTYPES) return 0;
  return dtype_table[dt].size;
}

rnnrt_dtype rnnrt_dtype_from_name(const char *name) {
  for (size_t i = 1; i < N_DTYPES; i++)
    if (strcmp(dtype_table[i].name, name) == 0) return (rnnrt_dtype)i;
  return RNNRT_DTYPE_UNKNOWN;
}

int64_t rnnrt_shape_numel(int64_t rank, const int64_t *shape) {
  int64_t n = 1;
  if (rank < 0) return -1;
  for (int64_t i = 0; i < rank; i++)
    if (!rnnrt_mul_ok(n, shape[i], &n)) return -1;
  return n;
}

void rnnrt_format_shape(char *buf, size_t size, int64_t rank, const int64_t *shape) {
  size_t pos = 0;
  if (size == 0) return;
  buf[0] = '\0';
  int w = snprintf(buf, size, "[");
  pos = w > 0 ? (size_t)w : 0;
  for (int64_t i = 0; i < rank && pos < size; i++) {
    w = snprintf(buf + pos, size - pos, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (w < 0) return;
    pos += (size_t)w;
  }
  if (pos < size) snprintf(buf + pos, size - pos, "]");
}

bool rnnrt_host_is_le(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

void rnnrt_bswap_inplace(void *data, size_t w, int64_t n) {
  unsigned char *p = data;
  for (int64_t i = 0; i < n; i++, p += w)
    for (size_t j = 0; j < w / 2; j++) {
      unsigned char t = p[j];
      p[j] = p[w - 1 - j];
      p[w - 1 - j] = t;
    }
}

uint64_t rnnrt_load_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

char *rnnrt_strndup(const char *s, size_t n) {
  char *r = malloc(n + 1);
  if (!r) return NULL;
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}

char *rnnrt_strdup(const char *s) { return rnnrt_strndup(s, strlen(s)); }

size_t rnnrt_utf8_seq_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

bool rnnrt_utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t l = rnnrt_utf8_seq_len(s + i, n - i);
    if (l == 0) return false;
    i += l;
  }
  return true;
}

void *rnnrt_alloc(int64_t nbytes) {
  if (nbytes <= 0 || nbytes > RNNRT_MAX_TENSOR_BYTES) return NULL;
  /* aligned_alloc needs a multiple of the alignment */
  uint64_t rounded = ((uint64_t)nbytes + 63u) & ~(uint64_t)63u;
  if (rounded > (uint64_t)SIZE_MAX) return NULL;
  void *p = aligned_alloc(64, (size_t)rounded);
  if (p) memset(p, 0, (size_t)rounded);
  return p;
}

void rnnrt_tensors_free(rnnrt_tensor *t, int64_t n) {
  if (!t) return;
  for (int64_t i = 0; i < n; i++) {
    free(t[i].data);
    memset(&t[i], 0, sizeof t[i]);
  }
}

/* ---- memrefCopy: the one support routine of MLIR's memref lowering (see the header) ---- */

typedef struct {
  int64_t rank;
  void *desc;
} unranked_memref;

typedef struct {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes_strides[]; /* sizes[rank], then strides[rank] */
} strided_memref;

void memrefCopy(int64_t elem_size, void *src_arg, void *dst_arg) {
  const unranked_memref *su = src_arg, *du = dst_arg;
  const strided_memref *s = su->desc, *d = du->desc;
  int64_t rank = su->rank;
  const int64_t *sizes = s->sizes_strides, *sstr = s->sizes_strides + rank, *dstr = d->sizes_strides + rank;
  const char *sp = s->aligned + s->offset * elem_size;
  char *dp = d->aligned + d->offset * elem_size;
  for (int64_t k = 0; k < rank; k++)
    if (sizes[k] == 0) return;
  if (rank == 0) {
    memmove(dp, sp, (size_t)elem_size);
    return;
  }
  if (rank > 64) abort(); /* the compiler never emits such ranks */
  int64_t idx[64] = {0};
  /* innermost axis contiguous on both sides: copy rows with memmove */
  bool rows = sstr[rank - 1] == 1 && dstr[rank - 1] == 1;
  int64_t roff = 0, woff = 0;
  int64_t last = rows ? rank - 2 : rank - 1; /* last axis iterated by the odometer */
  size_t chunk = (size_t)(rows ? sizes[rank - 1] * elem_size : elem_size);
  for (;;) {
    memmove(dp + woff * elem_size, sp + roff * elem_size, chunk);
    int64_t ax = last;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      roff += sstr[ax];
      woff += dstr[ax];
      if (idx[ax] < sizes[ax]) break;
      roff -= sizes[ax] * sstr[ax];
      woff -= sizes[ax] * dstr[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}
