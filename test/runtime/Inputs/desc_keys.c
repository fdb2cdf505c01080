/* Unit test of the descriptor's optional keys of padded batches and decoders
 * (runtime/lib/desc.c): `end=` on outputs, `max=` on lengths inputs, `padding=` on tokens
 * inputs; accepted descriptors print what was parsed, rejected ones their message. Linked
 * with librnnrt.a (its main() is not pulled in). */
#include "desc_case.h"

#include <stdio.h>
#include <string.h>

#define VOCABS "rnnc-model 1\nmodel m\nvocab S 3 chars\ntok 5f\ntok 61\ntok 62\nvocab V 3 ids\n"
#define SRC "input src tokens 2 B S vocab=S\n"
#define OUT "output y 3 B 4 3 vocab=V\n"

static void show(const char *name, const char *text) {
  rnnrt_model_desc d;
  if (!parse_case(name, text, &d)) return;
  printf("%s: ok", name);
  for (int64_t i = 0; i < d.n_inputs; i++) {
    const rnnrt_decl *x = &d.inputs[i];
    printf(" %s", x->name);
    if (x->max_sym >= 0) printf(":max=%s", d.symbols[x->max_sym]);
    if (x->padding >= 0) printf(":padding=%lld", (long long)x->padding);
    if (x->max_sym < 0 && x->padding < 0) printf(":-");
  }
  for (int64_t i = 0; i < d.n_outputs; i++) {
    const rnnrt_decl *x = &d.outputs[i];
    if (x->end >= 0) printf(" %s:end=%lld", x->name, (long long)x->end);
    else printf(" %s:-", x->name);
  }
  for (int64_t i = 0; i < d.n_targets; i++) printf(" %s:%lld/%d/%lld", d.targets[i].name, (long long)d.targets[i].end,
                                                   d.targets[i].max_sym, (long long)d.targets[i].padding);
  printf("\n");
  rnnrt_desc_free(&d);
}

int main(void) {
  /* accepted */
  show("none", VOCABS SRC "input n lengths 1 B\n" OUT "end\n");
  show("all", VOCABS "input src tokens 2 B S vocab=S padding=0\ninput n lengths 1 B max=S\n"
                     "output y 3 B 4 3 vocab=V scores=probs end=1\ntarget t tokens 2 B 4 vocab=V\nend\n");
  show("order", VOCABS "input n lengths 1 B max=S\ninput src tokens 2 B S padding=2 vocab=S\n"
                       "output y 3 B 4 3 end=2 vocab=V\nend\n");
  show("endlast", VOCABS SRC "output y 3 B 4 3 vocab=V end=2\nend\n");
  show("endzero", VOCABS SRC "output y 3 B 4 3 vocab=V end=0\noutput z 2 B 3 vocab=V\nend\n");
  show("endsym", VOCABS SRC "output y 3 B S 3 vocab=V end=0\nend\n");
  show("maxbatch", VOCABS SRC "input n lengths 1 B max=B\n" OUT "end\n");
  show("maxstatic", VOCABS "input src tokens 2 1 S vocab=S\ninput n lengths 1 1 max=S\n"
                           "output y 3 1 4 3 vocab=V\nend\n");
  show("maxf32", VOCABS "input e f32 3 B T 4\ninput n lengths 1 B max=T\n" OUT "end\n");
  show("maxlater", VOCABS "input n lengths 1 B max=S\n" OUT SRC "end\n");
  show("paddingrank1", VOCABS "input src tokens 1 S vocab=S padding=0\noutput y 2 S 3 vocab=V\nend\n");
  show("paddingids", VOCABS "input src tokens 2 B S vocab=V padding=2\n" OUT "end\n");
  /* rejected: end= */
  show("endnovocab", VOCABS SRC "output y 3 B 4 3 end=1\nend\n");
  show("endrange", VOCABS SRC "output y 3 B 4 3 vocab=V end=3\nend\n");
  show("endbig", VOCABS SRC "output y 3 B 4 3 vocab=V end=99999999999999999999\nend\n");
  show("endneg", VOCABS SRC "output y 3 B 4 3 vocab=V end=-1\nend\n");
  show("endempty", VOCABS SRC "output y 3 B 4 3 vocab=V end=\nend\n");
  show("endplus", VOCABS SRC "output y 3 B 4 3 vocab=V end=+1\nend\n");
  show("endhex", VOCABS SRC "output y 3 B 4 3 vocab=V end=0x1\nend\n");
  show("endtwice", VOCABS SRC "output y 3 B 4 3 vocab=V end=1 end=1\nend\n");
  show("endrank2", VOCABS SRC "output y 2 B 3 vocab=V end=1\nend\n");
  show("endrank4", VOCABS SRC "output y 4 B 2 4 3 vocab=V end=1\nend\n");
  show("endinput", VOCABS "input src tokens 2 B S vocab=S end=1\n" OUT "end\n");
  show("endtarget", VOCABS SRC OUT "target t tokens 2 B 4 vocab=V end=1\nend\n");
  /* rejected: max= */
  show("maxunbound", VOCABS SRC "input n lengths 1 B max=T\n" OUT "end\n");
  show("maxlengthsonly", VOCABS SRC "input n lengths 1 B max=N\ninput m lengths 1 N\n" OUT "end\n");
  show("maxbad", VOCABS SRC "input n lengths 1 B max=1\n" OUT "end\n");
  show("maxdot", VOCABS SRC "input n lengths 1 B max=S.x\n" OUT "end\n");
  show("maxempty", VOCABS SRC "input n lengths 1 B max=\n" OUT "end\n");
  show("maxtwice", VOCABS SRC "input n lengths 1 B max=S max=S\n" OUT "end\n");
  show("maxtokens", VOCABS "input src tokens 2 B S vocab=S max=S\n" OUT "end\n");
  show("maxf32kind", VOCABS SRC "input e f32 2 B S max=S\n" OUT "end\n");
  show("maxoutput", VOCABS SRC "output y 3 B 4 3 vocab=V max=S\nend\n");
  show("maxtarget", VOCABS SRC OUT "target n class 1 B classes=3 max=S\nend\n");
  /* rejected: padding= */
  show("padrange", VOCABS "input src tokens 2 B S vocab=S padding=3\n" OUT "end\n");
  show("padneg", VOCABS "input src tokens 2 B S vocab=S padding=-1\n" OUT "end\n");
  show("padbig", VOCABS "input src tokens 2 B S vocab=S padding=4294967296\n" OUT "end\n");
  show("padword", VOCABS "input src tokens 2 B S vocab=S padding=_\n" OUT "end\n");
  show("padtwice", VOCABS "input src tokens 2 B S vocab=S padding=0 padding=0\n" OUT "end\n");
  show("padlengths", VOCABS SRC "input n lengths 1 B padding=0\n" OUT "end\n");
  show("padf32", VOCABS SRC "input e f32 2 B S padding=0\n" OUT "end\n");
  show("padoutput", VOCABS SRC "output y 3 B 4 3 vocab=V padding=0\nend\n");
  show("padtarget", VOCABS SRC OUT "target t tokens 2 B 4 vocab=V padding=0\nend\n");
  printf("desc_keys: done\n");
  return 0;
}
