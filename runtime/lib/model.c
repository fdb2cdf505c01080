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
