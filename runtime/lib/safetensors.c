/* safetensors.c - reading and writing the safetensors format.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON (an object mapping tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__" entry),
 * then the data buffer; offsets are relative to the start of the data buffer. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same limit as the reference implementation. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

static void free_tensors(rnnrt_st_tensor *t, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    free(t[i].name);
    free(t[i].dtype_name);
    free(t[i].shape);
  }
  free(t);
}

void rnnrt_st_free(rnnrt_safetensors *st) {
  if (!st) return;
  free_tensors(st->tensors, st->n_tensors);
  free(st->buffer);
  memset(st, 0, sizeof *st);
}

static int parse_entry(const char *label, const char *name, const rnnrt_json *e,
                       int64_t data_size, const unsigned char *data, rnnrt_st_tensor *t,
                       rnnrt_error *err) {
  if (e->type != RNNRT_JSON_OBJECT)
    return rnnrt_fail(err, "%s: malformed header: entry '%s' is not an object", label, name);
  const rnnrt_json *dt = rnnrt_json_get(e, "dtype");
  const rnnrt_json *sh = rnnrt_json_get(e, "shape");
  const rnnrt_json *of = rnnrt_json_get(e, "data_offsets");
  if (!dt) return rnnrt_fail(err, "%s: malformed header: tensor '%s' has no 'dtype'", label, name);
  if (!sh) return rnnrt_fail(err, "%s: malformed header: tensor '%s' has no 'shape'", label, name);
  if (!of) return rnnrt_fail(err, "%s: malformed header: tensor '%s' has no 'data_offsets'", label, name);
  if (dt->type != RNNRT_JSON_STRING || memchr(dt->str, '\0', dt->len))
    return rnnrt_fail(err, "%s: malformed header: tensor '%s': 'dtype' is not a string", label, name);
  if (sh->type != RNNRT_JSON_ARRAY)
    return rnnrt_fail(err, "%s: malformed header: tensor '%s': 'shape' is not an array", label, name);
  if (of->type != RNNRT_JSON_ARRAY || of->len != 2)
    return rnnrt_fail(err, "%s: malformed header: tensor '%s': 'data_offsets' is not [begin, end]", label, name);
  t->dtype_name = rnnrt_strdup(dt->str);
  if (!t->dtype_name) return rnnrt_fail(err, "%s: out of memory", label);
  t->dtype = rnnrt_dtype_from_name(dt->str);
  t->rank = (int64_t)sh->len;
  if (sh->len) {
    t->shape = malloc(sh->len * sizeof *t->shape);
    if (!t->shape) return rnnrt_fail(err, "%s: out of memory", label);
  }
  int64_t numel = 1;
  bool overflow = false;
  for (size_t k = 0; k < sh->len; k++) {
    const rnnrt_json *d = &sh->items[k];
    if (d->type != RNNRT_JSON_NUMBER || !d->is_int || d->ival < 0)
      return rnnrt_fail(err, "%s: malformed header: tensor '%s': shape entries must be non-negative integers", label, name);
    t->shape[k] = d->ival;
    if (!rnnrt_mul_ok(numel, d->ival, &numel)) overflow = true;
  }
  int64_t off[2];
  for (int k = 0; k < 2; k++) {
    const rnnrt_json *d = &of->items[k];
    if (d->type != RNNRT_JSON_NUMBER || !d->is_int || d->ival < 0)
      return rnnrt_fail(err, "%s: malformed header: tensor '%s': data_offsets must be non-negative integers", label, name);
    off[k] = d->ival;
  }
  if (off[1] < off[0])
    return rnnrt_fail(err, "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin", label, name,
                      (long long)off[0], (long long)off[1]);
  if (off[1] > data_size)
    return rnnrt_fail(err, "%s: tensor '%s': data_offsets [%lld, %lld] out of range (data section is %lld bytes; file truncated?)",
                      label, name, (long long)off[0], (long long)off[1], (long long)data_size);
  int64_t nbytes = off[1] - off[0];
  size_t esz = rnnrt_dtype_size(t->dtype);
  if (esz) {
    int64_t want;
    if (overflow || !rnnrt_mul_ok(numel, (int64_t)esz, &want))
      return rnnrt_fail(err, "%s: tensor '%s': shape is absurdly large", label, name);
    if (want != nbytes) {
      char sbuf[256];
      rnnrt_format_shape(sbuf, sizeof sbuf, t->rank, t->shape);
      return rnnrt_fail(err, "%s: tensor '%s': data_offsets span %lld bytes but shape %s of %s needs %lld", label,
                        name, (long long)nbytes, sbuf, t->dtype_name, (long long)want);
    }
  }
  t->data = data + off[0];
  t->nbytes = nbytes;
  return 0;
}

int rnnrt_st_parse(const void *vbuf, size_t size, const char *label, rnnrt_safetensors *out,
                   rnnrt_error *err) {
  const unsigned char *buf = vbuf;
  memset(out, 0, sizeof *out);
  if (size < 8)
    return rnnrt_fail(err, "%s: file is too short (%zu bytes) to be a safetensors file", label, size);
  uint64_t hlen = rnnrt_load_le64(buf);
  if (hlen > ST_MAX_HEADER)
    return rnnrt_fail(err, "%s: header length %llu is absurdly large (not a safetensors file?)", label,
                      (unsigned long long)hlen);
  if (hlen > size - 8)
    return rnnrt_fail(err, "%s: header length %llu exceeds the file size (%zu bytes; truncated?)", label,
                      (unsigned long long)hlen, size);
  if (hlen < 2 || buf[8] != '{')
    return rnnrt_fail(err, "%s: malformed header: not a JSON object", label);
  rnnrt_json root;
  char jerr[256];
  if (rnnrt_json_parse((const char *)buf + 8, (size_t)hlen, &root, jerr, sizeof jerr) != 0)
    return rnnrt_fail(err, "%s: malformed JSON header: %s", label, jerr);
  if (root.type != RNNRT_JSON_OBJECT) {
    rnnrt_json_free(&root);
    return rnnrt_fail(err, "%s: malformed header: not a JSON object", label);
  }
  const unsigned char *data = buf + 8 + hlen;
  int64_t data_size = (int64_t)(size - 8 - hlen);
  if (root.len) {
    out->tensors = calloc(root.len, sizeof *out->tensors);
    if (!out->tensors) {
      rnnrt_json_free(&root);
      return rnnrt_fail(err, "%s: out of memory", label);
    }
  }
  for (size_t i = 0; i < root.len; i++) {
    const char *name = root.keys[i];
    if (strcmp(name, "__metadata__") == 0) continue;
    if (memchr(name, '\0', root.key_lens[i])) {
      rnnrt_json_free(&root);
      rnnrt_st_free(out);
      return rnnrt_fail(err, "%s: malformed header: tensor name contains a NUL character", label);
    }
    rnnrt_st_tensor *t = &out->tensors[out->n_tensors++];
    if (!(t->name = rnnrt_strdup(name))) {
      rnnrt_json_free(&root);
      rnnrt_st_free(out);
      return rnnrt_fail(err, "%s: out of memory", label);
    }
    if (parse_entry(label, name, &root.items[i], data_size, data, t, err) != 0) {
      rnnrt_json_free(&root);
      rnnrt_st_free(out);
      return -1;
    }
  }
  rnnrt_json_free(&root);
  out->size = (int64_t)size;
  return 0;
}

int rnnrt_st_read(const char *path, rnnrt_safetensors *out, rnnrt_error *err) {
  unsigned char *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  if (rnnrt_read_file(path, &buf, &size, err) != 0) return -1;
  if (rnnrt_st_parse(buf, size, path, out, err) != 0) {
    free(buf);
    return -1;
  }
  out->buffer = buf;
  return 0;
}

const rnnrt_st_tensor *rnnrt_st_find(const rnnrt_safetensors *st, const char *name) {
  for (int64_t i = 0; i < st->n_tensors; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

/* ---- writing ---- */

typedef struct {
  char *d;
  size_t n, cap;
  bool oom;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->n + n + 1) nc *= 2;
    char *nd = realloc(b->d, nc);
    if (!nd) {
      b->oom = true;
      return;
    }
    b->d = nd;
    b->cap = nc;
  }
  memcpy(b->d + b->n, s, n);
  b->n += n;
  b->d[b->n] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_json_string(strbuf *b, const char *s) {
  sb_add(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      sb_add(b, esc, 2);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      sb_add(b, esc, 6);
    } else {
      sb_add(b, (const char *)p, 1);
    }
  }
  sb_add(b, "\"", 1);
}

int rnnrt_st_write(const char *path, const rnnrt_st_entry *e, size_t n, rnnrt_error *err) {
  return rnnrt_st_write_meta(path, e, n, NULL, 0, err);
}

int rnnrt_st_write_meta(const char *path, const rnnrt_st_entry *e, size_t n, const char *const *meta, size_t n_meta,
                        rnnrt_error *err) {
  strbuf h = {0};
  int64_t off = 0;
  int64_t *nbytes = n ? calloc(n, sizeof *nbytes) : NULL;
  if (n && !nbytes) return rnnrt_fail(err, "%s: out of memory", path);
  sb_str(&h, "{");
  if (n_meta) {
    sb_str(&h, "\"__metadata__\":{");
    for (size_t i = 0; i < n_meta; i++) {
      if (i) sb_str(&h, ",");
      sb_json_string(&h, meta[2 * i]);
      sb_str(&h, ":");
      sb_json_string(&h, meta[2 * i + 1]);
    }
    sb_str(&h, n ? "}," : "}");
  }
  for (size_t i = 0; i < n; i++) {
    size_t esz = rnnrt_dtype_size(e[i].dtype);
    int64_t numel = rnnrt_shape_numel(e[i].rank, e[i].shape), bytes;
    if (!esz) {
      free(h.d);
      free(nbytes);
      return rnnrt_fail(err, "%s: tensor '%s': unknown dtype", path, e[i].name);
    }
    if (numel < 0 || !rnnrt_mul_ok(numel, (int64_t)esz, &bytes) || !rnnrt_add_ok(off, bytes, &off)) {
      free(h.d);
      free(nbytes);
      return rnnrt_fail(err, "%s: tensor '%s': absurd shape", path, e[i].name);
    }
    if (!rnnrt_utf8_valid((const unsigned char *)e[i].name, strlen(e[i].name)) ||
        strcmp(e[i].name, "__metadata__") == 0 || !e[i].name[0]) {
      free(h.d);
      free(nbytes);
      return rnnrt_fail(err, "%s: invalid tensor name '%s'", path, e[i].name);
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(e[i].name, e[j].name) == 0) {
        free(h.d);
        free(nbytes);
        return rnnrt_fail(err, "%s: duplicate tensor name '%s'", path, e[i].name);
      }
    nbytes[i] = bytes;
    char num[64];
    if (i) sb_str(&h, ",");
    sb_json_string(&h, e[i].name);
    sb_str(&h, ":{\"dtype\":\"");
    sb_str(&h, rnnrt_dtype_name(e[i].dtype));
    sb_str(&h, "\",\"shape\":[");
    for (int64_t k = 0; k < e[i].rank; k++) {
      snprintf(num, sizeof num, "%s%lld", k ? "," : "", (long long)e[i].shape[k]);
      sb_str(&h, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%lld,%lld]}", (long long)(off - bytes), (long long)off);
    sb_str(&h, num);
  }
  sb_str(&h, "}");
  while (!h.oom && h.n % 8 != 0) sb_str(&h, " ");
  if (h.oom) {
    free(h.d);
    free(nbytes);
    return rnnrt_fail(err, "%s: out of memory", path);
  }
  unsigned char len8[8];
  for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)h.n >> (8 * k));

  rnnrt_afile f;
  if (rnnrt_afile_open(&f, path, err) != 0) {
    free(h.d);
    free(nbytes);
    return -1;
  }
  rnnrt_afile_write(&f, len8, 8);
  rnnrt_afile_write(&f, h.d, h.n);
  free(h.d);
  bool le = rnnrt_host_is_le();
  for (size_t i = 0; i < n; i++) {
    if (le || rnnrt_dtype_size(e[i].dtype) == 1) {
      rnnrt_afile_write(&f, e[i].data, (size_t)nbytes[i]);
    } else { /* big-endian host: swap through a small buffer */
      size_t w = rnnrt_dtype_size(e[i].dtype);
      unsigned char tmp[4096];
      const unsigned char *src = e[i].data;
      for (int64_t pos = 0; pos < nbytes[i];) {
        size_t chunk = (size_t)(nbytes[i] - pos < (int64_t)sizeof tmp ? nbytes[i] - pos : (int64_t)sizeof tmp);
        memcpy(tmp, src + pos, chunk);
        rnnrt_bswap_inplace(tmp, w, (int64_t)(chunk / w));
        rnnrt_afile_write(&f, tmp, chunk);
        pos += (int64_t)chunk;
      }
    }
  }
  free(nbytes);
  return rnnrt_afile_commit(&f, err);
}
