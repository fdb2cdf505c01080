/* Unit test of the descriptor's `prepared` lines (runtime/lib/desc.c) and of rnnrt_prepare
 * without the compiled entry points: accepted descriptors print what was parsed, rejected ones
 * their message. Linked with librnnrt.a (its main() is not pulled in; the model's weak entry
 * points are NULL). */
#include "desc_case.h"

#include <stdio.h>
#include <string.h>

#define HEAD "rnnc-model 1\nmodel m\ninput x f32 2 B 4\noutput y 2 B 8\nparam w 2 8 4 zeros\n"

static void show(const char *name, const char *text) {
  rnnrt_model_desc d;
  if (!parse_case(name, text, &d)) return;
  printf("%s: ok prepared=%lld", name, (long long)d.n_prepared);
  for (int64_t i = 0; i < d.n_prepared; i++) printf(" %s:%lld", d.prepared[i], (long long)d.prepared_bytes[i]);
  /* a descriptor that announces prepared tensors needs the object's prepare entry points */
  rnnrt_error err;
  rnnrt_tensor params[1] = {{NULL, 0, {0}}}, out[4];
  if (rnnrt_prepare(&d, params, out, &err) != 0) printf(" prepare: %s", err.msg);
  printf("\n");
  rnnrt_desc_free(&d);
}

int main(void) {
  /* accepted */
  show("none", HEAD "end\n");
  show("two", HEAD "prepared w.panels 128\nprepared w.f16 64\nend\n");
  /* rejected */
  show("nobytes", HEAD "prepared w.panels\nend\n");
  show("zero", HEAD "prepared w.panels 0\nend\n");
  show("neg", HEAD "prepared w.panels -4\nend\n");
  show("huge", HEAD "prepared w.panels 9999999999999999\nend\n");
  show("name", HEAD "prepared w/p 16\nend\n");
  show("dup", HEAD "prepared p 16\nprepared p 32\nend\n");
  show("extra", HEAD "prepared p 16 f32\nend\n");
  printf("desc_prepared: done\n");
  return 0;
}
