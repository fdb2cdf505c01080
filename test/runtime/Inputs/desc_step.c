/* Unit test of the descriptor's generation lines (runtime/lib/desc.c): `step`, `state` and
 * `scores=` on outputs; accepted descriptors print what was parsed, rejected ones their
 * message. Linked with librnnrt.a (its main() is not pulled in). */
#include "desc_case.h"

#include <stdio.h>
#include <string.h>

#define HEAD "rnnc-model 1\nmodel m\nvocab V 2 chars\ntok 61\ntok 62\ninput x tokens 2 B T vocab=V\n"

static const char *scores_name(rnnrt_scores_kind k) {
  return k == RNNRT_SCORES_PROBS ? "probs" : k == RNNRT_SCORES_LOGITS ? "logits" : "unknown";
}

static void show(const char *name, const char *text) {
  rnnrt_model_desc d;
  if (!parse_case(name, text, &d)) return;
  printf("%s: ok step=%d states=%lld", name, d.has_step, (long long)d.n_states);
  for (int64_t i = 0; i < d.n_states; i++) {
    char dims[256];
    rnnrt_desc_format_dims(&d, &d.states[i], dims, sizeof dims);
    printf(" %s%s", d.states[i].name, dims);
  }
  for (int64_t i = 0; i < d.n_outputs; i++) printf(" %s:%s", d.outputs[i].name, scores_name(d.outputs[i].scores));
  printf("\n");
  rnnrt_desc_free(&d);
}

int main(void) {
  /* accepted */
  show("nostep", HEAD "output y 3 B T 2 vocab=V\nend\n");
  show("step", HEAD "output y 3 B T 2 vocab=V scores=probs\noutput z 2 B 3 scores=logits\nstep\n"
               "state cell.h 2 B 8\nstate c 3 2 B 4\nend\n");
  show("nostates", HEAD "output y 3 B T 2 vocab=V scores=logits\nstep\nend\n");
  show("order", HEAD "step\nparam w 1 2 zeros\nstate h 2 B 8\noutput y 3 B T 2 vocab=V\nstate g 1 3\nend\n");
  /* rejected */
  show("nostepline", HEAD "output y 3 B T 2 vocab=V\nstate h 2 B 8\nend\n");
  show("stateafter", HEAD "output y 3 B T 2 vocab=V\nstate h 2 B 8\nstep\nend\n");
  show("twostep", HEAD "output y 3 B T 2 vocab=V\nstep\nstep\nend\n");
  show("steparg", HEAD "output y 3 B T 2 vocab=V\nstep 1\nend\n");
  show("stateattr", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 2 B 8 vocab=V\nend\n");
  show("statekind", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h f32 2 B 8\nend\n");
  show("staterank", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 2 B\nend\n");
  show("statemore", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 1 B 8\nend\n");
  show("statezero", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 2 B 0\nend\n");
  show("statesym", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 2 N 8\nend\n");
  show("statedup", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h 2 B 8\nstate h 2 B 8\nend\n");
  show("statename", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h/x 2 B 8\nend\n");
  show("stateshort", HEAD "output y 3 B T 2 vocab=V\nstep\nstate h\nend\n");
  show("scoresbad", HEAD "output y 3 B T 2 vocab=V scores=prob\nend\n");
  show("scorestwice", HEAD "output y 3 B T 2 vocab=V scores=probs scores=probs\nend\n");
  show("scoresinput", "rnnc-model 1\nmodel m\ninput x f32 1 T scores=probs\noutput y 1 T\nend\n");
  printf("desc_step: done\n");
  return 0;
}
