/*
 * rnn_runtime.h - public interface of the rnnc runtime (librnnrt.a).
 *
 * Plain C11, usable from C and C++. Every symbol is prefixed rnnrt_ except the symbols that
 * the compiled model object provides (rnnc_model_desc, rnnc_model_forward and, for models that
 * can generate, rnnc_model_step, for models with a loss, rnnc_model_grad, for models compiled
 * for truncated BPTT, rnnc_model_grad_state), whose names are fixed by docs/runtime-abi.md.
 *
 * Error convention: functions that can fail return 0 on success and -1 on failure, and fill
 * the caller's rnnrt_error with a one-line message that names the file (or "model
 * descriptor") and what is wrong, without the leading "error: " (the CLI adds it). On failure
 * every output struct is left zeroed / freed, so the caller only frees on success.
 */
#ifndef RNN_RUNTIME_H
#define RNN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define RNNRT_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define RNNRT_EXPORT __attribute__((visibility("default")))
#else
#define RNNRT_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * ABI (docs/runtime-abi.md, version 1)
 * ---------------------------------------------------------------------------------------- */

#define RNNRT_ABI_VERSION 1
#define RNNRT_MAX_RANK 6

typedef struct rnnrt_tensor {
  void *data;                     /* offset 0: contiguous row-major buffer */
  int64_t rank;                   /* offset 8 */
  int64_t sizes[RNNRT_MAX_RANK];  /* offset 16 + 8*k */
} rnnrt_tensor;                   /* 64 bytes */

#if defined(__cplusplus)
static_assert(sizeof(rnnrt_tensor) == 64, "rnnrt_tensor must be 64 bytes");
static_assert(offsetof(rnnrt_tensor, data) == 0, "rnnrt_tensor.data at offset 0");
static_assert(offsetof(rnnrt_tensor, rank) == 8, "rnnrt_tensor.rank at offset 8");
static_assert(offsetof(rnnrt_tensor, sizes) == 16, "rnnrt_tensor.sizes at offset 16");
#else
_Static_assert(sizeof(rnnrt_tensor) == 64, "rnnrt_tensor must be 64 bytes");
_Static_assert(offsetof(rnnrt_tensor, data) == 0, "rnnrt_tensor.data at offset 0");
_Static_assert(offsetof(rnnrt_tensor, rank) == 8, "rnnrt_tensor.rank at offset 8");
_Static_assert(offsetof(rnnrt_tensor, sizes) == 16, "rnnrt_tensor.sizes at offset 16");
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RNNRT_WEAK __attribute__((weak))
#else
#define RNNRT_WEAK
#endif

/* Provided by the runtime for the compiled model object: runs fn(ctx, tid, n) for tid in
 * [0, n) on the runtime's threads (tid 0 on the caller) and returns when every call has
 * returned. n is 1 when `work` (the kernel's multiply-adds or element operations) is small,
 * when one thread is configured, or when another thread of the process is using the pool. */
RNNRT_EXPORT void rnnc_parallel_run(void (*fn)(void *ctx, int64_t tid, int64_t nthreads),
                                    void *ctx, int64_t work);

/* Provided by the compiled model object (not by the runtime). */
extern const char rnnc_model_desc[];
extern void rnnc_model_forward(rnnrt_tensor *args);
/* Only in objects whose descriptor has a `step` line. Declared weak so that the runtime links
 * with objects that lack it: its address is NULL then (check before calling). Slots: params,
 * inputs, states in, outputs, states out (descriptor order within each group). */
extern void rnnc_model_step(rnnrt_tensor *args) RNNRT_WEAK;
/* Only in objects whose descriptor has a `grad` line (the model has a loss); weak like
 * rnnc_model_step. Slots: params, inputs, targets, the loss (rank 0), then one gradient per
 * parameter (same shape), descriptor order within each group. */
extern void rnnc_model_grad(rnnrt_tensor *args) RNNRT_WEAK;
/* Only in objects whose descriptor has a `grad_state` line (truncated BPTT); weak like
 * rnnc_model_step. Slots: params, inputs, targets, the states in (`tstate` order), the loss
 * (rank 0), one gradient per parameter, then the states out (same order and shapes). The
 * incoming states are constants for the gradient (detached); the loss is that of the window. */
extern void rnnc_model_grad_state(rnnrt_tensor *args) RNNRT_WEAK;
/* Defined with rnnc_model_grad_state (weak: NULL in older objects): the same window's forward
 * pass only, for windows that only advance the states. Slots: params, inputs, targets, the
 * states in, the loss (rank 0), then the states out. */
extern void rnnc_model_loss_state(rnnrt_tensor *args) RNNRT_WEAK;
/* Only in objects whose descriptor has `prepared` lines (weak, like rnnc_model_step): work on
 * the parameters alone (packed, transposed or f16/bf16 copies of weights), done once per set of
 * weights instead of at every call. rnnc_model_prepare's slots: params, then one buffer per
 * `prepared` line (its bytes, 64-byte aligned; written completely). The `_prepared` entry points
 * take the same slots as rnnc_model_forward / rnnc_model_step followed by those buffers (read
 * only), computed from the same params; rnnc_model_forward and rnnc_model_step prepare at every
 * call. */
extern void rnnc_model_prepare(rnnrt_tensor *args) RNNRT_WEAK;
extern void rnnc_model_forward_prepared(rnnrt_tensor *args) RNNRT_WEAK;
extern void rnnc_model_step_prepared(rnnrt_tensor *args) RNNRT_WEAK;
/* Only in objects whose gradient functions apply dropout (the model has `dropout(x, rate>0)`
 * or `dropout=` between stacked layers); weak: NULL otherwise. { seed, training }: while
 * training != 0 each dropout site keeps element i when bits 40..63 of a splitmix64 hash of
 * (seed, the site's salt, i's indices) reach rate * 2^24 (docs/architecture.md); with
 * training == 0 dropout is the identity. Read by rnnc_model_grad / rnnc_model_grad_state at
 * each call; the forward and step functions never apply dropout. */
extern int64_t rnnc_model_rng[] RNNRT_WEAK;
/* Sets rnnc_model_rng (when the model has one). */
RNNRT_EXPORT void rnnrt_set_dropout(uint64_t seed, int training);

/* Threads the compiled kernels may use (runtime/lib/parallel.c): RNNC_THREADS (default 1)
 * until set; at most 64. The results do not depend on it. */
RNNRT_EXPORT void rnnrt_set_threads(int n);
RNNRT_EXPORT int rnnrt_get_threads(void);
/* Kernel calls the pool has shared among more than one thread so far (for `bench`). */
RNNRT_EXPORT int64_t rnnrt_parallel_jobs(void);

/* ------------------------------------------------------------------------------------------
 * Errors and element types
 * ---------------------------------------------------------------------------------------- */

#define RNNRT_ERROR_MAX 1024
typedef struct rnnrt_error {
  char msg[RNNRT_ERROR_MAX];
} rnnrt_error;

/* Element types of safetensors / npy files. */
typedef enum rnnrt_dtype {
  RNNRT_DTYPE_UNKNOWN = 0,
  RNNRT_DTYPE_F32,
  RNNRT_DTYPE_F64,
  RNNRT_DTYPE_F16,
  RNNRT_DTYPE_BF16,
  RNNRT_DTYPE_I8,
  RNNRT_DTYPE_I16,
  RNNRT_DTYPE_I32,
  RNNRT_DTYPE_I64,
  RNNRT_DTYPE_U8,
  RNNRT_DTYPE_U16,
  RNNRT_DTYPE_U32,
  RNNRT_DTYPE_U64,
  RNNRT_DTYPE_BOOL,
  RNNRT_DTYPE_F8_E4M3,
  RNNRT_DTYPE_F8_E5M2
} rnnrt_dtype;

/* Safetensors spelling ("F32", "I64", ...); "?" for UNKNOWN. */
RNNRT_EXPORT const char *rnnrt_dtype_name(rnnrt_dtype dt);
/* Bytes per element; 0 for UNKNOWN. */
RNNRT_EXPORT size_t rnnrt_dtype_size(rnnrt_dtype dt);
/* Parses a safetensors dtype name; UNKNOWN if not recognised. */
RNNRT_EXPORT rnnrt_dtype rnnrt_dtype_from_name(const char *name);

/* Largest tensor the runtime agrees to allocate or read (bytes). */
#define RNNRT_MAX_TENSOR_BYTES ((int64_t)1 << 40)

/* Element count of a shape; -1 if an entry is negative or the product overflows int64. */
RNNRT_EXPORT int64_t rnnrt_shape_numel(int64_t rank, const int64_t *shape);
/* Formats "[2, 3, 4]" into buf (always NUL-terminated). */
RNNRT_EXPORT void rnnrt_format_shape(char *buf, size_t size, int64_t rank, const int64_t *shape);

/* ------------------------------------------------------------------------------------------
 * Model descriptor
 * ---------------------------------------------------------------------------------------- */

typedef enum rnnrt_vocab_kind {
  RNNRT_VOCAB_CHARS,
  RNNRT_VOCAB_WORDS,
  RNNRT_VOCAB_IDS
} rnnrt_vocab_kind;

typedef struct rnnrt_vocab {
  char *name;
  int64_t size;           /* 1 .. INT32_MAX */
  rnnrt_vocab_kind kind;
  char **tokens;          /* chars/words: size entries, UTF-8 (NUL-terminated); ids: NULL */
  size_t *token_lens;     /* byte length of each token */
} rnnrt_vocab;

/* A dimension: static (sym == -1, size >= 1) or symbolic (sym = index into desc.symbols). */
typedef struct rnnrt_dim {
  int64_t size;           /* static size; 0 for a symbolic dimension */
  int32_t sym;            /* -1 for static */
} rnnrt_dim;

typedef enum rnnrt_elem_kind {
  RNNRT_KIND_F32,         /* float */
  RNNRT_KIND_TOKENS,      /* int32 token ids of a vocab */
  RNNRT_KIND_LENGTHS,     /* int32 sequence lengths */
  RNNRT_KIND_CLASS        /* int32 class index (targets only) */
} rnnrt_elem_kind;

typedef enum rnnrt_init_kind {
  RNNRT_INIT_NONE,        /* not a parameter */
  RNNRT_INIT_UNIFORM,     /* U(-arg, arg) */
  RNNRT_INIT_NORMAL,      /* N(0, arg^2) */
  RNNRT_INIT_ZEROS,
  RNNRT_INIT_ONES
} rnnrt_init_kind;

/* What the scores of an output are (output lines: scores=probs|logits). */
typedef enum rnnrt_scores_kind {
  RNNRT_SCORES_UNKNOWN,   /* not stated */
  RNNRT_SCORES_PROBS,     /* probabilities (a softmax) */
  RNNRT_SCORES_LOGITS     /* unnormalised log-probabilities */
} rnnrt_scores_kind;

/* One input, target, output, param, state or tstate line. */
typedef struct rnnrt_decl {
  char *name;
  rnnrt_elem_kind kind;   /* outputs, params and states: F32 */
  int64_t rank;           /* 0 .. RNNRT_MAX_RANK */
  rnnrt_dim dims[RNNRT_MAX_RANK];
  int32_t vocab;          /* index into desc.vocabs, or -1 */
  int64_t classes;        /* targets of kind class: classes=<n>, else -1 */
  rnnrt_init_kind init;   /* params only */
  double init_arg;        /* bound / std */
  rnnrt_scores_kind scores; /* outputs only */
  int64_t end;            /* outputs: end=<id>, the end token of a decoder's scores [B, steps, V]
                             (an id of the output's vocab); else -1 */
  int32_t max_sym;        /* lengths inputs: max=<sym>, the symbol (index into desc.symbols) of
                             the axis whose steps the lengths count; else -1 */
  int64_t padding;        /* tokens inputs: padding=<id>, the token that pads each example
                             after its last token (an id of the input's vocab); params:
                             padding=<row>, a table row initialised to zero (an embedding's
                             padding_idx); else -1 */
  int32_t weights;        /* targets: role=weights, the per-position weights of a loss (given
                             with the targets when training, not predicted); else 0 */
  int line;               /* line number in the descriptor */
} rnnrt_decl;

typedef struct rnnrt_kv {
  char *key;
  char *value;
} rnnrt_kv;

typedef struct rnnrt_model_desc {
  int version;            /* 1 */
  char *name;
  rnnrt_vocab *vocabs;    int64_t n_vocabs;
  rnnrt_decl *inputs;     int64_t n_inputs;
  rnnrt_decl *targets;    int64_t n_targets;
  rnnrt_decl *outputs;    int64_t n_outputs;
  rnnrt_decl *params;     int64_t n_params;
  int has_step;           /* a `step` line: the object defines rnnc_model_step */
  int has_grad;           /* a `grad` line: the object defines rnnc_model_grad */
  int has_grad_state;     /* a `grad_state` line: the object defines rnnc_model_grad_state */
  int64_t saved_per_step; /* grad_state saved=<n>: values rnnc_model_grad_state saves per
                             example and time step (states and projections); else -1 */
  rnnrt_decl *states;     int64_t n_states;  /* `state` lines (only after `step`) */
  rnnrt_decl *tstates;    int64_t n_tstates; /* `tstate` lines (only after `grad_state`) */
  rnnrt_kv *train;        int64_t n_train;   /* all `train` lines, in order */
  char **symbols;         int64_t n_symbols; /* distinct dimension symbols, first-use order */
  /* `prepared <name> <bytes>` lines: the tensors rnnc_model_prepare computes from the params
   * (packed, transposed or narrowed weights), in slot order; opaque to the runtime */
  char **prepared;        int64_t *prepared_bytes; int64_t n_prepared;
  int64_t total_param_elems;
} rnnrt_model_desc;

/* Parses and validates the descriptor text (see docs/runtime-abi.md). */
RNNRT_EXPORT int rnnrt_desc_parse(const char *text, rnnrt_model_desc *out, rnnrt_error *err);
RNNRT_EXPORT void rnnrt_desc_free(rnnrt_model_desc *desc);
/* Element count of a param (all dims static). */
RNNRT_EXPORT int64_t rnnrt_decl_numel(const rnnrt_decl *d);
/* Formats a declared shape with symbols by name: "[B, T, 5]". */
RNNRT_EXPORT void rnnrt_desc_format_dims(const rnnrt_model_desc *desc, const rnnrt_decl *d,
                                         char *buf, size_t size);
RNNRT_EXPORT const rnnrt_vocab *rnnrt_desc_find_vocab(const rnnrt_model_desc *desc,
                                                      const char *name);
/* Index of a decl by name in the given group, or -1. */
RNNRT_EXPORT int64_t rnnrt_decl_find(const rnnrt_decl *decls, int64_t n, const char *name);

/* ------------------------------------------------------------------------------------------
 * Safetensors
 * ---------------------------------------------------------------------------------------- */

typedef struct rnnrt_st_tensor {
  char *name;
  char *dtype_name;       /* as written in the file */
  rnnrt_dtype dtype;      /* UNKNOWN for dtypes the runtime does not know (size unchecked) */
  int64_t rank;
  int64_t *shape;         /* rank entries (NULL if rank 0) */
  const unsigned char *data; /* points into the file buffer; NOT aligned, little-endian */
  int64_t nbytes;
} rnnrt_st_tensor;

typedef struct rnnrt_safetensors {
  unsigned char *buffer;  /* owned file contents (NULL after rnnrt_st_parse) */
  int64_t size;
  rnnrt_st_tensor *tensors; /* in header order, __metadata__ skipped */
  int64_t n_tensors;
} rnnrt_safetensors;

/* Reads and validates a whole safetensors file; `path` is used in messages. */
RNNRT_EXPORT int rnnrt_st_read(const char *path, rnnrt_safetensors *out, rnnrt_error *err);
/* Validates an in-memory image; tensors point into `buf`, which must outlive `out`.
 * `label` names the source in messages. */
RNNRT_EXPORT int rnnrt_st_parse(const void *buf, size_t size, const char *label,
                                rnnrt_safetensors *out, rnnrt_error *err);
RNNRT_EXPORT const rnnrt_st_tensor *rnnrt_st_find(const rnnrt_safetensors *st, const char *name);
RNNRT_EXPORT void rnnrt_st_free(rnnrt_safetensors *st);

typedef struct rnnrt_st_entry {
  const char *name;
  rnnrt_dtype dtype;      /* any known dtype; data is host-order, written little-endian */
  int64_t rank;
  const int64_t *shape;
  const void *data;
} rnnrt_st_entry;

/* Writes tensors in the given order (header padded with spaces to a multiple of 8, data
 * consecutive) to <path>.tmp.<pid>, then rename()s it to path. Duplicate names are rejected.
 * On failure nothing is left behind. */
RNNRT_EXPORT int rnnrt_st_write(const char *path, const rnnrt_st_entry *entries, size_t n,
                                rnnrt_error *err);

/* ------------------------------------------------------------------------------------------
 * NumPy .npy
 * ---------------------------------------------------------------------------------------- */

typedef struct rnnrt_npy {
  rnnrt_dtype dtype;      /* F32 ('<f4'), I32 ('<i4') or I64 ('<i8') */
  int64_t rank;
  int64_t *shape;         /* rank entries (NULL if rank 0) */
  int64_t numel;
  void *data;             /* 64-byte aligned, host order, numel elements */
} rnnrt_npy;

/* Reads a version 1.0/2.0/3.0 little-endian C-order .npy of '<f4', '<i4' or '<i8'. */
RNNRT_EXPORT int rnnrt_npy_read(const char *path, rnnrt_npy *out, rnnrt_error *err);
RNNRT_EXPORT int rnnrt_npy_parse(const void *buf, size_t size, const char *label,
                                 rnnrt_npy *out, rnnrt_error *err);
RNNRT_EXPORT void rnnrt_npy_free(rnnrt_npy *a);
/* Writes a version 1.0 .npy ('<f4' for F32, '<i4' for I32), header padded to 64 bytes,
 * atomically (temp file + rename). */
RNNRT_EXPORT int rnnrt_npy_write(const char *path, rnnrt_dtype dtype, int64_t rank,
                                 const int64_t *shape, const void *data, rnnrt_error *err);

/* ------------------------------------------------------------------------------------------
 * Atomic file writing (temp file in the same directory + rename)
 * ---------------------------------------------------------------------------------------- */

typedef struct rnnrt_afile {
  void *fp;               /* FILE* */
  char *path;
  char *tmp_path;         /* "<path>.tmp.<pid>" */
  int failed;
} rnnrt_afile;

RNNRT_EXPORT int rnnrt_afile_open(rnnrt_afile *f, const char *path, rnnrt_error *err);
/* Appends bytes; errors are sticky and reported by commit. */
RNNRT_EXPORT void rnnrt_afile_write(rnnrt_afile *f, const void *data, size_t n);
/* Closes the temp file (checking every error) and renames it over path; on failure the temp
 * file is removed. Always releases f. */
RNNRT_EXPORT int rnnrt_afile_commit(rnnrt_afile *f, rnnrt_error *err);
/* Closes (if still open) and removes the temp file. Safe on a zeroed or released f. */
RNNRT_EXPORT void rnnrt_afile_abort(rnnrt_afile *f);
/* Closes the temp file, checking errors, without renaming (to rename several together). */
RNNRT_EXPORT int rnnrt_afile_finish(rnnrt_afile *f, rnnrt_error *err);
/* Renames a finished temp file; removes it on failure. Always releases f. */
RNNRT_EXPORT int rnnrt_afile_rename(rnnrt_afile *f, rnnrt_error *err);

/* ------------------------------------------------------------------------------------------
 * Random numbers (xoshiro256**, seeded through splitmix64; deterministic per seed)
 * ---------------------------------------------------------------------------------------- */

typedef struct rnnrt_rng {
  uint64_t s[4];
} rnnrt_rng;

RNNRT_EXPORT void rnnrt_rng_seed(rnnrt_rng *rng, uint64_t seed);
RNNRT_EXPORT uint64_t rnnrt_rng_next(rnnrt_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
RNNRT_EXPORT double rnnrt_rng_uniform(rnnrt_rng *rng);
/* Standard normal (Box-Muller; two uniforms per value, the sine half is not used). */
RNNRT_EXPORT double rnnrt_rng_normal(rnnrt_rng *rng);
/* Fills a float buffer according to a param's init (uniform/normal/zeros/ones). */
RNNRT_EXPORT void rnnrt_rng_fill(rnnrt_rng *rng, rnnrt_init_kind init, double arg, float *out,
                                 int64_t n);
/* A parameter's initial values: rnnrt_rng_fill with its init, then its padding row zeroed. */
RNNRT_EXPORT void rnnrt_rng_init_param(rnnrt_rng *rng, const rnnrt_decl *p, float *out);

/* ------------------------------------------------------------------------------------------
 * Model helpers shared by the CLI commands
 * ---------------------------------------------------------------------------------------- */

/* Loads every descriptor parameter from a safetensors file: dtype F32 and exactly the
 * declared shape. Fills params[0..n_params) with 64-byte aligned copies (free with
 * rnnrt_tensors_free). */
RNNRT_EXPORT int rnnrt_load_params(const rnnrt_model_desc *desc, const char *path,
                                   rnnrt_tensor *params, rnnrt_error *err);
/* Allocates one buffer per `prepared` line in out[0..desc->n_prepared) and runs
 * rnnc_model_prepare on params (descriptor order); nothing when there are none. 0, or -1 with
 * err set (then out holds nothing to free). Free with rnnrt_tensors_free(out, n_prepared). */
RNNRT_EXPORT int rnnrt_prepare(const rnnrt_model_desc *desc, const rnnrt_tensor *params,
                               rnnrt_tensor *out, rnnrt_error *err);
/* Frees the data of n tensors and zeroes them. */
RNNRT_EXPORT void rnnrt_tensors_free(rnnrt_tensor *t, int64_t n);
/* Allocates a 64-byte aligned, zero-filled buffer of nbytes (> 0); NULL on failure. */
RNNRT_EXPORT void *rnnrt_alloc(int64_t nbytes);

/* ------------------------------------------------------------------------------------------
 * Support routine called by compiled code
 * ---------------------------------------------------------------------------------------- */

/* MLIR's lowering of memref.copy between buffers that are not both contiguous (e.g. a strided
 * slice returned as an output) calls memrefCopy (normally from libmlir_c_runner_utils); the
 * runtime provides it so emitted programs link with librnnrt.a and libm only. src and dst are
 * MLIR unranked memref descriptors {int64_t rank; void *desc;} with the same rank and sizes;
 * desc points to {void *allocated; void *aligned; int64_t offset; int64_t sizes[rank];
 * int64_t strides[rank];} (offset and strides in elements). */
RNNRT_EXPORT void memrefCopy(int64_t elem_size, void *src, void *dst);

/* ------------------------------------------------------------------------------------------
 * Command line program
 * ---------------------------------------------------------------------------------------- */

/* The program's entry point (main() just calls this). Uses rnnc_model_desc and
 * rnnc_model_forward. Returns the process exit code (0 ok, 1 error). */
RNNRT_EXPORT int rnnrt_main(int argc, char **argv);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RNN_RUNTIME_H */
