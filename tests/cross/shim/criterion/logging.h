/* see criterion.h: the shim's logging is declared there */
#include "criterion.h"
