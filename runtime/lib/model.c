/* model.c - helpers that connect a parsed descriptor with files (shared by CLI commands). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int rnnrt_load_params(const rnnrt_model_desc *desc, const char *path, rnnrt_tensor *params, rnnrt_error *err) {
  rnnrt_safetensors st;
  memset(params, 0, (size_t)desc->n_params * sizeof *params);
  if (rnnrt_st_read(path, &st, err) != 0) return -1;
  for (int64_t i = 0; i < desc->n_params; i++) {
    const rnnrt_decl *p = &desc->params[i];
    const rnnrt_st_tensor *t = rnnrt_st_find(&st, p->name);
    char want[160], got[160];
    if (!t) {
      rnnrt_fail(err, "%s: missing tensor '%s'", path, p->name);
      goto fail;
    }
    if (t->dtype != RNNRT_DTYPE_F32) {
      rnnrt_fail(err, "%s: tensor '%s' has dtype %s, expected F32", path, p->name, t->dtype_name);
      goto fail;
    }
    bool same = t->rank == p->rank;
    for (int64_t k = 0; same && k < p->rank; k++) same = t->shape[k] == p->dims[k].size;
    if (!same) {
      rnnrt_desc_format_dims(desc, p, want, sizeof want);
      rnnrt_format_shape(got, sizeof got, t->rank, t->shape);
      rnnrt_fail(err, "%s: tensor '%s' has shape %s, expected %s", path, p->name, got, want);
      goto fail;
    }
    params[i].rank = p->rank;
    for (int64_t k = 0; k < p->rank; k++) params[i].sizes[k] = p->dims[k].size;
    params[i].data = rnnrt_alloc(t->nbytes ? t->nbytes : 1);
    if (!params[i].data) {
      rnnrt_fail(err, "%s: out of memory loading tensor '%s' (%lld bytes)", path, p->name, (long long)t->nbytes);
      goto fail;
    }
    memcpy(params[i].data, t->data, (size_t)t->nbytes);
    if (!rnnrt_host_is_le()) rnnrt_bswap_inplace(params[i].data, 4, t->nbytes / 4);
  }
  rnnrt_st_free(&st);
  return 0;
fail:
  rnnrt_st_free(&st);
  rnnrt_tensors_free(params, desc->n_params);
  return -1;
}

int rnnrt_prepare(const rnnrt_model_desc *desc, const rnnrt_tensor *params, rnnrt_tensor *out, rnnrt_error *err) {
  int64_t np = desc->n_params, n = desc->n_prepared;
  if (n == 0) return 0;
  memset(out, 0, (size_t)n * sizeof *out);
  if (!rnnc_model_prepare || !rnnc_model_forward_prepared || (desc->has_step && !rnnc_model_step_prepared)) {
    rnnrt_fail(err, "internal error: the model descriptor has 'prepared' lines but the program does not define "
                    "rnnc_model_prepare and the _prepared entry points");
    return -1;
  }
  rnnrt_tensor *args = calloc((size_t)(np + n), sizeof *args);
  if (!args) {
    rnnrt_fail(err, "out of memory");
    return -1;
  }
  if (np > 0) memcpy(args, params, (size_t)np * sizeof *args);
  for (int64_t i = 0; i < n; i++) {
    /* 1-D byte buffers to the runtime; the compiled code knows their shapes */
    out[i].rank = 1;
    out[i].sizes[0] = desc->prepared_bytes[i];
    if (!(out[i].data = rnnrt_alloc(desc->prepared_bytes[i]))) {
      rnnrt_fail(err, "out of memory preparing '%s' (%lld bytes)", desc->prepared[i], (long long)desc->prepared_bytes[i]);
      rnnrt_tensors_free(out, n);
      free(args);
      return -1;
    }
    args[np + i] = out[i];
  }
  rnnc_model_prepare(args);
  free(args);
  return 0;
}
