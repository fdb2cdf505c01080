/* Shared by the descriptor unit tests (desc_*.c): parses one case. */
#ifndef DESC_CASE_H
#define DESC_CASE_H

#include "rnn_runtime.h"

#include <stdbool.h>
#include <stdio.h>

/* Parses `text` into *d; when the runtime rejects it, prints "<name>: <message>" and returns
 * false (nothing to free). */
static bool parse_case(const char *name, const char *text, rnnrt_model_desc *d) {
  rnnrt_error err;
  if (rnnrt_desc_parse(text, d, &err) == 0) return true;
  printf("%s: %s\n", name, err.msg);
  return false;
}

#endif
