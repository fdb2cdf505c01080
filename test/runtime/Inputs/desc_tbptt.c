/* Unit test of the descriptor's truncated-BPTT lines (runtime/lib/desc.c): `grad_state` and
 * `tstate`; accepted descriptors print what was parsed, rejected ones their message. Linked
 * with librnnrt.a (its main() is not pulled in). */
#include "desc_case.h"

#include <stdio.h>
#include <string.h>

#define HEAD                                                                                          \
  "rnnc-model 1\nmodel m\nvocab V 2 chars\ntok 61\ntok 62\ninput x tokens 2 B T vocab=V\n"            \
  "target y tokens 2 B T vocab=V\noutput p 3 B T 2 vocab=V\nparam w 1 2 zeros\n"

static void show(const char *name, const char *text) {
  rnnrt_model_desc d;
  if (!parse_case(name, text, &d)) return;
  printf("%s: ok grad=%d grad_state=%d states=%lld tstates=%lld", name, d.has_grad, d.has_grad_state,
         (long long)d.n_states, (long long)d.n_tstates);
  for (int64_t i = 0; i < d.n_tstates; i++) {
    char dims[256];
    rnnrt_desc_format_dims(&d, &d.tstates[i], dims, sizeof dims);
    printf(" %s%s", d.tstates[i].name, dims);
  }
  if (d.saved_per_step >= 0) printf(" saved=%lld", (long long)d.saved_per_step);
  printf("\n");
  rnnrt_desc_free(&d);
}

int main(void) {
  /* accepted */
  show("nograd_state", HEAD "grad\nend\n");
  show("lstm", HEAD "grad\ngrad_state\ntstate seq.h 3 2 B 8\ntstate seq.c 3 2 B 8\ntrain bptt=truncate(5,3)\nend\n");
  show("withstep", HEAD "grad\nstep\nstate seq.h 3 1 B 4\ngrad_state\ntstate seq.h 3 1 B 4\nend\n");
  show("static", HEAD "grad\ngrad_state\ntstate h 2 1 3\nend\n");
  show("saved", HEAD "grad\ngrad_state saved=72\ntstate h 3 1 B 4\nend\n");
  /* rejected */
  show("nograd", HEAD "grad_state\ntstate h 3 1 B 4\nend\n");
  show("before", HEAD "grad\ntstate h 3 1 B 4\ngrad_state\nend\n");
  show("notstate", HEAD "grad\ntstate h 3 1 B 4\nend\n");
  show("twice", HEAD "grad\ngrad_state\ngrad_state\ntstate h 3 1 B 4\nend\n");
  show("args", HEAD "grad\ngrad_state 1\ntstate h 3 1 B 4\nend\n");
  show("badsaved", HEAD "grad\ngrad_state saved=0\ntstate h 3 1 B 4\nend\n");
  show("empty", HEAD "grad\ngrad_state\nend\n");
  show("dup", HEAD "grad\ngrad_state\ntstate h 3 1 B 4\ntstate h 3 1 B 4\nend\n");
  show("attr", HEAD "grad\ngrad_state\ntstate h 3 1 B 4 vocab=V\nend\n");
  show("unbound", HEAD "grad\ngrad_state\ntstate h 3 1 N 4\nend\n");
  show("rank", HEAD "grad\ngrad_state\ntstate h 3 1 B\nend\n");
  show("more", HEAD "grad\ngrad_state\ntstate h 2 1 B 4\nend\n");
  show("zero", HEAD "grad\ngrad_state\ntstate h 3 0 B 4\nend\n");
  show("name", HEAD "grad\ngrad_state\ntstate h/c 3 1 B 4\nend\n");
  show("short", HEAD "grad\ngrad_state\ntstate h\nend\n");
  show("param", HEAD "grad\ngrad_state\ntstate h 3 1 B 4\nparam v 1 2 zeros\nend\n");
  printf("desc_tbptt: done\n");
  return 0;
}
