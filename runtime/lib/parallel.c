/* parallel.c - the thread pool behind rnnc_parallel_run (docs/runtime-abi.md).
 *
 * Compiled kernels that are worth sharing (rnn-vectorize-kernels wraps them in rnn.parallel,
 * rnn-outline-parallel turns each into a function) call
 *
 *   rnnc_parallel_run(fn, ctx, work)
 *
 * which runs fn(ctx, tid, n) on n threads (tid 0 is the caller) and returns when all are done.
 * Each tid computes its own part of the kernel's outputs, so results do not depend on n.
 *
 * The pool has RNNC_THREADS threads (rnnrt_set_threads / --threads override it; default 1),
 * started on the first call that uses them. A job is published by bumping a generation counter;
 * idle workers spin on it for a while (a recurrent network calls the pool many times per time
 * step, microseconds apart) and then sleep on a futex. The caller's wait for the workers is a
 * spin too. Kernels with less `work` than RNNRT_PAR_MIN_WORK run on the caller alone, as does a
 * call made while another thread of the process holds the pool (no nesting, no queueing). */
#define _GNU_SOURCE
#include "rnn_runtime.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RNNRT_MAX_THREADS 64
/* Below this many multiply-adds (or element operations) a kernel is not worth waking a
 * second core: a job costs a few hundred nanoseconds of synchronisation. */
#define RNNRT_PAR_MIN_WORK 32768
/* Idle spins (each a pause instruction, ~40 ns) before a worker sleeps: ~100 us. */
#define RNNRT_SPINS 2500

typedef void (*par_fn)(void *ctx, int64_t tid, int64_t nthreads);

static struct {
  pthread_mutex_t lock; /* guards configured/started */
  int configured;       /* 0: not decided yet (RNNC_THREADS read on first use) */
  int started;          /* worker threads running */
  atomic_int busy;      /* a job is in flight */
  atomic_uint gen;      /* futex word: bumped once per job */
  atomic_int sleepers;
  atomic_int pending;   /* workers still running the current job */
  par_fn fn;
  void *ctx;
  int64_t count;        /* threads taking part in the current job */
  atomic_llong shared;  /* jobs run on more than one thread so far */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The generation each worker was started at (workers are only started while the caller holds
 * the pool, so no job is published meanwhile). */
static unsigned start_gen[RNNRT_MAX_THREADS];

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void futex_wait(atomic_uint *word, unsigned expected) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(atomic_uint *word) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *worker(void *arg) {
  int64_t tid = (int64_t)(intptr_t)arg;
  unsigned seen = start_gen[tid];
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen) {
      if (spins++ < RNNRT_SPINS) {
        cpu_relax();
        continue;
      }
      atomic_fetch_add(&pool.sleepers, 1);
      if (atomic_load(&pool.gen) == seen)
        futex_wait(&pool.gen, seen);
      atomic_fetch_sub(&pool.sleepers, 1);
      spins = 0;
    }
    seen = g;
    if (tid < pool.count)
      pool.fn(pool.ctx, tid, pool.count);
    atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
  }
  return NULL;
}

/* RNNC_THREADS: a count from 1 to 64; anything else is reported once and ignored. */
static int parse_threads(const char *s) {
  if (!s || !*s)
    return 1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 1 || v > RNNRT_MAX_THREADS) {
    fprintf(stderr, "warning: RNNC_THREADS='%s' is not a thread count from 1 to %d; using 1\n", s,
            RNNRT_MAX_THREADS);
    return 1;
  }
  return (int)v;
}

RNNRT_EXPORT int rnnrt_get_threads(void) {
  pthread_mutex_lock(&pool.lock);
  if (pool.configured == 0)
    pool.configured = parse_threads(getenv("RNNC_THREADS"));
  int n = pool.configured;
  pthread_mutex_unlock(&pool.lock);
  return n;
}

RNNRT_EXPORT void rnnrt_set_threads(int n) {
  if (n < 1)
    n = 1;
  if (n > RNNRT_MAX_THREADS)
    n = RNNRT_MAX_THREADS;
  pthread_mutex_lock(&pool.lock);
  pool.configured = n;
  pthread_mutex_unlock(&pool.lock);
}

/* Starts workers up to the configured count (the caller holds the pool); returns the threads
 * to use (>= 1) and the workers running. Workers block every signal, so that signals (SIGINT's
 * checkpoint-and-stop) reach the caller. */
static int ensure_workers(int *workers) {
  pthread_mutex_lock(&pool.lock);
  if (pool.configured == 0)
    pool.configured = parse_threads(getenv("RNNC_THREADS"));
  if (pool.started + 1 < pool.configured) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (pool.started + 1 < pool.configured) {
      pthread_t t;
      start_gen[pool.started + 1] = atomic_load(&pool.gen);
      if (pthread_create(&t, &attr, worker, (void *)(intptr_t)(pool.started + 1)) != 0)
        break; /* run with the threads there are */
      pool.started++;
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  int n = pool.configured < pool.started + 1 ? pool.configured : pool.started + 1;
  *workers = pool.started;
  pthread_mutex_unlock(&pool.lock);
  return n;
}

RNNRT_EXPORT void rnnc_parallel_run(par_fn fn, void *ctx, int64_t work) {
  if (work < RNNRT_PAR_MIN_WORK) {
    fn(ctx, 0, 1);
    return;
  }
  int expected = 0;
  if (!atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
    fn(ctx, 0, 1); /* another thread of the process holds the pool */
    return;
  }
  int workers;
  int n = ensure_workers(&workers);
  if (n <= 1) {
    atomic_store(&pool.busy, 0);
    fn(ctx, 0, 1);
    return;
  }
  pool.fn = fn;
  pool.ctx = ctx;
  pool.count = n;
  atomic_fetch_add_explicit(&pool.shared, 1, memory_order_relaxed);
  /* Every started worker acknowledges every job (those beyond `n` do nothing). */
  atomic_store_explicit(&pool.pending, workers, memory_order_relaxed);
  atomic_fetch_add(&pool.gen, 1);
  if (atomic_load(&pool.sleepers) > 0)
    futex_wake_all(&pool.gen);
  fn(ctx, 0, n);
  int spins = 0;
  while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) {
    if (spins++ < RNNRT_SPINS)
      cpu_relax();
    else
      sched_yield(); /* a worker waits for a busy core */
  }
  atomic_store(&pool.busy, 0);
}

RNNRT_EXPORT int64_t rnnrt_parallel_jobs(void) { return (int64_t)atomic_load(&pool.shared); }
