/* main.c - the program entry point, in its own object file so that tests can link the
 * library without it. */
#include "rnn_runtime.h"

int main(int argc, char **argv) { return rnnrt_main(argc, argv); }
