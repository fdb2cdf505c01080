/* json.c - a small strict JSON parser (enough for safetensors headers).
 *
 * Accepts exactly RFC 8259: objects, arrays, strings with all escapes (\uXXXX incl. surrogate
 * pairs), numbers, true/false/null. Rejects duplicate object keys, invalid UTF-8, raw control
 * characters in strings, nesting deeper than RNNRT_JSON_MAX_DEPTH and trailing garbage. Every
 * read is bounds-checked against `len`; the input need not be NUL-terminated. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *s;
  size_t len, pos;
  char *errbuf;
  size_t errsz;
  bool failed;
} parser;

static int perr(parser *p, const char *what) {
  if (!p->failed && p->errbuf && p->errsz) {
    if (p->pos >= p->len)
      snprintf(p->errbuf, p->errsz, "at byte %zu: %s (unexpected end of text)", p->pos, what);
    else
      snprintf(p->errbuf, p->errsz, "at byte %zu: %s", p->pos, what);
  }
  p->failed = true;
  return -1;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    unsigned char c = p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
    else break;
  }
}

static bool lit(parser *p, const char *word) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return false;
  p->pos += n;
  return true;
}

/* growable byte buffer */
typedef struct {
  char *d;
  size_t n, cap;
} sbuf;

static bool sb_put(sbuf *b, const void *src, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 32;
    while (nc < b->n + n + 1) {
      if (nc > SIZE_MAX / 2) return false;
      nc *= 2;
    }
    char *nd = realloc(b->d, nc);
    if (!nd) return false;
    b->d = nd;
    b->cap = nc;
  }
  memcpy(b->d + b->n, src, n);
  b->n += n;
  b->d[b->n] = '\0';
  return true;
}

static int hex4(parser *p, uint32_t *out) {
  uint32_t v = 0;
  if (p->len - p->pos < 4) return perr(p, "truncated \\u escape");
  for (int i = 0; i < 4; i++) {
    unsigned char c = p->s[p->pos];
    uint32_t d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return perr(p, "invalid hex digit in \\u escape");
    v = v * 16 + d;
    p->pos++;
  }
  *out = v;
  return 0;
}

static size_t utf8_encode(uint32_t cp, unsigned char *o) {
  if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
  if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Parses a string starting at the opening quote. */
static int parse_string(parser *p, char **out, size_t *out_len) {
  sbuf b = {0};
  p->pos++; /* opening quote */
  for (;;) {
    if (p->pos >= p->len) { free(b.d); return perr(p, "unterminated string"); }
    unsigned char c = p->s[p->pos];
    if (c == '"') { p->pos++; break; }
    if (c < 0x20) { free(b.d); return perr(p, "control character in string"); }
    if (c == '\\') {
      p->pos++;
      if (p->pos >= p->len) { free(b.d); return perr(p, "unterminated escape"); }
      unsigned char e = p->s[p->pos++];
      unsigned char o[4];
      size_t on = 1;
      switch (e) {
        case '"': o[0] = '"'; break;
        case '\\': o[0] = '\\'; break;
        case '/': o[0] = '/'; break;
        case 'b': o[0] = '\b'; break;
        case 'f': o[0] = '\f'; break;
        case 'n': o[0] = '\n'; break;
        case 'r': o[0] = '\r'; break;
        case 't': o[0] = '\t'; break;
        case 'u': {
          uint32_t cp;
          if (hex4(p, &cp) != 0) { free(b.d); return -1; }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (!(p->len - p->pos >= 2 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u')) {
              free(b.d);
              return perr(p, "unpaired surrogate in \\u escape");
            }
            p->pos += 2;
            if (hex4(p, &lo) != 0) { free(b.d); return -1; }
            if (lo < 0xDC00 || lo > 0xDFFF) { free(b.d); return perr(p, "unpaired surrogate in \\u escape"); }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(b.d);
            return perr(p, "unpaired surrogate in \\u escape");
          }
          on = utf8_encode(cp, o);
          break;
        }
        default:
          p->pos--;
          free(b.d);
          return perr(p, "invalid escape in string");
      }
      if (!sb_put(&b, o, on)) { free(b.d); return perr(p, "out of memory"); }
      continue;
    }
    /* run of plain bytes; validate UTF-8 */
    size_t l = rnnrt_utf8_seq_len(p->s + p->pos, p->len - p->pos);
    if (l == 0) { free(b.d); return perr(p, "invalid UTF-8 in string"); }
    if (!sb_put(&b, p->s + p->pos, l)) { free(b.d); return perr(p, "out of memory"); }
    p->pos += l;
  }
  if (!b.d && !sb_put(&b, "", 0)) return perr(p, "out of memory");
  *out = b.d;
  *out_len = b.n;
  return 0;
}

static bool isdig(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, rnnrt_json *v) {
  size_t start = p->pos;
  bool is_int = true;
  if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
  if (p->pos >= p->len || !isdig(p->s[p->pos])) return perr(p, "invalid number");
  if (p->s[p->pos] == '0') {
    p->pos++;
    if (p->pos < p->len && isdig(p->s[p->pos])) return perr(p, "leading zero in number");
  } else {
    while (p->pos < p->len && isdig(p->s[p->pos])) p->pos++;
  }
  if (p->pos < p->len && p->s[p->pos] == '.') {
    is_int = false;
    p->pos++;
    if (p->pos >= p->len || !isdig(p->s[p->pos])) return perr(p, "digit expected after '.'");
    while (p->pos < p->len && isdig(p->s[p->pos])) p->pos++;
  }
  if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
    is_int = false;
    p->pos++;
    if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
    if (p->pos >= p->len || !isdig(p->s[p->pos])) return perr(p, "digit expected in exponent");
    while (p->pos < p->len && isdig(p->s[p->pos])) p->pos++;
  }
  size_t n = p->pos - start;
  char tmp[64];
  char *txt = n < sizeof tmp ? tmp : malloc(n + 1);
  if (!txt) return perr(p, "out of memory");
  memcpy(txt, p->s + start, n);
  txt[n] = '\0';
  v->type = RNNRT_JSON_NUMBER;
  v->num = strtod(txt, NULL);
  v->is_int = false;
  if (is_int) {
    /* exact int64 conversion with overflow detection */
    const char *q = txt;
    bool neg = *q == '-';
    if (neg) q++;
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    bool ok = true;
    for (; *q; q++) {
      uint64_t d = (uint64_t)(*q - '0');
      if (acc > (lim - d) / 10) { ok = false; break; }
      acc = acc * 10 + d;
    }
    if (ok) {
      v->is_int = true;
      v->ival = neg ? (acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    }
  }
  if (txt != tmp) free(txt);
  return 0;
}

static int parse_value(parser *p, rnnrt_json *v, int depth);

static int grow_items(parser *p, rnnrt_json *v, size_t *cap, bool with_keys) {
  if (v->len < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 4;
  if (nc > SIZE_MAX / sizeof(rnnrt_json)) return perr(p, "out of memory");
  rnnrt_json *ni = realloc(v->items, nc * sizeof *ni);
  if (!ni) return perr(p, "out of memory");
  v->items = ni;
  if (with_keys) {
    char **nk = realloc(v->keys, nc * sizeof *nk);
    if (!nk) return perr(p, "out of memory");
    v->keys = nk;
    size_t *nl = realloc(v->key_lens, nc * sizeof *nl);
    if (!nl) return perr(p, "out of memory");
    v->key_lens = nl;
  }
  *cap = nc;
  return 0;
}

static int parse_array(parser *p, rnnrt_json *v, int depth) {
  size_t cap = 0;
  v->type = RNNRT_JSON_ARRAY;
  p->pos++; /* [ */
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 0; }
  for (;;) {
    if (grow_items(p, v, &cap, false) != 0) return -1;
    rnnrt_json *item = &v->items[v->len];
    memset(item, 0, sizeof *item);
    v->len++;
    if (parse_value(p, item, depth + 1) != 0) return -1;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 0; }
    return perr(p, "expected ',' or ']' in array");
  }
}

typedef struct {
  const char *k;
  size_t n;
} keyref;

static int keyref_cmp(const void *a, const void *b) {
  const keyref *x = a, *y = b;
  size_t m = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->k, y->k, m);
  if (c) return c;
  return x->n < y->n ? -1 : x->n > y->n;
}

/* O(n log n) duplicate-key check for large objects. */
static int check_dup_keys(parser *p, const rnnrt_json *v) {
  keyref *r = malloc(v->len * sizeof *r);
  if (!r) return perr(p, "out of memory");
  for (size_t i = 0; i < v->len; i++) r[i] = (keyref){v->keys[i], v->key_lens[i]};
  qsort(r, v->len, sizeof *r, keyref_cmp);
  for (size_t i = 1; i < v->len; i++)
    if (keyref_cmp(&r[i - 1], &r[i]) == 0) {
      free(r);
      p->pos--; /* point at the closing brace */
      return perr(p, "duplicate key in object");
    }
  free(r);
  return 0;
}

static int parse_object(parser *p, rnnrt_json *v, int depth) {
  size_t cap = 0;
  v->type = RNNRT_JSON_OBJECT;
  p->pos++; /* { */
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; return 0; }
  for (;;) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') return perr(p, "expected string key in object");
    if (grow_items(p, v, &cap, true) != 0) return -1;
    size_t key_pos = p->pos;
    char *key;
    size_t klen;
    if (parse_string(p, &key, &klen) != 0) return -1;
    if (v->len < 16) /* small objects: direct check; larger ones are sorted at the end */
      for (size_t i = 0; i < v->len; i++)
        if (v->key_lens[i] == klen && memcmp(v->keys[i], key, klen) == 0) {
          free(key);
          p->pos = key_pos;
          return perr(p, "duplicate key in object");
        }
    rnnrt_json *item = &v->items[v->len];
    memset(item, 0, sizeof *item);
    v->keys[v->len] = key;
    v->key_lens[v->len] = klen;
    v->len++;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') return perr(p, "expected ':' after object key");
    p->pos++;
    if (parse_value(p, item, depth + 1) != 0) return -1;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
    if (p->pos < p->len && p->s[p->pos] == '}') {
      p->pos++;
      return v->len >= 16 ? check_dup_keys(p, v) : 0;
    }
    return perr(p, "expected ',' or '}' in object");
  }
}

static int parse_value(parser *p, rnnrt_json *v, int depth) {
  if (depth > RNNRT_JSON_MAX_DEPTH) return perr(p, "nesting too deep");
  skip_ws(p);
  if (p->pos >= p->len) return perr(p, "expected a value");
  unsigned char c = p->s[p->pos];
  switch (c) {
    case '{': return parse_object(p, v, depth);
    case '[': return parse_array(p, v, depth);
    case '"':
      v->type = RNNRT_JSON_STRING;
      return parse_string(p, &v->str, &v->len);
    case 't':
      if (lit(p, "true")) { v->type = RNNRT_JSON_TRUE; return 0; }
      break;
    case 'f':
      if (lit(p, "false")) { v->type = RNNRT_JSON_FALSE; return 0; }
      break;
    case 'n':
      if (lit(p, "null")) { v->type = RNNRT_JSON_NULL; return 0; }
      break;
    default:
      if (c == '-' || isdig(c)) return parse_number(p, v);
  }
  return perr(p, "unexpected character");
}

int rnnrt_json_parse(const char *text, size_t len, rnnrt_json *out, char *errbuf, size_t errsz) {
  parser p = {(const unsigned char *)text, len, 0, errbuf, errsz, false};
  memset(out, 0, sizeof *out);
  if (errbuf && errsz) errbuf[0] = '\0';
  if (parse_value(&p, out, 1) != 0) {
    rnnrt_json_free(out);
    return -1;
  }
  skip_ws(&p);
  if (p.pos != p.len) {
    perr(&p, "trailing characters after JSON value");
    rnnrt_json_free(out);
    return -1;
  }
  return 0;
}

void rnnrt_json_free(rnnrt_json *v) {
  if (!v) return;
  if (v->type == RNNRT_JSON_STRING) free(v->str);
  if (v->type == RNNRT_JSON_ARRAY || v->type == RNNRT_JSON_OBJECT) {
    for (size_t i = 0; i < v->len; i++) {
      rnnrt_json_free(&v->items[i]);
      if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->key_lens);
  }
  memset(v, 0, sizeof *v);
}

const rnnrt_json *rnnrt_json_get(const rnnrt_json *obj, const char *key) {
  if (!obj || obj->type != RNNRT_JSON_OBJECT) return NULL;
  size_t kl = strlen(key);
  for (size_t i = 0; i < obj->len; i++)
    if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0) return &obj->items[i];
  return NULL;
}
