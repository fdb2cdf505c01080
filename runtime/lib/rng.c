/* rng.c - deterministic PRNG: xoshiro256** seeded through splitmix64.
 *
 * The stream for a given seed is fixed forever (tests and users rely on `init --seed N`
 * reproducing the same weights): do not change the algorithms or the order of draws. */
#include "internal.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rnnrt_rng_seed(rnnrt_rng *rng, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint64_t rnnrt_rng_next(rnnrt_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double rnnrt_rng_uniform(rnnrt_rng *rng) {
  return (double)(rnnrt_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Box-Muller. Each call draws two uniforms and returns one of the pair; the state stays in
 * the rng words only, so the struct is just the 4 words (no cached spare). */
double rnnrt_rng_normal(rnnrt_rng *rng) {
  double u1 = 1.0 - rnnrt_rng_uniform(rng); /* (0, 1] */
  double u2 = rnnrt_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void rnnrt_rng_fill(rnnrt_rng *rng, rnnrt_init_kind init, double arg, float *out, int64_t n) {
  switch (init) {
    case RNNRT_INIT_UNIFORM:
      for (int64_t i = 0; i < n; i++) out[i] = (float)((2.0 * rnnrt_rng_uniform(rng) - 1.0) * arg);
      break;
    case RNNRT_INIT_NORMAL:
      for (int64_t i = 0; i < n; i++) out[i] = (float)(rnnrt_rng_normal(rng) * arg);
      break;
    case RNNRT_INIT_ONES:
      for (int64_t i = 0; i < n; i++) out[i] = 1.0f;
      break;
    default:
      for (int64_t i = 0; i < n; i++) out[i] = 0.0f;
      break;
  }
}

void rnnrt_rng_init_param(rnnrt_rng *rng, const rnnrt_decl *p, float *out) {
  int64_t n = rnnrt_decl_numel(p);
  rnnrt_rng_fill(rng, p->init, p->init_arg, out, n);
  if (p->padding >= 0 && p->rank == 2) {
    int64_t dim = p->dims[1].size;
    for (int64_t k = 0; k < dim; k++) out[p->padding * dim + k] = 0.0f;
  }
}

void rnnrt_set_dropout(uint64_t seed, int training) {
  if (!rnnc_model_rng) return;
  rnnc_model_rng[0] = (int64_t)seed;
  rnnc_model_rng[1] = training != 0;
}
