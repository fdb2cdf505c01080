/* cli.h - what the command-line sources share (cli.c: dispatch, info/init/infer/generate;
 * train.c: grad/train; bench.c: bench). Internal to the runtime, not installed. The functions
 * are prefixed cli_ (not static, but only for these sources). */
#ifndef RNNRT_CLI_H
#define RNNRT_CLI_H

#include "internal.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct opt_spec {
  int id;
  const char *lng;   /* without "--" */
  char shrt;         /* 0 if none */
  const char *arg;   /* metavariable, NULL for flags */
  bool repeat;
  const char *help;  /* NULL: a hidden option (for tests; not listed by help) */
} opt_spec;

typedef struct opt_val {
  int id;
  const char *value;
  const char *spelled; /* as written on the command line, for messages */
} opt_val;

struct command;
typedef struct cli {
  const char *prog;
  const struct command *cmd;
  opt_val *opts;
  int n_opts;
  rnnrt_model_desc desc;
  rnnrt_error err;
} cli;

typedef int (*command_fn)(cli *c);

typedef struct command {
  const char *name;
  const char *synopsis;   /* usage lines after "PROG NAME", '\n'-separated */
  const char *summary;    /* one line, for the command list */
  const char *details;    /* paragraph for 'help NAME', may be NULL */
  const opt_spec *opts;   /* terminated by id 0 */
  bool needs_desc;
  command_fn fn;
} command;

enum {
  OPT_HELP = 1, OPT_SEED, OPT_OUTPUT, OPT_WEIGHTS, OPT_INPUT, OPT_TEXT, OPT_PRIME, OPT_STEPS,
  OPT_TEMPERATURE, OPT_TOP_K,
  /* grad / train */
  OPT_TARGET, OPT_CSV, OPT_WINDOW, OPT_COLUMN, OPT_SEQ_LEN, OPT_EPOCHS, OPT_BATCH, OPT_LR,
  OPT_OPTIMIZER, OPT_MOMENTUM, OPT_CLIP, OPT_WEIGHT_DECAY, OPT_VALIDATION, OPT_CKPT_EVERY,
  OPT_CHECKPOINT, OPT_RESUME, OPT_METRICS, OPT_QUIET, OPT_DUMP_ORDER, OPT_DUMP_LOSS, OPT_BPTT,
  /* bench */
  OPT_TIME, OPT_DIM, OPT_ITERS, OPT_WARMUP, OPT_TRAIN, OPT_PREPARE_EACH,
  /* infer / generate / grad / train / bench */
  OPT_THREADS
};

/* The --threads row of the commands that run compiled kernels. */
/* --prepare-each-call of infer, generate and bench: the entry points that redo the weights'
 * preparation (rnnc_model_prepare's packing/narrowing) at every call, instead of preparing once
 * and calling the _prepared ones (the same outputs; for comparison and timing). */
#define CLI_PREPARE_EACH_OPT                                                                      \
  {OPT_PREPARE_EACH, "prepare-each-call", 0, NULL, false,                                        \
   "redo the weights' preparation (packing, f16) at every call, not once"}
#define CLI_THREADS_OPT                                                                        \
  {OPT_THREADS, "threads", 0, "N", false,                                                      \
   "threads for the compiled kernels, 1..64 (default: RNNC_THREADS, else 1); results do not "  \
   "depend on it"}

/* grad / train (train.c) */
extern const opt_spec cli_grad_opts[];
extern const opt_spec cli_train_opts[];
int cli_cmd_grad(cli *c);
int cli_cmd_train(cli *c);

/* bench (bench.c) */
extern const opt_spec cli_bench_opts[];
int cli_cmd_bench(cli *c);

/* Messages. usage_error: "error: ..." plus a one-line usage hint; fail: "error: ...". Both
 * escape control characters and return 1. */
int cli_usage_error(cli *c, const char *fmt, ...) RNNRT_PRINTF(2, 3);
int cli_fail(const char *fmt, ...) RNNRT_PRINTF(1, 2);
int cli_fail_err(const rnnrt_error *e);

/* The value of an option (the last one; "" for a flag), NULL if absent. */
const char *cli_opt_get(const cli *c, int id);
/* Strict decimal integer in [0, max] (no sign, no space, no other base). */
bool cli_parse_count(const char *s, uint64_t max, uint64_t *out);
/* A plain finite decimal number >= 0 ("0", "0.8", "1e-3"; no sign, inf, nan, hex, spaces). */
bool cli_parse_nonneg_real(const char *s, double *out);
/* Escaped copy of n bytes into buf (for messages). */
void cli_escape_to(char *buf, size_t size, const char *s, size_t n);
/* "i32 tokens of V (5)", "f32", ... for an input/target (is_output false) or an output. */
void cli_type_str(const rnnrt_model_desc *d, const rnnrt_decl *x, bool is_output, char *buf, size_t size);
/* Same dimension in two declarations (same symbol, or same static size). */
bool cli_same_dim(const rnnrt_dim *a, const rnnrt_dim *b);
/* Tokenises NUL-terminated text (of option or file `label`) with a chars or words vocab into a
 * malloc'd int32 array. Reports errors itself (returns 1). */
int cli_tokenize_text(const rnnrt_vocab *v, const char *label, const char *text, int32_t **ids_out, int64_t *n_out);
/* "[2, 0]" for flat index `flat` of a shape. */
void cli_format_index(char *buf, size_t size, int64_t flat, int64_t rank, const int64_t *shape);

/* Symbol bindings: per symbol its value (-1 unbound) and which array bound it (index `src`
 * into inputs, then targets: n_inputs + k) along which axis. */
typedef struct {
  int64_t *val;
  int64_t *src;
  int32_t *axis;
} binding;

/* Allocates a binding for desc (every symbol unbound); 1 after reporting out of memory. */
int cli_binding_init(const rnnrt_model_desc *d, binding *b);
void cli_binding_free(binding *b);

/* Checks array `a` (from `label`: a file name, "--text", ...) against input ii (ii <
 * n_inputs) or target ii - n_inputs, binds its symbols and converts it into t (taking
 * ownership of a->data when no conversion is needed). Reports errors itself (returns 1). */
int cli_bind_array(cli *c, int64_t ii, const char *label, rnnrt_npy *a, binding *b, rnnrt_tensor *t);
/* Range check of lengths inputs once every symbol is bound (labels per input). */
int cli_check_lengths(cli *c, const binding *b, const rnnrt_tensor *in, const char *const *labels);
/* Sets t's rank and sizes to decl x's shape with its symbols bound. */
void cli_bound_shape(const rnnrt_decl *x, const binding *b, rnnrt_tensor *t);
/* Allocates a zero-filled f32 tensor of decl x's bound shape (`what`: "output", "state"). */
int cli_alloc_f32(const char *what, const rnnrt_decl *x, const binding *b, rnnrt_tensor *t);
bool cli_is_directory(const char *path);
/* Index of the largest value (the first on ties; NaN loses). */
int64_t cli_argmax(const float *p, int64_t n);

#endif
