/* The generated bindings (program.c), compiled as part of the helper layer. */
#include "bpflet.h"

#include "program.c"
