/* cli.c - the command-line program of a compiled model (rnnrt_main).
 *
 * Commands are dispatched through the `commands` table below; each has its own option table.
 * To add a command (like train, grad, bench): write `static int cmd_x(cli *c)`, an
 * option table and a row in `commands`. Options are parsed by parse_options() so that every
 * command gets the same behaviour (--opt VALUE, --opt=VALUE, -o VALUE, repeated options,
 * unknown options, --help). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* options                                                                                    */

static const opt_spec info_opts[] = {
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

static const opt_spec init_opts[] = {
    {OPT_SEED, "seed", 's', "N", false, "random seed, a non-negative integer (default 0)"},
    {OPT_OUTPUT, "output", 'o', "FILE", false, "safetensors file to write (required)"},
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

static const opt_spec infer_opts[] = {
    {OPT_WEIGHTS, "weights", 'w', "FILE", false, "safetensors file with every parameter (F32)"},
    {OPT_INPUT, "input", 'i', "NAME=FILE", true, ".npy array for input NAME (repeat for each input)"},
    {OPT_TEXT, "text", 't', "TEXT", false,
     "text for the model's tokens input (chars/words vocab), batch 1; prints the outputs"},
    {OPT_OUTPUT, "output", 'o', "PATH", false,
     ".npy file to write; a directory (created if missing) for several outputs"},
    CLI_PREPARE_EACH_OPT,
    CLI_THREADS_OPT,
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

static const opt_spec generate_opts[] = {
    {OPT_WEIGHTS, "weights", 'w', "FILE", false, "safetensors file with every parameter (F32)"},
    {OPT_PRIME, "prime", 'p', "TEXT", false, "text to start from, in the model's chars/words vocab (required)"},
    {OPT_STEPS, "steps", 'n', "N", false, "number of tokens to generate, a non-negative integer (required)"},
    {OPT_TEMPERATURE, "temperature", 0, "T", false, "sampling temperature >= 0 (default 1; 0: most likely token)"},
    {OPT_SEED, "seed", 's', "S", false, "random seed, a non-negative integer (default 0)"},
    {OPT_TOP_K, "top-k", 0, "K", false, "sample only among the K most likely tokens (K >= 1)"},
    CLI_PREPARE_EACH_OPT,
    CLI_THREADS_OPT,
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

static const opt_spec help_opts[] = {
    {OPT_HELP, "help", 'h', NULL, false, "show this help"},
    {0, NULL, 0, NULL, false, NULL},
};

static int cmd_info(cli *c);
static int cmd_init(cli *c);
static int cmd_infer(cli *c);
static int cmd_generate(cli *c);
static int cmd_help(cli *c);

static const command commands[] = {
    {"info", "", "show the model's inputs, outputs, parameters and vocabularies", NULL, info_opts, true,
     cmd_info},
    {"init", "[--seed N] -o WEIGHTS.safetensors", "write freshly initialised weights",
     "Creates every parameter with the initialisation recorded in the model (deterministic for a\n"
     "given seed) and writes them as F32 tensors to a safetensors file.",
     init_opts, true, cmd_init},
    {"infer",
     "-w WEIGHTS.safetensors --input NAME=FILE.npy... -o OUT\n"
     "-w WEIGHTS.safetensors --text TEXT [-o OUT]",
     "run the model on .npy inputs (or on text) and write its outputs",
     "Loads the weights and the inputs, checks them against the model, runs it and writes each\n"
     "output as a float32 .npy (with several outputs, -o names a directory: OUT/NAME.npy).\n"
     "With --text, outputs that score a vocabulary are printed as text (argmax of the last axis),\n"
     "one line per batch row (a decoder's output up to its end token); other outputs are printed as\n"
     "numbers.",
     infer_opts, true, cmd_infer},
    {"generate", "-w WEIGHTS.safetensors --prime TEXT --steps N [--temperature T] [--seed S] [--top-k K]",
     "continue a text with the model, one token at a time",
     "Runs the model's step function on the prime text, then repeatedly picks the next token from\n"
     "the scores of the last position and feeds it back with the recurrent states. Temperature 0\n"
     "takes the most likely token; otherwise the token is drawn from softmax(logits / T), among the\n"
     "K most likely with --top-k. Prints the prime, then each token as it is generated (the same\n"
     "seed gives the same text). Needs a model compiled with a step function.",
     generate_opts, true, cmd_generate},
    {"grad", "-w WEIGHTS.safetensors --input NAME=FILE.npy... --target NAME=FILE.npy... -o GRADS.safetensors",
     "compute the loss and the gradient of every parameter",
     "Loads the weights, the inputs and the targets (checked like 'infer' checks inputs), runs the\n"
     "model's gradient function once and writes a safetensors file with the loss (shape [], F32)\n"
     "and the gradient of every parameter under the parameter's name. Needs a model with a loss.\n"
     "It is the training gradient: the model's dropout applies, its masks drawn from --seed.",
     cli_grad_opts, true, cli_cmd_grad},
    {"train",
     "-w WEIGHTS.safetensors --input NAME=FILE.npy... --target NAME=FILE.npy... -o OUT.safetensors\n"
     "-w WEIGHTS.safetensors --text CORPUS.txt [--seq-len N] -o OUT.safetensors\n"
     "-w WEIGHTS.safetensors --csv SERIES.csv --window N [--column K] -o OUT.safetensors\n"
     "--resume CHECKPOINT.safetensors ... -o OUT.safetensors",
     "train the model (settings from its train line, overridable)",
     "Minimises the model's loss with SGD or Adam (PyTorch's update rules) over the examples (axis 0\n"
     "of every input and target), shuffled every epoch with --seed; the last partial batch is used.\n"
     "A --validation fraction is held out from the end of the data and evaluated after every epoch\n"
     "(accuracy and perplexity for token targets, accuracy for classes, RMSE for mse). Defaults come\n"
     "from the model's train line. --text trains next-token prediction on windows of --seq-len tokens\n"
     "of a text file; --csv predicts the next value of a series from --window previous values.\n"
     "Writes OUT (the weights), OUT.metrics.csv (or --metrics), OUT.loss.svg and a checkpoint\n"
     "(--checkpoint, default OUT.ckpt.safetensors: weights, optimizer state, counters) every epoch\n"
     "or every --checkpoint-every steps and at the end; --resume continues from one exactly.\n"
     "Ctrl-C stops after the current step, writes the checkpoint and exits with status 130.\n"
     "With truncated BPTT (--bptt or the train line: truncate(K), truncate(K1,K2), budget(MiB); the\n"
     "program must be compiled with such a setting), every sequence is cut into windows of K (K1)\n"
     "time steps, one optimizer step per window, the recurrent states carried (detached) from window\n"
     "to window and zero at the start of every batch; --text then splits the text into --batch\n"
     "contiguous streams (no --seq-len, no shuffling) whose states start at zero every epoch.",
     cli_train_opts, true, cli_cmd_train},
    {"bench", "[--batch N] [--time T] [--dim SYM=N]... [--iters N] [--warmup N] [--train] [--threads N] [-w WEIGHTS.safetensors]",
     "time the model (or one training step) on synthetic inputs",
     "Times rnnc_model_forward (with --train: the gradient function, one training step's forward and\n"
     "backward without the optimizer) in this process on random inputs: token ids and class ids in\n"
     "range, normal floats, lengths = the time size. --batch sets the batch axis (axis 0 of the inputs),\n"
     "--time the time axis (axis 1 of sequence inputs), --dim any other dimension symbol. Weights from\n"
     "-w, else initialised like 'init --seed 0'. After --warmup untimed calls, each timed call is\n"
     "measured on its own; prints the median and minimum time and, for a single recurrent stack, the\n"
     "GFLOP/s (2 * gates * hidden * (input + hidden) * B * T per layer and direction, x3 with --train),\n"
     "then a 'bench: mode=... batch=... time=... median_ms=... min_ms=... gflops=... threads=...\n"
     "shared_per_iter=...' line (the kernel calls per iteration shared among --threads threads).",
     cli_bench_opts, true, cli_cmd_bench},
    {"help", "[COMMAND]", "show this help, or the options of one command", NULL, help_opts, false, cmd_help},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static void print_usage(FILE *out, const char *prog) {
  fprintf(out, "usage: %s <command> [options]\n\ncommands:\n", prog);
  for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun '%s help <command>' for the options of a command.\n", prog);
}

static void print_synopsis(FILE *out, const char *prog, const command *cmd) {
  const char *s = cmd->synopsis;
  bool first = true;
  do {
    size_t n = strcspn(s, "\n");
    fprintf(out, "%s %s %s%s%.*s\n", first ? "usage:" : "      ", prog, cmd->name, n ? " " : "", (int)n, s);
    first = false;
    s += n;
    if (*s == '\n') s++;
  } while (*s);
}

static void print_command_help(FILE *out, const char *prog, const command *cmd) {
  print_synopsis(out, prog, cmd);
  fprintf(out, "\n%c%s.\n", cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' : cmd->summary[0],
          cmd->summary + 1);
  if (cmd->details) fprintf(out, "\n%s\n", cmd->details);
  fprintf(out, "\noptions:\n");
  for (const opt_spec *o = cmd->opts; o->id; o++) {
    char left[64];
    if (!o->help) continue; /* hidden */
    if (o->shrt)
      snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
    else
      snprintf(left, sizeof left, "    --%s%s%s", o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(out, "  %-24s %s\n", left, o->help);
  }
}

/* Usage error: "error: ..." then a one-line hint. Returns 1. */
int cli_usage_error(cli *c, const char *fmt, ...) RNNRT_PRINTF(2, 3);
int cli_usage_error(cli *c, const char *fmt, ...) {
  va_list ap;
  char raw[RNNRT_ERROR_MAX], msg[RNNRT_ERROR_MAX];
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  rnnrt_escape_controls(msg, sizeof msg, raw); /* arguments may hold '\n' */
  fprintf(stderr, "error: %s\n", msg);
  if (c->cmd)
    fprintf(stderr, "usage: %s %s%s%.*s (see '%s help %s')\n", c->prog, c->cmd->name, c->cmd->synopsis[0] ? " " : "",
            (int)strcspn(c->cmd->synopsis, "\n"), c->cmd->synopsis, c->prog, c->cmd->name);
  else
    fprintf(stderr, "usage: %s <command> [options] (see '%s help')\n", c->prog, c->prog);
  return 1;
}

int cli_fail(const char *fmt, ...) RNNRT_PRINTF(1, 2);
int cli_fail(const char *fmt, ...) {
  va_list ap;
  char raw[RNNRT_ERROR_MAX], msg[RNNRT_ERROR_MAX];
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  rnnrt_escape_controls(msg, sizeof msg, raw); /* one line, whatever the file or argument */
  fprintf(stderr, "error: %s\n", msg);
  return 1;
}

int cli_fail_err(const rnnrt_error *e) { return cli_fail("%s", e->msg); }

/* Returns 0 ok, 1 error (reported), 2 help printed. */
/* --threads N: the compiled kernels' thread pool (runtime/lib/parallel.c). */
static int set_threads(cli *c) {
  const char *s = cli_opt_get(c, OPT_THREADS);
  if (!s) return 0;
  uint64_t n;
  if (!cli_parse_count(s, 64, &n) || n < 1)
    return cli_usage_error(c, "--threads wants a thread count from 1 to 64, got '%s'", s);
  rnnrt_set_threads((int)n);
  return 0;
}

static int parse_options(cli *c, int argc, char **argv) {
  const opt_spec *specs = c->cmd->opts;
  c->opts = calloc((size_t)argc + 1, sizeof *c->opts);
  if (!c->opts) return cli_fail("out of memory");
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const opt_spec *o = NULL;
    const char *value = NULL;
    if (a[0] == '-' && a[1] == '-' && a[2]) {
      const char *eq = strchr(a + 2, '=');
      size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
      for (const opt_spec *s = specs; s->id; s++)
        if (strlen(s->lng) == n && strncmp(s->lng, a + 2, n) == 0) o = s;
      if (!o) return cli_usage_error(c, "unknown option '%.*s'", (int)(n + 2), a);
      if (eq) {
        if (!o->arg) return cli_usage_error(c, "option '--%s' takes no value", o->lng);
        value = eq + 1;
      }
    } else if (a[0] == '-' && a[1] && a[1] != '-' && !a[2]) {
      for (const opt_spec *s = specs; s->id; s++)
        if (s->shrt == a[1]) o = s;
      if (!o) return cli_usage_error(c, "unknown option '%s'", a);
    } else if (a[0] == '-' && a[1]) {
      return cli_usage_error(c, "unknown option '%s'", a);
    } else {
      return cli_usage_error(c, "unexpected argument '%s'", a);
    }
    if (o->id == OPT_HELP) {
      print_command_help(stdout, c->prog, c->cmd);
      return 2;
    }
    if (o->arg && !value) {
      if (i + 1 >= argc) return cli_usage_error(c, "option '%s' needs a value (%s)", a, o->arg);
      value = argv[++i];
    }
    if (!o->repeat)
      for (int k = 0; k < c->n_opts; k++)
        if (c->opts[k].id == o->id) return cli_usage_error(c, "option '--%s' given more than once", o->lng);
    c->opts[c->n_opts++] = (opt_val){o->id, value, a};
  }
  return 0;
}

const char *cli_opt_get(const cli *c, int id) {
  for (int k = 0; k < c->n_opts; k++)
    if (c->opts[k].id == id) return c->opts[k].value ? c->opts[k].value : "";
  return NULL;
}

/* Strict decimal integer in [0, max] (no sign, no space, no other base). */
bool cli_parse_count(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) return false;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned dgt = (unsigned)(*p - '0');
    if (v > (max - dgt) / 10) return false;
    v = v * 10 + dgt;
  }
  *out = v;
  return true;
}

/* --seed N (default 0): any uint64. Returns 0, or 1 after a usage error. */
static int opt_seed(cli *c, uint64_t *seed) {
  const char *s = cli_opt_get(c, OPT_SEED);
  *seed = 0;
  if (s && !cli_parse_count(s, UINT64_MAX, seed))
    return cli_usage_error(c, "--seed: invalid value '%s' (expected a non-negative integer)", s);
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* text helpers                                                                               */

/* Writes a token/character for humans: printable UTF-8 as is, the rest escaped. */
static void put_escaped(FILE *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned char ch = u[i];
    if (ch == '\\') { fputs("\\\\", out); i++; }
    else if (ch == '"') { fputs("\\\"", out); i++; }
    else if (ch == '\n') { fputs("\\n", out); i++; }
    else if (ch == '\t') { fputs("\\t", out); i++; }
    else if (ch == '\r') { fputs("\\r", out); i++; }
    else if (ch < 0x20 || ch == 0x7f) { fprintf(out, "\\x%02x", ch); i++; }
    else if (ch < 0x80) { fputc(ch, out); i++; }
    else {
      size_t l = rnnrt_utf8_seq_len(u + i, n - i);
      if (!l) { fprintf(out, "\\x%02x", ch); i++; continue; }
      uint32_t cp = l == 2 ? (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F)
                  : l == 3 ? (uint32_t)(u[i] & 0x0F) << 12 | (uint32_t)(u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F)
                           : (uint32_t)(u[i] & 0x07) << 18 | (uint32_t)(u[i + 1] & 0x3F) << 12 |
                                 (uint32_t)(u[i + 2] & 0x3F) << 6 | (u[i + 3] & 0x3F);
      bool invisible = (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
                       cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || (cp >= 0x202A && cp <= 0x202E);
      if (invisible) fprintf(out, "\\u%04x", (unsigned)cp);
      else fwrite(u + i, 1, l, out);
      i += l;
    }
  }
}

/* Escaped copy into a buffer (for error messages). */
void cli_escape_to(char *buf, size_t size, const char *s, size_t n) {
  char *mem = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&mem, &len);
  if (!f) {
    snprintf(buf, size, "?");
    return;
  }
  put_escaped(f, s, n);
  fclose(f);
  snprintf(buf, size, "%s", mem ? mem : "");
  free(mem);
}

static const char *vocab_kind_str(rnnrt_vocab_kind k) {
  return k == RNNRT_VOCAB_CHARS ? "chars" : k == RNNRT_VOCAB_WORDS ? "words" : "ids";
}

/* " (\"</s>\")" for a token of a chars/words vocab, "" for ids (for type strings). */
static void token_note(const rnnrt_vocab *v, int64_t id, char *buf, size_t size) {
  char esc[128];
  if (v->kind == RNNRT_VOCAB_IDS) {
    snprintf(buf, size, "%s", "");
    return;
  }
  cli_escape_to(esc, sizeof esc, v->tokens[id], v->token_lens[id]);
  snprintf(buf, size, " (\"%s\")", esc);
}

/* "f32", "i32 tokens of V (5)", "i32 lengths", "i32 class (10 classes)", "f32 scores over V (5)",
 * with the optional keys: "i32 tokens of V (5), padded with 0 (\"_\")", "i32 lengths of axis S",
 * "f32 probs over V (5), ending at 1 (\"$\")" */
void cli_type_str(const rnnrt_model_desc *d, const rnnrt_decl *x, bool is_output, char *buf, size_t size) {
  const rnnrt_vocab *v = x->vocab >= 0 ? &d->vocabs[x->vocab] : NULL;
  char note[160];
  if (is_output) {
    const char *sc = x->scores == RNNRT_SCORES_PROBS ? "probs" : x->scores == RNNRT_SCORES_LOGITS ? "logits" : NULL;
    if (v && x->end >= 0) {
      token_note(v, x->end, note, sizeof note);
      snprintf(buf, size, "f32 %s over %s (%lld), ending at %lld%s", sc ? sc : "scores", v->name, (long long)v->size,
               (long long)x->end, note);
    } else if (v) snprintf(buf, size, "f32 %s over %s (%lld)", sc ? sc : "scores", v->name, (long long)v->size);
    else snprintf(buf, size, "f32%s%s", sc ? " " : "", sc ? sc : "");
    return;
  }
  switch (x->kind) {
    case RNNRT_KIND_F32: snprintf(buf, size, x->weights ? "f32 loss weights" : "f32"); break;
    case RNNRT_KIND_TOKENS:
      if (x->padding >= 0) {
        token_note(v, x->padding, note, sizeof note);
        snprintf(buf, size, "i32 tokens of %s (%lld), padded with %lld%s", v->name, (long long)v->size,
                 (long long)x->padding, note);
      } else {
        snprintf(buf, size, "i32 tokens of %s (%lld)", v->name, (long long)v->size);
      }
      break;
    case RNNRT_KIND_LENGTHS:
      if (x->max_sym >= 0) snprintf(buf, size, "i32 lengths of axis %s", d->symbols[x->max_sym]);
      else snprintf(buf, size, "i32 lengths");
      break;
    default:
      if (v) snprintf(buf, size, "i32 class of %s (%lld)", v->name, (long long)v->size);
      else if (x->classes > 0) snprintf(buf, size, "i32 class (%lld classes)", (long long)x->classes);
      else snprintf(buf, size, "i32 class");
  }
}

/* ---------------------------------------------------------------------------------------- */
/* what `generate` needs of a model                                                           */

typedef struct {
  int64_t input;            /* the tokens input [B, T] */
  int64_t output;           /* the first output [B, T, V] over the input's vocab */
  const rnnrt_vocab *vocab; /* chars or words */
  int32_t t_sym;            /* symbol of the time axis */
} gen_plan;

/* Same dimension in two declarations (same symbol, or same static size). */
bool cli_same_dim(const rnnrt_dim *a, const rnnrt_dim *b) {
  return a->sym >= 0 ? a->sym == b->sym : b->sym < 0 && a->size == b->size;
}

/* Whether `generate` can run the model; if not, writes why into `why` ("it has no step
 * function", ...). */
static bool plan_generation(const rnnrt_model_desc *d, gen_plan *p, char *why, size_t size) {
  char shape[256];
  if (!d->has_step) {
    snprintf(why, size, "the model has no step function");
    return false;
  }
  if (d->n_inputs != 1 || d->inputs[0].kind != RNNRT_KIND_TOKENS) {
    snprintf(why, size, "generation needs exactly one input, of kind tokens (the model has %lld input%s%s)",
             (long long)d->n_inputs, d->n_inputs == 1 ? " of kind " : "s",
             d->n_inputs != 1 ? "" : d->inputs[0].kind == RNNRT_KIND_F32 ? "f32" : "lengths");
    return false;
  }
  const rnnrt_decl *x = &d->inputs[0];
  const rnnrt_vocab *v = &d->vocabs[x->vocab];
  rnnrt_desc_format_dims(d, x, shape, sizeof shape);
  if (v->kind == RNNRT_VOCAB_IDS) {
    snprintf(why, size, "input '%s' uses vocab '%s' of kind ids (generation needs a chars or words vocab)", x->name,
             v->name);
    return false;
  }
  bool batch_ok = x->rank == 2 && (x->dims[0].sym >= 0 ? x->dims[0].sym != x->dims[1].sym : x->dims[0].size == 1);
  if (!batch_ok || x->dims[1].sym < 0) {
    snprintf(why, size, "input '%s' has shape %s (generation needs [B, T] with a symbolic T)", x->name, shape);
    return false;
  }
  int64_t out = -1;
  for (int64_t o = 0; o < d->n_outputs && out < 0; o++) {
    const rnnrt_decl *y = &d->outputs[o];
    if (y->rank == 3 && y->vocab == x->vocab && cli_same_dim(&y->dims[0], &x->dims[0]) && cli_same_dim(&y->dims[1], &x->dims[1]))
      out = o;
  }
  if (out < 0) {
    snprintf(why, size, "no output scores vocab '%s' at each position of input '%s' (generation needs an output [%s, %s, %lld] with vocab=%s)",
             v->name, x->name, x->dims[0].sym >= 0 ? d->symbols[x->dims[0].sym] : "1", d->symbols[x->dims[1].sym],
             (long long)v->size, v->name);
    return false;
  }
  for (int64_t s = 0; s < d->n_states; s++)
    for (int64_t k = 0; k < d->states[s].rank; k++) {
      int32_t sym = d->states[s].dims[k].sym;
      if (sym >= 0 && sym != x->dims[0].sym) {
        rnnrt_desc_format_dims(d, &d->states[s], shape, sizeof shape);
        snprintf(why, size, "state '%s' has shape %s, whose dimension %s is not the batch dimension", d->states[s].name,
                 shape, d->symbols[sym]);
        return false;
      }
    }
  p->input = 0;
  p->output = out;
  p->vocab = v;
  p->t_sym = x->dims[1].sym;
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* info                                                                                       */

static int cmd_info(cli *c) {
  const rnnrt_model_desc *d = &c->desc;
  char shape[256], type[256], why[RNNRT_ERROR_MAX];
  int wname = 4, wshape = 5;
  enum { G_IN, G_OUT, G_PARAM, G_STATE };
  const struct {
    const char *title;
    const rnnrt_decl *a;
    int64_t n;
    int kind;
    bool shown;
  } groups[] = {{"inputs", d->inputs, d->n_inputs, G_IN, true},
                {"targets", d->targets, d->n_targets, G_IN, true},
                {"outputs", d->outputs, d->n_outputs, G_OUT, true},
                {"states", d->states, d->n_states, G_STATE, d->has_step},
                {"parameters", d->params, d->n_params, G_PARAM, true}};
  const size_t n_groups = sizeof groups / sizeof groups[0];
  for (size_t g = 0; g < n_groups; g++)
    for (int64_t i = 0; i < groups[g].n; i++) {
      int l = (int)strlen(groups[g].a[i].name);
      if (l > wname) wname = l;
      rnnrt_desc_format_dims(d, &groups[g].a[i], shape, sizeof shape);
      l = (int)strlen(shape);
      if (l > wshape) wshape = l;
    }
  int wcount = 1;
  for (int64_t i = 0; i < d->n_params; i++) {
    int l = snprintf(NULL, 0, "%lld", (long long)rnnrt_decl_numel(&d->params[i]));
    if (l > wcount) wcount = l;
  }
  printf("model %s\n", d->name);
  for (size_t g = 0; g < n_groups; g++) {
    if (!groups[g].shown) continue;
    printf("\n%s:", groups[g].title);
    if (groups[g].n == 0) {
      printf(" none\n");
      continue;
    }
    printf("\n");
    for (int64_t i = 0; i < groups[g].n; i++) {
      const rnnrt_decl *x = &groups[g].a[i];
      rnnrt_desc_format_dims(d, x, shape, sizeof shape);
      if (groups[g].kind == G_PARAM) {
        char init[64];
        if (x->init == RNNRT_INIT_UNIFORM) snprintf(init, sizeof init, "uniform:%g", x->init_arg);
        else if (x->init == RNNRT_INIT_NORMAL) snprintf(init, sizeof init, "normal:%g", x->init_arg);
        else snprintf(init, sizeof init, "%s", x->init == RNNRT_INIT_ONES ? "ones" : "zeros");
        if (x->padding >= 0)
          snprintf(init + strlen(init), sizeof init - strlen(init), ", row %lld zero (padding)",
                   (long long)x->padding);
        printf("  %-*s  %-*s  f32  %*lld  %s\n", wname, x->name, wshape, shape, wcount,
               (long long)rnnrt_decl_numel(x), init);
      } else if (groups[g].kind == G_STATE) {
        printf("  %-*s  %-*s  f32\n", wname, x->name, wshape, shape);
      } else {
        cli_type_str(d, x, groups[g].kind == G_OUT, type, sizeof type);
        printf("  %-*s  %-*s  %s\n", wname, x->name, wshape, shape, type);
      }
    }
  }
  printf("\ntotal parameters: %lld\n", (long long)d->total_param_elems);
  if (d->n_prepared > 0) {
    int64_t bytes = 0;
    for (int64_t i = 0; i < d->n_prepared; i++) bytes += d->prepared_bytes[i];
    printf("prepared once per set of weights: %lld tensors, %lld bytes (", (long long)d->n_prepared, (long long)bytes);
    for (int64_t i = 0; i < d->n_prepared; i++) printf("%s%s", i ? ", " : "", d->prepared[i]);
    printf(")\n");
  }
  printf("\nvocabularies:");
  if (d->n_vocabs == 0) printf(" none\n");
  else printf("\n");
  int wv = 1;
  for (int64_t i = 0; i < d->n_vocabs; i++)
    if ((int)strlen(d->vocabs[i].name) > wv) wv = (int)strlen(d->vocabs[i].name);
  for (int64_t i = 0; i < d->n_vocabs; i++) {
    const rnnrt_vocab *v = &d->vocabs[i];
    int col = printf("  %-*s  %lld %s", wv, v->name, (long long)v->size, vocab_kind_str(v->kind));
    if (v->kind == RNNRT_VOCAB_IDS) {
      printf("\n");
      continue;
    }
    col += printf(":");
    for (int64_t t = 0; t < v->size; t++) {
      char tok[256];
      cli_escape_to(tok, sizeof tok, v->tokens[t], v->token_lens[t]);
      int w = (int)strlen(tok) + 3;
      if (col + w > 96) {
        printf("\n   ");
        col = 3;
      }
      printf(" \"%s\"", tok);
      col += w;
    }
    printf("\n");
  }
  gen_plan plan;
  if (plan_generation(d, &plan, why, sizeof why))
    printf("\ngeneration: yes (from input '%s' and output '%s')\n", d->inputs[plan.input].name, d->outputs[plan.output].name);
  else
    printf("\ngeneration: no, %s\n", why);
  if (d->has_grad_state) {
    printf("\ntruncated BPTT: states");
    for (int64_t i = 0; i < d->n_tstates; i++) {
      rnnrt_desc_format_dims(d, &d->tstates[i], shape, sizeof shape);
      printf("%s %s %s", i ? "," : "", d->tstates[i].name, shape);
    }
    printf("\n");
  }
  if (d->n_train) {
    printf("\ntraining:");
    for (int64_t i = 0; i < d->n_train; i++) printf(" %s=%s", d->train[i].key, d->train[i].value);
    printf("\n");
  }
  if (fflush(stdout) != 0 || ferror(stdout)) return cli_fail("cannot write to standard output");
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* init                                                                                       */

static int cmd_init(cli *c) {
  const rnnrt_model_desc *d = &c->desc;
  const char *out = cli_opt_get(c, OPT_OUTPUT);
  uint64_t seed;
  if (!out || !*out) return cli_usage_error(c, "missing -o WEIGHTS.safetensors");
  if (opt_seed(c, &seed) != 0) return 1;
  rnnrt_rng rng;
  rnnrt_rng_seed(&rng, seed);
  rnnrt_st_entry *e = calloc((size_t)d->n_params + 1, sizeof *e);
  int64_t(*shapes)[RNNRT_MAX_RANK] = calloc((size_t)d->n_params + 1, sizeof *shapes);
  float **bufs = calloc((size_t)d->n_params + 1, sizeof *bufs);
  int rc = 1;
  if (!e || !shapes || !bufs) {
    cli_fail("out of memory");
    goto done;
  }
  for (int64_t i = 0; i < d->n_params; i++) {
    const rnnrt_decl *p = &d->params[i];
    int64_t n = rnnrt_decl_numel(p);
    float *buf = bufs[i] = rnnrt_alloc(n ? n * 4 : 4);
    if (!buf) {
      cli_fail("out of memory creating parameter '%s' (%lld values)", p->name, (long long)n);
      goto done;
    }
    rnnrt_rng_init_param(&rng, p, buf);
    for (int64_t k = 0; k < p->rank; k++) shapes[i][k] = p->dims[k].size;
    e[i] = (rnnrt_st_entry){p->name, RNNRT_DTYPE_F32, p->rank, shapes[i], buf};
  }
  if (rnnrt_st_write(out, e, (size_t)d->n_params, &c->err) != 0) {
    cli_fail_err(&c->err);
    goto done;
  }
  rc = 0;
done:
  if (bufs)
    for (int64_t i = 0; i < d->n_params; i++) free(bufs[i]);
  free(bufs);
  free(e);
  free(shapes);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* infer                                                                                      */

typedef struct {
  const char *s;
  size_t n;
  int32_t id;
} tok_entry;

static int tok_entry_cmp(const void *a, const void *b) {
  const tok_entry *x = a, *y = b;
  size_t m = x->n < y->n ? x->n : y->n;
  int r = memcmp(x->s, y->s, m);
  if (r) return r;
  return x->n < y->n ? -1 : x->n > y->n;
}

/* Tokenises text (of option `label`: --text, --prime) with a chars or words vocab into a
 * malloc'd int32 array. */
int cli_tokenize_text(const rnnrt_vocab *v, const char *label, const char *text, int32_t **ids_out, int64_t *n_out) {
  size_t len = strlen(text);
  *ids_out = NULL;
  *n_out = 0;
  if (!rnnrt_utf8_valid((const unsigned char *)text, len)) return cli_fail("%s: the text is not valid UTF-8", label);
  tok_entry *index = malloc((size_t)v->size * sizeof *index);
  int32_t *ids = malloc((len + 1) * sizeof *ids);
  if (!index || !ids) {
    free(index);
    free(ids);
    return cli_fail("out of memory");
  }
  for (int64_t t = 0; t < v->size; t++) index[t] = (tok_entry){v->tokens[t], v->token_lens[t], (int32_t)t};
  qsort(index, (size_t)v->size, sizeof *index, tok_entry_cmp);
  int64_t n = 0;
  size_t i = 0;
  while (i < len) {
    size_t l;
    if (v->kind == RNNRT_VOCAB_CHARS) {
      l = rnnrt_utf8_seq_len((const unsigned char *)text + i, len - i);
    } else {
      if (strchr(" \t\n\r\v\f", text[i])) {
        i++;
        continue;
      }
      l = 0;
      while (i + l < len && !strchr(" \t\n\r\v\f", text[i + l])) l++;
    }
    tok_entry key = {text + i, l, 0};
    tok_entry *hit = bsearch(&key, index, (size_t)v->size, sizeof *index, tok_entry_cmp);
    if (!hit) {
      char esc[256];
      cli_escape_to(esc, sizeof esc, text + i, l);
      cli_fail("%s: %s '%s' at position %lld is not in vocab '%s'", label, v->kind == RNNRT_VOCAB_CHARS ? "character" : "word",
           esc, (long long)n, v->name);
      free(index);
      free(ids);
      return 1;
    }
    ids[n++] = hit->id;
    i += l;
  }
  free(index);
  *ids_out = ids;
  *n_out = n;
  return 0;
}

void cli_format_index(char *buf, size_t size, int64_t flat, int64_t rank, const int64_t *shape) {
  int64_t idx[RNNRT_MAX_RANK > 64 ? RNNRT_MAX_RANK : 64];
  for (int64_t k = rank - 1; k >= 0; k--) {
    idx[k] = shape[k] ? flat % shape[k] : 0;
    flat = shape[k] ? flat / shape[k] : 0;
  }
  rnnrt_format_shape(buf, size, rank, idx);
}

int cli_binding_init(const rnnrt_model_desc *d, binding *b) {
  size_t n = (size_t)d->n_symbols + 1;
  b->val = calloc(n, sizeof *b->val);
  b->src = calloc(n, sizeof *b->src);
  b->axis = calloc(n, sizeof *b->axis);
  if (!b->val || !b->src || !b->axis) {
    cli_binding_free(b);
    return cli_fail("out of memory");
  }
  for (int64_t s = 0; s < d->n_symbols; s++) b->val[s] = -1;
  return 0;
}

void cli_binding_free(binding *b) {
  free(b->val);
  free(b->src);
  free(b->axis);
  b->val = b->src = NULL;
  b->axis = NULL;
}

/* Input ii, or target ii - n_inputs, and what it is called in messages. */
static const rnnrt_decl *array_decl(const rnnrt_model_desc *d, int64_t ii, const char **what) {
  bool is_target = ii >= d->n_inputs;
  *what = is_target ? "target" : "input";
  return is_target ? &d->targets[ii - d->n_inputs] : &d->inputs[ii];
}

/* Checks an array against input (or target) `ii` and converts it into t (takes ownership of
 * a->data when no conversion is needed). */
int cli_bind_array(cli *c, int64_t ii, const char *label, rnnrt_npy *a, binding *b, rnnrt_tensor *t) {
  const rnnrt_model_desc *d = &c->desc;
  const char *what, *what2;
  const rnnrt_decl *x = array_decl(d, ii, &what);
  char want[256], got[256];
  rnnrt_desc_format_dims(d, x, want, sizeof want);
  bool is_int = x->kind != RNNRT_KIND_F32;
  if (!is_int && a->dtype != RNNRT_DTYPE_F32)
    return cli_fail("%s: %s '%s' has dtype %s, expected <f4 (f32)", label, what, x->name,
                    a->dtype == RNNRT_DTYPE_I32 ? "<i4" : "<i8");
  if (is_int && a->dtype == RNNRT_DTYPE_F32)
    return cli_fail("%s: %s '%s' has dtype <f4, expected <i4 or <i8 (%s)", label, what, x->name,
                    x->kind == RNNRT_KIND_TOKENS ? "token ids" : x->kind == RNNRT_KIND_CLASS ? "class ids" : "lengths");
  if (a->rank != x->rank)
    return cli_fail("%s: %s '%s' has %lld dimension%s, expected %lld (%s)", label, what, x->name, (long long)a->rank,
                    a->rank == 1 ? "" : "s", (long long)x->rank, want);
  for (int64_t k = 0; k < x->rank; k++) {
    const rnnrt_dim *dm = &x->dims[k];
    int64_t s = a->shape[k];
    rnnrt_format_shape(got, sizeof got, a->rank, a->shape);
    if (dm->sym < 0) {
      if (s != dm->size) return cli_fail("%s: %s '%s' has shape %s, expected %s", label, what, x->name, got, want);
      continue;
    }
    const char *sym = d->symbols[dm->sym];
    if (s == 0) return cli_fail("%s: %s '%s' is empty along axis %lld (%s)", label, what, x->name, (long long)k, sym);
    if (b->val[dm->sym] < 0) {
      b->val[dm->sym] = s;
      b->src[dm->sym] = ii;
      b->axis[dm->sym] = (int32_t)k;
    } else if (b->val[dm->sym] != s) {
      const rnnrt_decl *y = array_decl(d, b->src[dm->sym], &what2);
      return cli_fail("%s: %s '%s' has size %lld along axis %lld (%s), but %s = %lld from axis %d of %s '%s'", label,
                      what, x->name, (long long)s, (long long)k, sym, sym, (long long)b->val[dm->sym], b->axis[dm->sym],
                      what2, y->name);
    }
  }
  t->rank = x->rank;
  for (int64_t k = 0; k < x->rank; k++) t->sizes[k] = a->shape[k];
  if (x->kind == RNNRT_KIND_TOKENS || x->kind == RNNRT_KIND_CLASS) {
    const rnnrt_vocab *v = x->vocab >= 0 ? &d->vocabs[x->vocab] : NULL;
    int64_t limit = x->kind == RNNRT_KIND_CLASS && x->classes > 0 ? x->classes : v ? v->size : INT32_MAX + (int64_t)1;
    for (int64_t i = 0; i < a->numel; i++) {
      int64_t id = a->dtype == RNNRT_DTYPE_I32 ? ((int32_t *)a->data)[i] : ((int64_t *)a->data)[i];
      if (id < 0 || id >= limit) {
        cli_format_index(got, sizeof got, i, a->rank, a->shape);
        if (x->kind == RNNRT_KIND_TOKENS)
          return cli_fail("%s: %s '%s' holds token id %lld at index %s, outside vocab '%s' (size %lld)", label, what,
                          x->name, (long long)id, got, v->name, (long long)v->size);
        return cli_fail("%s: %s '%s' holds class id %lld at index %s, outside [0, %lld)", label, what, x->name,
                        (long long)id, got, (long long)limit);
      }
    }
  }
  /* role=weights: the per-position weights of a loss are finite and >= 0 */
  if (x->weights) {
    const float *w = a->data;
    for (int64_t i = 0; i < a->numel; i++)
      if (!isfinite(w[i]) || w[i] < 0) {
        cli_format_index(got, sizeof got, i, a->rank, a->shape);
        return cli_fail("%s: %s '%s' holds %g at index %s (loss weights must be finite and >= 0)", label, what,
                        x->name, (double)w[i], got);
      }
  }
  /* padding=: every example (axis 0 of an input of rank >= 2, else the whole array) holds a
   * token other than the padding, or its length (one past its last other token) would be 0 */
  if (x->kind == RNNRT_KIND_TOKENS && x->padding >= 0 && a->numel > 0) {
    int64_t n_ex = a->rank >= 2 ? a->shape[0] : 1, per = a->numel / n_ex;
    for (int64_t e = 0; e < n_ex; e++) {
      bool all = true;
      for (int64_t j = e * per; j < (e + 1) * per && all; j++) {
        int64_t id = a->dtype == RNNRT_DTYPE_I32 ? ((int32_t *)a->data)[j] : ((int64_t *)a->data)[j];
        all = id == x->padding;
      }
      if (all)
        return cli_fail("%s: example %lld of %s '%s' is all padding (token %lld): its length would be 0", label,
                        (long long)e, what, x->name, (long long)x->padding);
    }
  }
  if (a->dtype == RNNRT_DTYPE_I64) {
    int64_t n = a->numel ? a->numel : 1;
    int32_t *conv = rnnrt_alloc(n * 4);
    if (!conv) return cli_fail("%s: out of memory", label);
    for (int64_t i = 0; i < a->numel; i++) {
      int64_t v = ((int64_t *)a->data)[i];
      if (v < INT32_MIN || v > INT32_MAX) {
        free(conv);
        cli_format_index(got, sizeof got, i, a->rank, a->shape);
        return cli_fail("%s: %s '%s' holds %lld at index %s, which does not fit int32", label, what, x->name,
                        (long long)v, got);
      }
      conv[i] = (int32_t)v;
    }
    t->data = conv;
  } else {
    t->data = a->data;
    a->data = NULL;
  }
  return 0;
}

/* Range check of lengths inputs once every symbol is bound: 1 <= len, and len <= the size of
 * the axis named by max= (bound by a non-lengths input; the descriptor guarantees one). */
int cli_check_lengths(cli *c, const binding *b, const rnnrt_tensor *in, const char *const *labels) {
  const rnnrt_model_desc *d = &c->desc;
  for (int64_t i = 0; i < d->n_inputs; i++) {
    const rnnrt_decl *x = &d->inputs[i];
    if (x->kind != RNNRT_KIND_LENGTHS) continue;
    int64_t hi = x->max_sym >= 0 ? b->val[x->max_sym] : -1;
    const rnnrt_decl *src = NULL; /* the first non-lengths input with that axis */
    for (int64_t j = 0; j < d->n_inputs && hi > 0 && !src; j++)
      for (int64_t k = 0; k < d->inputs[j].rank && d->inputs[j].kind != RNNRT_KIND_LENGTHS && !src; k++)
        if (d->inputs[j].dims[k].sym == x->max_sym) src = &d->inputs[j];
    int64_t n = rnnrt_shape_numel(in[i].rank, in[i].sizes);
    const int32_t *v = in[i].data;
    for (int64_t k = 0; k < n; k++)
      if (v[k] < 1 || (hi > 0 && v[k] > hi)) {
        char idx[256], range[RNNRT_ERROR_MAX / 2];
        cli_format_index(idx, sizeof idx, k, in[i].rank, in[i].sizes);
        if (hi > 0)
          snprintf(range, sizeof range, "[1, %lld] (the size of axis %s of input '%s')", (long long)hi,
                   d->symbols[x->max_sym], src ? src->name : "?");
        else snprintf(range, sizeof range, ">= 1");
        return cli_fail("%s: input '%s' holds length %d at index %s, expected %s", labels[i], x->name, v[k], idx, range);
      }
  }
  return 0;
}

/* Sets t's rank and sizes to decl x's shape with its symbols bound. */
void cli_bound_shape(const rnnrt_decl *x, const binding *b, rnnrt_tensor *t) {
  t->rank = x->rank;
  for (int64_t k = 0; k < x->rank; k++) t->sizes[k] = x->dims[k].sym >= 0 ? b->val[x->dims[k].sym] : x->dims[k].size;
}

/* Allocates a zero-filled f32 tensor of decl x's bound shape (an output or a state). */
int cli_alloc_f32(const char *what, const rnnrt_decl *x, const binding *b, rnnrt_tensor *t) {
  char shape[256];
  int64_t bytes;
  cli_bound_shape(x, b, t);
  int64_t n = rnnrt_shape_numel(x->rank, t->sizes);
  rnnrt_format_shape(shape, sizeof shape, x->rank, t->sizes);
  if (n < 0 || !rnnrt_mul_ok(n, 4, &bytes) || bytes > RNNRT_MAX_TENSOR_BYTES)
    return cli_fail("%s '%s' would have shape %s, which is absurdly large", what, x->name, shape);
  t->data = rnnrt_alloc(bytes ? bytes : 4);
  if (!t->data) return cli_fail("out of memory allocating %s '%s' %s (%lld bytes)", what, x->name, shape, (long long)bytes);
  return 0;
}

bool cli_is_directory(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join_path(const char *dir, const char *name, const char *ext) {
  size_t dl = strlen(dir);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  size_t n = dl + strlen(name) + strlen(ext) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s%s%s%s", dir, slash ? "" : "/", name, ext);
  return p;
}

/* Writes every output: all temp files first, then the renames. All or nothing: if a rename
 * fails, the outputs already renamed into place are removed again (and a directory created
 * here is removed if empty), so a failed command leaves no output behind. */
static int write_outputs(cli *c, const char *out, const rnnrt_tensor *outs) {
  const rnnrt_model_desc *d = &c->desc;
  bool as_dir = d->n_outputs > 1 || cli_is_directory(out);
  bool created_dir = false;
  if (as_dir && !cli_is_directory(out)) {
    if (mkdir(out, 0777) != 0 && !(errno == EEXIST && cli_is_directory(out))) {
      if (errno == EEXIST) return cli_fail("%s: exists and is not a directory (the model has %lld outputs)", out, (long long)d->n_outputs);
      return cli_fail("%s: cannot create directory: %s", out, strerror(errno));
    }
    created_dir = true;
  }
  rnnrt_afile *files = calloc((size_t)d->n_outputs, sizeof *files);
  char **paths = calloc((size_t)d->n_outputs, sizeof *paths);
  int64_t renamed = 0;
  int rc = 1;
  if (!files || !paths) {
    cli_fail("out of memory");
    goto done;
  }
  /* all temp files first, renamed only once every one is complete */
  for (int64_t i = 0; i < d->n_outputs; i++) {
    paths[i] = as_dir ? join_path(out, d->outputs[i].name, ".npy") : rnnrt_strdup(out);
    if (!paths[i]) {
      cli_fail("out of memory");
      goto done;
    }
    if (rnnrt_afile_open(&files[i], paths[i], &c->err) != 0 ||
        rnnrt_npy_emit(&files[i], RNNRT_DTYPE_F32, outs[i].rank, outs[i].sizes, outs[i].data, &c->err) != 0 ||
        rnnrt_afile_finish(&files[i], &c->err) != 0) {
      cli_fail_err(&c->err);
      goto done;
    }
  }
  for (int64_t i = 0; i < d->n_outputs; i++, renamed++)
    if (rnnrt_afile_rename(&files[i], &c->err) != 0) {
      cli_fail_err(&c->err);
      goto done;
    }
  rc = 0;
done:
  if (rc != 0 && paths)
    for (int64_t k = 0; k < renamed; k++) remove(paths[k]);
  for (int64_t k = 0; files && k < d->n_outputs; k++) rnnrt_afile_abort(&files[k]);
  for (int64_t k = 0; paths && k < d->n_outputs; k++) free(paths[k]);
  free(files);
  free(paths);
  if (rc != 0 && created_dir) rmdir(out); /* only if still empty */
  return rc;
}

int64_t cli_argmax(const float *p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (p[i] > p[best] || (isnan(p[best]) && !isnan(p[i]))) best = i;
  return best;
}

/* Prints every output for --text: one line per batch row. The batch axis is axis 0 of an
 * output when it carries the symbol of axis 0 of the rank-2 text input ([B, T]), or when the
 * output has end= ([B, steps, V]: one line per index of axis 0, cut before the first end
 * token); otherwise the whole output is one row. */
static void print_outputs(cli *c, const rnnrt_tensor *outs, int64_t text_input) {
  const rnnrt_model_desc *d = &c->desc;
  const rnnrt_decl *tin = &d->inputs[text_input];
  int32_t batch_sym = tin->rank == 2 ? tin->dims[0].sym : -1;
  for (int64_t o = 0; o < d->n_outputs; o++) {
    const rnnrt_decl *x = &d->outputs[o];
    const rnnrt_tensor *t = &outs[o];
    const float *data = t->data;
    int64_t numel = rnnrt_shape_numel(t->rank, t->sizes);
    bool batched = (batch_sym >= 0 && x->rank >= 2 && x->dims[0].sym == batch_sym) || (x->vocab >= 0 && x->end >= 0);
    int64_t rows = batched ? t->sizes[0] : 1;
    int64_t row_len = numel / rows;
    for (int64_t r = 0; r < rows; r++) {
      if (d->n_outputs > 1) printf("%s: ", x->name);
      const float *row = data + r * row_len;
      if (x->vocab >= 0) {
        const rnnrt_vocab *v = &d->vocabs[x->vocab];
        int64_t npos = row_len / v->size;
        for (int64_t p = 0; p < npos; p++) {
          int64_t id = cli_argmax(row + p * v->size, v->size);
          if (id == x->end) break; /* a decoder's end token: the row's text stops before it */
          if (v->kind == RNNRT_VOCAB_CHARS) fwrite(v->tokens[id], 1, v->token_lens[id], stdout);
          else if (v->kind == RNNRT_VOCAB_WORDS) printf("%s%s", p ? " " : "", v->tokens[id]);
          else printf("%s%lld", p ? " " : "", (long long)id);
        }
      } else {
        for (int64_t k = 0; k < row_len; k++) printf("%s%.6g", k ? " " : "", (double)row[k]);
      }
      printf("\n");
    }
  }
}

static int cmd_infer(cli *c) {
  const rnnrt_model_desc *d = &c->desc;
  const char *weights = cli_opt_get(c, OPT_WEIGHTS);
  const char *out = cli_opt_get(c, OPT_OUTPUT);
  const char *text = cli_opt_get(c, OPT_TEXT);
  int64_t n_args = d->n_params + d->n_inputs + d->n_outputs;
  /* params | inputs | outputs | prepared (unless --prepare-each-call) */
  int64_t n_prep = cli_opt_get(c, OPT_PREPARE_EACH) ? 0 : d->n_prepared;
  rnnrt_tensor *args = calloc((size_t)(n_args + n_prep), sizeof *args);
  const char **labels = calloc((size_t)d->n_inputs + 1, sizeof *labels);
  binding b = {calloc((size_t)d->n_symbols + 1, sizeof(int64_t)), calloc((size_t)d->n_symbols + 1, sizeof(int64_t)),
               calloc((size_t)d->n_symbols + 1, sizeof(int32_t))};
  int32_t *ids = NULL;
  int64_t n_ids = 0, text_input = -1;
  int rc = 1;
  bool params_loaded = false;
  if (!args || !labels || !b.val || !b.src || !b.axis) {
    cli_fail("out of memory");
    goto done;
  }
  rnnrt_tensor *ins = args + d->n_params, *outs = args + d->n_params + d->n_inputs;
  for (int64_t s = 0; s < d->n_symbols; s++) b.val[s] = -1;

  /* ---- options ---- */
  if (out && !*out) {
    rc = cli_usage_error(c, "-o: empty path");
    goto done;
  }
  if (!out && !text) {
    rc = cli_usage_error(c, "missing -o OUT (or --text)");
    goto done;
  }
  if (!weights && d->n_params > 0) {
    rc = cli_usage_error(c, "missing -w WEIGHTS.safetensors");
    goto done;
  }
  if (text) {
    int64_t n_tok = 0;
    for (int64_t i = 0; i < d->n_inputs; i++)
      if (d->inputs[i].kind == RNNRT_KIND_TOKENS) {
        n_tok++;
        text_input = i;
      }
    if (n_tok != 1) {
      rc = cli_fail("--text needs a model with exactly one tokens input (this model has %lld)", (long long)n_tok);
      goto done;
    }
    const rnnrt_decl *x = &d->inputs[text_input];
    const rnnrt_vocab *v = &d->vocabs[x->vocab];
    if (v->kind == RNNRT_VOCAB_IDS) {
      rc = cli_fail("--text: input '%s' uses vocab '%s' of kind ids (text needs a chars or words vocab)", x->name, v->name);
      goto done;
    }
    if (x->rank != 1 && x->rank != 2) {
      rc = cli_fail("--text: input '%s' has rank %lld (text needs rank 1 [T] or 2 [B, T])", x->name, (long long)x->rank);
      goto done;
    }
    labels[text_input] = "--text";
  }
  for (int k = 0; k < c->n_opts; k++) {
    if (c->opts[k].id != OPT_INPUT) continue;
    const char *spec = c->opts[k].value;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
      rc = cli_usage_error(c, "--input '%s': expected NAME=FILE.npy", spec);
      goto done;
    }
    size_t nl = (size_t)(eq - spec);
    int64_t ii = -1;
    for (int64_t i = 0; i < d->n_inputs; i++)
      if (strlen(d->inputs[i].name) == nl && strncmp(d->inputs[i].name, spec, nl) == 0) ii = i;
    if (ii < 0) {
      char names[512] = "";
      for (int64_t i = 0; i < d->n_inputs; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", d->inputs[i].name);
      }
      rc = cli_fail("--input: the model has no input '%.*s' (its inputs: %s)", (int)nl, spec, d->n_inputs ? names : "none");
      goto done;
    }
    if (labels[ii]) {
      rc = cli_fail("--input: input '%s' given twice%s", d->inputs[ii].name, ii == text_input ? " (also by --text)" : "");
      goto done;
    }
    labels[ii] = eq + 1;
  }
  if (text && cli_tokenize_text(&d->vocabs[d->inputs[text_input].vocab], "--text", text, &ids, &n_ids) != 0) goto done;
  for (int64_t i = 0; i < d->n_inputs; i++) {
    if (labels[i]) continue;
    if (text && d->inputs[i].kind == RNNRT_KIND_LENGTHS) continue; /* filled from the text below */
    char want[256], type[256];
    rnnrt_desc_format_dims(d, &d->inputs[i], want, sizeof want);
    cli_type_str(d, &d->inputs[i], false, type, sizeof type);
    rc = cli_usage_error(c, "missing --input %s=FILE.npy (%s %s)", d->inputs[i].name, want, type);
    goto done;
  }

  /* ---- weights ---- */
  if (d->n_params > 0) {
    if (rnnrt_load_params(d, weights, args, &c->err) != 0) {
      cli_fail_err(&c->err);
      goto done;
    }
    params_loaded = true;
  }

  /* ---- inputs ---- */
  for (int64_t i = 0; i < d->n_inputs; i++) {
    if (!labels[i]) continue;
    rnnrt_npy a;
    if (i == text_input) {
      int64_t shape[2] = {1, n_ids};
      memset(&a, 0, sizeof a);
      a.dtype = RNNRT_DTYPE_I32;
      a.rank = d->inputs[i].rank;
      a.shape = a.rank == 2 ? shape : shape + 1;
      a.numel = n_ids;
      a.data = ids;
      int r = cli_bind_array(c, i, "--text", &a, &b, &ins[i]);
      ids = a.data; /* NULL if ownership moved */
      if (r != 0) goto done;
      continue;
    }
    if (rnnrt_npy_read(labels[i], &a, &c->err) != 0) {
      cli_fail_err(&c->err);
      goto done;
    }
    int r = cli_bind_array(c, i, labels[i], &a, &b, &ins[i]);
    rnnrt_npy_free(&a);
    if (r != 0) goto done;
  }
  /* lengths inputs left to --text: every row has the text's length */
  for (int64_t i = 0; i < d->n_inputs; i++) {
    if (labels[i]) continue;
    const rnnrt_decl *x = &d->inputs[i];
    ins[i].rank = x->rank;
    for (int64_t k = 0; k < x->rank; k++) {
      int32_t s = x->dims[k].sym;
      if (s >= 0 && b.val[s] < 0) {
        rc = cli_usage_error(c, "missing --input %s=FILE.npy (its dimension %s is not known from --text)", x->name,
                         d->symbols[s]);
        goto done;
      }
      ins[i].sizes[k] = s >= 0 ? b.val[s] : x->dims[k].size;
    }
    int64_t n = rnnrt_shape_numel(x->rank, ins[i].sizes);
    int32_t *v = n >= 0 && n <= (1 << 24) ? rnnrt_alloc(n ? n * 4 : 4) : NULL;
    if (!v) {
      rc = cli_fail("out of memory");
      goto done;
    }
    for (int64_t k = 0; k < n; k++) v[k] = (int32_t)n_ids;
    ins[i].data = v;
    labels[i] = "--text";
  }
  if (cli_check_lengths(c, &b, ins, labels) != 0) goto done;

  /* ---- outputs ---- */
  for (int64_t o = 0; o < d->n_outputs; o++)
    if (cli_alloc_f32("output", &d->outputs[o], &b, &outs[o]) != 0) goto done;

  if (n_prep > 0) {
    if (rnnrt_prepare(d, args, args + n_args, &c->err) != 0) {
      n_prep = 0;
      cli_fail_err(&c->err);
      goto done;
    }
    rnnc_model_forward_prepared(args);
  } else {
    rnnc_model_forward(args);
  }

  if (out && write_outputs(c, out, outs) != 0) goto done;
  if (text) {
    print_outputs(c, outs, text_input);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_fail("cannot write to standard output");
      goto done;
    }
  }
  rc = 0;
done:
  if (args) {
    if (params_loaded) rnnrt_tensors_free(args, d->n_params);
    rnnrt_tensors_free(args + d->n_params, d->n_inputs + d->n_outputs + n_prep);
  }
  free(args);
  free(labels);
  free(b.val);
  free(b.src);
  free(b.axis);
  free(ids);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* generate                                                                                   */

typedef struct {
  const char *weights;
  const char *prime;
  int64_t steps;
  double temperature;     /* 0: argmax */
  int64_t top_k;          /* 0: every token */
  uint64_t seed;
} gen_opts;

typedef struct {
  double logit;
  double w;
  int64_t id;
} gen_cand;

typedef struct {
  cli *c;
  gen_opts o;
  gen_plan p;
  rnnrt_tensor *args;     /* params | tokens input | states in | outputs | states out | prepared */
  rnnrt_tensor *in, *s_in, *outs, *s_out;
  binding b;
  int64_t t;              /* time steps of the current call */
  double *logits;         /* vocab size */
  gen_cand *cands;        /* vocab size */
  rnnrt_rng rng;
  bool params_loaded;
  bool prepared;          /* the prepared slots are filled: call rnnc_model_step_prepared */
} gen_ctx;

/* A plain finite decimal number >= 0 ("0", "0.8", "1e-3"; no sign, inf, nan, hex, spaces). */
bool cli_parse_nonneg_real(const char *s, double *out) {
  char *end;
  if (!((*s >= '0' && *s <= '9') || *s == '.') || strspn(s, "0123456789.eE+-") != strlen(s)) return false;
  double v = strtod(s, &end);
  if (*end || !isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

/* Returns 0, or 1 after a usage error. */
static int gen_parse_options(cli *c, gen_opts *o) {
  const char *s;
  uint64_t u;
  memset(o, 0, sizeof *o);
  o->temperature = 1.0;
  o->weights = cli_opt_get(c, OPT_WEIGHTS);
  o->prime = cli_opt_get(c, OPT_PRIME);
  if (!o->weights && c->desc.n_params > 0) return cli_usage_error(c, "missing -w WEIGHTS.safetensors");
  if (!o->prime) return cli_usage_error(c, "missing --prime TEXT");
  if (!*o->prime) return cli_usage_error(c, "--prime: empty text (generation starts from at least one token)");
  if (!(s = cli_opt_get(c, OPT_STEPS))) return cli_usage_error(c, "missing --steps N");
  if (!cli_parse_count(s, INT64_MAX, &u)) return cli_usage_error(c, "--steps: invalid value '%s' (expected a non-negative integer)", s);
  o->steps = (int64_t)u;
  if ((s = cli_opt_get(c, OPT_TEMPERATURE)) && !cli_parse_nonneg_real(s, &o->temperature))
    return cli_usage_error(c, "--temperature: invalid value '%s' (expected a finite number >= 0)", s);
  if ((s = cli_opt_get(c, OPT_TOP_K))) {
    if (!cli_parse_count(s, INT64_MAX, &u) || u < 1)
      return cli_usage_error(c, "--top-k: invalid value '%s' (expected an integer >= 1)", s);
    o->top_k = (int64_t)u;
  }
  return opt_seed(c, &o->seed);
}

/* The prime text as the tokens input [1, T] (binds B = 1 and T). */
static int gen_bind_prime(gen_ctx *g) {
  int32_t *ids;
  int64_t n;
  if (cli_tokenize_text(g->p.vocab, "--prime", g->o.prime, &ids, &n) != 0) return 1;
  int64_t shape[2] = {1, n};
  rnnrt_npy a;
  memset(&a, 0, sizeof a);
  a.dtype = RNNRT_DTYPE_I32;
  a.rank = 2;
  a.shape = shape;
  a.numel = n;
  a.data = ids;
  int r = cli_bind_array(g->c, g->p.input, "--prime", &a, &g->b, g->in);
  free(a.data); /* NULL if ownership moved */
  g->t = n;
  return r;
}

/* Everything the loop needs, allocated once: params, prime, two sets of zero states (in and
 * out, swapped after each call), outputs sized for the prime, scratch for the sampler. */
static int gen_setup(gen_ctx *g) {
  const rnnrt_model_desc *d = &g->c->desc;
  int64_t n_args = d->n_params + 1 + 2 * d->n_states + d->n_outputs;
  int64_t nsym = d->n_symbols + 1, v = g->p.vocab->size;
  g->args = calloc((size_t)(n_args + d->n_prepared), sizeof *g->args);
  g->b = (binding){calloc((size_t)nsym, sizeof(int64_t)), calloc((size_t)nsym, sizeof(int64_t)),
                   calloc((size_t)nsym, sizeof(int32_t))};
  g->logits = malloc((size_t)v * sizeof *g->logits);
  g->cands = malloc((size_t)v * sizeof *g->cands);
  if (!g->args || !g->b.val || !g->b.src || !g->b.axis || !g->logits || !g->cands) return cli_fail("out of memory");
  g->in = g->args + d->n_params;
  g->s_in = g->in + 1;
  g->outs = g->s_in + d->n_states;
  g->s_out = g->outs + d->n_outputs;
  for (int64_t s = 0; s < d->n_symbols; s++) g->b.val[s] = -1;
  if (gen_bind_prime(g) != 0) return 1;
  if (d->n_params > 0) {
    if (rnnrt_load_params(d, g->o.weights, g->args, &g->c->err) != 0) return cli_fail_err(&g->c->err);
    g->params_loaded = true;
  }
  /* the weights' packed/narrowed forms once, not at every token */
  if (!cli_opt_get(g->c, OPT_PREPARE_EACH)) {
    if (rnnrt_prepare(d, g->args, g->args + n_args, &g->c->err) != 0) return cli_fail_err(&g->c->err);
    g->prepared = d->n_prepared > 0;
  }
  for (int64_t s = 0; s < d->n_states; s++)
    if (cli_alloc_f32("state", &d->states[s], &g->b, &g->s_in[s]) != 0 ||
        cli_alloc_f32("state", &d->states[s], &g->b, &g->s_out[s]) != 0)
      return 1;
  for (int64_t o = 0; o < d->n_outputs; o++)
    if (cli_alloc_f32("output", &d->outputs[o], &g->b, &g->outs[o]) != 0) return 1;
  rnnrt_rng_seed(&g->rng, g->o.seed);
  return 0;
}

static void gen_free(gen_ctx *g) {
  const rnnrt_model_desc *d = &g->c->desc;
  if (g->args) {
    if (g->params_loaded) rnnrt_tensors_free(g->args, d->n_params);
    rnnrt_tensors_free(g->in, 1 + 2 * d->n_states + d->n_outputs + (g->prepared ? d->n_prepared : 0));
  }
  free(g->args);
  free(g->b.val);
  free(g->b.src);
  free(g->b.axis);
  free(g->logits);
  free(g->cands);
}

/* The scores of one position as logits: log(max(p, 1e-30)) for probabilities, the values
 * themselves for logits. Unknown kinds count as probabilities when every value is in [0, 1]
 * and they sum to 1 +- 1e-3. Returns false if a score is NaN. */
static bool scores_to_logits(const float *p, int64_t n, rnnrt_scores_kind kind, double *out) {
  double sum = 0;
  bool unit = true;
  for (int64_t i = 0; i < n; i++) {
    if (isnan(p[i])) return false;
    unit = unit && p[i] >= 0 && p[i] <= 1;
    sum += p[i];
  }
  if (kind == RNNRT_SCORES_UNKNOWN) kind = unit && fabs(sum - 1.0) <= 1e-3 ? RNNRT_SCORES_PROBS : RNNRT_SCORES_LOGITS;
  for (int64_t i = 0; i < n; i++) out[i] = kind == RNNRT_SCORES_PROBS ? log(fmax((double)p[i], 1e-30)) : (double)p[i];
  return true;
}

/* Higher logit first, then lower token id. */
static int gen_cand_cmp(const void *a, const void *b) {
  const gen_cand *x = a, *y = b;
  if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Argmax, the lowest id on ties. */
static int64_t greedy_token(const double *logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (logits[i] > logits[best]) best = i;
  return best;
}

/* Draws from softmax(logits / temperature) over the top_k best tokens (all if top_k is 0),
 * with one uniform of the rng. */
static int64_t sample_token(gen_ctx *g, const double *logits, int64_t n) {
  gen_cand *cand = g->cands;
  int64_t m = n;
  for (int64_t i = 0; i < n; i++) cand[i] = (gen_cand){logits[i], 0, i};
  if (g->o.top_k > 0 && g->o.top_k < n) {
    qsort(cand, (size_t)n, sizeof *cand, gen_cand_cmp);
    m = g->o.top_k;
  }
  double best = -INFINITY, total = 0, acc = 0;
  for (int64_t i = 0; i < m; i++) best = fmax(best, cand[i].logit);
  for (int64_t i = 0; i < m; i++) {
    /* the best tokens weigh 1, even when their logit is infinite */
    double z = cand[i].logit == best ? 0.0 : (cand[i].logit - best) / g->o.temperature;
    cand[i].w = exp(z);
    total += cand[i].w;
  }
  double u = rnnrt_rng_uniform(&g->rng) * total;
  int64_t pick = -1;
  for (int64_t i = 0; i < m; i++) {
    if (cand[i].w <= 0) continue;
    pick = cand[i].id; /* the last positive weight if rounding leaves u >= total */
    acc += cand[i].w;
    if (u < acc) break;
  }
  return pick;
}

/* The next token from the scores of the last position of the current call; false if a
 * score is NaN. */
static bool gen_next_token(gen_ctx *g, int64_t *tok) {
  const rnnrt_decl *y = &g->c->desc.outputs[g->p.output];
  int64_t v = g->p.vocab->size;
  const float *last = (const float *)g->outs[g->p.output].data + (g->t - 1) * v;
  if (!scores_to_logits(last, v, y->scores, g->logits)) return false;
  *tok = g->o.temperature == 0 ? greedy_token(g->logits, v) : sample_token(g, g->logits, v);
  return true;
}

/* Prints one token of the text (words: separated by spaces) and flushes it. */
static int gen_put(const rnnrt_vocab *v, int32_t id, bool first) {
  if (v->kind == RNNRT_VOCAB_WORDS && !first) fputc(' ', stdout);
  fwrite(v->tokens[id], 1, v->token_lens[id], stdout);
  if (fflush(stdout) != 0 || ferror(stdout)) return cli_fail("cannot write to standard output");
  return 0;
}

/* Next call: the token just generated as a [1, 1] input, the states of the previous call. */
static void gen_feed(gen_ctx *g, int64_t tok) {
  const rnnrt_model_desc *d = &g->c->desc;
  for (int64_t s = 0; s < d->n_states; s++) {
    void *tmp = g->s_in[s].data;
    g->s_in[s].data = g->s_out[s].data;
    g->s_out[s].data = tmp;
  }
  if (g->t != 1) {
    g->t = 1;
    g->b.val[g->p.t_sym] = 1;
    cli_bound_shape(&d->inputs[g->p.input], &g->b, g->in);
    for (int64_t o = 0; o < d->n_outputs; o++) cli_bound_shape(&d->outputs[o], &g->b, &g->outs[o]);
  }
  ((int32_t *)g->in->data)[0] = (int32_t)tok;
}

static int gen_loop(gen_ctx *g) {
  const rnnrt_vocab *v = g->p.vocab;
  const int32_t *prime = g->in->data;
  for (int64_t i = 0; i < g->t; i++)
    if (gen_put(v, prime[i], i == 0) != 0) return 1;
  void (*step)(rnnrt_tensor *) = g->prepared ? rnnc_model_step_prepared : rnnc_model_step;
  if (g->o.steps > 0) step(g->args);
  for (int64_t s = 0; s < g->o.steps; s++) {
    int64_t tok;
    if (!gen_next_token(g, &tok)) {
      putchar('\n'); /* end the line of text printed so far, then the error */
      fflush(stdout);
      return cli_fail("output '%s' holds a NaN score (generating token %lld)", g->c->desc.outputs[g->p.output].name,
                  (long long)s + 1);
    }
    if (gen_put(v, (int32_t)tok, false) != 0) return 1;
    if (s + 1 == g->o.steps) break;
    gen_feed(g, tok);
    step(g->args);
  }
  putchar('\n');
  if (fflush(stdout) != 0 || ferror(stdout)) return cli_fail("cannot write to standard output");
  return 0;
}

static int cmd_generate(cli *c) {
  gen_ctx g;
  char why[RNNRT_ERROR_MAX];
  memset(&g, 0, sizeof g);
  g.c = c;
  if (gen_parse_options(c, &g.o) != 0) return 1;
  if (!plan_generation(&c->desc, &g.p, why, sizeof why)) return cli_fail("cannot generate: %s", why);
  if (!rnnc_model_step)
    return cli_fail("internal error: the model descriptor has a 'step' line but the program does not define "
                "rnnc_model_step");
  int rc = gen_setup(&g) != 0 || gen_loop(&g) != 0 ? 1 : 0;
  gen_free(&g);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* help and dispatch                                                                          */

static int cmd_help(cli *c) {
  (void)c;
  return 0; /* handled in rnnrt_main (it needs the positional argument) */
}

/* help/usage output: an error writing it is an error like any other. */
static int finish_stdout(int rc) {
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) rc = cli_fail("cannot write to standard output");
  return rc;
}

int rnnrt_main(int argc, char **argv) {
  cli c;
  memset(&c, 0, sizeof c);
  c.prog = argc > 0 && argv[0] && argv[0][0] ? argv[0] : "rnnc-model";
  if (argc < 2) {
    print_usage(stdout, c.prog);
    return finish_stdout(0);
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    print_usage(stdout, c.prog);
    return finish_stdout(0);
  }
  if (strcmp(name, "help") == 0) {
    if (argc == 2) {
      print_usage(stdout, c.prog);
      return finish_stdout(0);
    }
    const command *cmd = find_command(argv[2]);
    if (argc > 3 || !cmd) {
      c.cmd = find_command("help");
      if (argc > 3) return cli_usage_error(&c, "unexpected argument '%s'", argv[3]);
      return cli_usage_error(&c, "unknown command '%s'", argv[2]);
    }
    print_command_help(stdout, c.prog, cmd);
    return finish_stdout(0);
  }
  c.cmd = find_command(name);
  if (!c.cmd) {
    if (name[0] == '-') return cli_usage_error(&c, "unknown option '%s'", name);
    return cli_usage_error(&c, "unknown command '%s'", name);
  }
  int pr = parse_options(&c, argc - 2, argv + 2);
  int rc;
  if (pr != 0) {
    rc = pr == 2 ? 0 : 1;
  } else if (c.cmd->needs_desc && rnnrt_desc_parse(rnnc_model_desc, &c.desc, &c.err) != 0) {
    rc = cli_fail_err(&c.err);
  } else if (set_threads(&c) != 0) {
    rc = 1;
  } else {
    rc = c.cmd->fn(&c);
  }
  rnnrt_desc_free(&c.desc);
  free(c.opts);
  return finish_stdout(rc);
}
