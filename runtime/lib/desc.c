/* desc.c - parser and validator of the model descriptor (docs/runtime-abi.md). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE "model descriptor"

typedef struct {
  int lineno;
  char *text;    /* owned copy of the line */
  char **f;      /* fields (point into text) */
  int nf;
} line_t;

typedef struct {
  rnnrt_model_desc *d;
  rnnrt_error *err;
  line_t *lines;
  int n_lines;
  int grad_state_line;  /* line number of `grad_state`, 0 if none */
} ctx;

static int lfail(ctx *c, const line_t *l, const char *fmt, ...) RNNRT_PRINTF(3, 4);
static int lfail(ctx *c, const line_t *l, const char *fmt, ...) {
  char buf[RNNRT_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (l) return rnnrt_fail(c->err, WHERE ": line %d: %s", l->lineno, buf);
  return rnnrt_fail(c->err, WHERE ": %s", buf);
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha_(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

/* Names of models, vocabs, inputs, outputs and params: [A-Za-z0-9_][A-Za-z0-9_.-]*
 * (PyTorch state_dict keys like "0.weight", "enc.weight_ih_l0"); usable as file names. */
static bool valid_name(const char *s) {
  if (!(is_alpha_(s[0]) || is_digit(s[0]))) return false;
  for (const char *p = s; *p; p++)
    if (!(is_alpha_(*p) || is_digit(*p) || *p == '.' || *p == '-')) return false;
  return true;
}

static bool valid_symbol(const char *s) {
  if (!is_alpha_(s[0])) return false;
  for (const char *p = s; *p; p++)
    if (!(is_alpha_(*p) || is_digit(*p))) return false;
  return true;
}

/* Strict non-negative decimal integer. */
static bool parse_uint(const char *s, int64_t *out) {
  int64_t v = 0;
  if (!*s) return false;
  for (const char *p = s; *p; p++) {
    if (!is_digit(*p)) return false;
    if (v > (INT64_MAX - (*p - '0')) / 10) return false;
    v = v * 10 + (*p - '0');
  }
  *out = v;
  return true;
}

static int split_lines(ctx *c, const char *text) {
  size_t len = strlen(text);
  int lineno = 1;
  size_t cap = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '\n') { lineno++; continue; }
    if (ch < 0x20 || ch > 0x7e) {
      line_t tmp = {lineno, NULL, NULL, 0};
      return lfail(c, &tmp, "invalid byte 0x%02x (the descriptor is printable ASCII)", ch);
    }
  }
  if (len == 0) return lfail(c, NULL, "empty");
  if (text[len - 1] != '\n') {
    line_t tmp = {lineno, NULL, NULL, 0};
    return lfail(c, &tmp, "last line is not terminated by a newline (truncated?)");
  }
  size_t start = 0;
  lineno = 1;
  while (start < len) {
    const char *nl = memchr(text + start, '\n', len - start);
    size_t n = (size_t)(nl - (text + start));
    if ((size_t)c->n_lines == cap) {
      size_t nc = cap ? cap * 2 : 64;
      line_t *nlines = realloc(c->lines, nc * sizeof *nlines);
      if (!nlines) return lfail(c, NULL, "out of memory");
      c->lines = nlines;
      cap = nc;
    }
    line_t *l = &c->lines[c->n_lines];
    memset(l, 0, sizeof *l);
    l->lineno = lineno;
    l->text = rnnrt_strndup(text + start, n);
    if (!l->text) return lfail(c, NULL, "out of memory");
    c->n_lines++;
    int nf = 1;
    for (size_t k = 0; k < n; k++) nf += l->text[k] == ' ';
    l->f = malloc((size_t)nf * sizeof *l->f);
    if (!l->f) return lfail(c, NULL, "out of memory");
    char *p = l->text;
    l->f[l->nf++] = p;
    for (; *p; p++)
      if (*p == ' ') {
        *p = '\0';
        l->f[l->nf++] = p + 1;
      }
    for (int k = 0; k < l->nf; k++)
      if (l->f[k][0] == '\0')
        return lfail(c, l, "empty field (fields are separated by single spaces)");
    start += n + 1;
    lineno++;
  }
  return 0;
}

static int intern_symbol(ctx *c, const char *s) {
  rnnrt_model_desc *d = c->d;
  for (int64_t i = 0; i < d->n_symbols; i++)
    if (strcmp(d->symbols[i], s) == 0) return (int)i;
  if (d->n_symbols >= INT32_MAX) return -1;
  char **ns = realloc(d->symbols, (size_t)(d->n_symbols + 1) * sizeof *ns);
  if (!ns) return -1;
  d->symbols = ns;
  if (!(ns[d->n_symbols] = rnnrt_strdup(s))) return -1;
  return (int)d->n_symbols++;
}

static int vocab_index(const rnnrt_model_desc *d, const char *name) {
  for (int64_t i = 0; i < d->n_vocabs; i++)
    if (strcmp(d->vocabs[i].name, name) == 0) return (int)i;
  return -1;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

typedef struct {
  const char *s;
  size_t n;
  int64_t idx;
} tokref;

static int tokref_cmp(const void *a, const void *b) {
  const tokref *x = a, *y = b;
  size_t m = x->n < y->n ? x->n : y->n;
  int r = memcmp(x->s, y->s, m);
  if (r) return r;
  if (x->n != y->n) return x->n < y->n ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* vocab <name> <size> <kind>, followed by <size> tok lines for chars/words.
 * Returns the index of the next unconsumed line, or -1. */
static int parse_vocab(ctx *c, int li) {
  rnnrt_model_desc *d = c->d;
  line_t *l = &c->lines[li];
  if (l->nf != 4) return lfail(c, l, "expected 'vocab <name> <size> <kind>'");
  if (!valid_name(l->f[1])) return lfail(c, l, "invalid vocab name '%s'", l->f[1]);
  if (vocab_index(d, l->f[1]) >= 0) return lfail(c, l, "duplicate vocab '%s'", l->f[1]);
  int64_t size;
  if (!parse_uint(l->f[2], &size) || size < 1 || size > INT32_MAX)
    return lfail(c, l, "invalid vocab size '%s' (expected 1 .. %d)", l->f[2], INT32_MAX);
  rnnrt_vocab_kind kind;
  if (strcmp(l->f[3], "chars") == 0) kind = RNNRT_VOCAB_CHARS;
  else if (strcmp(l->f[3], "words") == 0) kind = RNNRT_VOCAB_WORDS;
  else if (strcmp(l->f[3], "ids") == 0) kind = RNNRT_VOCAB_IDS;
  else return lfail(c, l, "unknown vocab kind '%s' (expected chars, words or ids)", l->f[3]);

  rnnrt_vocab *nv = realloc(d->vocabs, (size_t)(d->n_vocabs + 1) * sizeof *nv);
  if (!nv) return lfail(c, l, "out of memory");
  d->vocabs = nv;
  rnnrt_vocab *v = &d->vocabs[d->n_vocabs++];
  memset(v, 0, sizeof *v);
  v->name = rnnrt_strdup(l->f[1]);
  if (!v->name) return lfail(c, l, "out of memory");
  v->size = size;
  v->kind = kind;
  li++;
  if (kind == RNNRT_VOCAB_IDS) {
    if (li < c->n_lines && strcmp(c->lines[li].f[0], "tok") == 0)
      return lfail(c, &c->lines[li], "'tok' line after vocab '%s' of kind ids", v->name);
    return li;
  }
  if (size > c->n_lines - li)
    return lfail(c, l, "vocab '%s' declares %lld tokens but fewer 'tok' lines follow", v->name,
                 (long long)size);
  v->tokens = calloc((size_t)size, sizeof *v->tokens);
  v->token_lens = calloc((size_t)size, sizeof *v->token_lens);
  if (!v->tokens || !v->token_lens) return lfail(c, l, "out of memory");
  for (int64_t t = 0; t < size; t++, li++) {
    line_t *tl = &c->lines[li];
    if (strcmp(tl->f[0], "tok") != 0)
      return lfail(c, tl, "expected 'tok' line %lld of %lld for vocab '%s'", (long long)t + 1,
                   (long long)size, v->name);
    if (tl->nf != 2) return lfail(c, tl, "expected 'tok <hex>'");
    const char *hex = tl->f[1];
    size_t hl = strlen(hex);
    if (hl % 2 != 0) return lfail(c, tl, "odd number of hex digits in token");
    char *tok = malloc(hl / 2 + 1);
    if (!tok) return lfail(c, tl, "out of memory");
    v->tokens[t] = tok;
    for (size_t k = 0; k < hl / 2; k++) {
      int hi = hexval(hex[2 * k]), lo = hexval(hex[2 * k + 1]);
      if (hi < 0 || lo < 0) return lfail(c, tl, "invalid hex digit in token");
      tok[k] = (char)(hi * 16 + lo);
    }
    tok[hl / 2] = '\0';
    v->token_lens[t] = hl / 2;
    const unsigned char *u = (const unsigned char *)tok;
    size_t tn = hl / 2;
    if (!rnnrt_utf8_valid(u, tn)) return lfail(c, tl, "token %lld of vocab '%s' is not valid UTF-8", (long long)t, v->name);
    if (memchr(tok, '\0', tn)) return lfail(c, tl, "token %lld of vocab '%s' contains a NUL byte", (long long)t, v->name);
    if (kind == RNNRT_VOCAB_CHARS && (tn == 0 || rnnrt_utf8_seq_len(u, tn) != tn))
      return lfail(c, tl, "token %lld of chars vocab '%s' is not exactly one character", (long long)t, v->name);
    if (kind == RNNRT_VOCAB_WORDS) {
      if (tn == 0) return lfail(c, tl, "token %lld of words vocab '%s' is empty", (long long)t, v->name);
      for (size_t k = 0; k < tn; k++)
        if (strchr(" \t\n\r\v\f", tok[k]))
          return lfail(c, tl, "token %lld of words vocab '%s' contains whitespace", (long long)t, v->name);
    }
  }
  /* duplicates */
  tokref *r = malloc((size_t)size * sizeof *r);
  if (!r) return lfail(c, l, "out of memory");
  for (int64_t t = 0; t < size; t++) r[t] = (tokref){v->tokens[t], v->token_lens[t], t};
  qsort(r, (size_t)size, sizeof *r, tokref_cmp);
  for (int64_t t = 1; t < size; t++)
    if (r[t - 1].n == r[t].n && memcmp(r[t - 1].s, r[t].s, r[t].n) == 0) {
      int64_t a = r[t - 1].idx, b = r[t].idx;
      free(r);
      return lfail(c, l, "vocab '%s' lists the same token twice (entries %lld and %lld)", v->name,
                   (long long)a, (long long)b);
    }
  free(r);
  return li;
}

typedef enum { G_INPUT, G_TARGET, G_OUTPUT, G_PARAM, G_STATE, G_TSTATE } group_t;
static const char *group_name[] = {"input", "target", "output", "param", "state", "tstate"};

static rnnrt_decl *new_decl(ctx *c, group_t g) {
  rnnrt_model_desc *d = c->d;
  rnnrt_decl **arr;
  int64_t *n;
  switch (g) {
    case G_INPUT: arr = &d->inputs; n = &d->n_inputs; break;
    case G_TARGET: arr = &d->targets; n = &d->n_targets; break;
    case G_OUTPUT: arr = &d->outputs; n = &d->n_outputs; break;
    case G_STATE: arr = &d->states; n = &d->n_states; break;
    case G_TSTATE: arr = &d->tstates; n = &d->n_tstates; break;
    default: arr = &d->params; n = &d->n_params; break;
  }
  rnnrt_decl *na = realloc(*arr, (size_t)(*n + 1) * sizeof *na);
  if (!na) return NULL;
  *arr = na;
  rnnrt_decl *x = &na[(*n)++];
  memset(x, 0, sizeof *x);
  x->vocab = -1;
  x->classes = -1;
  x->end = -1;
  x->max_sym = -1;
  x->padding = -1;
  return x;
}

static int parse_decl(ctx *c, line_t *l, group_t g) {
  const char *gname = group_name[g];
  int fi = 1;
  if (l->nf < 3) return lfail(c, l, "incomplete '%s' line", gname);
  rnnrt_decl *x = new_decl(c, g);
  if (!x) return lfail(c, l, "out of memory");
  x->line = l->lineno;
  if (!valid_name(l->f[fi])) return lfail(c, l, "invalid %s name '%s'", gname, l->f[fi]);
  if (!(x->name = rnnrt_strdup(l->f[fi]))) return lfail(c, l, "out of memory");
  fi++;
  x->kind = RNNRT_KIND_F32;
  if (g == G_INPUT || g == G_TARGET) {
    const char *k = l->f[fi++];
    if (strcmp(k, "f32") == 0) x->kind = RNNRT_KIND_F32;
    else if (strcmp(k, "tokens") == 0) x->kind = RNNRT_KIND_TOKENS;
    else if (g == G_INPUT && strcmp(k, "lengths") == 0) x->kind = RNNRT_KIND_LENGTHS;
    else if (g == G_TARGET && strcmp(k, "class") == 0) x->kind = RNNRT_KIND_CLASS;
    else
      return lfail(c, l, "unknown %s kind '%s' (expected %s)", gname, k,
                   g == G_INPUT ? "tokens, f32 or lengths" : "tokens, class or f32");
  }
  if (fi >= l->nf) return lfail(c, l, "missing rank in '%s' line", gname);
  int64_t rank;
  if (!parse_uint(l->f[fi], &rank) || rank > RNNRT_MAX_RANK)
    return lfail(c, l, "invalid rank '%s' (expected 0 .. %d)", l->f[fi], RNNRT_MAX_RANK);
  fi++;
  x->rank = rank;
  if (l->nf - fi < rank) return lfail(c, l, "%s '%s' has rank %lld but only %d dimensions", gname, x->name, (long long)rank, l->nf - fi);
  for (int64_t k = 0; k < rank; k++, fi++) {
    const char *s = l->f[fi];
    int64_t v;
    if (parse_uint(s, &v)) {
      if (v < 1) return lfail(c, l, "dimension %lld of '%s' is 0", (long long)k, x->name);
      x->dims[k].size = v;
      x->dims[k].sym = -1;
    } else if (valid_symbol(s)) {
      if (g == G_PARAM)
        return lfail(c, l, "param '%s' has symbolic dimension '%s' (params have static shapes)", x->name, s);
      int si = intern_symbol(c, s);
      if (si < 0) return lfail(c, l, "out of memory");
      x->dims[k].size = 0;
      x->dims[k].sym = si;
    } else {
      return lfail(c, l, "invalid dimension '%s' (expected a positive integer or a symbol)", s);
    }
  }
  if (g == G_PARAM) {
    if (fi != l->nf - 1 && !(fi == l->nf - 2 && strncmp(l->f[fi + 1], "padding=", 8) == 0))
      return lfail(c, l, "expected 'param <name> <rank> <dim>... <init> [padding=<row>]'");
    if (fi == l->nf - 2) {
      const char *p = l->f[fi + 1] + 8;
      if (!parse_uint(p, &x->padding) || x->rank != 2 || x->padding >= x->dims[0].size)
        return lfail(c, l, "invalid padding row '%s' of param '%s' (expected a row of a [rows, dim] table)", p,
                     x->name);
    }
    const char *init = l->f[fi];
    if (strcmp(init, "zeros") == 0) x->init = RNNRT_INIT_ZEROS;
    else if (strcmp(init, "ones") == 0) x->init = RNNRT_INIT_ONES;
    else if (strncmp(init, "uniform:", 8) == 0 || strncmp(init, "normal:", 7) == 0) {
      bool uni = init[0] == 'u';
      const char *num = init + (uni ? 8 : 7);
      char *end;
      double a = strtod(num, &end);
      /* strtod accepts "inf", "nan", hex, leading space: insist on a plain finite number */
      if (!*num || *end || !isfinite(a) || a < 0 || !(is_digit(num[0]) || num[0] == '.') ||
          strspn(num, "0123456789.eE+-") != strlen(num))
        return lfail(c, l, "invalid %s '%s' in init '%s' (expected a finite number >= 0)", uni ? "bound" : "std", num, init);
      x->init = uni ? RNNRT_INIT_UNIFORM : RNNRT_INIT_NORMAL;
      x->init_arg = a;
    } else {
      return lfail(c, l, "unknown init '%s' (expected uniform:<bound>, normal:<std>, zeros or ones)", init);
    }
    int64_t n = rnnrt_decl_numel(x), bytes;
    if (n < 0 || !rnnrt_mul_ok(n, 4, &bytes) || bytes > RNNRT_MAX_TENSOR_BYTES)
      return lfail(c, l, "param '%s' is absurdly large", x->name);
    if (!rnnrt_add_ok(c->d->total_param_elems, n, &c->d->total_param_elems))
      return lfail(c, l, "total parameter count overflows");
    return 0;
  }
  /* attributes */
  bool seen_vocab = false, seen_classes = false, seen_scores = false, seen_end = false, seen_max = false,
       seen_padding = false;
  for (; fi < l->nf; fi++) {
    const char *a = l->f[fi];
    if ((g == G_STATE || g == G_TSTATE) && strchr(a, '=')) {
      return lfail(c, l, "unknown attribute '%s' on %s '%s' (%ss take none)", a, gname, x->name, gname);
    } else if (strncmp(a, "vocab=", 6) == 0) {
      if (seen_vocab) return lfail(c, l, "duplicate attribute 'vocab='");
      seen_vocab = true;
      int vi = vocab_index(c->d, a + 6);
      if (vi < 0) return lfail(c, l, "unknown vocab '%s'", a + 6);
      x->vocab = vi;
    } else if (g == G_TARGET && strncmp(a, "classes=", 8) == 0) {
      if (seen_classes) return lfail(c, l, "duplicate attribute 'classes='");
      seen_classes = true;
      int64_t n;
      if (!parse_uint(a + 8, &n) || n < 1 || n > INT32_MAX) return lfail(c, l, "invalid classes count '%s'", a + 8);
      x->classes = n;
    } else if (g == G_OUTPUT && strncmp(a, "scores=", 7) == 0) {
      if (seen_scores) return lfail(c, l, "duplicate attribute 'scores='");
      seen_scores = true;
      if (strcmp(a + 7, "probs") == 0) x->scores = RNNRT_SCORES_PROBS;
      else if (strcmp(a + 7, "logits") == 0) x->scores = RNNRT_SCORES_LOGITS;
      else return lfail(c, l, "invalid scores kind '%s' (expected probs or logits)", a + 7);
    } else if (g == G_OUTPUT && strncmp(a, "end=", 4) == 0) {
      if (seen_end) return lfail(c, l, "duplicate attribute 'end='");
      seen_end = true;
      if (!parse_uint(a + 4, &x->end) || x->end > INT32_MAX)
        return lfail(c, l, "invalid end token id '%s' (expected a token id of the output's vocab)", a + 4);
    } else if (g == G_INPUT && strncmp(a, "max=", 4) == 0) {
      if (seen_max) return lfail(c, l, "duplicate attribute 'max='");
      seen_max = true;
      if (!valid_symbol(a + 4))
        return lfail(c, l, "invalid symbol '%s' in max= (expected the symbol of an input's dimension)", a + 4);
      int si = intern_symbol(c, a + 4);
      if (si < 0) return lfail(c, l, "out of memory");
      x->max_sym = si;
    } else if (g == G_INPUT && strncmp(a, "padding=", 8) == 0) {
      if (seen_padding) return lfail(c, l, "duplicate attribute 'padding='");
      seen_padding = true;
      if (!parse_uint(a + 8, &x->padding) || x->padding > INT32_MAX)
        return lfail(c, l, "invalid padding token id '%s' (expected a token id of the input's vocab)", a + 8);
    } else if (g == G_TARGET && strncmp(a, "role=", 5) == 0) {
      if (x->weights) return lfail(c, l, "duplicate attribute 'role='");
      if (strcmp(a + 5, "weights") != 0) return lfail(c, l, "invalid role '%s' (expected weights)", a + 5);
      x->weights = 1;
    } else if (strchr(a, '=')) {
      return lfail(c, l, "unknown attribute '%s' on %s '%s'", a, gname, x->name);
    } else {
      return lfail(c, l, "%s '%s' has rank %lld but more dimensions follow ('%s')", gname, x->name, (long long)x->rank, a);
    }
  }
  if (x->kind == RNNRT_KIND_TOKENS && x->vocab < 0)
    return lfail(c, l, "%s '%s' of kind tokens needs vocab=<name>", gname, x->name);
  if ((x->kind == RNNRT_KIND_F32 || x->kind == RNNRT_KIND_LENGTHS) && x->vocab >= 0 && g != G_OUTPUT)
    return lfail(c, l, "%s '%s' of kind %s cannot have a vocab", gname, x->name,
                 x->kind == RNNRT_KIND_F32 ? "f32" : "lengths");
  if (x->weights && x->kind != RNNRT_KIND_F32)
    return lfail(c, l, "role=weights is only valid on targets of kind f32");
  if (seen_classes && x->kind != RNNRT_KIND_CLASS)
    return lfail(c, l, "classes= is only valid on targets of kind class");
  if (seen_max && x->kind != RNNRT_KIND_LENGTHS)
    return lfail(c, l, "max= is only valid on inputs of kind lengths");
  if (seen_padding) {
    if (x->kind != RNNRT_KIND_TOKENS) return lfail(c, l, "padding= is only valid on inputs of kind tokens");
    const rnnrt_vocab *v = &c->d->vocabs[x->vocab];
    if (x->padding >= v->size)
      return lfail(c, l, "input '%s': padding token id %lld is outside vocab '%s' (size %lld)", x->name,
                   (long long)x->padding, v->name, (long long)v->size);
  }
  if (seen_end) {
    if (x->vocab < 0) return lfail(c, l, "output '%s' has end= but no vocab= (the end token is an id of the output's vocab)", x->name);
    const rnnrt_vocab *v = &c->d->vocabs[x->vocab];
    if (x->end >= v->size)
      return lfail(c, l, "output '%s': end token id %lld is outside vocab '%s' (size %lld)", x->name, (long long)x->end,
                   v->name, (long long)v->size);
    if (x->rank != 3)
      return lfail(c, l, "output '%s' has end= but rank %lld (end= needs [B, steps, vocab]: rank 3)", x->name,
                   (long long)x->rank);
  }
  if (x->kind == RNNRT_KIND_CLASS && x->vocab >= 0 && x->classes >= 0 &&
      x->classes != c->d->vocabs[x->vocab].size)
    return lfail(c, l, "target '%s': classes=%lld differs from the size of vocab '%s' (%lld)", x->name,
                 (long long)x->classes, c->d->vocabs[x->vocab].name, (long long)c->d->vocabs[x->vocab].size);
  if (g == G_OUTPUT && x->vocab >= 0) {
    const rnnrt_vocab *v = &c->d->vocabs[x->vocab];
    if (x->rank < 1) return lfail(c, l, "output '%s' has vocab= but rank 0", x->name);
    const rnnrt_dim *last = &x->dims[x->rank - 1];
    if (last->sym >= 0 || last->size != v->size)
      return lfail(c, l, "output '%s': last dimension must be the size of vocab '%s' (%lld)", x->name, v->name,
                   (long long)v->size);
  }
  return 0;
}

static int check_unique(ctx *c, const rnnrt_decl *a, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < i; j++)
      if (strcmp(a[i].name, a[j].name) == 0) {
        line_t tmp = {a[i].line, NULL, NULL, 0};
        return lfail(c, &tmp, "duplicate %s name '%s'", what, a[i].name);
      }
  return 0;
}

static bool input_defines(const rnnrt_model_desc *d, int32_t sym) {
  for (int64_t i = 0; i < d->n_inputs; i++)
    for (int64_t j = 0; j < d->inputs[i].rank; j++)
      if (d->inputs[i].dims[j].sym == sym) return true;
  return false;
}

/* The symbol of every max= is a dimension of some input that is not a lengths input (the axis
 * whose steps the lengths count). */
static int check_max(ctx *c) {
  const rnnrt_model_desc *d = c->d;
  for (int64_t i = 0; i < d->n_inputs; i++) {
    int32_t s = d->inputs[i].max_sym;
    if (s < 0) continue;
    bool found = false;
    for (int64_t j = 0; j < d->n_inputs && !found; j++)
      if (d->inputs[j].kind != RNNRT_KIND_LENGTHS)
        for (int64_t k = 0; k < d->inputs[j].rank; k++) found = found || d->inputs[j].dims[k].sym == s;
    if (!found) {
      line_t tmp = {d->inputs[i].line, NULL, NULL, 0};
      return lfail(c, &tmp, "input '%s': max=%s names no dimension of an input (other than lengths inputs)",
                   d->inputs[i].name, d->symbols[s]);
    }
  }
  return 0;
}

/* Every symbolic dimension of decls a[0..n) appears in some input (so the runtime can bind it). */
static int check_bound(ctx *c, const rnnrt_decl *a, int64_t n, const char *what) {
  for (int64_t o = 0; o < n; o++)
    for (int64_t k = 0; k < a[o].rank; k++) {
      int32_t s = a[o].dims[k].sym;
      if (s >= 0 && !input_defines(c->d, s)) {
        line_t tmp = {a[o].line, NULL, NULL, 0};
        return lfail(c, &tmp, "%s '%s' uses dimension '%s' that no input defines", what, a[o].name, c->d->symbols[s]);
      }
    }
  return 0;
}

/* `step`: at most once, no arguments. */
static int parse_step(ctx *c, line_t *l) {
  if (c->d->has_step) return lfail(c, l, "second 'step' line");
  if (l->nf != 1) return lfail(c, l, "'step' takes no arguments");
  c->d->has_step = 1;
  return 0;
}

/* `grad`: at most once, no arguments. */
static int parse_grad(ctx *c, line_t *l) {
  if (c->d->has_grad) return lfail(c, l, "second 'grad' line");
  if (l->nf != 1) return lfail(c, l, "'grad' takes no arguments");
  c->d->has_grad = 1;
  return 0;
}

/* `grad_state`: at most once, no arguments, after `grad` (the truncated-BPTT gradient is a
 * variant of the model's gradient). */
static int parse_grad_state(ctx *c, line_t *l) {
  if (c->d->has_grad_state) return lfail(c, l, "second 'grad_state' line");
  if (l->nf > 2 || (l->nf == 2 && strncmp(l->f[1], "saved=", 6) != 0))
    return lfail(c, l, "expected 'grad_state [saved=<values per example and step>]'");
  if (l->nf == 2 && (!parse_uint(l->f[1] + 6, &c->d->saved_per_step) || c->d->saved_per_step < 1))
    return lfail(c, l, "invalid saved= count '%s' (expected an integer >= 1)", l->f[1] + 6);
  if (!c->d->has_grad) return lfail(c, l, "'grad_state' line without a preceding 'grad' line");
  c->d->has_grad_state = 1;
  c->grad_state_line = l->lineno;
  return 0;
}

/* `tstate <name> <rank> <dim>...`: only after `grad_state`. */
static int parse_tstate(ctx *c, line_t *l) {
  if (!c->d->has_grad_state) return lfail(c, l, "'tstate' line without a preceding 'grad_state' line");
  return parse_decl(c, l, G_TSTATE);
}

/* `prepared <name> <bytes>`: a tensor of rnnc_model_prepare (after the params). */
static int parse_prepared(ctx *c, line_t *l) {
  rnnrt_model_desc *d = c->d;
  int64_t bytes;
  if (l->nf != 3 || !valid_name(l->f[1]) || !parse_uint(l->f[2], &bytes) || bytes < 1 ||
      bytes > RNNRT_MAX_TENSOR_BYTES)
    return lfail(c, l, "expected 'prepared <name> <bytes>' (bytes 1 .. %lld)", (long long)RNNRT_MAX_TENSOR_BYTES);
  for (int64_t i = 0; i < d->n_prepared; i++)
    if (strcmp(d->prepared[i], l->f[1]) == 0) return lfail(c, l, "duplicate prepared tensor '%s'", l->f[1]);
  char **names = realloc(d->prepared, (size_t)(d->n_prepared + 1) * sizeof *names);
  if (names) d->prepared = names;
  int64_t *sizes = realloc(d->prepared_bytes, (size_t)(d->n_prepared + 1) * sizeof *sizes);
  if (sizes) d->prepared_bytes = sizes;
  char *name = names && sizes ? rnnrt_strdup(l->f[1]) : NULL;
  if (!name) return lfail(c, l, "out of memory");
  d->prepared[d->n_prepared] = name;
  d->prepared_bytes[d->n_prepared++] = bytes;
  return 0;
}

/* `state <name> <rank> <dim>...`: only after `step`. */
static int parse_state(ctx *c, line_t *l) {
  if (!c->d->has_step) return lfail(c, l, "'state' line without a preceding 'step' line");
  return parse_decl(c, l, G_STATE);
}

int rnnrt_desc_parse(const char *text, rnnrt_model_desc *out, rnnrt_error *err) {
  memset(out, 0, sizeof *out);
  out->saved_per_step = -1;
  ctx c = {out, err, NULL, 0, 0};
  int rc = -1;
  if (!text) {
    rnnrt_fail(err, WHERE ": missing");
    goto done;
  }
  if (strncmp(text, "rnnc-model ", 11) == 0) {
    const char *v = text + 11;
    size_t n = strcspn(v, "\n");
    if (!(n == 1 && v[0] == '1')) {
      rnnrt_fail(err, WHERE ": unsupported version '%.*s' (this runtime reads 'rnnc-model 1')", (int)(n > 40 ? 40 : n), v);
      goto done;
    }
  } else {
    rnnrt_fail(err, WHERE ": first line is not 'rnnc-model 1'");
    goto done;
  }
  if (split_lines(&c, text) != 0) goto done;
  if (c.n_lines < 1 || c.lines[0].nf != 2 || strcmp(c.lines[0].text, "rnnc-model") != 0 ||
      strcmp(c.lines[0].f[1], "1") != 0) {
    rnnrt_fail(err, WHERE ": first line is not 'rnnc-model 1'");
    goto done;
  }
  out->version = 1;
  /* find `end`; nothing may follow it */
  int end_li = -1;
  for (int i = 1; i < c.n_lines; i++)
    if (strcmp(c.lines[i].f[0], "end") == 0) {
      end_li = i;
      break;
    }
  if (end_li < 0) {
    rnnrt_fail(err, WHERE ": missing 'end' line (truncated?)");
    goto done;
  }
  if (c.lines[end_li].nf != 1) {
    lfail(&c, &c.lines[end_li], "'end' takes no arguments");
    goto done;
  }
  if (end_li != c.n_lines - 1) {
    lfail(&c, &c.lines[end_li + 1], "text after 'end'");
    goto done;
  }
  /* pass 1: vocabularies (so that vocab= may refer to a vocab declared later) */
  for (int i = 1; i < end_li;) {
    line_t *l = &c.lines[i];
    if (strcmp(l->f[0], "vocab") == 0) {
      int next = parse_vocab(&c, i);
      if (next < 0) goto done;
      if (next > end_li) {
        lfail(&c, l, "vocab tokens run past 'end'");
        goto done;
      }
      i = next;
    } else if (strcmp(l->f[0], "tok") == 0) {
      lfail(&c, l, "'tok' line outside a chars/words vocab");
      goto done;
    } else {
      i++;
    }
  }
  /* pass 2: everything else */
  for (int i = 1; i < end_li; i++) {
    line_t *l = &c.lines[i];
    const char *kw = l->f[0];
    if (strcmp(kw, "vocab") == 0 || strcmp(kw, "tok") == 0) continue;
    if (strcmp(kw, "model") == 0) {
      if (out->name) {
        lfail(&c, l, "second 'model' line");
        goto done;
      }
      if (l->nf != 2 || !valid_name(l->f[1])) {
        lfail(&c, l, "expected 'model <name>'");
        goto done;
      }
      if (!(out->name = rnnrt_strdup(l->f[1]))) {
        lfail(&c, l, "out of memory");
        goto done;
      }
    } else if (strcmp(kw, "input") == 0) {
      if (parse_decl(&c, l, G_INPUT) != 0) goto done;
    } else if (strcmp(kw, "target") == 0) {
      if (parse_decl(&c, l, G_TARGET) != 0) goto done;
    } else if (strcmp(kw, "output") == 0) {
      if (parse_decl(&c, l, G_OUTPUT) != 0) goto done;
    } else if (strcmp(kw, "param") == 0) {
      if (out->has_grad) {
        lfail(&c, l, "'param' line after the 'grad' line (grad follows every param)");
        goto done;
      }
      if (parse_decl(&c, l, G_PARAM) != 0) goto done;
    } else if (strcmp(kw, "prepared") == 0) {
      if (parse_prepared(&c, l) != 0) goto done;
    } else if (strcmp(kw, "step") == 0) {
      if (parse_step(&c, l) != 0) goto done;
    } else if (strcmp(kw, "grad") == 0) {
      if (parse_grad(&c, l) != 0) goto done;
    } else if (strcmp(kw, "state") == 0) {
      if (parse_state(&c, l) != 0) goto done;
    } else if (strcmp(kw, "grad_state") == 0) {
      if (parse_grad_state(&c, l) != 0) goto done;
    } else if (strcmp(kw, "tstate") == 0) {
      if (parse_tstate(&c, l) != 0) goto done;
    } else if (strcmp(kw, "train") == 0) {
      if (l->nf < 2) {
        lfail(&c, l, "expected 'train <key>=<value>...'");
        goto done;
      }
      rnnrt_kv *nt = realloc(out->train, (size_t)(out->n_train + l->nf - 1) * sizeof *nt);
      if (!nt) {
        lfail(&c, l, "out of memory");
        goto done;
      }
      out->train = nt;
      for (int k = 1; k < l->nf; k++) {
        const char *eq = strchr(l->f[k], '=');
        if (!eq || eq == l->f[k]) {
          lfail(&c, l, "expected <key>=<value>, got '%s'", l->f[k]);
          goto done;
        }
        rnnrt_kv *kv = &out->train[out->n_train++];
        kv->key = rnnrt_strndup(l->f[k], (size_t)(eq - l->f[k]));
        kv->value = rnnrt_strdup(eq + 1);
        if (!kv->key || !kv->value) {
          lfail(&c, l, "out of memory");
          goto done;
        }
      }
    } else {
      lfail(&c, l, "unknown directive '%s'", kw);
      goto done;
    }
  }
  if (!out->name) {
    rnnrt_fail(err, WHERE ": missing 'model <name>' line");
    goto done;
  }
  if (out->n_outputs == 0) {
    rnnrt_fail(err, WHERE ": the model has no outputs");
    goto done;
  }
  if (check_unique(&c, out->inputs, out->n_inputs, "input") || check_unique(&c, out->targets, out->n_targets, "target") ||
      check_unique(&c, out->outputs, out->n_outputs, "output") || check_unique(&c, out->params, out->n_params, "param") ||
      check_unique(&c, out->states, out->n_states, "state") || check_unique(&c, out->tstates, out->n_tstates, "tstate"))
    goto done;
  /* every symbol of an output or a state must be bound by some input */
  if (check_bound(&c, out->outputs, out->n_outputs, "output") || check_bound(&c, out->states, out->n_states, "state") ||
      check_bound(&c, out->tstates, out->n_tstates, "tstate") || check_max(&c))
    goto done;
  if (out->has_grad_state && out->n_tstates == 0) {
    line_t tmp = {c.grad_state_line, NULL, NULL, 0};
    lfail(&c, &tmp, "'grad_state' without 'tstate' lines (the states carried from window to window)");
    goto done;
  }
  /* the gradient function takes the targets (which bind their own symbols, e.g. the length T
   * of a decoder's target sequence); class ids need a class count to be range-checked */
  if (out->has_grad) {
    for (int64_t t = 0; t < out->n_targets; t++) {
      const rnnrt_decl *x = &out->targets[t];
      if (x->kind == RNNRT_KIND_CLASS && x->classes < 0 && x->vocab < 0) {
        line_t tmp = {x->line, NULL, NULL, 0};
        lfail(&c, &tmp, "target '%s' of kind class needs classes=<n> or vocab=<v> (the model has a 'grad' line)",
              x->name);
        goto done;
      }
    }
  }
  rc = 0;
done:
  for (int i = 0; i < c.n_lines; i++) {
    free(c.lines[i].text);
    free(c.lines[i].f);
  }
  free(c.lines);
  if (rc != 0) rnnrt_desc_free(out);
  return rc;
}

static void free_decls(rnnrt_decl *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) free(a[i].name);
  free(a);
}

void rnnrt_desc_free(rnnrt_model_desc *d) {
  if (!d) return;
  free(d->name);
  for (int64_t i = 0; i < d->n_vocabs; i++) {
    rnnrt_vocab *v = &d->vocabs[i];
    if (v->tokens)
      for (int64_t t = 0; t < v->size; t++) free(v->tokens[t]);
    free(v->tokens);
    free(v->token_lens);
    free(v->name);
  }
  free(d->vocabs);
  free_decls(d->inputs, d->n_inputs);
  free_decls(d->targets, d->n_targets);
  free_decls(d->outputs, d->n_outputs);
  free_decls(d->params, d->n_params);
  free_decls(d->states, d->n_states);
  free_decls(d->tstates, d->n_tstates);
  for (int64_t i = 0; i < d->n_train; i++) {
    free(d->train[i].key);
    free(d->train[i].value);
  }
  free(d->train);
  for (int64_t i = 0; i < d->n_symbols; i++) free(d->symbols[i]);
  free(d->symbols);
  for (int64_t i = 0; i < d->n_prepared; i++) free(d->prepared[i]);
  free(d->prepared);
  free(d->prepared_bytes);
  memset(d, 0, sizeof *d);
}

int64_t rnnrt_decl_numel(const rnnrt_decl *x) {
  int64_t n = 1;
  for (int64_t k = 0; k < x->rank; k++) {
    if (x->dims[k].sym >= 0) return -1;
    if (!rnnrt_mul_ok(n, x->dims[k].size, &n)) return -1;
  }
  return n;
}

void rnnrt_desc_format_dims(const rnnrt_model_desc *d, const rnnrt_decl *x, char *buf, size_t size) {
  size_t pos = 0;
  if (!size) return;
  buf[0] = '\0';
  int w = snprintf(buf, size, "[");
  pos = (size_t)(w > 0 ? w : 0);
  for (int64_t k = 0; k < x->rank && pos < size; k++) {
    if (x->dims[k].sym >= 0)
      w = snprintf(buf + pos, size - pos, "%s%s", k ? ", " : "", d->symbols[x->dims[k].sym]);
    else
      w = snprintf(buf + pos, size - pos, "%s%lld", k ? ", " : "", (long long)x->dims[k].size);
    if (w < 0) return;
    pos += (size_t)w;
  }
  if (pos < size) snprintf(buf + pos, size - pos, "]");
}

const rnnrt_vocab *rnnrt_desc_find_vocab(const rnnrt_model_desc *d, const char *name) {
  int i = vocab_index(d, name);
  return i < 0 ? NULL : &d->vocabs[i];
}

int64_t rnnrt_decl_find(const rnnrt_decl *decls, int64_t n, const char *name) {
  for (int64_t i = 0; i < n; i++)
    if (strcmp(decls[i].name, name) == 0) return i;
  return -1;
}
