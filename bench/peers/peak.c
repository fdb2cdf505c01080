/* Machine peak of bench/run.sh: single-precision FMA throughput.
 *
 *   peak [--threads N] [--isa avx2|avx512] [--seconds S]
 *
 * Each thread runs independent chains of vfmadd (12 ymm accumulators for AVX2, 24 zmm for
 * AVX-512: enough to cover the FMA latency on both FMA ports) for about S seconds; prints
 * `peak: isa=avx2 threads=N gflops=... per_core=...` (GFLOP/s, an FMA counting as 2 FLOPs).
 * Build: clang-22 -O3 -march=native -pthread peak.c -o peak.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define REP 1000L /* FMAs chains per accumulator per call */

/* Returns the FLOPs done. */
static double fma_avx2(long reps, float seed) {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(seed + (float)i);
  for (long r = 0; r < reps; ++r)
    for (long k = 0; k < REP; ++k)
      for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return (double)reps * REP * 12 * 8 * 2;
}

#ifdef __AVX512F__
static double fma_avx512(long reps, float seed) {
  __m512 a[24];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_ps(seed + (float)i);
  for (long r = 0; r < reps; ++r)
    for (long k = 0; k < REP; ++k)
      for (int i = 0; i < 24; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, a[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return (double)reps * REP * 24 * 16 * 2;
}
#endif

typedef struct {
  int avx512;
  double seconds;
  double flops, elapsed;
} job;

static void *run(void *p) {
  job *j = (job *)p;
  double (*f)(long, float) = fma_avx2;
#ifdef __AVX512F__
  if (j->avx512) f = fma_avx512;
#endif
  f(20, 1.0f); /* warm-up (frequency, page faults) */
  long reps = 20;
  double t0 = now(), flops = 0;
  while (now() - t0 < j->seconds) flops += f(reps, 1.0f);
  j->elapsed = now() - t0;
  j->flops = flops;
  return NULL;
}

int main(int argc, char **argv) {
  int threads = 1, avx512 = 0;
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
      const char *isa = argv[++i];
      if (!strcmp(isa, "avx512")) avx512 = 1;
      else if (strcmp(isa, "avx2")) { fprintf(stderr, "peak: unknown isa %s\n", isa); return 1; }
    } else {
      fprintf(stderr, "usage: peak [--threads N] [--isa avx2|avx512] [--seconds S]\n");
      return 1;
    }
  }
#ifndef __AVX512F__
  if (avx512) { fprintf(stderr, "peak: built without AVX-512\n"); return 1; }
#endif
  if (threads < 1 || threads > 256) threads = 1;
  pthread_t tid[256];
  job jobs[256];
  for (int t = 0; t < threads; ++t) {
    jobs[t] = (job){avx512, seconds, 0, 0};
    pthread_create(&tid[t], NULL, run, &jobs[t]);
  }
  double gflops = 0;
  for (int t = 0; t < threads; ++t) {
    pthread_join(tid[t], NULL);
    gflops += jobs[t].flops / jobs[t].elapsed * 1e-9;
  }
  printf("peak: isa=%s threads=%d gflops=%.2f per_core=%.2f\n", avx512 ? "avx512" : "avx2",
         threads, gflops, gflops / threads);
  return 0;
}
