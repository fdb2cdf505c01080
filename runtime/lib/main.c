/* main.c - the program entry point, in its own object file so that tests can link the
 * library without it. */
#include "rnn_runtime.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

int main(int argc, char **argv) {
#ifdef __GLIBC__
  /* The compiled functions allocate their large temporaries (saved states,
   * gate sequences) on every call. glibc serves blocks above 128 KiB with
   * fresh mmap()s by default, so every call would page-fault them in again;
   * keeping them in the heap lets a training loop reuse the same pages. */
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return rnnrt_main(argc, argv);
}
