/*
 * rng — moved to core/rng.h (one PRNG for every layer).  This forwarding header stays
 * only until scenario/flow.c (owned by the engine split) includes core/rng.h itself.
 */
#ifndef BRUNT_SCENARIO_RNG_H
#define BRUNT_SCENARIO_RNG_H

#include "core/rng.h"

#endif
