/**
 * @file sushi.h
 * @brief Umbrella header of libsushi: include this one.
 */
#ifndef SUSHI_H
#define SUSHI_H

#include "sushi/version.h"
#include "sushi/status.h"
#include "sushi/context.h"
#include "sushi/supernet.h"
#include "sushi/subnet.h"
#include "sushi/subgraph.h"
#include "sushi/backend.h"
#include "sushi/policy.h"
#include "sushi/trace.h"
#include "sushi/sched.h"
#include "sushi/profile.h"
#include "sushi/cpu.h"
#include "sushi/cycle.h"
#include "sushi/hls.h"
#include "sushi/input.h"
#include "sushi/server.h"

#endif
