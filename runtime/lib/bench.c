/* bench.c - the `bench` command: times rnnc_model_forward (or, with --train, rnnc_model_grad:
 * one training step's forward and backward, no optimizer) in-process on synthetic inputs.
 *
 * Sizes: --batch binds the batch symbol (the symbol of axis 0 of the first input), --time the
 * time symbol (axis 1 of the first sequence input: tokens of rank >= 2, f32 of rank >= 3);
 * --dim SYM=N any symbol (instead of --batch / --time for those two). An input (or, with
 * --train, a target) with another symbol not set by --dim is an error naming it. Data, drawn
 * once from rnnrt_rng (--seed): token ids uniform over the vocab (never the padding token),
 * class ids over the classes, f32 standard normals, lengths = the size of their max= axis
 * (else the time size). Weights: -w, or initialised like `init --seed 0`. Every buffer is
 * allocated before the first call; each call is timed on its own with CLOCK_MONOTONIC. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const opt_spec cli_bench_opts[] = {
    {OPT_BATCH, "batch", 'b', "N", false, "size of the batch axis (axis 0 of the inputs; default 1)"},
    {OPT_TIME, "time", 0, "T", false, "size of the time axis (axis 1 of sequence inputs; default 100)"},
    {OPT_DIM, "dim", 0, "SYM=N", true, "size of another dimension symbol (repeatable; also B, T)"},
    {OPT_ITERS, "iters", 'n', "N", false, "timed iterations (default: as many as fit in ~1 s, at least 5)"},
    {OPT_WARMUP, "warmup", 0, "N", false, "untimed iterations first (default 3)"},
    {OPT_TRAIN, "train", 0, NULL, false, "time forward + backward (the gradient, no optimizer step)"},
    CLI_PREPARE_EACH_OPT,
    {OPT_WEIGHTS, "weights", 'w', "FILE", false, "safetensors weights (default: as 'init --seed 0')"},
    {OPT_SEED, "seed", 's', "N", false, "seed of the synthetic inputs (default 0)"},
    CLI_THREADS_OPT,
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

#define BENCH_MAX_SIZE ((uint64_t)INT32_MAX)
#define BENCH_MAX_ITERS ((uint64_t)10000000)
#define BENCH_AUTO_CAP ((int64_t)1 << 20) /* samples kept by the time-limited default */
#define BENCH_AUTO_SECONDS 1.0
#define BENCH_AUTO_MIN 5

typedef struct {
  cli *c;
  const rnnrt_model_desc *d;
  bool train;
  bool prepare_each;       /* time rnnc_model_forward rather than prepare once + _prepared */
  const char *weights;
  uint64_t seed;
  int64_t iters;           /* 0: time-limited */
  int64_t warmup;
  binding b;
  int32_t bsym, tsym;      /* -1 if none */
  int64_t seq;             /* the input whose axis 1 is the time axis, or -1 */
  int64_t np, ni, nt, nout;
  /* forward: params | inputs | outputs [| prepared]; grad: params | inputs | targets | loss |
   * grads */
  rnnrt_tensor *args;
  int64_t n_args;
  int64_t n_prep;          /* prepared slots after the n_args (prepared once), or 0 */
  bool params_loaded;
  double *times;           /* seconds per timed call */
  int64_t cap;
} bench;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A positive size option (--batch, --time): 1 .. INT32_MAX. */
static int parse_size(cli *c, int id, const char *flag, int64_t *out) {
  const char *s = cli_opt_get(c, id);
  uint64_t u;
  if (!s) return 0;
  if (!cli_parse_count(s, BENCH_MAX_SIZE, &u) || u < 1)
    return cli_usage_error(c, "%s: invalid value '%s' (expected an integer in [1, %llu])", flag, s,
                           (unsigned long long)BENCH_MAX_SIZE);
  *out = (int64_t)u;
  return 0;
}

static int64_t find_symbol(const rnnrt_model_desc *d, const char *name, size_t n) {
  for (int64_t s = 0; s < d->n_symbols; s++)
    if (strlen(d->symbols[s]) == n && strncmp(d->symbols[s], name, n) == 0) return s;
  return -1;
}

/* The batch and time symbols (see the top of the file). */
static void choose_axes(bench *bn) {
  const rnnrt_model_desc *d = bn->d;
  bn->bsym = bn->tsym = -1;
  bn->seq = -1;
  if (d->n_inputs > 0 && d->inputs[0].rank >= 1) bn->bsym = d->inputs[0].dims[0].sym;
  for (int64_t i = 0; i < d->n_inputs && bn->seq < 0; i++) {
    const rnnrt_decl *x = &d->inputs[i];
    /* a sequence: tokens [B, T, ...] or features [B, T, F, ...] (f32 [B, F] is not one) */
    if (!(x->kind == RNNRT_KIND_TOKENS && x->rank >= 2) && !(x->kind == RNNRT_KIND_F32 && x->rank >= 3)) continue;
    bn->seq = i;
    if (x->dims[1].sym >= 0 && x->dims[1].sym != bn->bsym) bn->tsym = x->dims[1].sym;
  }
}

/* Options, then every symbol the arrays need bound. Returns 0 or 1 (reported). */
static int bench_options(bench *bn) {
  cli *c = bn->c;
  const rnnrt_model_desc *d = bn->d;
  const char *s;
  uint64_t u;
  int64_t batch = 1, time = 100;
  bn->train = cli_opt_get(c, OPT_TRAIN) != NULL;
  bn->prepare_each = cli_opt_get(c, OPT_PREPARE_EACH) != NULL;
  if (bn->prepare_each && bn->train)
    return cli_usage_error(c, "--prepare-each-call times inference (the gradient functions read the weights as they are)");
  bn->weights = cli_opt_get(c, OPT_WEIGHTS);
  if (bn->weights && !*bn->weights) return cli_usage_error(c, "-w: empty path");
  if (parse_size(c, OPT_BATCH, "--batch", &batch) != 0 || parse_size(c, OPT_TIME, "--time", &time) != 0) return 1;
  bn->warmup = 3;
  if ((s = cli_opt_get(c, OPT_WARMUP))) {
    if (!cli_parse_count(s, BENCH_MAX_ITERS, &u))
      return cli_usage_error(c, "--warmup: invalid value '%s' (expected an integer in [0, %llu])", s,
                             (unsigned long long)BENCH_MAX_ITERS);
    bn->warmup = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_ITERS))) {
    if (!cli_parse_count(s, BENCH_MAX_ITERS, &u) || u < 1)
      return cli_usage_error(c, "--iters: invalid value '%s' (expected an integer in [1, %llu])", s,
                             (unsigned long long)BENCH_MAX_ITERS);
    bn->iters = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_SEED)) && !cli_parse_count(s, UINT64_MAX, &bn->seed))
    return cli_usage_error(c, "--seed: invalid value '%s' (expected a non-negative integer)", s);
  if (bn->train) {
    if (!d->has_grad)
      return cli_fail("cannot benchmark training: the program has no compiled gradient (the model has no 'loss' "
                      "line, or rnnc warned that training is not supported for it)");
    if (!rnnc_model_grad)
      return cli_fail("internal error: the model descriptor has a 'grad' line but the program does not define "
                      "rnnc_model_grad");
  }
  if (cli_binding_init(d, &bn->b) != 0) return 1;
  /* --dim SYM=N */
  for (int k = 0; k < c->n_opts; k++) {
    if (c->opts[k].id != OPT_DIM) continue;
    const char *spec = c->opts[k].value, *eq = strchr(spec, '=');
    if (!eq || eq == spec) return cli_usage_error(c, "--dim '%s': expected SYM=N", spec);
    size_t nl = (size_t)(eq - spec);
    int64_t sym = find_symbol(d, spec, nl);
    if (sym < 0) {
      char names[512] = "";
      for (int64_t i = 0; i < d->n_symbols; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", d->symbols[i]);
      }
      return cli_fail("--dim: the model has no dimension symbol '%.*s' (its symbols: %s)", (int)nl, spec,
                      d->n_symbols ? names : "none");
    }
    if (!cli_parse_count(eq + 1, BENCH_MAX_SIZE, &u) || u < 1)
      return cli_usage_error(c, "--dim %s: invalid size '%s' (expected an integer in [1, %llu])", d->symbols[sym],
                             eq + 1, (unsigned long long)BENCH_MAX_SIZE);
    if (bn->b.val[sym] >= 0) return cli_fail("--dim: symbol '%s' given twice", d->symbols[sym]);
    bn->b.val[sym] = (int64_t)u;
  }
  choose_axes(bn);
  const struct {
    int32_t sym;
    int id;
    const char *flag;
    int64_t v;
    const char *what;
  } axes[2] = {{bn->bsym, OPT_BATCH, "--batch", batch, "batch axis (axis 0 of the first input)"},
               {bn->tsym, OPT_TIME, "--time", time, "time axis (axis 1 of a sequence input)"}};
  for (int a = 0; a < 2; a++) {
    bool given = cli_opt_get(c, axes[a].id) != NULL;
    if (axes[a].sym < 0) {
      if (given) return cli_usage_error(c, "%s: the model has no symbolic %s", axes[a].flag, axes[a].what);
      continue;
    }
    if (bn->b.val[axes[a].sym] >= 0) {
      if (given)
        return cli_usage_error(c, "%s and --dim %s=N both set %s", axes[a].flag, d->symbols[axes[a].sym],
                               d->symbols[axes[a].sym]);
      continue;
    }
    bn->b.val[axes[a].sym] = axes[a].v;
  }
  /* every symbol of the arrays passed must now have a size */
  int64_t n_arr = d->n_inputs + (bn->train ? d->n_targets : 0);
  for (int64_t i = 0; i < n_arr; i++) {
    bool tgt = i >= d->n_inputs;
    const rnnrt_decl *x = tgt ? &d->targets[i - d->n_inputs] : &d->inputs[i];
    for (int64_t k = 0; k < x->rank; k++) {
      int32_t sym = x->dims[k].sym;
      if (sym < 0 || bn->b.val[sym] >= 0) continue;
      char shape[256];
      rnnrt_desc_format_dims(d, x, shape, sizeof shape);
      return cli_fail("no size for dimension %s of %s '%s' %s (neither the batch nor the time axis): give --dim %s=N",
                      d->symbols[sym], tgt ? "target" : "input", x->name, shape, d->symbols[sym]);
    }
  }
  return 0;
}

/* Random contents for input/target x (see the top of the file). */
static void fill_array(bench *bn, rnnrt_rng *rng, const rnnrt_decl *x, rnnrt_tensor *t) {
  const rnnrt_model_desc *d = bn->d;
  int64_t n = rnnrt_shape_numel(t->rank, t->sizes);
  if (x->kind == RNNRT_KIND_F32) {
    float *v = t->data;
    for (int64_t i = 0; i < n; i++) v[i] = (float)rnnrt_rng_normal(rng);
    return;
  }
  int32_t *v = t->data;
  if (x->kind == RNNRT_KIND_LENGTHS) {
    int64_t len = x->max_sym >= 0 && bn->b.val[x->max_sym] > 0 ? bn->b.val[x->max_sym]
                  : bn->tsym >= 0                              ? bn->b.val[bn->tsym]
                                                               : 1;
    for (int64_t i = 0; i < n; i++) v[i] = (int32_t)len;
    return;
  }
  const rnnrt_vocab *voc = x->vocab >= 0 ? &d->vocabs[x->vocab] : NULL;
  int64_t range = x->kind == RNNRT_KIND_CLASS && x->classes > 0 ? x->classes : voc ? voc->size : 1;
  int64_t skip = x->kind == RNNRT_KIND_TOKENS && x->padding >= 0 && range > 1 ? x->padding : -1;
  if (skip >= 0) range--; /* never the padding token: every example is full length */
  for (int64_t i = 0; i < n; i++) {
    int64_t id = (int64_t)(rnnrt_rng_uniform(rng) * (double)range);
    if (id >= range) id = range - 1;
    if (skip >= 0 && id >= skip) id++;
    v[i] = (int32_t)id;
  }
}

static int bench_setup(bench *bn) {
  const rnnrt_model_desc *d = bn->d;
  cli *c = bn->c;
  bn->np = d->n_params;
  bn->ni = d->n_inputs;
  bn->nt = bn->train ? d->n_targets : 0;
  bn->nout = bn->train ? 1 + bn->np : d->n_outputs;
  bn->n_args = bn->np + bn->ni + bn->nt + bn->nout;
  bn->n_prep = bn->train || bn->prepare_each ? 0 : d->n_prepared;
  bn->args = calloc((size_t)(bn->n_args + bn->n_prep) + 1, sizeof *bn->args);
  bn->cap = bn->iters ? bn->iters : BENCH_AUTO_CAP;
  bn->times = malloc((size_t)bn->cap * sizeof *bn->times);
  if (!bn->args || !bn->times) return cli_fail("out of memory");
  /* weights */
  if (bn->weights && bn->np > 0) {
    if (rnnrt_load_params(d, bn->weights, bn->args, &c->err) != 0) return cli_fail_err(&c->err);
    bn->params_loaded = true;
  } else if (bn->np > 0) {
    rnnrt_rng rng;
    rnnrt_rng_seed(&rng, 0); /* the weights of `init --seed 0` */
    bn->params_loaded = true;
    for (int64_t i = 0; i < bn->np; i++) {
      const rnnrt_decl *p = &d->params[i];
      int64_t n = rnnrt_decl_numel(p);
      cli_bound_shape(p, &bn->b, &bn->args[i]);
      if (!(bn->args[i].data = rnnrt_alloc(n ? n * 4 : 4)))
        return cli_fail("out of memory creating parameter '%s' (%lld values)", p->name, (long long)n);
      rnnrt_rng_init_param(&rng, p, bn->args[i].data);
    }
  }
  /* inputs, targets */
  rnnrt_rng rng;
  rnnrt_rng_seed(&rng, bn->seed ^ 0x62656e6368ull); /* "bench": not the stream of the weights */
  for (int64_t i = 0; i < bn->ni + bn->nt; i++) {
    bool tgt = i >= bn->ni;
    const rnnrt_decl *x = tgt ? &d->targets[i - bn->ni] : &d->inputs[i];
    rnnrt_tensor *t = &bn->args[bn->np + i];
    if (cli_alloc_f32(tgt ? "target" : "input", x, &bn->b, t) != 0) return 1;
    fill_array(bn, &rng, x, t);
  }
  /* outputs, or the loss and the gradients */
  rnnrt_tensor *out = bn->args + bn->np + bn->ni + bn->nt;
  if (!bn->train) {
    for (int64_t o = 0; o < d->n_outputs; o++)
      if (cli_alloc_f32("output", &d->outputs[o], &bn->b, &out[o]) != 0) return 1;
  } else {
    out[0].rank = 0;
    if (!(out[0].data = rnnrt_alloc(4))) return cli_fail("out of memory");
    for (int64_t i = 0; i < bn->np; i++) {
      int64_t n = rnnrt_decl_numel(&d->params[i]);
      out[1 + i] = bn->args[i];
      if (!(out[1 + i].data = rnnrt_alloc(n ? n * 4 : 4)))
        return cli_fail("out of memory allocating the gradient of '%s'", d->params[i].name);
    }
  }
  /* the weights' prepared forms, once: inference with fixed weights repacks nothing */
  if (bn->n_prep > 0 && rnnrt_prepare(d, bn->args, bn->args + bn->n_args, &c->err) != 0) {
    bn->n_prep = 0;
    return cli_fail_err(&c->err);
  }
  return 0;
}

static void bench_free(bench *bn) {
  if (bn->args) {
    if (bn->params_loaded) rnnrt_tensors_free(bn->args, bn->np);
    rnnrt_tensors_free(bn->args + bn->np, bn->n_args - bn->np + bn->n_prep);
  }
  free(bn->args);
  free(bn->times);
  cli_binding_free(&bn->b);
}

static inline void bench_call(bench *bn) {
  if (bn->train) {
    rnnrt_set_dropout(0, 1); /* a training step: dropout on */
    rnnc_model_grad(bn->args);
  }
  else if (bn->n_prep > 0) rnnc_model_forward_prepared(bn->args);
  else rnnc_model_forward(bn->args);
}

/* Warm-up, then the timed calls; returns the number of samples in bn->times. */
static int64_t bench_run(bench *bn) {
  for (int64_t i = 0; i < bn->warmup; i++) bench_call(bn);
  double start = now_s();
  int64_t n = 0;
  while (n < bn->cap) {
    double t0 = now_s();
    bench_call(bn);
    double t1 = now_s();
    bn->times[n++] = t1 - t0;
    if (!bn->iters && n >= BENCH_AUTO_MIN && t1 - start >= BENCH_AUTO_SECONDS) break;
  }
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* FLOPs of one forward call when the parameters are one recurrent stack:
 * PREFIX.weight_ih_l<k>[_reverse] with PREFIX.weight_hh_l<k>[_reverse] (every recurrent weight
 * of the model, one PREFIX): sum of 2 * rows(ih) * (cols(ih) + cols(hh)) * B * T. 0 if not. */
static double stack_flops(const bench *bn, int64_t batch, int64_t time) {
  const rnnrt_model_desc *d = bn->d;
  const char *prefix = NULL;
  size_t plen = 0;
  double per_step = 0;
  int64_t pairs = 0;
  for (int64_t i = 0; i < d->n_params; i++) {
    const rnnrt_decl *p = &d->params[i];
    const char *ih = strstr(p->name, "weight_ih"), *hh = strstr(p->name, "weight_hh");
    if (!ih && !hh) continue;
    const char *w = ih ? ih : hh;
    /* PREFIX "." "weight_xx_l" digits ["_reverse"] */
    if (w == p->name || w[-1] != '.' || strncmp(w + 9, "_l", 2) != 0) return 0;
    const char *q = w + 11;
    if (*q < '0' || *q > '9') return 0;
    while (*q >= '0' && *q <= '9') q++;
    if (*q && strcmp(q, "_reverse") != 0) return 0;
    size_t pl = (size_t)(w - 1 - p->name);
    if (!prefix) {
      prefix = p->name;
      plen = pl;
    } else if (pl != plen || strncmp(prefix, p->name, pl) != 0) {
      return 0; /* a second recurrent layer: not a single stack */
    }
    if (!ih) continue;
    size_t len = strlen(p->name);
    char *other = malloc(len + 1);
    if (!other) return 0;
    memcpy(other, p->name, len + 1);
    other[w - p->name + 7] = 'h';
    other[w - p->name + 8] = 'h';
    int64_t j = rnnrt_decl_find(d->params, d->n_params, other);
    free(other);
    if (j < 0 || p->rank != 2 || d->params[j].rank != 2 || d->params[j].dims[0].size != p->dims[0].size) return 0;
    per_step += 2.0 * (double)p->dims[0].size * (double)(p->dims[1].size + d->params[j].dims[1].size);
    pairs++;
  }
  /* every weight_hh has its weight_ih (counted above with its pair) */
  int64_t hh_count = 0;
  for (int64_t i = 0; i < d->n_params; i++)
    if (strstr(d->params[i].name, "weight_hh")) hh_count++;
  if (pairs == 0 || hh_count != pairs) return 0;
  return per_step * (double)batch * (double)time;
}

/* "1.234" (>= 1) or three significant digits. */
static void fmt_ms(char *buf, size_t n, double ms) { snprintf(buf, n, ms >= 1 ? "%.3f" : "%.3g", ms); }

int cli_cmd_bench(cli *c) {
  bench bn;
  memset(&bn, 0, sizeof bn);
  bn.c = c;
  bn.d = &c->desc;
  const rnnrt_model_desc *d = bn.d;
  int rc = 1;
  if (bench_options(&bn) != 0 || bench_setup(&bn) != 0) goto done;
  /* the sizes reported (and counted in FLOPs): axes 0 and 1 of the sequence input; without
   * one, the batch symbol's size (else 1) and no time */
  int64_t batch = bn.bsym >= 0 ? bn.b.val[bn.bsym] : 1, time = -1;
  const rnnrt_tensor *in = bn.args + bn.np;
  if (bn.seq >= 0) {
    batch = in[bn.seq].sizes[0];
    time = in[bn.seq].sizes[1];
  }
  char shapes[512] = "", shape[128];
  for (int64_t i = 0; i < bn.ni + bn.nt; i++) {
    const rnnrt_decl *x = i < bn.ni ? &d->inputs[i] : &d->targets[i - bn.ni];
    size_t used = strlen(shapes);
    rnnrt_format_shape(shape, sizeof shape, in[i].rank, in[i].sizes);
    snprintf(shapes + used, sizeof shapes - used, "%s%s %s", i ? ", " : "", x->name, shape);
  }
  char tbuf[32] = "";
  if (time >= 0) snprintf(tbuf, sizeof tbuf, ", time %lld", (long long)time);
  int threads = rnnrt_get_threads();
  printf("model %s, %s: batch %lld%s (%s), %lld warm-up iteration%s, %d thread%s\n", d->name,
         bn.train ? "training step (forward + backward, no optimizer)" : "inference", (long long)batch, tbuf,
         shapes[0] ? shapes : "no inputs", (long long)bn.warmup, bn.warmup == 1 ? "" : "s", threads,
         threads == 1 ? "" : "s");
  fflush(stdout);

  int64_t jobs0 = rnnrt_parallel_jobs();
  int64_t n = bench_run(&bn);
  /* kernel calls shared among threads, per iteration (warm-up included) */
  double shared = (double)(rnnrt_parallel_jobs() - jobs0) / (double)(n + bn.warmup);
  qsort(bn.times, (size_t)n, sizeof *bn.times, cmp_double);
  double median = n % 2 ? bn.times[n / 2] : 0.5 * (bn.times[n / 2 - 1] + bn.times[n / 2]);
  double min = bn.times[0];
  double flops = time > 0 ? stack_flops(&bn, batch, time) * (bn.train ? 3.0 : 1.0) : 0;
  double gflops = flops > 0 && median > 0 ? flops / median * 1e-9 : NAN;
  char med[32], mn[32];
  fmt_ms(med, sizeof med, median * 1e3);
  fmt_ms(mn, sizeof mn, min * 1e3);
  printf("median %s ms  min %s ms  (%lld iteration%s)", med, mn, (long long)n, n == 1 ? "" : "s");
  if (!isnan(gflops)) printf("  %.3g GFLOP/s", gflops);
  printf("\n");
  char tval[32] = "-", gval[32] = "-";
  if (time >= 0) snprintf(tval, sizeof tval, "%lld", (long long)time);
  if (!isnan(gflops)) snprintf(gval, sizeof gval, "%.6g", gflops);
  printf("bench: mode=%s batch=%lld time=%s median_ms=%.6g min_ms=%.6g gflops=%s threads=%d "
         "shared_per_iter=%.6g\n",
         bn.train ? "train" : "infer", (long long)batch, tval, median * 1e3, min * 1e3, gval, threads,
         shared);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_fail("cannot write to standard output");
    goto done;
  }
  rc = 0;
done:
  bench_free(&bn);
  return rc;
}
