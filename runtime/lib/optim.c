/* optim.c - gradient clipping and the SGD / Adam updates of `train`, with PyTorch 1.13's
 * update rules (torch.nn.utils.clip_grad_norm_, torch.optim.SGD and torch.optim.Adam's
 * single-tensor code paths), element by element in float32 like PyTorch's CPU kernels
 * (scalars rounded to float, the same operation order). The step-dependent scalars (bias
 * corrections, step size) are computed in double, as PyTorch computes them in Python. */
#include "internal.h"

#include <math.h>

double rnnrt_grad_norm(float *const *grads, const int64_t *numel, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *g = grads[i];
    for (int64_t k = 0; k < numel[i]; k++) sum += (double)g[k] * (double)g[k];
  }
  return sqrt(sum);
}

double rnnrt_clip_grads(float *const *grads, const int64_t *numel, int64_t n, double max_norm) {
  double total = rnnrt_grad_norm(grads, numel, n);
  if (max_norm > 0 && isfinite(total) && total > max_norm) {
    float coef = (float)(max_norm / (total + 1e-6));
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < numel[i]; k++) grads[i][k] *= coef;
  }
  return total;
}

void rnnrt_sgd_update(const rnnrt_optim_cfg *o, int64_t step, float *p, const float *g, float *buf, int64_t n) {
  const float wd = (float)o->weight_decay, mom = (float)o->momentum, lr = (float)o->lr;
  for (int64_t k = 0; k < n; k++) {
    float d = g[k];
    if (o->weight_decay != 0) d = d + wd * p[k];
    if (o->momentum != 0) {
      float b = step == 1 ? d : buf[k] * mom + d; /* the first step clones d_p */
      buf[k] = b;
      d = o->nesterov ? d + mom * b : b;
    }
    p[k] = p[k] + -lr * d;
  }
}

void rnnrt_adam_update(const rnnrt_optim_cfg *o, int64_t step, float *p, const float *g, float *m, float *v,
                       int64_t n) {
  const double bc1 = 1.0 - pow(o->beta1, (double)step), bc2 = 1.0 - pow(o->beta2, (double)step);
  const float step_size = (float)-(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  const float wd = (float)o->weight_decay, b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float one_b1 = (float)(1.0 - o->beta1), one_b2 = (float)(1.0 - o->beta2), eps = (float)o->eps;
  for (int64_t k = 0; k < n; k++) {
    float d = g[k];
    if (o->weight_decay != 0) d = d + wd * p[k];
    m[k] = m[k] * b1 + one_b1 * d;
    v[k] = v[k] * b2 + one_b2 * d * d;
    float denom = sqrtf(v[k]) / bc2_sqrt + eps;
    p[k] = p[k] + step_size * m[k] / denom;
  }
}
