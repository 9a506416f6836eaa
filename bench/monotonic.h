/* SPDX-License-Identifier: GPL-2.0-only */
/* The clock the storm programs time their loops with. */
#ifndef TRACER_BENCH_MONOTONIC_H
#define TRACER_BENCH_MONOTONIC_H

#include <time.h>

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
