/* train.c - the `grad` and `train` commands (the others are in cli.c).
 *
 * grad: one call of rnnc_model_grad on .npy inputs and targets; writes the loss and the
 * gradients. train: mini-batch training with the model's gradient function, PyTorch's
 * optimizers (optim.c), validation, progress, metrics (CSV + SVG), checkpoints and resume.
 *
 * Training state that must survive a checkpoint: the parameters, the optimizer state, the
 * counters (global step, epoch, step within the epoch), the partial epoch's loss sums and the
 * per-epoch history. The shuffle of epoch e is a function of (seed, e) only, so a run resumed
 * from a checkpoint takes the same batches as an uninterrupted run and ends with the same
 * bytes. Every buffer the step loop touches is allocated before the first step. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const opt_spec cli_grad_opts[] = {
    {OPT_WEIGHTS, "weights", 'w', "FILE", false, "safetensors file with every parameter (F32)"},
    {OPT_INPUT, "input", 'i', "NAME=FILE", true, ".npy array for input NAME (repeat for each input)"},
    {OPT_TARGET, "target", 0, "NAME=FILE", true, ".npy array for target NAME (repeat for each target)"},
    {OPT_OUTPUT, "output", 'o', "FILE", false, "safetensors file to write: 'loss' and one gradient per parameter"},
    {OPT_SEED, "seed", 's', "N", false, "seed of the dropout masks (models with dropout; default 0)"},
    CLI_THREADS_OPT,
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

const opt_spec cli_train_opts[] = {
    {OPT_WEIGHTS, "weights", 'w', "FILE", false, "initial weights (safetensors, every parameter F32)"},
    {OPT_INPUT, "input", 'i', "NAME=FILE", true, ".npy array for input NAME (examples on axis 0)"},
    {OPT_TARGET, "target", 0, "NAME=FILE", true, ".npy array for target NAME (examples on axis 0)"},
    {OPT_TEXT, "text", 't', "FILE", false, "text file: next-token prediction (chars/words vocab)"},
    {OPT_SEQ_LEN, "seq-len", 0, "N", false, "--text: tokens per example (default 64)"},
    {OPT_CSV, "csv", 0, "FILE", false, "CSV file of a series: next-value prediction"},
    {OPT_WINDOW, "window", 0, "N", false, "--csv: past values per example"},
    {OPT_COLUMN, "column", 0, "K", false, "--csv: column, 0-based or its header name (default: last)"},
    {OPT_OUTPUT, "output", 'o', "FILE", false, "safetensors file to write the trained weights to (required)"},
    {OPT_EPOCHS, "epochs", 0, "N", false, "passes over the training examples"},
    {OPT_BATCH, "batch", 0, "N", false, "examples per optimizer step"},
    {OPT_OPTIMIZER, "optimizer", 0, "NAME", false, "sgd or adam (another than the model's: its defaults)"},
    {OPT_LR, "lr", 0, "X", false, "learning rate"},
    {OPT_MOMENTUM, "momentum", 0, "X", false, "momentum of sgd, in [0, 1]"},
    {OPT_CLIP, "clip", 0, "X", false, "maximum global gradient norm (0: no clipping)"},
    {OPT_WEIGHT_DECAY, "weight-decay", 0, "X", false, "L2 penalty, added to the gradients"},
    {OPT_VALIDATION, "validation", 0, "F", false, "held out from the end of the data: a fraction in [0, 1) or a count N >= 1"},
    {OPT_BPTT, "bptt", 0, "MODE", false, "back-propagation: full, truncate(K), truncate(K1,K2), budget(MiB)"},
    {OPT_SEED, "seed", 's', "N", false, "seed of the shuffling (same seed, same run)"},
    {OPT_CKPT_EVERY, "checkpoint-every", 0, "N", false, "checkpoint every N steps (default: every epoch)"},
    {OPT_CHECKPOINT, "checkpoint", 0, "FILE", false, "checkpoint file (default OUT.ckpt.safetensors)"},
    {OPT_RESUME, "resume", 0, "FILE", false, "continue from a checkpoint (-w is then not needed)"},
    {OPT_METRICS, "metrics", 0, "FILE", false, "per-epoch metrics CSV (default OUT.metrics.csv)"},
    {OPT_QUIET, "quiet", 'q', NULL, false, "no progress lines"},
    /* hidden, for tests: each epoch's example order; each step's loss and gradient norm */
    {OPT_DUMP_ORDER, "dump-order", 0, "FILE", false, NULL},
    {OPT_DUMP_LOSS, "dump-loss", 0, "FILE", false, NULL},
    CLI_THREADS_OPT,
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

/* ---------------------------------------------------------------------------------------- */
/* shared by grad and train: --input / --target files                                         */

/* Fills files[i] from the repeated option `opt` (spelled `flag`) for decls[0..n). */
static int collect_files(cli *c, int opt, const char *flag, const char *what, const rnnrt_decl *decls, int64_t n,
                         const char **files) {
  for (int k = 0; k < c->n_opts; k++) {
    if (c->opts[k].id != opt) continue;
    const char *spec = c->opts[k].value;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) return cli_usage_error(c, "%s '%s': expected NAME=FILE.npy", flag, spec);
    size_t nl = (size_t)(eq - spec);
    int64_t ii = -1;
    for (int64_t i = 0; i < n; i++)
      if (strlen(decls[i].name) == nl && strncmp(decls[i].name, spec, nl) == 0) ii = i;
    if (ii < 0) {
      char names[512] = "";
      for (int64_t i = 0; i < n; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", decls[i].name);
      }
      return cli_fail("%s: the model has no %s '%.*s' (its %ss: %s)", flag, what, (int)nl, spec, what,
                      n ? names : "none");
    }
    if (files[ii]) return cli_fail("%s: %s '%s' given twice", flag, what, decls[ii].name);
    files[ii] = eq + 1;
  }
  return 0;
}

static int require_files(cli *c, const char *flag, const rnnrt_decl *decls, int64_t n, const char **files) {
  for (int64_t i = 0; i < n; i++) {
    if (files[i]) continue;
    char want[256], type[256];
    rnnrt_desc_format_dims(&c->desc, &decls[i], want, sizeof want);
    cli_type_str(&c->desc, &decls[i], false, type, sizeof type);
    return cli_usage_error(c, "missing %s %s=FILE.npy (%s %s)", flag, decls[i].name, want, type);
  }
  return 0;
}

/* Reads files[i] for every input, then every target, into arr[i] (binding their symbols). */
static int load_arrays(cli *c, const char *const *files, binding *b, rnnrt_tensor *arr) {
  const rnnrt_model_desc *d = &c->desc;
  for (int64_t i = 0; i < d->n_inputs + d->n_targets; i++) {
    rnnrt_npy a;
    if (rnnrt_npy_read(files[i], &a, &c->err) != 0) return cli_fail_err(&c->err);
    int r = cli_bind_array(c, i, files[i], &a, b, &arr[i]);
    rnnrt_npy_free(&a);
    if (r != 0) return 1;
  }
  return 0;
}

static int no_grad_function(void) {
  return cli_fail("internal error: the model descriptor has a 'grad' line but the program does not define "
                  "rnnc_model_grad");
}

/* ---------------------------------------------------------------------------------------- */
/* grad                                                                                       */

int cli_cmd_grad(cli *c) {
  const rnnrt_model_desc *d = &c->desc;
  const char *weights = cli_opt_get(c, OPT_WEIGHTS), *out = cli_opt_get(c, OPT_OUTPUT);
  if (!d->has_grad) return cli_fail("cannot compute gradients: the program has no compiled gradient (the model has no 'loss' line, or rnnc warned that training is not supported for it)");
  if (!rnnc_model_grad) return no_grad_function();
  if (!out) return cli_usage_error(c, "missing -o GRADS.safetensors");
  if (!*out) return cli_usage_error(c, "-o: empty path");
  if (!weights && d->n_params > 0) return cli_usage_error(c, "missing -w WEIGHTS.safetensors");
  int64_t np = d->n_params, na = d->n_inputs + d->n_targets;
  const char **files = calloc((size_t)na + 1, sizeof *files);
  rnnrt_tensor *args = calloc((size_t)(2 * np + na + 1), sizeof *args);
  rnnrt_st_entry *e = calloc((size_t)np + 1, sizeof *e);
  binding b = {0};
  int rc = 1;
  bool params_loaded = false;
  if (!files || !args || !e || cli_binding_init(d, &b) != 0) {
    if (files && args && e) goto done; /* reported */
    cli_fail("out of memory");
    goto done;
  }
  rnnrt_tensor *arrs = args + np, *loss = args + np + na, *grads = loss + 1;
  if (collect_files(c, OPT_INPUT, "--input", "input", d->inputs, d->n_inputs, files) != 0 ||
      collect_files(c, OPT_TARGET, "--target", "target", d->targets, d->n_targets, files + d->n_inputs) != 0 ||
      require_files(c, "--input", d->inputs, d->n_inputs, files) != 0 ||
      require_files(c, "--target", d->targets, d->n_targets, files + d->n_inputs) != 0)
    goto done;
  if (cli_is_directory(out)) {
    cli_fail("%s: is a directory (-o names the safetensors file to write)", out);
    goto done;
  }
  if (np > 0) {
    if (rnnrt_load_params(d, weights, args, &c->err) != 0) {
      cli_fail_err(&c->err);
      goto done;
    }
    params_loaded = true;
  }
  if (load_arrays(c, files, &b, arrs) != 0 || cli_check_lengths(c, &b, arrs, files) != 0) goto done;
  loss->rank = 0;
  if (!(loss->data = rnnrt_alloc(4))) {
    cli_fail("out of memory");
    goto done;
  }
  for (int64_t i = 0; i < np; i++) {
    grads[i] = args[i];
    int64_t n = rnnrt_decl_numel(&d->params[i]);
    if (!(grads[i].data = rnnrt_alloc(n ? n * 4 : 4))) {
      cli_fail("out of memory allocating the gradient of '%s'", d->params[i].name);
      goto done;
    }
  }
  /* the training gradient: dropout on, its masks drawn from --seed as given */
  uint64_t seed = 0;
  const char *ss = cli_opt_get(c, OPT_SEED);
  if (ss && !cli_parse_count(ss, UINT64_MAX, &seed)) {
    cli_usage_error(c, "--seed: invalid value '%s' (expected an integer >= 0)", ss);
    goto done;
  }
  rnnrt_set_dropout(seed, 1);
  rnnc_model_grad(args);
  float lv = *(const float *)loss->data;
  if (!isfinite(lv))
    fprintf(stderr, "warning: the loss is %s (all loss weights 0? non-finite inputs?); the gradients are not "
                    "meaningful\n", isnan(lv) ? "nan" : lv > 0 ? "inf" : "-inf");
  e[0] = (rnnrt_st_entry){"loss", RNNRT_DTYPE_F32, 0, NULL, loss->data};
  for (int64_t i = 0; i < np; i++)
    e[i + 1] = (rnnrt_st_entry){d->params[i].name, RNNRT_DTYPE_F32, grads[i].rank, grads[i].sizes, grads[i].data};
  if (rnnrt_st_write(out, e, (size_t)np + 1, &c->err) != 0) {
    cli_fail_err(&c->err);
    goto done;
  }
  rc = 0;
done:
  if (args) {
    if (params_loaded) rnnrt_tensors_free(args, np);
    rnnrt_tensors_free(args + np, na + 1 + np);
  }
  free(args);
  free(files);
  free(e);
  cli_binding_free(&b);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* train: settings                                                                            */

typedef struct {
  rnnrt_optim_cfg opt;
  int64_t epochs, batch;
  double validation;
  uint64_t seed;
  bool seed_given;            /* --seed on the command line (a resumed run must match) */
  int64_t ckpt_every;            /* 0: at the end of every epoch */
  int64_t seq_len, window;
  const char *column;
  const char *weights, *out, *text, *csv, *resume, *dump_order, *dump_loss;
  char *ckpt, *metrics, *svg;    /* owned */
  bool quiet;
  /* back-propagation through time: full, or truncated in windows of k1 time steps with the
   * gradient through the last k2 (budget: k1 = k2 derived from a memory budget of `budget`
   * MiB once the batch size is known) */
  enum { BPTT_FULL, BPTT_TRUNCATE, BPTT_BUDGET } bptt;
  int64_t k1, k2;
  double budget;
  char bptt_str[64];             /* the setting, normalised: "truncate(5,3)" */
} train_cfg;

static void optim_defaults(rnnrt_optim_cfg *o, rnnrt_optim_kind kind) {
  double clip = o->clip, wd = o->weight_decay;
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr = kind == RNNRT_OPTIM_ADAM ? 0.001 : 0.01;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->clip = clip;
  o->weight_decay = wd;
}

/* A finite number from the train line (which rnnc wrote: plain decimals). */
static bool parse_real(const char *s, double *out) {
  char *end;
  if (!*s || strspn(s, "0123456789.eE+-") != strlen(s)) return false;
  double v = strtod(s, &end);
  if (*end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* bptt=full | truncate(K) | truncate(K1,K2) | budget(MiB), spaces allowed inside the
 * parentheses. Returns 0, 1 if malformed, 2 if K2 > K1. */
static int parse_bptt(const char *value, train_cfg *t) {
  char buf[64];
  size_t n = 0;
  for (const char *p = value; *p; p++) {
    if (*p == ' ') continue;
    if (n + 1 >= sizeof buf) return 1;
    buf[n++] = *p;
  }
  buf[n] = '\0';
  if (strcmp(buf, "full") == 0) {
    t->bptt = BPTT_FULL;
    t->k1 = t->k2 = 0;
    snprintf(t->bptt_str, sizeof t->bptt_str, "full");
    return 0;
  }
  bool trunc = strncmp(buf, "truncate(", 9) == 0, budget = strncmp(buf, "budget(", 7) == 0;
  if ((!trunc && !budget) || n < 2 || buf[n - 1] != ')') return 1;
  buf[n - 1] = '\0';
  char *args = buf + (trunc ? 9 : 7), *comma = strchr(args, ',');
  if (budget) {
    double mib;
    if (comma || !cli_parse_nonneg_real(args, &mib) || !(mib > 0) || mib > 1e12) return 1;
    t->bptt = BPTT_BUDGET;
    t->budget = mib;
    t->k1 = t->k2 = 0;
    snprintf(t->bptt_str, sizeof t->bptt_str, "budget(%.9g)", mib);
    return 0;
  }
  uint64_t a, b;
  if (comma) *comma = '\0';
  if (!cli_parse_count(args, INT32_MAX, &a) || a < 1) return 1;
  if (comma && (!cli_parse_count(comma + 1, INT32_MAX, &b) || b < 1)) return 1;
  if (!comma) b = a;
  if (b > a) return 2;
  t->bptt = BPTT_TRUNCATE;
  t->k1 = (int64_t)a;
  t->k2 = (int64_t)b;
  if (comma) snprintf(t->bptt_str, sizeof t->bptt_str, "truncate(%lld,%lld)", (long long)a, (long long)b);
  else snprintf(t->bptt_str, sizeof t->bptt_str, "truncate(%lld)", (long long)a);
  return 0;
}

/* --validation / validation=: a fraction in [0, 1) of the data, or a whole count >= 1 of it. */
static bool valid_holdout(double x) { return x >= 0 && (x < 1 || x == floor(x)); }

/* How many of n examples (or tokens) a validation setting holds out. */
static int64_t held_out(double v, int64_t n) {
  if (v >= 1) return (int64_t)v < n ? (int64_t)v : n;
  return v > 0 ? (int64_t)((double)n * v) : 0;
}

static int bad_setting(const char *key, const char *value, const char *expected) {
  return cli_fail("model descriptor: train setting '%s=%s': expected %s", key, value, expected);
}

/* optimizer=adam(lr=0.1,beta1=0.9,beta2=0.999,eps=1e-08) | sgd(lr=...,momentum=...,nesterov=...) | adam | sgd */
static int parse_optimizer(const char *value, rnnrt_optim_cfg *o) {
  size_t kl = strcspn(value, "(");
  rnnrt_optim_kind kind;
  if (kl == 3 && strncmp(value, "sgd", 3) == 0) kind = RNNRT_OPTIM_SGD;
  else if (kl == 4 && strncmp(value, "adam", 4) == 0) kind = RNNRT_OPTIM_ADAM;
  else return bad_setting("optimizer", value, "sgd(...) or adam(...)");
  optim_defaults(o, kind);
  const char *p = value + kl;
  if (!*p) return 0;
  size_t len = strlen(p);
  if (p[len - 1] != ')') return bad_setting("optimizer", value, "sgd(...) or adam(...)");
  char buf[256];
  if (len - 2 >= sizeof buf) return bad_setting("optimizer", value, "a shorter setting");
  memcpy(buf, p + 1, len - 2);
  buf[len - 2] = '\0';
  for (char *item = buf; *item;) {
    char *comma = strchr(item, ',');
    if (comma) *comma = '\0';
    char *eq = strchr(item, '=');
    double v = 0;
    if (!eq) return bad_setting("optimizer", value, "named settings (lr=...)");
    *eq = '\0';
    const char *k = item, *s = eq + 1;
    bool is_bool = strcmp(k, "nesterov") == 0;
    if (is_bool) {
      if (kind != RNNRT_OPTIM_SGD || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
        return bad_setting("optimizer", value, "nesterov=true|false (sgd)");
      o->nesterov = strcmp(s, "true") == 0;
    } else if (!parse_real(s, &v) || v < 0) {
      return bad_setting("optimizer", value, "numbers >= 0 for its settings");
    } else if (strcmp(k, "lr") == 0) {
      o->lr = v;
    } else if (kind == RNNRT_OPTIM_SGD && strcmp(k, "momentum") == 0 && v <= 1) {
      o->momentum = v;
    } else if (kind == RNNRT_OPTIM_ADAM && strcmp(k, "beta1") == 0 && v < 1) {
      o->beta1 = v;
    } else if (kind == RNNRT_OPTIM_ADAM && strcmp(k, "beta2") == 0 && v < 1) {
      o->beta2 = v;
    } else if (kind == RNNRT_OPTIM_ADAM && strcmp(k, "eps") == 0) {
      o->eps = v;
    } else {
      return bad_setting("optimizer", value,
                         kind == RNNRT_OPTIM_SGD ? "sgd settings lr, momentum (<= 1), nesterov"
                                                 : "adam settings lr, beta1 (< 1), beta2 (< 1), eps");
    }
    if (!comma) break;
    item = comma + 1;
  }
  return 0;
}

/* Defaults of the language (docs/language.md 4.7), then the model's train line. */
static int parse_train_line(const rnnrt_model_desc *d, train_cfg *t) {
  optim_defaults(&t->opt, RNNRT_OPTIM_ADAM); /* no optimizer recorded: Adam with PyTorch's defaults */
  t->epochs = 10;
  t->batch = 32;
  t->bptt = BPTT_FULL;
  snprintf(t->bptt_str, sizeof t->bptt_str, "full");
  for (int64_t i = 0; i < d->n_train; i++) {
    const char *k = d->train[i].key, *v = d->train[i].value;
    uint64_t u;
    double x;
    if (strcmp(k, "optimizer") == 0) {
      double clip = t->opt.clip, wd = t->opt.weight_decay;
      if (parse_optimizer(v, &t->opt) != 0) return 1;
      t->opt.clip = clip;
      t->opt.weight_decay = wd;
    } else if (strcmp(k, "epochs") == 0 || strcmp(k, "batch") == 0) {
      if (!cli_parse_count(v, INT64_MAX, &u) || u < 1) return bad_setting(k, v, "an integer >= 1");
      *(k[0] == 'e' ? &t->epochs : &t->batch) = (int64_t)u;
    } else if (strcmp(k, "seed") == 0) {
      if (!cli_parse_count(v, UINT64_MAX, &u)) return bad_setting(k, v, "an integer >= 0");
      t->seed = u;
    } else if (strcmp(k, "clip") == 0) {
      if (!parse_real(v, &x) || x <= 0) return bad_setting(k, v, "a number > 0");
      t->opt.clip = x;
    } else if (strcmp(k, "weight_decay") == 0) {
      if (!parse_real(v, &x) || x < 0) return bad_setting(k, v, "a number >= 0");
      t->opt.weight_decay = x;
    } else if (strcmp(k, "validation") == 0) {
      if (!parse_real(v, &x) || !valid_holdout(x)) return bad_setting(k, v, "a fraction in [0, 1) or a count >= 1");
      t->validation = x;
    } else if (strcmp(k, "bptt") == 0) {
      int r = parse_bptt(v, t);
      if (r != 0)
        return bad_setting(k, v, r == 2 ? "truncate(K1,K2) with K2 <= K1"
                                        : "full, truncate(K), truncate(K1,K2) or budget(MiB)");
    } else {
      fprintf(stderr, "note: ignoring the unknown train setting '%s=%s'\n", k, v);
    }
  }
  return 0;
}

/* OUT without a ".safetensors" suffix, plus ext (malloc'd). */
static char *derived_path(const char *out, const char *ext) {
  size_t n = strlen(out), sl = strlen(".safetensors");
  if (n > sl && strcmp(out + n - sl, ".safetensors") == 0) n -= sl;
  char *p = malloc(n + strlen(ext) + 1);
  if (p) {
    memcpy(p, out, n);
    strcpy(p + n, ext);
  }
  return p;
}

/* Options over the train line. Returns 0, or 1 after reporting. */
static int train_parse_options(cli *c, train_cfg *t) {
  const char *s;
  uint64_t u;
  double x;
  if (parse_train_line(&c->desc, t) != 0) return 1;
  t->weights = cli_opt_get(c, OPT_WEIGHTS);
  t->out = cli_opt_get(c, OPT_OUTPUT);
  t->text = cli_opt_get(c, OPT_TEXT);
  t->csv = cli_opt_get(c, OPT_CSV);
  t->resume = cli_opt_get(c, OPT_RESUME);
  t->dump_order = cli_opt_get(c, OPT_DUMP_ORDER);
  t->dump_loss = cli_opt_get(c, OPT_DUMP_LOSS);
  t->column = cli_opt_get(c, OPT_COLUMN);
  t->quiet = cli_opt_get(c, OPT_QUIET) != NULL;
  bool npy = cli_opt_get(c, OPT_INPUT) || cli_opt_get(c, OPT_TARGET);
  if (!t->out) return cli_usage_error(c, "missing -o OUT.safetensors");
  if (!*t->out) return cli_usage_error(c, "-o: empty path");
  if (!t->weights && !t->resume && c->desc.n_params > 0)
    return cli_usage_error(c, "missing -w WEIGHTS.safetensors (or --resume CHECKPOINT)");
  if (t->text && t->csv) return cli_usage_error(c, "--text and --csv cannot be combined");
  if ((t->text || t->csv) && npy)
    return cli_usage_error(c, "%s cannot be combined with --input/--target (the file gives both)",
                           t->text ? "--text" : "--csv");
  if ((s = cli_opt_get(c, OPT_SEQ_LEN)) && !t->text) return cli_usage_error(c, "--seq-len applies to --text only");
  if ((s = cli_opt_get(c, OPT_WINDOW)) && !t->csv) return cli_usage_error(c, "--window applies to --csv only");
  if (t->column && !t->csv) return cli_usage_error(c, "--column applies to --csv only");
  if (t->column && !*t->column) return cli_usage_error(c, "--column: empty value");
  t->seq_len = 64;
  if ((s = cli_opt_get(c, OPT_SEQ_LEN))) {
    if (!cli_parse_count(s, INT32_MAX, &u) || u < 1)
      return cli_usage_error(c, "--seq-len: invalid value '%s' (expected an integer >= 1)", s);
    t->seq_len = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_WINDOW))) {
    if (!cli_parse_count(s, INT32_MAX, &u) || u < 1)
      return cli_usage_error(c, "--window: invalid value '%s' (expected an integer >= 1)", s);
    t->window = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_EPOCHS))) {
    if (!cli_parse_count(s, INT64_MAX, &u) || u < 1)
      return cli_usage_error(c, "--epochs: invalid value '%s' (expected an integer >= 1)", s);
    t->epochs = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_BATCH))) {
    if (!cli_parse_count(s, INT64_MAX, &u) || u < 1)
      return cli_usage_error(c, "--batch: invalid value '%s' (expected an integer >= 1)", s);
    t->batch = (int64_t)u;
  }
  if ((s = cli_opt_get(c, OPT_OPTIMIZER))) {
    rnnrt_optim_kind k;
    if (strcmp(s, "sgd") == 0) k = RNNRT_OPTIM_SGD;
    else if (strcmp(s, "adam") == 0) k = RNNRT_OPTIM_ADAM;
    else return cli_usage_error(c, "--optimizer: invalid value '%s' (expected sgd or adam)", s);
    if (k != t->opt.kind) optim_defaults(&t->opt, k);
  }
  if ((s = cli_opt_get(c, OPT_LR))) {
    if (!cli_parse_nonneg_real(s, &x)) return cli_usage_error(c, "--lr: invalid value '%s' (expected a number >= 0)", s);
    t->opt.lr = x;
  }
  if ((s = cli_opt_get(c, OPT_MOMENTUM))) {
    if (t->opt.kind != RNNRT_OPTIM_SGD)
      return cli_usage_error(c, "--momentum applies to sgd (the optimizer is adam; add --optimizer sgd)");
    if (!cli_parse_nonneg_real(s, &x) || x > 1)
      return cli_usage_error(c, "--momentum: invalid value '%s' (expected a number in [0, 1])", s);
    t->opt.momentum = x;
  }
  if ((s = cli_opt_get(c, OPT_CLIP))) {
    if (!cli_parse_nonneg_real(s, &x))
      return cli_usage_error(c, "--clip: invalid value '%s' (expected a number >= 0; 0: no clipping)", s);
    t->opt.clip = x;
  }
  if ((s = cli_opt_get(c, OPT_WEIGHT_DECAY))) {
    if (!cli_parse_nonneg_real(s, &x))
      return cli_usage_error(c, "--weight-decay: invalid value '%s' (expected a number >= 0)", s);
    t->opt.weight_decay = x;
  }
  if ((s = cli_opt_get(c, OPT_VALIDATION))) {
    if (!cli_parse_nonneg_real(s, &x) || !valid_holdout(x))
      return cli_usage_error(c, "--validation: invalid value '%s' (expected a fraction in [0, 1) or a count >= 1)",
                             s);
    t->validation = x;
  }
  if ((s = cli_opt_get(c, OPT_BPTT))) {
    int r = parse_bptt(s, t);
    if (r == 2)
      return cli_usage_error(c, "--bptt: invalid value '%s' (the back-propagation length K2 must not exceed the "
                                "forward length K1)", s);
    if (r != 0)
      return cli_usage_error(c, "--bptt: invalid value '%s' (expected full, truncate(K), truncate(K1,K2) or "
                                "budget(MiB), K >= 1, MiB > 0)", s);
  }
  if (t->bptt != BPTT_FULL && !c->desc.has_grad_state)
    return cli_fail("cannot train with bptt=%s: the program has no truncated-BPTT gradient function; compile the "
                    "model with bptt=%s in its train line (or train with --bptt full)",
                    t->bptt_str, t->bptt_str);
  if (t->bptt != BPTT_FULL && !rnnc_model_grad_state)
    return cli_fail("internal error: the model descriptor has a 'grad_state' line but the program does not define "
                    "rnnc_model_grad_state");
  if (t->bptt != BPTT_FULL && cli_opt_get(c, OPT_SEQ_LEN))
    return cli_usage_error(c, "--seq-len applies to full BPTT (with bptt=%s, --text is cut into windows of time "
                              "steps; add --bptt full to train on --seq-len examples)", t->bptt_str);
  if (t->bptt != BPTT_FULL && t->csv)
    return cli_usage_error(c, "--csv trains on independent windows of the series: it needs --bptt full (the "
                              "setting is bptt=%s)", t->bptt_str);
  if ((s = cli_opt_get(c, OPT_SEED))) {
    if (!cli_parse_count(s, UINT64_MAX, &u))
      return cli_usage_error(c, "--seed: invalid value '%s' (expected a non-negative integer)", s);
    t->seed = u;
    t->seed_given = true;
  }
  if ((s = cli_opt_get(c, OPT_CKPT_EVERY))) {
    if (!cli_parse_count(s, INT64_MAX, &u) || u < 1)
      return cli_usage_error(c, "--checkpoint-every: invalid value '%s' (expected an integer >= 1)", s);
    t->ckpt_every = (int64_t)u;
  }
  const char *ck = cli_opt_get(c, OPT_CHECKPOINT), *me = cli_opt_get(c, OPT_METRICS);
  if (ck && !*ck) return cli_usage_error(c, "--checkpoint: empty path");
  if (me && !*me) return cli_usage_error(c, "--metrics: empty path");
  if (t->resume && !*t->resume) return cli_usage_error(c, "--resume: empty path");
  if (t->dump_order && !*t->dump_order) return cli_usage_error(c, "--dump-order: empty path");
  if (t->dump_loss && !*t->dump_loss) return cli_usage_error(c, "--dump-loss: empty path");
  t->ckpt = ck ? rnnrt_strdup(ck) : derived_path(t->out, ".ckpt.safetensors");
  t->metrics = me ? rnnrt_strdup(me) : derived_path(t->out, ".metrics.csv");
  t->svg = derived_path(t->out, ".loss.svg");
  if (!t->ckpt || !t->metrics || !t->svg) return cli_fail("out of memory");
  const char *paths[4] = {t->out, t->ckpt, t->metrics, t->svg};
  const char *names[4] = {"-o", "--checkpoint", "--metrics", "the loss plot"};
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < i; j++)
      if (strcmp(paths[i], paths[j]) == 0)
        return cli_usage_error(c, "%s and %s name the same file '%s'", names[j], names[i], paths[i]);
    if (cli_is_directory(paths[i])) return cli_fail("%s: is a directory (%s names a file to write)", paths[i], names[i]);
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* train: the data                                                                            */

typedef struct {
  cli *c;
  const rnnrt_model_desc *d;
  train_cfg cfg;
  binding b;
  int32_t bsym;               /* the example (batch) symbol: axis 0 of every input and target */
  int64_t np, ni, nt, na;     /* params, inputs, targets, na = ni + nt */
  rnnrt_tensor *full;         /* na whole arrays */
  int64_t *row_bytes;         /* na: bytes of one example */
  int64_t n, n_train, n_val, cap;
  /* slots of rnnc_model_grad: params | inputs | targets | loss | grads; of rnnc_model_forward
   * (validation accuracy only): params | inputs | outputs */
  rnnrt_tensor *gargs, *fargs;
  rnnrt_tensor *batch, *loss, *grads, *outs;
  float **pdata, **gdata, **s1, **s2; /* params, grads, optimizer state (momentum / exp_avg, exp_avg_sq) */
  int64_t *pnumel;
  bool params_loaded;
  /* validation metric */
  enum { MET_NONE, MET_TOKENS, MET_CLASS, MET_SEQUENCE, MET_RMSE } metric;
  int64_t met_out;            /* output scored for accuracy */
  int64_t met_tgt;            /* the target it is scored against */
  /* counters */
  int64_t step, epoch, epoch_step, steps_per_epoch;
  double ep_loss, ep_count, ep_seconds; /* the current epoch so far */
  double *hist;               /* per epoch: train_loss, val_loss, val_metric, seconds */
  int64_t hist_cap;           /* rows allocated (grown at epoch ends) */
  size_t ck_hist;             /* index of __opt.history in ck */
  int64_t *perm;
  /* checkpoint */
  rnnrt_st_entry *ck;
  size_t n_ck;
  char **ck_names;
  int64_t ck_i64[8];          /* step, epoch, epoch_step, optimizer, n_train, n_val, batch, seed */
  double ck_f64[3];
  int64_t ck_hist_shape[2];
  const char *last_ckpt;
  int64_t last_ckpt_step;
  /* progress */
  FILE *dump, *dump_loss;
  double last_norm;           /* gradient norm of the last step (before clipping) */
  bool tty;
  double t_start, t_epoch, t_drawn, t_metrics;
  int64_t session_steps;
  double session_examples;    /* truncated BPTT over --text: tokens */
  double last_val_loss, last_metric;
  /* truncated BPTT (cfg.bptt != full): rows of the training (and validation) data are cut
   * into windows along axis 1, the time axis of every input and target */
  bool trunc;
  int32_t tsym;               /* the time symbol */
  int64_t nts;                /* tstates */
  int64_t T, T_val;           /* time steps of a training / validation row */
  int64_t W, kmax;            /* windows per batch; the longest window */
  int64_t *step_bytes;        /* na: bytes of one time step of one row */
  char **tbase, **vbase;      /* na: row 0 of each array, training / validation rows */
  int64_t *tstride, *vstride; /* na: bytes from one row to the next */
  int32_t *text;              /* --text: the training streams [B, n], then the validation streams */
  int64_t text_tokens[2];     /* --text: tokens in the training / validation streams */
  /* slots of rnnc_model_grad_state: params | inputs | targets | states in | loss | grads |
   * states out */
  rnnrt_tensor *sargs, *win, *st_in, *st_out;
  rnnrt_tensor *largs;        /* rnnc_model_loss_state's slots (filled from sargs per call) */
  /* --text validation accuracy: rnnc_model_step on the windows, its states the tstates
   * (step_map[s]: the tstate of step state s); params | inputs | states in | outputs | states out */
  bool met_step;
  rnnrt_tensor *pargs;
  int64_t *step_map;
  /* checkpoint: __opt.bptt and the carried states */
  int64_t ck_bptt[3];
  int64_t (*ck_st_shape)[RNNRT_MAX_RANK];
  char **ck_st_names;
  int64_t ck_data[3];         /* __opt.data: training rows, validation rows, batch (--text
                                 truncated: training tokens, validation tokens, streams) */
} trainer;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *decl_what(const trainer *t, int64_t i) { return i < t->ni ? "input" : "target"; }
static const rnnrt_decl *arr_decl(const trainer *t, int64_t i) {
  return i < t->ni ? &t->d->inputs[i] : &t->d->targets[i - t->ni];
}

/* The model can be trained: a gradient function, and the example axis first everywhere. */
static int check_trainable(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  char shape[256];
  if (!d->has_grad) return cli_fail("cannot train: the program has no compiled gradient (the model has no 'loss' line, or rnnc warned that training is not supported for it)");
  if (!rnnc_model_grad) return no_grad_function();
  t->bsym = -1;
  for (int64_t i = 0; i < t->na; i++) {
    const rnnrt_decl *x = arr_decl(t, i);
    rnnrt_desc_format_dims(d, x, shape, sizeof shape);
    bool ok = x->rank >= 1 && x->dims[0].sym >= 0 && (t->bsym < 0 || x->dims[0].sym == t->bsym);
    for (int64_t k = 1; ok && k < x->rank; k++) ok = x->dims[k].sym != x->dims[0].sym;
    if (!ok)
      return cli_fail("cannot train: %s '%s' has shape %s (training needs the example axis first, the same symbol in "
                      "every input and target, e.g. [B, ...])",
                      decl_what(t, i), x->name, shape);
    t->bsym = x->dims[0].sym;
  }
  if (t->bsym < 0) return cli_fail("cannot train: the model has no inputs");
  return 0;
}

/* --text: the model's only input is tokens[B, T] of a chars/words vocab, its only target the
 * same. Examples: consecutive windows of seq_len tokens, the target shifted by one. */
static int text_ids(trainer *t, const rnnrt_vocab **vocab, int32_t **ids, int64_t *n_ids) {
  const rnnrt_model_desc *d = t->d;
  const rnnrt_decl *x = t->ni == 1 ? &d->inputs[0] : NULL, *y = t->nt == 1 ? &d->targets[0] : NULL;
  bool ok = x && y && x->kind == RNNRT_KIND_TOKENS && x->rank == 2 && x->dims[1].sym >= 0 &&
            d->vocabs[x->vocab].kind != RNNRT_VOCAB_IDS && y->kind == RNNRT_KIND_TOKENS && y->rank == 2 &&
            y->vocab == x->vocab && cli_same_dim(&y->dims[0], &x->dims[0]) && cli_same_dim(&y->dims[1], &x->dims[1]);
  if (!ok)
    return cli_fail("--text needs a model whose only input is tokens[B, T] of a chars or words vocab and whose only "
                    "target is tokens[B, T] of the same vocab");
  const rnnrt_vocab *v = *vocab = &d->vocabs[x->vocab];
  unsigned char *buf;
  size_t size;
  if (rnnrt_read_file(t->cfg.text, &buf, &size, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  if (strlen((char *)buf) != size) {
    size_t at = strlen((char *)buf);
    free(buf);
    return cli_fail("%s: contains a NUL byte (at byte %zu)", t->cfg.text, at);
  }
  int r = cli_tokenize_text(v, t->cfg.text, (const char *)buf, ids, n_ids);
  free(buf);
  return r;
}

static int load_text(trainer *t) {
  const rnnrt_vocab *v;
  int32_t *ids;
  int64_t n_ids;
  if (text_ids(t, &v, &ids, &n_ids) != 0) return 1;
  int r;
  int64_t L = t->cfg.seq_len;
  if (n_ids < L + 1) {
    free(ids);
    return cli_fail("%s: %lld %s make no example of --seq-len %lld (it needs at least %lld)", t->cfg.text,
                    (long long)n_ids, v->kind == RNNRT_VOCAB_CHARS ? "characters" : "words", (long long)L,
                    (long long)L + 1);
  }
  int64_t n = (n_ids - 1) / L, shape[2] = {n, L};
  rnnrt_npy a[2];
  memset(a, 0, sizeof a);
  for (int k = 0; k < 2; k++) {
    a[k].dtype = RNNRT_DTYPE_I32;
    a[k].rank = 2;
    a[k].shape = shape;
    a[k].numel = n * L;
    a[k].data = rnnrt_alloc(n * L * 4);
  }
  if (!a[0].data || !a[1].data) {
    free(a[0].data);
    free(a[1].data);
    free(ids);
    return cli_fail("out of memory");
  }
  memcpy(a[0].data, ids, (size_t)(n * L) * 4);
  memcpy(a[1].data, ids + 1, (size_t)(n * L) * 4);
  free(ids);
  r = cli_bind_array(t->c, 0, t->cfg.text, &a[0], &t->b, &t->full[0]) != 0 ||
      cli_bind_array(t->c, 1, t->cfg.text, &a[1], &t->b, &t->full[1]) != 0;
  free(a[0].data); /* NULL when taken over */
  free(a[1].data);
  return r;
}

/* The model can train with truncated BPTT: every input and target is [B, T, ...] with the same
 * time symbol T (not padded, not lengths), every tstate's dimensions are static or B. */
static int check_truncatable(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  char shape[256];
  t->tsym = -1;
  for (int64_t i = 0; i < t->na; i++) {
    const rnnrt_decl *x = arr_decl(t, i);
    rnnrt_desc_format_dims(d, x, shape, sizeof shape);
    if (x->rank < 2 || x->dims[1].sym < 0 || x->dims[1].sym == t->bsym || (t->tsym >= 0 && x->dims[1].sym != t->tsym))
      return cli_fail("cannot train with bptt=%s: %s '%s' has shape %s (truncated BPTT cuts every input and target "
                      "into windows along axis 1, the time axis: [B, T, ...] with the same T everywhere)",
                      t->cfg.bptt_str, decl_what(t, i), x->name, shape);
    if (x->kind == RNNRT_KIND_LENGTHS || x->padding >= 0)
      return cli_fail("cannot train with bptt=%s: input '%s' is %s (truncated BPTT needs unpadded sequences)",
                      t->cfg.bptt_str, x->name, x->padding >= 0 ? "padded" : "a lengths input");
    t->tsym = x->dims[1].sym;
  }
  for (int64_t s = 0; s < d->n_tstates; s++) {
    const rnnrt_decl *x = &d->tstates[s];
    for (int64_t k = 0; k < x->rank; k++)
      if (x->dims[k].sym >= 0 && x->dims[k].sym != t->bsym) {
        rnnrt_desc_format_dims(d, x, shape, sizeof shape);
        return cli_fail("cannot train with bptt=%s: state '%s' has shape %s, whose dimension %s is not the batch "
                        "dimension", t->cfg.bptt_str, x->name, shape, d->symbols[x->dims[k].sym]);
      }
  }
  t->trunc = true;
  t->nts = d->n_tstates;
  return 0;
}

/* --text with truncated BPTT: the text's tokens (less a validation tail) as B contiguous streams
 * of n tokens, PyTorch's batchify (tokens[:B*n].view(B, n)); the input of stream b is tokens
 * [0, n-1) of it, the target tokens [1, n). The validation tail is batchified the same way
 * into min(B, tokens / 2) streams. */
static int load_text_streams(trainer *t) {
  const rnnrt_vocab *v;
  int32_t *ids;
  int64_t N;
  if (text_ids(t, &v, &ids, &N) != 0) return 1;
  const char *unit = v->kind == RNNRT_VOCAB_CHARS ? "characters" : "words";
  int64_t nv = 0;
  if (t->cfg.validation > 0) {
    nv = held_out(t->cfg.validation, N);
    if (nv < 2) nv = 2;
  }
  if (N - nv < 2) {
    free(ids);
    return cli_fail("%s: %lld %s are too few for truncated BPTT (it needs at least 2 for training%s)", t->cfg.text,
                    (long long)N, unit, nv ? " and 2 held out for validation" : "");
  }
  int64_t nt = N - nv, B = t->cfg.batch < nt / 2 ? t->cfg.batch : nt / 2, n = nt / B;
  int64_t Bv = nv ? (B < nv / 2 ? B : nv / 2) : 0, nvs = nv ? nv / Bv : 0;
  if (!(t->text = malloc((size_t)(B * n + Bv * nvs) * sizeof *t->text))) {
    free(ids);
    return cli_fail("out of memory");
  }
  memcpy(t->text, ids, (size_t)(B * n) * sizeof *ids);
  if (nv) memcpy(t->text + B * n, ids + nt, (size_t)(Bv * nvs) * sizeof *ids);
  free(ids);
  t->cfg.batch = B;
  t->n_train = B;
  t->n_val = Bv;
  t->n = B + Bv;
  t->T = n - 1;
  t->T_val = nv ? nvs - 1 : 0;
  t->text_tokens[0] = B * n;
  t->text_tokens[1] = Bv * nvs;
  for (int k = 0; k < 2; k++) {
    t->step_bytes[k] = 4;
    t->tbase[k] = (char *)(t->text + k);
    t->tstride[k] = n * 4;
    t->vbase[k] = (char *)(t->text + B * n + k);
    t->vstride[k] = nvs * 4;
  }
  return 0;
}

/* One field of a CSV line (quotes removed, spaces trimmed) into buf; false if the line has
 * fewer fields. *nf receives the line's field count. */
static bool csv_field(const char *line, size_t len, int64_t want, char *buf, size_t cap, int64_t *nf) {
  int64_t f = 0;
  size_t o = 0;
  bool got = false, q = false;
  buf[0] = '\0';
  for (size_t i = 0; i <= len; i++) {
    char ch = i < len ? line[i] : ',';
    if (q) {
      if (ch == '"' && i + 1 < len && line[i + 1] == '"') i++;
      else if (ch == '"') { q = false; continue; }
    } else if (ch == '"') {
      q = true;
      continue;
    } else if (ch == ',') {
      if (f == want) {
        while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t')) o--;
        buf[o] = '\0';
        got = true;
      }
      f++;
      o = 0;
      continue;
    }
    if (f == want && o + 1 < cap && !(o == 0 && (ch == ' ' || ch == '\t'))) buf[o++] = ch;
  }
  *nf = f;
  return got;
}

static bool csv_number(const char *s, double *out) {
  char *end;
  if (!*s || strpbrk(s, "xXpP")) return false;
  double v = strtod(s, &end);
  if (*end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* --csv: one column of numbers (a header line is recognised by a non-number in that column). */
static int read_series(trainer *t, float **vals_out, int64_t *n_out) {
  const char *path = t->cfg.csv, *col = t->cfg.column;
  unsigned char *buf;
  size_t size;
  if (rnnrt_read_file(path, &buf, &size, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  if (strlen((char *)buf) != size) {
    free(buf);
    return cli_fail("%s: contains a NUL byte", path);
  }
  float *vals = malloc((size / 2 + 2) * sizeof *vals); /* a value takes at least 2 bytes with its newline */
  if (!vals) {
    free(buf);
    return cli_fail("out of memory");
  }
  int64_t n = 0, idx = -1, nf;
  char field[256], esc[256];
  bool first = true, by_name = col && strspn(col, "0123456789") != strlen(col);
  uint64_t u;
  if (col && !by_name && cli_parse_count(col, INT32_MAX, &u)) idx = (int64_t)u;
  else if (col && !by_name) {
    free(buf);
    free(vals);
    return cli_fail("--column: invalid value '%s'", col);
  }
  int lineno = 0;
  int rc = 1;
  for (char *p = (char *)buf; *p;) {
    char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char *next = nl ? nl + 1 : p + len;
    lineno++;
    if (len && p[len - 1] == '\r') len--;
    if (strspn(p, " \t") >= len) { /* blank line */
      p = next;
      continue;
    }
    if (first) {
      first = false;
      if (by_name) {
        int64_t k = 0;
        for (;; k++) {
          if (!csv_field(p, len, k, field, sizeof field, &nf)) break;
          if (strcmp(field, col) == 0) break;
        }
        if (k >= nf) {
          cli_escape_to(esc, sizeof esc, col, strlen(col));
          cli_fail("%s: line %d: no column named '%s' in the header", path, lineno, esc);
          goto done;
        }
        idx = k;
        p = next;
        continue;
      }
      if (idx < 0) {
        csv_field(p, len, 0, field, sizeof field, &nf);
        idx = nf - 1;
      }
      double v;
      if (csv_field(p, len, idx, field, sizeof field, &nf) && !csv_number(field, &v)) { /* a header */
        p = next;
        continue;
      }
    }
    double v;
    if (!csv_field(p, len, idx, field, sizeof field, &nf)) {
      cli_fail("%s: line %d has %lld field%s, no column %lld", path, lineno, (long long)nf, nf == 1 ? "" : "s",
               (long long)idx);
      goto done;
    }
    if (!csv_number(field, &v) || fabs(v) > 3.4e38) {
      cli_escape_to(esc, sizeof esc, field, strlen(field));
      cli_fail("%s: line %d: '%s' in column %lld is not a number", path, lineno, esc, (long long)idx);
      goto done;
    }
    vals[n++] = (float)v;
    p = next;
  }
  rc = 0;
done:
  free(buf);
  if (rc != 0) {
    free(vals);
    return rc;
  }
  *vals_out = vals;
  *n_out = n;
  return 0;
}

/* --csv: the model's only input is f32[B, T, 1], its only target f32[B, 1]. Examples: every
 * window of `window` consecutive values, the target the value after it. */
static int load_csv(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  const rnnrt_decl *x = t->ni == 1 ? &d->inputs[0] : NULL, *y = t->nt == 1 ? &d->targets[0] : NULL;
  bool ok = x && y && x->kind == RNNRT_KIND_F32 && x->rank == 3 && x->dims[2].sym < 0 && x->dims[2].size == 1 &&
            y->kind == RNNRT_KIND_F32 && y->rank == 2 && cli_same_dim(&y->dims[0], &x->dims[0]) && y->dims[1].sym < 0 &&
            y->dims[1].size == 1;
  if (!ok)
    return cli_fail("--csv needs a model whose only input is f32[B, T, 1] and whose only target is f32[B, 1]");
  if (!t->cfg.window) {
    if (x->dims[1].sym >= 0) return cli_usage_error(t->c, "missing --window N (past values per example)");
    t->cfg.window = x->dims[1].size;
  }
  int64_t w = t->cfg.window;
  if (x->dims[1].sym < 0 && x->dims[1].size != w)
    return cli_fail("--window %lld: input '%s' takes %lld values", (long long)w, x->name, (long long)x->dims[1].size);
  float *vals;
  int64_t nv;
  if (read_series(t, &vals, &nv) != 0) return 1;
  if (nv < w + 1) {
    free(vals);
    return cli_fail("%s: %lld value%s make no example of --window %lld (it needs at least %lld)", t->cfg.csv,
                    (long long)nv, nv == 1 ? "" : "s", (long long)w, (long long)w + 1);
  }
  int64_t n = nv - w, xs[3] = {n, w, 1}, ys[2] = {n, 1};
  rnnrt_npy a[2];
  memset(a, 0, sizeof a);
  a[0] = (rnnrt_npy){RNNRT_DTYPE_F32, 3, xs, n * w, rnnrt_alloc(n * w * 4)};
  a[1] = (rnnrt_npy){RNNRT_DTYPE_F32, 2, ys, n, rnnrt_alloc(n * 4)};
  if (!a[0].data || !a[1].data) {
    free(a[0].data);
    free(a[1].data);
    free(vals);
    return cli_fail("out of memory");
  }
  for (int64_t i = 0; i < n; i++) {
    memcpy((float *)a[0].data + i * w, vals + i, (size_t)w * 4);
    ((float *)a[1].data)[i] = vals[i + w];
  }
  free(vals);
  int r = cli_bind_array(t->c, 0, t->cfg.csv, &a[0], &t->b, &t->full[0]) != 0 ||
          cli_bind_array(t->c, 1, t->cfg.csv, &a[1], &t->b, &t->full[1]) != 0;
  free(a[0].data);
  free(a[1].data);
  return r;
}

/* ---------------------------------------------------------------------------------------- */
/* train: setup                                                                               */

/* The validation metric from the (single) target: tokens -> accuracy and perplexity, class ->
 * accuracy (both from the forward function's output that scores the target), f32 -> RMSE. */
static void choose_metric(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  t->metric = MET_NONE;
  t->met_out = -1;
  /* the one target that is predicted (loss weights are targets too) */
  const rnnrt_decl *y = NULL;
  for (int64_t i = 0; i < t->nt; i++)
    if (!d->targets[i].weights) {
      if (y) return;
      y = &d->targets[i];
      t->met_tgt = i;
    }
  if (!y) return;
  if (y->kind == RNNRT_KIND_F32) {
    t->metric = MET_RMSE;
    return;
  }
  int64_t classes = y->kind == RNNRT_KIND_CLASS && y->classes > 0 ? y->classes : d->vocabs[y->vocab].size;
  for (int64_t o = 0; o < d->n_outputs && t->met_out < 0; o++) {
    const rnnrt_decl *z = &d->outputs[o];
    bool ok = z->rank == y->rank + 1 && z->dims[z->rank - 1].sym < 0 && z->dims[z->rank - 1].size == classes &&
              (y->vocab < 0 || z->vocab < 0 || z->vocab == y->vocab) && (y->kind == RNNRT_KIND_CLASS || z->vocab == y->vocab);
    for (int64_t k = 0; ok && k < y->rank; k++) ok = cli_same_dim(&z->dims[k], &y->dims[k]);
    if (ok) t->met_out = o;
  }
  if (t->met_out >= 0) {
    t->metric = y->kind == RNNRT_KIND_TOKENS ? MET_TOKENS : MET_CLASS;
    return;
  }
  /* A decoder's greedy output [B, steps, V] with an end token for a target sequence [B, T] of
   * the same vocabulary: exact-match accuracy of whole sequences, each up to its first end. */
  for (int64_t o = 0; o < d->n_outputs && t->met_out < 0; o++) {
    const rnnrt_decl *z = &d->outputs[o];
    if (y->kind == RNNRT_KIND_TOKENS && y->rank == 2 && z->rank == 3 && z->end >= 0 && z->vocab == y->vocab &&
        cli_same_dim(&z->dims[0], &y->dims[0]))
      t->met_out = o;
  }
  if (t->met_out >= 0) t->metric = MET_SEQUENCE;
}

/* Whether validation runs the forward function (accuracy from its output). */
static bool metric_needs_forward(const trainer *t) {
  return t->metric == MET_TOKENS || t->metric == MET_CLASS || t->metric == MET_SEQUENCE;
}

static const char *metric_name(int m) {
  return m == MET_RMSE ? "rmse" : m == MET_NONE ? "none" : m == MET_SEQUENCE ? "sequence_accuracy" : "accuracy";
}

static void optim_describe(const rnnrt_optim_cfg *o, char *buf, size_t n) {
  if (o->kind == RNNRT_OPTIM_ADAM)
    snprintf(buf, n, "adam(lr=%.9g,beta1=%.9g,beta2=%.9g,eps=%.9g)", o->lr, o->beta1, o->beta2, o->eps);
  else
    snprintf(buf, n, "sgd(lr=%.9g,momentum=%.9g,nesterov=%s)", o->lr, o->momentum, o->nesterov ? "true" : "false");
}

static const int64_t three = 3;

/* Truncated BPTT, once the data is loaded: the rows of .npy arrays, the window length (from
 * the budget), the windows per batch, the steps per epoch, the checkpoint's data counts. */
static int trunc_plan(trainer *t) {
  train_cfg *cfg = &t->cfg;
  if (!cfg->text) {
    t->T = t->T_val = t->b.val[t->tsym];
    for (int64_t a = 0; a < t->na; a++) {
      int64_t row = rnnrt_shape_numel(t->full[a].rank, t->full[a].sizes) / t->n * 4;
      t->step_bytes[a] = row / t->T;
      t->tstride[a] = t->vstride[a] = row;
      t->tbase[a] = t->full[a].data;
      t->vbase[a] = (char *)t->full[a].data + t->n_train * row;
    }
  } else {
    t->ck_data[0] = t->text_tokens[0];
    t->ck_data[1] = t->text_tokens[1];
  }
  if (cfg->bptt == BPTT_BUDGET) {
    /* floats of state per example and time step: the static dims of every state ([layers, B,
     * hidden]: layers x hidden) */
    int64_t S = 0;
    for (int64_t s = 0; s < t->nts; s++) {
      int64_t n = 1;
      for (int64_t k = 0; k < t->d->tstates[s].rank; k++)
        if (t->d->tstates[s].dims[k].sym < 0) n *= t->d->tstates[s].dims[k].size;
      S += n;
    }
    /* what the gradient function saves per step (states and gate projections), when known */
    if (t->d->saved_per_step > 0) S = t->d->saved_per_step;
    double k = floor(cfg->budget * 1048576.0 / (4.0 * (double)cfg->batch * (double)(S > 0 ? S : 1)));
    cfg->k1 = cfg->k2 = k < 1 ? 1 : k > INT32_MAX ? INT32_MAX : (int64_t)k;
    fprintf(stderr, "note: bptt=%s: truncate(%lld), the longest window whose saved activations (4 bytes x batch %lld x %lld "
                    "value%s per step) fit in %.9g MiB\n", cfg->bptt_str, (long long)cfg->k1, (long long)cfg->batch,
            (long long)S, S == 1 ? "" : "s", cfg->budget);
  }
  t->W = (t->T + cfg->k1 - 1) / cfg->k1;
  t->steps_per_epoch *= t->W;
  int64_t tmax = t->T > t->T_val ? t->T : t->T_val;
  t->kmax = cfg->k1 < tmax ? cfg->k1 : tmax;
  return 0;
}

/* Whether the step function can score --text windows from the carried states: its states are
 * the tstates (by name, same shapes). Fills step_map. */
static bool plan_step(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  if (!d->has_step || !rnnc_model_step || d->n_states != t->nts) return false;
  if (!(t->step_map = calloc((size_t)d->n_states + 1, sizeof *t->step_map))) return false;
  for (int64_t s = 0; s < d->n_states; s++) {
    const rnnrt_decl *x = &d->states[s];
    int64_t k = rnnrt_decl_find(d->tstates, t->nts, x->name);
    if (k < 0 || d->tstates[k].rank != x->rank) return false;
    for (int64_t j = 0; j < x->rank; j++)
      if (!cli_same_dim(&x->dims[j], &d->tstates[k].dims[j])) return false;
    t->step_map[s] = k;
  }
  return true;
}

/* Every buffer of the loop: batches, grads, optimizer state, forward outputs, checkpoint list. */
static int train_alloc(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  int64_t np = t->np;
  t->cap = t->cfg.batch;
  if (t->cap > t->n) t->cap = t->n;
  t->fargs = calloc((size_t)(np + t->ni + d->n_outputs + 1), sizeof *t->fargs);
  t->row_bytes = calloc((size_t)t->na + 1, sizeof *t->row_bytes);
  t->pdata = calloc((size_t)np + 1, sizeof *t->pdata);
  t->gdata = calloc((size_t)np + 1, sizeof *t->gdata);
  t->s1 = calloc((size_t)np + 1, sizeof *t->s1);
  t->s2 = calloc((size_t)np + 1, sizeof *t->s2);
  t->pnumel = calloc((size_t)np + 1, sizeof *t->pnumel);
  t->hist_cap = t->cfg.epochs < 64 ? t->cfg.epochs : 64;
  t->hist = calloc((size_t)t->hist_cap * 4, sizeof *t->hist);
  t->perm = calloc((size_t)t->n_train + 1, sizeof *t->perm);
  t->ck = calloc((size_t)(3 * np + 10 + t->nts), sizeof *t->ck);
  t->ck_names = calloc((size_t)(2 * np + 1), sizeof *t->ck_names);
  if (!t->fargs || !t->row_bytes || !t->pdata || !t->gdata || !t->s1 || !t->s2 || !t->pnumel ||
      !t->hist || !t->perm || !t->ck || !t->ck_names)
    return cli_fail("out of memory");
  t->batch = t->gargs + np;
  t->loss = t->batch + t->na;
  t->grads = t->loss + 1;
  t->outs = t->fargs + np + t->ni;
  for (int64_t i = 0; i < t->na && !(t->trunc && t->cfg.text); i++) { /* --text truncated: windows only */
    int64_t numel = rnnrt_shape_numel(t->full[i].rank, t->full[i].sizes);
    t->row_bytes[i] = numel / t->n * 4;
    t->batch[i] = t->full[i];
    t->batch[i].sizes[0] = t->cap;
    if (!(t->batch[i].data = rnnrt_alloc(t->cap * t->row_bytes[i] > 0 ? t->cap * t->row_bytes[i] : 4)))
      return cli_fail("out of memory allocating a batch of %s '%s'", decl_what(t, i), arr_decl(t, i)->name);
  }
  if (!(t->loss->data = rnnrt_alloc(4))) return cli_fail("out of memory");
  for (int64_t i = 0; i < np; i++) {
    int64_t n = t->pnumel[i] = rnnrt_decl_numel(&d->params[i]), bytes = n ? n * 4 : 4;
    t->pdata[i] = t->gargs[i].data;
    t->grads[i] = t->gargs[i];
    bool s1 = t->cfg.opt.kind == RNNRT_OPTIM_ADAM || t->cfg.opt.momentum != 0;
    if (!(t->gdata[i] = t->grads[i].data = rnnrt_alloc(bytes)) || (s1 && !(t->s1[i] = rnnrt_alloc(bytes))) ||
        (t->cfg.opt.kind == RNNRT_OPTIM_ADAM && !(t->s2[i] = rnnrt_alloc(bytes))))
      return cli_fail("out of memory allocating the gradient of '%s'", d->params[i].name);
  }
  if (metric_needs_forward(t) && !t->met_step) {
    memcpy(t->fargs, t->gargs, (size_t)(np + t->ni) * sizeof *t->fargs);
    t->b.val[t->bsym] = t->cap;
    for (int64_t o = 0; o < d->n_outputs; o++)
      if (cli_alloc_f32("output", &d->outputs[o], &t->b, &t->outs[o]) != 0) return 1;
  }
  /* the checkpoint: weights, optimizer state, counters, history */
  size_t k = 0;
  for (int64_t i = 0; i < np; i++)
    t->ck[k++] = (rnnrt_st_entry){d->params[i].name, RNNRT_DTYPE_F32, t->gargs[i].rank, t->gargs[i].sizes, t->pdata[i]};
  for (int64_t i = 0; i < np; i++) {
    const char *a = t->cfg.opt.kind == RNNRT_OPTIM_ADAM ? "__opt.exp_avg." : "__opt.momentum_buffer.";
    for (int s = 0; s < 2; s++) {
      float *buf = s ? t->s2[i] : t->s1[i];
      if (!buf) continue;
      size_t len = strlen(d->params[i].name) + 32;
      char *name = t->ck_names[2 * i + s] = malloc(len);
      if (!name) return cli_fail("out of memory");
      snprintf(name, len, "%s%s", s ? "__opt.exp_avg_sq." : a, d->params[i].name);
      t->ck[k++] = (rnnrt_st_entry){name, RNNRT_DTYPE_F32, t->gargs[i].rank, t->gargs[i].sizes, buf};
    }
  }
  t->ck[k++] = (rnnrt_st_entry){"__opt.step", RNNRT_DTYPE_I64, 0, NULL, &t->ck_i64[0]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.epoch", RNNRT_DTYPE_I64, 0, NULL, &t->ck_i64[1]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.epoch_step", RNNRT_DTYPE_I64, 0, NULL, &t->ck_i64[2]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.optimizer", RNNRT_DTYPE_I64, 0, NULL, &t->ck_i64[3]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.data", RNNRT_DTYPE_I64, 1, &three, &t->ck_i64[4]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.seed", RNNRT_DTYPE_I64, 0, NULL, &t->ck_i64[7]};
  t->ck[k++] = (rnnrt_st_entry){"__opt.epoch_partial", RNNRT_DTYPE_F64, 1, &three, t->ck_f64};
  t->ck_hist = k;
  t->ck[k++] = (rnnrt_st_entry){"__opt.history", RNNRT_DTYPE_F64, 2, t->ck_hist_shape, t->hist};
  t->n_ck = k;
  return 0;
}

/* The buffers of truncated BPTT (after train_alloc): the slots of rnnc_model_grad_state with
 * windows of up to kmax steps and the states; for accuracy over --text windows, the step
 * function's; the checkpoint's entries for the setting and the states. */
static int trunc_alloc(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  int64_t np = t->np, nts = t->nts;
  t->sargs = calloc((size_t)(2 * np + t->na + 2 * nts + 1), sizeof *t->sargs);
  t->largs = calloc((size_t)(np + t->na + 2 * nts + 1), sizeof *t->largs);
  t->ck_st_shape = calloc((size_t)nts + 1, sizeof *t->ck_st_shape);
  t->ck_st_names = calloc((size_t)nts + 1, sizeof *t->ck_st_names);
  if (!t->sargs || !t->largs || !t->ck_st_shape || !t->ck_st_names) return cli_fail("out of memory");
  t->win = t->sargs + np;
  t->st_in = t->win + t->na;
  t->st_out = t->st_in + nts + 1 + np;
  memcpy(t->sargs, t->gargs, (size_t)np * sizeof *t->sargs);
  t->st_in[nts] = *t->loss;
  memcpy(t->st_in + nts + 1, t->grads, (size_t)np * sizeof *t->sargs);
  for (int64_t a = 0; a < t->na; a++) {
    const rnnrt_decl *x = arr_decl(t, a);
    rnnrt_tensor *w = &t->win[a];
    if (t->cfg.text) {
      w->rank = 2;
    } else {
      *w = t->full[a];
      w->data = NULL;
    }
    w->sizes[0] = t->cap;
    w->sizes[1] = t->kmax;
    int64_t bytes;
    if (!rnnrt_mul_ok(t->cap * t->kmax, t->step_bytes[a], &bytes) || !(w->data = rnnrt_alloc(bytes > 0 ? bytes : 4)))
      return cli_fail("out of memory allocating a window of %s '%s'", decl_what(t, a), x->name);
  }
  for (int64_t s = 0; s < nts; s++) {
    const rnnrt_decl *x = &d->tstates[s];
    for (int k = 0; k < 2; k++) {
      rnnrt_tensor *st = k ? &t->st_out[s] : &t->st_in[s];
      st->rank = x->rank;
      for (int64_t j = 0; j < x->rank; j++) st->sizes[j] = x->dims[j].sym >= 0 ? t->cap : x->dims[j].size;
      int64_t n = rnnrt_shape_numel(st->rank, st->sizes);
      if (n < 0 || n > RNNRT_MAX_TENSOR_BYTES / 4 || !(st->data = rnnrt_alloc(n > 0 ? n * 4 : 4)))
        return cli_fail("out of memory allocating state '%s'", x->name);
    }
    memcpy(t->ck_st_shape[s], t->st_in[s].sizes, sizeof t->ck_st_shape[s]);
  }
  if (t->met_step) {
    int64_t ns = d->n_states, no = d->n_outputs;
    if (!(t->pargs = calloc((size_t)(np + t->ni + 2 * ns + no), sizeof *t->pargs))) return cli_fail("out of memory");
    memcpy(t->pargs, t->gargs, (size_t)np * sizeof *t->pargs);
    rnnrt_tensor *outs = t->pargs + np + t->ni + ns;
    t->b.val[t->bsym] = t->cap;
    t->b.val[t->tsym] = t->kmax;
    for (int64_t o = 0; o < no; o++)
      if (cli_alloc_f32("output", &d->outputs[o], &t->b, &outs[o]) != 0) return 1;
    for (int64_t s = 0; s < ns; s++) {
      rnnrt_tensor *st = &outs[no + s];
      *st = t->st_in[t->step_map[s]];
      int64_t n = rnnrt_shape_numel(st->rank, st->sizes);
      if (!(st->data = rnnrt_alloc(n > 0 ? n * 4 : 4))) return cli_fail("out of memory");
    }
  }
  /* checkpoint: the setting (k1, k2) and the states carried into the next window */
  t->ck_bptt[0] = 1;
  t->ck_bptt[1] = t->cfg.k1;
  t->ck_bptt[2] = t->cfg.k2;
  t->ck[t->n_ck++] = (rnnrt_st_entry){"__opt.bptt", RNNRT_DTYPE_I64, 1, &three, t->ck_bptt};
  for (int64_t s = 0; s < nts; s++) {
    size_t len = strlen(d->tstates[s].name) + 16;
    if (!(t->ck_st_names[s] = malloc(len))) return cli_fail("out of memory");
    snprintf(t->ck_st_names[s], len, "__opt.state.%s", d->tstates[s].name);
    t->ck[t->n_ck++] = (rnnrt_st_entry){t->ck_st_names[s], RNNRT_DTYPE_F32, t->st_in[s].rank, t->ck_st_shape[s],
                                        t->st_in[s].data};
  }
  return 0;
}

/* Room for `rows` rows of history. */
static int hist_reserve(trainer *t, int64_t rows) {
  if (rows <= t->hist_cap) return 0;
  int64_t cap = t->hist_cap * 2 > rows ? t->hist_cap * 2 : rows;
  if (cap > t->cfg.epochs) cap = t->cfg.epochs;
  double *h = cap <= INT64_MAX / 32 ? realloc(t->hist, (size_t)cap * 4 * sizeof *h) : NULL;
  if (!h) return cli_fail("out of memory (the metrics of %lld epochs)", (long long)rows);
  t->hist = h;
  t->hist_cap = cap;
  t->ck[t->ck_hist].data = h;
  return 0;
}

/* Copies tensor `name` of a checkpoint into dst after checking dtype and shape. */
static int ck_read(trainer *t, const rnnrt_safetensors *st, const char *name, rnnrt_dtype dt, int64_t rank,
                   const int64_t *shape, void *dst) {
  const char *path = t->cfg.resume;
  const rnnrt_st_tensor *x = rnnrt_st_find(st, name);
  char want[128], got[128];
  if (!x) return cli_fail("%s: missing tensor '%s' (not a checkpoint written by 'train' with this optimizer?)", path, name);
  bool same = x->dtype == dt && x->rank == rank;
  for (int64_t k = 0; same && k < rank; k++) same = x->shape[k] == shape[k];
  if (!same) {
    rnnrt_format_shape(want, sizeof want, rank, shape);
    rnnrt_format_shape(got, sizeof got, x->rank, x->shape);
    return cli_fail("%s: tensor '%s' is %s %s, expected %s %s", path, name, x->dtype_name, got, rnnrt_dtype_name(dt), want);
  }
  memcpy(dst, x->data, (size_t)x->nbytes);
  if (!rnnrt_host_is_le()) rnnrt_bswap_inplace(dst, rnnrt_dtype_size(dt), x->nbytes / (int64_t)rnnrt_dtype_size(dt));
  return 0;
}

/* --resume: weights (already loaded from the file), optimizer state, counters, history. */
static int load_checkpoint(trainer *t) {
  const char *path = t->cfg.resume;
  rnnrt_safetensors st;
  if (rnnrt_st_read(path, &st, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  int rc = 1;
  int64_t v[4], data[3], shape3 = 3;
  const char *names[4] = {"__opt.step", "__opt.epoch", "__opt.epoch_step", "__opt.optimizer"};
  for (int i = 0; i < 4; i++)
    if (ck_read(t, &st, names[i], RNNRT_DTYPE_I64, 0, NULL, &v[i]) != 0) goto done;
  if (ck_read(t, &st, "__opt.data", RNNRT_DTYPE_I64, 1, &shape3, data) != 0) goto done;
  /* the run's seed (shuffling, dropout masks): the checkpoint's, unless --seed disagrees */
  if (rnnrt_st_find(&st, "__opt.seed")) {
    int64_t ws;
    if (ck_read(t, &st, "__opt.seed", RNNRT_DTYPE_I64, 0, NULL, &ws) != 0) goto done;
    if (t->cfg.seed_given && (uint64_t)ws != t->cfg.seed) {
      cli_fail("%s: the checkpoint was written with seed %llu; this run uses --seed %llu (drop --seed to "
               "continue with the checkpoint's)", path, (unsigned long long)(uint64_t)ws,
               (unsigned long long)t->cfg.seed);
      goto done;
    }
    t->cfg.seed = (uint64_t)ws;
  }
  if (v[3] != (int64_t)t->cfg.opt.kind) {
    const char *was = v[3] == RNNRT_OPTIM_ADAM ? "adam" : "sgd";
    cli_fail("%s: the checkpoint was written by an %s run; this run uses %s (add --optimizer %s)", path, was,
             t->cfg.opt.kind == RNNRT_OPTIM_ADAM ? "adam" : "sgd", was);
    goto done;
  }
  const rnnrt_st_tensor *bp = rnnrt_st_find(&st, "__opt.bptt");
  if (!bp && t->trunc) {
    cli_fail("%s: the checkpoint was written with full BPTT; this run uses bptt=%s (add --bptt full)", path,
             t->cfg.bptt_str);
    goto done;
  }
  if (bp) {
    int64_t was[3];
    char ws[64];
    if (ck_read(t, &st, "__opt.bptt", RNNRT_DTYPE_I64, 1, &shape3, was) != 0) goto done;
    if (was[1] == was[2]) snprintf(ws, sizeof ws, "truncate(%lld)", (long long)was[1]);
    else snprintf(ws, sizeof ws, "truncate(%lld,%lld)", (long long)was[1], (long long)was[2]);
    if (!t->trunc) {
      cli_fail("%s: the checkpoint was written with bptt=%s; this run uses full BPTT (add --bptt %s)", path, ws, ws);
      goto done;
    }
    if (was[1] != t->cfg.k1 || was[2] != t->cfg.k2) {
      cli_fail("%s: the checkpoint was written with bptt=%s; this run uses bptt=%s (windows of %lld steps, the gradient "
               "through the last %lld; resume with --bptt %s)",
               path, ws, t->cfg.bptt_str, (long long)t->cfg.k1, (long long)t->cfg.k2, ws);
      goto done;
    }
  }
  if (data[0] != t->ck_data[0] || data[1] != t->ck_data[1] || data[2] != t->ck_data[2]) {
    const char *what = t->trunc && t->cfg.text ? "tokens in streams" : "examples in batches";
    cli_fail("%s: the checkpoint was written for %lld training and %lld validation %s of %lld; this run "
             "has %lld, %lld and %lld (resume with the same data, --validation and --batch)",
             path, (long long)data[0], (long long)data[1], what, (long long)data[2], (long long)t->ck_data[0],
             (long long)t->ck_data[1], (long long)t->ck_data[2]);
    goto done;
  }
  int64_t expect;
  if (v[1] < 0 || v[2] < 0 || v[2] >= t->steps_per_epoch || !rnnrt_mul_ok(v[1], t->steps_per_epoch, &expect) ||
      !rnnrt_add_ok(expect, v[2], &expect) || v[0] != expect) {
    cli_fail("%s: inconsistent counters (step %lld, epoch %lld, step %lld of the epoch)", path, (long long)v[0],
             (long long)v[1], (long long)v[2]);
    goto done;
  }
  if (v[1] > t->cfg.epochs) {
    cli_fail("--epochs %lld: the checkpoint %s is already at epoch %lld", (long long)t->cfg.epochs, path, (long long)v[1]);
    goto done;
  }
  int64_t hs[2] = {v[1], 4};
  if (hist_reserve(t, v[1]) != 0) goto done;
  if (ck_read(t, &st, "__opt.epoch_partial", RNNRT_DTYPE_F64, 1, &shape3, t->ck_f64) != 0 ||
      ck_read(t, &st, "__opt.history", RNNRT_DTYPE_F64, 2, hs, t->hist) != 0)
    goto done;
  for (int64_t i = 0; i < t->np; i++)
    for (int s = 0; s < 2; s++)
      if (t->ck_names[2 * i + s] &&
          ck_read(t, &st, t->ck_names[2 * i + s], RNNRT_DTYPE_F32, t->gargs[i].rank, t->gargs[i].sizes,
                  s ? t->s2[i] : t->s1[i]) != 0)
        goto done;
  for (int64_t s = 0; s < t->nts; s++)
    if (ck_read(t, &st, t->ck_st_names[s], RNNRT_DTYPE_F32, t->st_in[s].rank, t->ck_st_shape[s], t->st_in[s].data) != 0)
      goto done;
  t->step = v[0];
  t->epoch = v[1];
  t->epoch_step = v[2];
  t->ep_loss = t->ck_f64[0];
  t->ep_count = t->ck_f64[1];
  t->ep_seconds = t->ck_f64[2];
  t->last_ckpt = path;
  t->last_ckpt_step = t->step;
  rc = 0;
done:
  rnnrt_st_free(&st);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* train: files                                                                               */

static int write_checkpoint(trainer *t) {
  char opt[256], epoch[32], step[32], seed[32];
  t->ck_i64[0] = t->step;
  t->ck_i64[1] = t->epoch;
  t->ck_i64[2] = t->epoch_step;
  t->ck_i64[3] = (int64_t)t->cfg.opt.kind;
  t->ck_i64[4] = t->ck_data[0];
  t->ck_i64[5] = t->ck_data[1];
  t->ck_i64[6] = t->ck_data[2];
  t->ck_i64[7] = (int64_t)t->cfg.seed;
  t->ck_f64[0] = t->epoch_step ? t->ep_loss : 0;
  t->ck_f64[1] = t->epoch_step ? t->ep_count : 0;
  t->ck_f64[2] = t->epoch_step ? t->ep_seconds + (now_s() - t->t_epoch) : 0;
  t->ck_hist_shape[0] = t->epoch;
  t->ck_hist_shape[1] = 4;
  optim_describe(&t->cfg.opt, opt, sizeof opt);
  snprintf(epoch, sizeof epoch, "%lld", (long long)t->epoch);
  snprintf(step, sizeof step, "%lld", (long long)t->step);
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->cfg.seed);
  const char *const meta[] = {"format", "rnnc-train-checkpoint", "version", "1", "model", t->d->name,
                              "optimizer", opt, "epoch", epoch, "step", step, "seed", seed, "bptt", t->cfg.bptt_str};
  size_t n_meta = sizeof meta / sizeof meta[0] / 2 - (t->trunc ? 0 : 1); /* full BPTT: as before truncation */
  if (rnnrt_st_write_meta(t->cfg.ckpt, t->ck, t->n_ck, meta, n_meta, &t->c->err) != 0)
    return cli_fail_err(&t->c->err);
  t->last_ckpt = t->cfg.ckpt;
  t->last_ckpt_step = t->step;
  return 0;
}

static void afprintf(rnnrt_afile *f, const char *fmt, ...) RNNRT_PRINTF(2, 3);
static void afprintf(rnnrt_afile *f, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof buf) {
    f->failed = 1;
    return;
  }
  rnnrt_afile_write(f, buf, (size_t)n);
}

static void csv_num(char *buf, size_t n, double v, const char *fmt) {
  if (isnan(v)) snprintf(buf, n, "nan");
  else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
  else snprintf(buf, n, fmt, v);
}

static int write_metrics_csv(trainer *t) {
  rnnrt_afile f;
  if (rnnrt_afile_open(&f, t->cfg.metrics, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  afprintf(&f, "epoch,train_loss,val_loss,val_metric,seconds\n");
  for (int64_t e = 0; e < t->epoch; e++) {
    const double *h = t->hist + 4 * e;
    char a[64], b[64] = "", m[64] = "", s[64];
    csv_num(a, sizeof a, h[0], "%.9g");
    if (t->n_val) csv_num(b, sizeof b, h[1], "%.9g");
    if (t->n_val && t->metric != MET_NONE) csv_num(m, sizeof m, h[2], "%.9g");
    snprintf(s, sizeof s, "%.4f", h[3]);
    afprintf(&f, "%lld,%s,%s,%s,%s\n", (long long)e + 1, a, b, m, s);
  }
  if (rnnrt_afile_commit(&f, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  return 0;
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about `n` ticks over `span`. */
static double nice_step(double span, int n) {
  double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* A hand-written SVG line chart of the training (and validation) loss per epoch. */
static int write_loss_svg(trainer *t) {
  const double W = 640, H = 400, L = 72, R = 620, T = 44, B = 344;
  int64_t E = t->epoch;
  bool val = t->n_val > 0;
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t e = 0; e < E; e++)
    for (int s = 0; s < (val ? 2 : 1); s++) {
      double v = t->hist[4 * e + s];
      if (isfinite(v)) {
        lo = fmin(lo, v);
        hi = fmax(hi, v);
      }
    }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * fmax(1, fabs(hi))) lo -= fmax(0.5, fabs(lo) * 0.1), hi += fmax(0.5, fabs(hi) * 0.1);
  double ys = nice_step(hi - lo, 5);
  lo = floor(lo / ys) * ys;
  hi = ceil(hi / ys) * ys;
  double xmax = E > 1 ? (double)E : 2;
  rnnrt_afile f;
  if (rnnrt_afile_open(&f, t->cfg.svg, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  afprintf(&f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  afprintf(&f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
              "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
  afprintf(&f, "<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", W, H);
  afprintf(&f, "<text x=\"%g\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s: loss per epoch</text>\n",
           (L + R) / 2, t->d->name);
  /* axes, grid and tick labels */
  afprintf(&f, "<g stroke=\"#000\" stroke-width=\"1\">\n<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>\n"
              "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>\n</g>\n", L, B, R, B, L, T, L, B);
  for (double y = lo; y <= hi + ys * 1e-6; y += ys) {
    double py = B - (y - lo) / (hi - lo) * (B - T);
    afprintf(&f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#ddd\"/>\n", L + 1, py, R, py);
    afprintf(&f, "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\">%.4g</text>\n", L - 6, py + 4, fabs(y) < ys * 1e-6 ? 0 : y);
  }
  double xs = E > 1 ? fmax(1, round(nice_step(xmax - 1, 8))) : 1;
  for (double x = 1; x <= xmax + 1e-9; x += xs) {
    double px = L + (x - 1) / (xmax - 1) * (R - L);
    afprintf(&f, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#000\"/>\n", px, B, px, B + 5);
    afprintf(&f, "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\">%.0f</text>\n", px, B + 19, x);
  }
  afprintf(&f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">epoch</text>\n", (L + R) / 2, H - 16);
  afprintf(&f, "<text transform=\"translate(18,%g) rotate(-90)\" text-anchor=\"middle\">loss</text>\n", (T + B) / 2);
  /* the curves: at most about 2000 points each */
  int64_t stride = E > 2000 ? (E + 1999) / 2000 : 1;
  const char *color[2] = {"#1f77b4", "#ff7f0e"}, *label[2] = {"train", "validation"};
  for (int s = 0; s < (val ? 2 : 1); s++) {
    afprintf(&f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color[s]);
    bool first = true;
    for (int64_t e = 0; e < E; e = e + stride < E || e == E - 1 ? e + stride : E - 1) {
      double v = t->hist[4 * e + s];
      if (!isfinite(v)) continue;
      afprintf(&f, "%s%.2f,%.2f", first ? "" : " ", L + (double)e / (xmax - 1) * (R - L),
               B - (v - lo) / (hi - lo) * (B - T));
      first = false;
    }
    afprintf(&f, "\"/>\n");
    if (E <= 60)
      for (int64_t e = 0; e < E; e++) {
        double v = t->hist[4 * e + s];
        if (isfinite(v))
          afprintf(&f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", L + (double)e / (xmax - 1) * (R - L),
                   B - (v - lo) / (hi - lo) * (B - T), color[s]);
      }
    afprintf(&f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"/>\n", R - 110,
             T + 8 + 18 * s, R - 90, T + 8 + 18 * s, color[s]);
    afprintf(&f, "<text x=\"%g\" y=\"%g\">%s</text>\n", R - 84, T + 12 + 18 * s, label[s]);
  }
  afprintf(&f, "</svg>\n");
  if (rnnrt_afile_commit(&f, &t->c->err) != 0) return cli_fail_err(&t->c->err);
  return 0;
}

static int write_reports(trainer *t) {
  t->t_metrics = now_s();
  return write_metrics_csv(t) != 0 || write_loss_svg(t) != 0;
}

/* ---------------------------------------------------------------------------------------- */
/* train: the loop                                                                            */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  if (interrupted) _exit(130); /* a second Ctrl-C: now */
  interrupted = 1;
}

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The order of the training examples in epoch e: Fisher-Yates with a generator seeded from
 * (seed, e) alone (so a resumed run shuffles like an uninterrupted one). */
static void epoch_order(uint64_t seed, int64_t epoch, int64_t *perm, int64_t n) {
  rnnrt_rng rng;
  rnnrt_rng_seed(&rng, mix64(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) ^ mix64((uint64_t)epoch + 1));
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(rnnrt_rng_next(&rng) % (uint64_t)(i + 1));
    int64_t tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

/* Copies examples idx[0..cnt) into the batch buffers and sets the batch size everywhere. */
static void gather(trainer *t, const int64_t *idx, int64_t cnt, bool outputs) {
  for (int64_t i = 0; i < t->na; i++) {
    int64_t rb = t->row_bytes[i];
    char *dst = t->batch[i].data;
    const char *src = t->full[i].data;
    for (int64_t r = 0; r < cnt; r++) memcpy(dst + r * rb, src + idx[r] * rb, (size_t)rb);
    t->batch[i].sizes[0] = cnt;
  }
  if (outputs) {
    t->b.val[t->bsym] = cnt;
    for (int64_t i = 0; i < t->ni; i++) t->fargs[t->np + i] = t->batch[i];
    for (int64_t o = 0; o < t->d->n_outputs; o++) cli_bound_shape(&t->d->outputs[o], &t->b, &t->outs[o]);
  }
}

enum { STEP_OK, STEP_BAD_LOSS, STEP_BAD_GRAD };

static int apply_update(trainer *t, float *loss, int64_t *bad);

/* Dropout masks of gradient call `sub` of optimizer step `step` (0-based): drawn from the
 * run's seed, the step and the call alone, so a resumed run draws the same masks. */
static void dropout_for_step(const trainer *t, int64_t step, int64_t sub) {
  rnnrt_set_dropout(mix64(t->cfg.seed * 0xD1B54A32D192ED03ull + mix64((uint64_t)step * 1024 + (uint64_t)sub + 1)), 1);
}

/* One optimizer step on examples idx[0..cnt). */
static int train_step(trainer *t, const int64_t *idx, int64_t cnt, float *loss, int64_t *bad) {
  gather(t, idx, cnt, false);
  dropout_for_step(t, t->step, 0);
  rnnc_model_grad(t->gargs);
  return apply_update(t, loss, bad);
}

/* ---- truncated BPTT ---- */

/* The states' shapes for a batch of cnt rows (in and out); with zero, zeroes the states in. */
static void states_for_batch(trainer *t, int64_t cnt, bool zero) {
  for (int64_t s = 0; s < t->nts; s++) {
    const rnnrt_decl *x = &t->d->tstates[s];
    for (int64_t k = 0; k < x->rank; k++) t->st_in[s].sizes[k] = t->st_out[s].sizes[k] = x->dims[k].sym >= 0 ? cnt : x->dims[k].size;
    if (zero) memset(t->st_in[s].data, 0, (size_t)rnnrt_shape_numel(x->rank, t->st_in[s].sizes) * 4);
  }
}

/* Copies time steps [i0, i0 + w) of rows idx[0..cnt) of the training or the validation rows
 * into the window buffers. */
static void gather_window(trainer *t, bool val, const int64_t *idx, int64_t cnt, int64_t i0, int64_t w) {
  for (int64_t a = 0; a < t->na; a++) {
    int64_t sb = t->step_bytes[a], stride = val ? t->vstride[a] : t->tstride[a];
    const char *base = val ? t->vbase[a] : t->tbase[a];
    char *dst = t->win[a].data;
    for (int64_t r = 0; r < cnt; r++) memcpy(dst + r * w * sb, base + idx[r] * stride + i0 * sb, (size_t)(w * sb));
    t->win[a].sizes[0] = cnt;
    t->win[a].sizes[1] = w;
  }
}

/* One call of the truncated-BPTT gradient function on the window in the buffers, from the
 * states in (with `advance_only`, the window's forward pass alone when the program has it:
 * its loss and gradients would be ignored); the states out become the states in. */
static void grad_state_call(trainer *t, bool advance_only) {
  if (advance_only && rnnc_model_loss_state) {
    /* params | windows | states in | loss, then the states out (no gradient slots) */
    int64_t head = t->np + t->na + t->nts + 1;
    memcpy(t->largs, t->sargs, (size_t)head * sizeof *t->largs);
    memcpy(t->largs + head, t->st_out, (size_t)t->nts * sizeof *t->largs);
    rnnc_model_loss_state(t->largs);
  } else {
    rnnc_model_grad_state(t->sargs);
  }
  for (int64_t s = 0; s < t->nts; s++)
    memcpy(t->st_in[s].data, t->st_out[s].data, (size_t)rnnrt_shape_numel(t->st_in[s].rank, t->st_in[s].sizes) * 4);
}

/* One optimizer update of truncated BPTT: window wi of the rows idx[0..cnt) (the states start
 * at zero with window 0). The window's first steps beyond the last k2 only advance the states.
 * *weight: the loss's positions (rows x steps of the gradient); *seen: tokens or examples. */
static int trunc_step(trainer *t, const int64_t *idx, int64_t cnt, int64_t wi, float *loss, int64_t *bad,
                      double *weight, double *seen) {
  int64_t i0 = wi * t->cfg.k1, w = t->T - i0 < t->cfg.k1 ? t->T - i0 : t->cfg.k1;
  int64_t g = w < t->cfg.k2 ? w : t->cfg.k2, adv = w - g;
  states_for_batch(t, cnt, wi == 0);
  if (adv > 0) {
    gather_window(t, false, idx, cnt, i0, adv);
    dropout_for_step(t, t->step, 1);
    grad_state_call(t, true);
  }
  gather_window(t, false, idx, cnt, i0 + adv, g);
  dropout_for_step(t, t->step, 0);
  grad_state_call(t, false);
  *weight = (double)(cnt * g);
  *seen = t->cfg.text ? (double)(cnt * w) : (double)cnt * (double)w / (double)t->T;
  return apply_update(t, loss, bad);
}

/* The loss in the loss slot, clipping and the optimizer update of every parameter. */
static int apply_update(trainer *t, float *loss, int64_t *bad) {
  *loss = *(const float *)t->loss->data;
  if (!isfinite(*loss)) return STEP_BAD_LOSS;
  double norm = rnnrt_clip_grads(t->gdata, t->pnumel, t->np, t->cfg.opt.clip);
  t->last_norm = norm;
  if (!isfinite(norm)) {
    for (int64_t i = 0; i < t->np; i++)
      if (!isfinite(rnnrt_grad_norm(&t->gdata[i], &t->pnumel[i], 1))) *bad = i;
    return STEP_BAD_GRAD;
  }
  t->step++;
  for (int64_t i = 0; i < t->np; i++) {
    if (t->cfg.opt.kind == RNNRT_OPTIM_ADAM)
      rnnrt_adam_update(&t->cfg.opt, t->step, t->pdata[i], t->gdata[i], t->s1[i], t->s2[i], t->pnumel[i]);
    else
      rnnrt_sgd_update(&t->cfg.opt, t->step, t->pdata[i], t->gdata[i], t->s1[i], t->pnumel[i]);
  }
  return STEP_OK;
}

static void count_correct(const trainer *t, const rnnrt_tensor *y, const rnnrt_tensor *z, double *correct,
                          double *total);

/* Validation loss (example-weighted mean of the batch losses) and metric. */
static void evaluate(trainer *t, double *val_loss, double *metric) {
  double sum = 0, correct = 0, total = 0;
  rnnrt_set_dropout(0, 0); /* evaluation: no dropout (PyTorch's model.eval()) */
  int64_t *idx = t->perm; /* reused: the epoch's order is no longer needed */
  for (int64_t off = 0; off < t->n_val; off += t->cap) {
    int64_t cnt = t->n_val - off < t->cap ? t->n_val - off : t->cap;
    for (int64_t r = 0; r < cnt; r++) idx[r] = t->n_train + off + r;
    bool acc = metric_needs_forward(t);
    gather(t, idx, cnt, acc);
    rnnc_model_grad(t->gargs);
    sum += (double)*(const float *)t->loss->data * (double)cnt;
    if (acc) {
      rnnc_model_forward(t->fargs);
      count_correct(t, &t->batch[t->ni + t->met_tgt], &t->outs[t->met_out], &correct, &total);
    }
  }
  *val_loss = sum / (double)t->n_val;
  *metric = t->metric == MET_RMSE ? sqrt(*val_loss) : total > 0 ? correct / total : NAN;
}

/* Correct argmax predictions of output z for target y (ids), counted into *correct, *total:
 * per position, or (MET_SEQUENCE) per row, the greedy tokens up to the first end token equal
 * to the target's up to its first end. */
static void count_correct(const trainer *t, const rnnrt_tensor *y, const rnnrt_tensor *z, double *correct,
                          double *total) {
  int64_t n = rnnrt_shape_numel(y->rank, y->sizes), v = z->sizes[z->rank - 1];
  const int32_t *ids = y->data;
  const float *scores = z->data;
  if (t->metric != MET_SEQUENCE) {
    for (int64_t k = 0; k < n; k++) *correct += cli_argmax(scores + k * v, v) == ids[k];
    *total += (double)n;
    return;
  }
  int64_t rows = y->sizes[0], ty = y->sizes[1], tz = z->sizes[1], end = t->d->outputs[t->met_out].end;
  for (int64_t r = 0; r < rows; r++) {
    bool same = true;
    for (int64_t k = 0; same; k++) {
      int64_t want = k < ty ? ids[r * ty + k] : end;
      int64_t got = k < tz ? cli_argmax(scores + (r * tz + k) * v, v) : end;
      same = want == got;
      if (want == end || k >= ty + tz) break;
    }
    *correct += same;
  }
  *total += (double)rows;
}

/* Validation with truncated BPTT: the validation rows in batches, each from zero states in
 * windows of k1 steps with the states carried (the same values as one pass over the whole
 * rows). The loss is the position-weighted mean of the windows' losses; accuracy comes from
 * the forward function on whole rows (.npy) or the step function on the windows (--text). */
static void evaluate_trunc(trainer *t, double *val_loss, double *metric) {
  double sum = 0, weight = 0, correct = 0, total = 0;
  rnnrt_set_dropout(0, 0); /* evaluation: no dropout (PyTorch's model.eval()) */
  const rnnrt_model_desc *d = t->d;
  int64_t *idx = t->perm; /* reused: the epoch's order is no longer needed */
  bool acc = metric_needs_forward(t);
  for (int64_t off = 0; off < t->n_val; off += t->cap) {
    int64_t cnt = t->n_val - off < t->cap ? t->n_val - off : t->cap;
    if (acc && !t->met_step) {
      for (int64_t r = 0; r < cnt; r++) idx[r] = t->n_train + off + r;
      gather(t, idx, cnt, true);
      rnnc_model_forward(t->fargs);
      count_correct(t, &t->batch[t->ni + t->met_tgt], &t->outs[t->met_out], &correct, &total);
    }
    for (int64_t r = 0; r < cnt; r++) idx[r] = off + r;
    states_for_batch(t, cnt, true);
    for (int64_t i0 = 0; i0 < t->T_val; i0 += t->cfg.k1) {
      int64_t w = t->T_val - i0 < t->cfg.k1 ? t->T_val - i0 : t->cfg.k1;
      gather_window(t, true, idx, cnt, i0, w);
      if (acc && t->met_step) {
        rnnrt_tensor *p = t->pargs + t->np, *outs = p + t->ni + d->n_states;
        for (int64_t i = 0; i < t->ni; i++) p[i] = t->win[i];
        for (int64_t s = 0; s < d->n_states; s++) {
          p[t->ni + s] = t->st_in[t->step_map[s]];
          outs[d->n_outputs + s].rank = p[t->ni + s].rank;
          memcpy(outs[d->n_outputs + s].sizes, p[t->ni + s].sizes, sizeof p->sizes);
        }
        t->b.val[t->bsym] = cnt;
        t->b.val[t->tsym] = w;
        for (int64_t o = 0; o < d->n_outputs; o++) cli_bound_shape(&d->outputs[o], &t->b, &outs[o]);
        rnnc_model_step(t->pargs);
        count_correct(t, &t->win[t->ni + t->met_tgt], &outs[t->met_out], &correct, &total);
      }
      grad_state_call(t, true); /* the loss only */
      sum += (double)*(const float *)t->loss->data * (double)(cnt * w);
      weight += (double)(cnt * w);
    }
  }
  *val_loss = sum / weight;
  *metric = t->metric == MET_RMSE ? sqrt(*val_loss) : total > 0 ? correct / total : NAN;
}

static void fmt_duration(char *buf, size_t n, double s) {
  if (!isfinite(s) || s < 0) s = 0;
  long long x = (long long)(s + 0.5);
  if (x >= 3600) snprintf(buf, n, "%lldh%02lldm", x / 3600, x / 60 % 60);
  else if (x >= 60) snprintf(buf, n, "%lldm%02llds", x / 60, x % 60);
  else snprintf(buf, n, "%llds", x);
}

/* The progress line: "epoch 3/10  step 57/190  loss 0.4321  val_loss ...  1234 ex/s  ETA 12s". */
static void progress(trainer *t, bool epoch_end) {
  if (t->cfg.quiet || (!t->tty && !epoch_end)) return;
  double now = now_s();
  if (t->tty && !epoch_end && now - t->t_drawn < 0.1) return;
  t->t_drawn = now;
  double el = now - t->t_start, total = (double)t->cfg.epochs * (double)t->steps_per_epoch;
  double rate = el > 0 ? t->session_examples / el : 0;
  double eta = t->session_steps ? (total - (double)t->step) * el / (double)t->session_steps : 0;
  char line[512], eta_s[32];
  int n = 0;
  int64_t ep = epoch_end ? t->epoch : t->epoch + 1;
  double loss = epoch_end ? t->hist[4 * (t->epoch - 1)] : t->ep_count > 0 ? t->ep_loss / t->ep_count : NAN;
  n += snprintf(line + n, sizeof line - (size_t)n, "epoch %lld/%lld  step %lld/%.0f  loss %.6f", (long long)ep,
                (long long)t->cfg.epochs, (long long)t->step, total, loss);
  if (t->n_val && t->epoch > 0) {
    const double *h = t->hist + 4 * (t->epoch - 1);
    n += snprintf(line + n, sizeof line - (size_t)n, "  val_loss %.6f", h[1]);
    if (t->metric == MET_TOKENS)
      n += snprintf(line + n, sizeof line - (size_t)n, "  val_accuracy %.4f  val_perplexity %.4f", h[2], exp(h[1]));
    else if (t->metric != MET_NONE)
      n += snprintf(line + n, sizeof line - (size_t)n, "  val_%s %.6g", metric_name(t->metric), h[2]);
  }
  fmt_duration(eta_s, sizeof eta_s, eta);
  snprintf(line + n, sizeof line - (size_t)n, "  %.0f %s/s  ETA %s", rate, t->trunc && t->cfg.text ? "tok" : "ex", eta_s);
  if (t->tty) fprintf(stderr, "\r%s\033[K", line);
  else fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

/* NaN/Inf: stop, keep the last good checkpoint, report (exit 1). */
static int stop_nonfinite(trainer *t, int why, int64_t bad, float loss) {
  if (t->tty && !t->cfg.quiet) fputc('\n', stderr);
  if (t->epoch > 0) write_reports(t);
  char what[256], ck[RNNRT_ERROR_MAX];
  if (why == STEP_BAD_LOSS) snprintf(what, sizeof what, "the loss is %s", isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf");
  else snprintf(what, sizeof what, "the gradient of '%s' is not finite", t->d->params[bad].name);
  if (t->last_ckpt)
    snprintf(ck, sizeof ck, "the last good checkpoint is %s (step %lld)", t->last_ckpt, (long long)t->last_ckpt_step);
  else
    snprintf(ck, sizeof ck, "no checkpoint was written");
  return cli_fail("%s at step %lld (epoch %lld, %s %lld of %lld); training stopped, %s", what,
                  (long long)t->step + 1, (long long)t->epoch + 1, t->trunc ? "window" : "batch",
                  (long long)t->epoch_step + 1, (long long)t->steps_per_epoch, ck);
}

static int stop_interrupted(trainer *t) {
  if (t->tty && !t->cfg.quiet) fputc('\n', stderr);
  if (write_checkpoint(t) != 0) return 1;
  if (t->epoch > 0 && write_reports(t) != 0) return 1;
  fprintf(stderr, "interrupted after step %lld (epoch %lld of %lld): wrote the checkpoint %s; continue with --resume %s\n",
          (long long)t->step, (long long)(t->epoch_step ? t->epoch + 1 : t->epoch), (long long)t->cfg.epochs,
          t->cfg.ckpt, t->cfg.ckpt);
  return 130;
}

static int train_loop(trainer *t) {
  train_cfg *cfg = &t->cfg;
  bool pending = false; /* a step checkpoint deferred to the end of the epoch */
  t->t_start = t->t_drawn = now_s();
  t->t_metrics = t->t_start;
  while (t->epoch < cfg->epochs) {
    if (t->epoch_step == 0) t->ep_loss = t->ep_count = t->ep_seconds = 0;
    t->t_epoch = now_s();
    if (t->trunc && cfg->text) /* the streams keep their order */
      for (int64_t i = 0; i < t->n_train; i++) t->perm[i] = i;
    else
      epoch_order(cfg->seed, t->epoch, t->perm, t->n_train);
    if (t->dump) {
      fprintf(t->dump, "epoch %lld:", (long long)t->epoch + 1);
      for (int64_t i = 0; i < t->n_train; i++) fprintf(t->dump, " %lld", (long long)t->perm[i]);
      fputc('\n', t->dump);
    }
    while (t->epoch_step < t->steps_per_epoch) {
      int64_t batch = t->trunc ? t->epoch_step / t->W : t->epoch_step;
      int64_t off = batch * cfg->batch, cnt = t->n_train - off < cfg->batch ? t->n_train - off : cfg->batch;
      float loss;
      int64_t bad = 0;
      double weight = (double)cnt, seen = (double)cnt;
      int r = t->trunc ? trunc_step(t, t->perm + off, cnt, t->epoch_step % t->W, &loss, &bad, &weight, &seen)
                       : train_step(t, t->perm + off, cnt, &loss, &bad);
      if (r != STEP_OK) return stop_nonfinite(t, r, bad, loss);
      if (t->dump_loss)
        fprintf(t->dump_loss, "step %lld loss %.9g norm %.9g\n", (long long)t->step, (double)loss, t->last_norm);
      t->epoch_step++;
      t->ep_loss += (double)loss * weight;
      t->ep_count += weight;
      t->session_steps++;
      t->session_examples += seen;
      bool mid = t->epoch_step < t->steps_per_epoch;
      if (mid) progress(t, false);
      if (interrupted && mid) return stop_interrupted(t);
      if (cfg->ckpt_every && t->step % cfg->ckpt_every == 0) {
        if (!mid) pending = true;
        else if (write_checkpoint(t) != 0) return 1;
      }
    }
    double val_loss = NAN, metric = NAN;
    if (t->n_val) (t->trunc ? evaluate_trunc : evaluate)(t, &val_loss, &metric);
    if (hist_reserve(t, t->epoch + 1) != 0) return 1;
    double *h = t->hist + 4 * t->epoch;
    h[0] = t->ep_loss / t->ep_count;
    h[1] = val_loss;
    h[2] = metric;
    h[3] = t->ep_seconds + (now_s() - t->t_epoch);
    t->epoch++;
    t->epoch_step = 0;
    progress(t, true);
    bool last = t->epoch == cfg->epochs;
    if (interrupted && !last) return stop_interrupted(t);
    if ((!cfg->ckpt_every || pending) && !last) {
      pending = false;
      if (write_checkpoint(t) != 0) return 1;
    }
    if (!last && now_s() - t->t_metrics >= 1.0 && write_reports(t) != 0) return 1;
  }
  if (t->tty && !cfg->quiet) fputc('\n', stderr);
  return 0;
}

static void train_free(trainer *t) {
  const rnnrt_model_desc *d = t->d;
  if (t->gargs && t->params_loaded) rnnrt_tensors_free(t->gargs, t->np);
  if (t->batch) { /* train_alloc ran (perhaps partly) */
    rnnrt_tensors_free(t->batch, t->na);
    rnnrt_tensors_free(t->loss, 1);
    for (int64_t i = 0; i < t->np; i++) {
      free(t->gdata[i]);
      free(t->s1[i]);
      free(t->s2[i]);
    }
  }
  if (t->fargs && metric_needs_forward(t)) rnnrt_tensors_free(t->outs, d->n_outputs);
  if (t->sargs) {
    rnnrt_tensors_free(t->win, t->na);
    rnnrt_tensors_free(t->st_in, t->nts);
    rnnrt_tensors_free(t->st_out, t->nts);
  }
  if (t->pargs) rnnrt_tensors_free(t->pargs + t->np + t->ni + d->n_states, d->n_outputs + d->n_states);
  if (t->ck_st_names)
    for (int64_t s = 0; s < t->nts; s++) free(t->ck_st_names[s]);
  free(t->sargs);
  free(t->largs);
  free(t->pargs);
  free(t->step_map);
  free(t->ck_st_shape);
  free(t->ck_st_names);
  free(t->text);
  free(t->step_bytes);
  free(t->tbase);
  free(t->vbase);
  free(t->tstride);
  free(t->vstride);
  if (t->full) rnnrt_tensors_free(t->full, t->na);
  if (t->ck_names)
    for (int64_t i = 0; i < 2 * t->np; i++) free(t->ck_names[i]);
  free(t->full);
  free(t->gargs);
  free(t->fargs);
  free(t->row_bytes);
  free(t->pdata);
  free(t->gdata);
  free(t->s1);
  free(t->s2);
  free(t->pnumel);
  free(t->hist);
  free(t->perm);
  free(t->ck);
  free(t->ck_names);
  free(t->cfg.ckpt);
  free(t->cfg.metrics);
  free(t->cfg.svg);
  cli_binding_free(&t->b);
  if (t->dump) fclose(t->dump);
  if (t->dump_loss) fclose(t->dump_loss);
}

static int train_run(trainer *t) {
  cli *c = t->c;
  const rnnrt_model_desc *d = t->d;
  train_cfg *cfg = &t->cfg;
  if (check_trainable(t) != 0 || train_parse_options(c, cfg) != 0) return 1;
  if (cfg->bptt != BPTT_FULL && check_truncatable(t) != 0) return 1;
  if (cli_binding_init(d, &t->b) != 0) return 1;
  if (!(t->full = calloc((size_t)t->na + 1, sizeof *t->full))) return cli_fail("out of memory");
  if (t->trunc) {
    size_t n = (size_t)t->na + 1;
    t->step_bytes = calloc(n, sizeof *t->step_bytes);
    t->tstride = calloc(n, sizeof *t->tstride);
    t->vstride = calloc(n, sizeof *t->vstride);
    t->tbase = calloc(n, sizeof *t->tbase);
    t->vbase = calloc(n, sizeof *t->vbase);
    if (!t->step_bytes || !t->tstride || !t->vstride || !t->tbase || !t->vbase) return cli_fail("out of memory");
  }
  /* ---- the data ---- */
  if (cfg->text && t->trunc) {
    if (load_text_streams(t) != 0) return 1;
  } else if (cfg->text) {
    if (load_text(t) != 0) return 1;
  } else if (cfg->csv) {
    if (load_csv(t) != 0) return 1;
  } else {
    const char **files = calloc((size_t)t->na + 1, sizeof *files);
    if (!files) return cli_fail("out of memory");
    int r = collect_files(c, OPT_INPUT, "--input", "input", d->inputs, t->ni, files) != 0 ||
            collect_files(c, OPT_TARGET, "--target", "target", d->targets, t->nt, files + t->ni) != 0 ||
            require_files(c, "--input", d->inputs, t->ni, files) != 0 ||
            require_files(c, "--target", d->targets, t->nt, files + t->ni) != 0 ||
            load_arrays(c, files, &t->b, t->full) != 0 || cli_check_lengths(c, &t->b, t->full, files) != 0;
    free(files);
    if (r) return 1;
  }
  if (!(t->trunc && cfg->text)) { /* --text truncated: load_text_streams did this */
    t->n = t->b.val[t->bsym];
    t->n_val = held_out(cfg->validation, t->n);
    if (cfg->validation > 0 && t->n_val < 1) t->n_val = 1;
    t->n_train = t->n - t->n_val;
    if (t->n_train < 1)
      return cli_fail("validation %g holds out %lld of %lld example%s and leaves none for training", cfg->validation,
                      (long long)t->n_val, (long long)t->n, t->n == 1 ? "" : "s");
    if (cfg->batch > t->n_train) cfg->batch = t->n_train;
  }
  t->steps_per_epoch = (t->n_train + cfg->batch - 1) / cfg->batch;
  t->ck_data[0] = t->n_train;
  t->ck_data[1] = t->n_val;
  t->ck_data[2] = cfg->batch;
  if (t->trunc && trunc_plan(t) != 0) return 1;
  choose_metric(t);
  if (t->n_val && t->nt == 1 && t->metric == MET_NONE)
    fprintf(stderr, "note: no output scores target '%s'; validation reports the loss only\n", d->targets[0].name);
  if (t->trunc && cfg->text && (t->metric == MET_TOKENS || t->metric == MET_CLASS) && !(t->met_step = plan_step(t))) {
    if (t->n_val)
      fprintf(stderr, "note: validation reports the loss only (its accuracy over --text windows needs the step "
                      "function, with the same states)\n");
    t->metric = MET_NONE;
  }
  /* ---- weights, buffers, checkpoint ---- */
  if (!(t->gargs = calloc((size_t)(2 * t->np + t->na + 1), sizeof *t->gargs))) return cli_fail("out of memory");
  if (t->np > 0) {
    if (rnnrt_load_params(d, cfg->resume ? cfg->resume : cfg->weights, t->gargs, &c->err) != 0)
      return cli_fail_err(&c->err);
    t->params_loaded = true;
  }
  if (train_alloc(t) != 0 || (t->trunc && trunc_alloc(t) != 0)) return 1;
  if (cfg->resume && load_checkpoint(t) != 0) return 1;
  if (cfg->dump_order && !(t->dump = fopen(cfg->dump_order, "w")))
    return cli_fail("%s: cannot open: %s", cfg->dump_order, strerror(errno));
  if (cfg->dump_loss && !(t->dump_loss = fopen(cfg->dump_loss, "w")))
    return cli_fail("%s: cannot open: %s", cfg->dump_loss, strerror(errno));
  t->tty = isatty(STDERR_FILENO);
  if (!cfg->quiet) {
    char opt[256];
    optim_describe(&cfg->opt, opt, sizeof opt);
    if (cfg->resume)
      fprintf(stderr, "resuming from %s at step %lld (epoch %lld of %lld)\n", cfg->resume, (long long)t->step,
              (long long)t->epoch + (t->epoch < cfg->epochs), (long long)cfg->epochs);
    char k2[64] = "";
    if (t->trunc && cfg->k2 < cfg->k1) snprintf(k2, sizeof k2, ", back-propagating the last %lld", (long long)cfg->k2);
    if (t->trunc && cfg->text)
      fprintf(stderr, "training on %lld tokens as %lld stream%s of %lld (%lld held out), truncated BPTT in windows of "
              "%lld step%s%s, %lld step%s per epoch, %s\n", (long long)t->text_tokens[0], (long long)t->n_train,
              t->n_train == 1 ? "" : "s", (long long)t->T + 1, (long long)t->text_tokens[1], (long long)cfg->k1,
              cfg->k1 == 1 ? "" : "s", k2, (long long)t->steps_per_epoch, t->steps_per_epoch == 1 ? "" : "s", opt);
    else if (t->trunc)
      fprintf(stderr, "training on %lld example%s (%lld held out), truncated BPTT in windows of %lld step%s%s (%lld "
              "per batch), %lld step%s per epoch, %s\n", (long long)t->n_train, t->n_train == 1 ? "" : "s",
              (long long)t->n_val, (long long)cfg->k1, cfg->k1 == 1 ? "" : "s", k2, (long long)t->W,
              (long long)t->steps_per_epoch, t->steps_per_epoch == 1 ? "" : "s", opt);
    else
      fprintf(stderr, "training on %lld example%s (%lld held out), %lld step%s per epoch, %s\n", (long long)t->n_train,
              t->n_train == 1 ? "" : "s", (long long)t->n_val, (long long)t->steps_per_epoch,
              t->steps_per_epoch == 1 ? "" : "s", opt);
  }
  /* ---- the loop ---- */
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  interrupted = 0;
  sigaction(SIGINT, &sa, &old);
  int rc = train_loop(t);
  /* ---- the results (a Ctrl-C now changes nothing: they are written anyway) ---- */
  if (rc == 0) {
    rnnrt_st_entry *e = t->ck; /* the weights are the checkpoint's first entries */
    if (rnnrt_st_write(cfg->out, e, (size_t)t->np, &c->err) != 0) rc = cli_fail_err(&c->err);
    else if (write_checkpoint(t) != 0 || write_reports(t) != 0) rc = 1;
  }
  sigaction(SIGINT, &old, NULL);
  if (rc != 0) return rc;
  if (t->dump && (fflush(t->dump) != 0 || ferror(t->dump))) return cli_fail("%s: cannot write", cfg->dump_order);
  if (t->dump_loss && (fflush(t->dump_loss) != 0 || ferror(t->dump_loss)))
    return cli_fail("%s: cannot write", cfg->dump_loss);
  if (!cfg->quiet)
    fprintf(stderr, "wrote %s (epoch %lld, step %lld, %.2f s); metrics %s, plot %s, checkpoint %s\n", cfg->out,
            (long long)t->epoch, (long long)t->step, now_s() - t->t_start, cfg->metrics, cfg->svg, cfg->ckpt);
  return 0;
}

int cli_cmd_train(cli *c) {
  trainer t;
  memset(&t, 0, sizeof t);
  t.c = c;
  t.d = &c->desc;
  t.np = t.d->n_params;
  t.ni = t.d->n_inputs;
  t.nt = t.d->n_targets;
  t.na = t.ni + t.nt;
  int rc = train_run(&t);
  train_free(&t);
  return rc;
}
