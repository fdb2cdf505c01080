/* npy.c - reading and writing NumPy .npy files.
 *
 * Read: versions 1.0, 2.0, 3.0; little-endian '<f4', '<i4', '<i8'; C order only.
 * Write: version 1.0 ('<f4' or '<i4'), header padded with spaces and a final '\n' so that
 * the data starts at a multiple of 64 bytes, as numpy does. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_DIMS 64

void rnnrt_npy_free(rnnrt_npy *a) {
  if (!a) return;
  free(a->shape);
  free(a->data);
  memset(a, 0, sizeof *a);
}

/* ---- a tiny parser for the header's Python dict literal ---- */
typedef struct {
  const char *s;
  size_t n, pos;
} hp;

static void hp_ws(hp *p) {
  while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static bool hp_char(hp *p, char ch) {
  hp_ws(p);
  if (p->pos < p->n && p->s[p->pos] == ch) {
    p->pos++;
    return true;
  }
  return false;
}

/* 'text' or "text" without escapes; copies at most cap-1 bytes. */
static bool hp_string(hp *p, char *out, size_t cap) {
  hp_ws(p);
  if (p->pos >= p->n || (p->s[p->pos] != '\'' && p->s[p->pos] != '"')) return false;
  char q = p->s[p->pos++];
  size_t k = 0;
  while (p->pos < p->n && p->s[p->pos] != q) {
    char ch = p->s[p->pos++];
    if (ch == '\\' || k + 1 >= cap) return false;
    out[k++] = ch;
  }
  if (p->pos >= p->n) return false;
  p->pos++;
  out[k] = '\0';
  return true;
}

static bool hp_word(hp *p, const char *w) {
  hp_ws(p);
  size_t l = strlen(w);
  if (p->n - p->pos < l || memcmp(p->s + p->pos, w, l) != 0) return false;
  /* must not continue as an identifier */
  if (p->pos + l < p->n) {
    char c = p->s[p->pos + l];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') return false;
  }
  p->pos += l;
  return true;
}

static bool hp_int(hp *p, int64_t *out) {
  hp_ws(p);
  int64_t v = 0;
  size_t start = p->pos;
  while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
    int d = p->s[p->pos] - '0';
    if (v > (INT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    p->pos++;
  }
  if (p->pos == start) return false;
  if (p->pos < p->n && p->s[p->pos] == 'L') p->pos++; /* Python 2 long */
  *out = v;
  return true;
}

static int parse_header(const char *label, const char *h, size_t hn, rnnrt_npy *out, rnnrt_error *err) {
  hp p = {h, hn, 0};
  bool have_descr = false, have_fo = false, have_shape = false, fortran = false;
  char descr[32] = "";
  int64_t shape[NPY_MAX_DIMS];
  int64_t rank = 0;
  if (!hp_char(&p, '{')) return rnnrt_fail(err, "%s: malformed .npy header (expected a dict)", label);
  for (;;) {
    if (hp_char(&p, '}')) break;
    char key[32];
    if (!hp_string(&p, key, sizeof key) || !hp_char(&p, ':'))
      return rnnrt_fail(err, "%s: malformed .npy header (expected 'key': value)", label);
    if (strcmp(key, "descr") == 0 && !have_descr) {
      have_descr = true;
      if (!hp_string(&p, descr, sizeof descr))
        return rnnrt_fail(err, "%s: unsupported dtype (structured or malformed 'descr'; supported: '<f4', '<i4', '<i8')", label);
    } else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
      have_fo = true;
      if (hp_word(&p, "True")) fortran = true;
      else if (hp_word(&p, "False")) fortran = false;
      else return rnnrt_fail(err, "%s: malformed .npy header ('fortran_order' is not True/False)", label);
    } else if (strcmp(key, "shape") == 0 && !have_shape) {
      have_shape = true;
      if (!hp_char(&p, '(')) return rnnrt_fail(err, "%s: malformed .npy header ('shape' is not a tuple)", label);
      bool trailing_comma = false;
      for (;;) {
        if (hp_char(&p, ')')) break;
        if (rank >= NPY_MAX_DIMS) return rnnrt_fail(err, "%s: too many dimensions in .npy header", label);
        if (!hp_int(&p, &shape[rank])) return rnnrt_fail(err, "%s: malformed .npy header (bad entry in 'shape')", label);
        rank++;
        trailing_comma = hp_char(&p, ',');
        if (trailing_comma) continue;
        if (hp_char(&p, ')')) break;
        return rnnrt_fail(err, "%s: malformed .npy header (bad 'shape' tuple)", label);
      }
      /* Python needs "(3,)" for a 1-tuple; "(3)" is the int 3 */
      if (rank == 1 && !trailing_comma)
        return rnnrt_fail(err, "%s: malformed .npy header ('shape' is not a tuple)", label);
    } else {
      return rnnrt_fail(err, "%s: malformed .npy header (unexpected key '%s')", label, key);
    }
    if (hp_char(&p, ',')) continue;
    if (hp_char(&p, '}')) break;
    return rnnrt_fail(err, "%s: malformed .npy header (expected ',' or '}')", label);
  }
  hp_ws(&p);
  if (p.pos != p.n) return rnnrt_fail(err, "%s: malformed .npy header (text after the dict)", label);
  if (!have_descr || !have_fo || !have_shape)
    return rnnrt_fail(err, "%s: malformed .npy header (missing '%s')", label,
                      !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
  if (strcmp(descr, "<f4") == 0) out->dtype = RNNRT_DTYPE_F32;
  else if (strcmp(descr, "<i4") == 0) out->dtype = RNNRT_DTYPE_I32;
  else if (strcmp(descr, "<i8") == 0) out->dtype = RNNRT_DTYPE_I64;
  else return rnnrt_fail(err, "%s: unsupported dtype '%s' (supported: '<f4', '<i4', '<i8')", label, descr);
  if (fortran)
    return rnnrt_fail(err, "%s: Fortran-order arrays are not supported (save a C-contiguous array)", label);
  out->rank = rank;
  if (rank) {
    out->shape = malloc((size_t)rank * sizeof *out->shape);
    if (!out->shape) return rnnrt_fail(err, "%s: out of memory", label);
    memcpy(out->shape, shape, (size_t)rank * sizeof *shape);
  }
  return 0;
}

int rnnrt_npy_parse(const void *vbuf, size_t size, const char *label, rnnrt_npy *out, rnnrt_error *err) {
  const unsigned char *b = vbuf;
  memset(out, 0, sizeof *out);
  if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return rnnrt_fail(err, "%s: not a .npy file (bad magic)", label);
  unsigned major = b[6], minor = b[7];
  size_t hlen, hstart;
  if (major == 1 && minor == 0) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (size < 12) return rnnrt_fail(err, "%s: truncated .npy header", label);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return rnnrt_fail(err, "%s: unsupported .npy version %u.%u", label, major, minor);
  }
  if (hlen > size - hstart) return rnnrt_fail(err, "%s: truncated .npy header", label);
  if (parse_header(label, (const char *)b + hstart, hlen, out, err) != 0) {
    rnnrt_npy_free(out);
    return -1;
  }
  size_t esz = rnnrt_dtype_size(out->dtype);
  int64_t numel = rnnrt_shape_numel(out->rank, out->shape), bytes;
  if (numel < 0 || !rnnrt_mul_ok(numel, (int64_t)esz, &bytes) || bytes > RNNRT_MAX_TENSOR_BYTES) {
    rnnrt_npy_free(out);
    return rnnrt_fail(err, "%s: array shape is absurdly large", label);
  }
  size_t avail = size - hstart - hlen;
  if ((uint64_t)bytes > (uint64_t)avail) {
    rnnrt_npy_free(out);
    return rnnrt_fail(err, "%s: file is truncated: the data needs %lld bytes, only %zu present", label,
                      (long long)bytes, avail);
  }
  if ((uint64_t)bytes < (uint64_t)avail) {
    rnnrt_npy_free(out);
    return rnnrt_fail(err, "%s: %zu unexpected bytes after the array data", label, avail - (size_t)bytes);
  }
  out->numel = numel;
  out->data = rnnrt_alloc(bytes ? bytes : 1);
  if (!out->data) {
    rnnrt_npy_free(out);
    return rnnrt_fail(err, "%s: out of memory (%lld bytes)", label, (long long)bytes);
  }
  memcpy(out->data, b + hstart + hlen, (size_t)bytes);
  if (!rnnrt_host_is_le()) rnnrt_bswap_inplace(out->data, esz, numel);
  return 0;
}

int rnnrt_npy_read(const char *path, rnnrt_npy *out, rnnrt_error *err) {
  unsigned char *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  if (rnnrt_read_file(path, &buf, &size, err) != 0) return -1;
  int rc = rnnrt_npy_parse(buf, size, path, out, err);
  free(buf);
  return rc;
}

int rnnrt_npy_emit(rnnrt_afile *f, rnnrt_dtype dtype, int64_t rank, const int64_t *shape, const void *data,
                   rnnrt_error *err) {
  const char *descr;
  const char *path = f->path ? f->path : "?";
  if (dtype == RNNRT_DTYPE_F32) descr = "<f4";
  else if (dtype == RNNRT_DTYPE_I32) descr = "<i4";
  else return rnnrt_fail(err, "%s: cannot write dtype %s to .npy", path, rnnrt_dtype_name(dtype));
  if (rank < 0 || rank > RNNRT_MAX_RANK) return rnnrt_fail(err, "%s: invalid rank %lld", path, (long long)rank);
  int64_t numel = rnnrt_shape_numel(rank, shape), bytes;
  if (numel < 0 || !rnnrt_mul_ok(numel, 4, &bytes)) return rnnrt_fail(err, "%s: absurd shape", path);

  char h[512];
  int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int64_t k = 0; k < rank; k++) n += snprintf(h + n, sizeof h - (size_t)n, "%s%lld", k ? ", " : "", (long long)shape[k]);
  n += snprintf(h + n, sizeof h - (size_t)n, "%s), }", rank == 1 ? "," : "");
  /* pad with spaces, end with '\n', total (10 + header) a multiple of 64 */
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  memset(h + n, ' ', pad);
  h[n + (int)pad] = '\n';
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};

  rnnrt_afile_write(f, pre, sizeof pre);
  rnnrt_afile_write(f, h, hlen);
  if (rnnrt_host_is_le()) {
    rnnrt_afile_write(f, data, (size_t)bytes);
  } else {
    unsigned char tmp[4096];
    const unsigned char *src = data;
    for (int64_t pos = 0; pos < bytes;) {
      size_t chunk = (size_t)(bytes - pos < (int64_t)sizeof tmp ? bytes - pos : (int64_t)sizeof tmp);
      memcpy(tmp, src + pos, chunk);
      rnnrt_bswap_inplace(tmp, 4, (int64_t)(chunk / 4));
      rnnrt_afile_write(f, tmp, chunk);
      pos += (int64_t)chunk;
    }
  }
  return 0;
}

int rnnrt_npy_write(const char *path, rnnrt_dtype dtype, int64_t rank, const int64_t *shape, const void *data,
                    rnnrt_error *err) {
  rnnrt_afile f;
  if (rnnrt_afile_open(&f, path, err) != 0) return -1;
  if (rnnrt_npy_emit(&f, dtype, rank, shape, data, err) != 0) {
    rnnrt_afile_abort(&f);
    return -1;
  }
  return rnnrt_afile_commit(&f, err);
}
