// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cost of a user function probe: a tight loop calling a small function
 * (tracer_bench_call(int, const char *)) for SECONDS; prints
 * "calls=N seconds=S ns_per_call=X". bench/user-functions probes it.
 *
 * usage: call_storm SECONDS
 */
#include <stdio.h>
#include <stdlib.h>

#include "monotonic.h"

/* noipa: a real function at its symbol, called for real every time. */
__attribute__((noipa)) long tracer_bench_call(int round, const char *name)
{
	return round + name[0];
}

int main(int argc, char **argv)
{
	const double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	const double start = now_seconds();
	double elapsed = 0;
	long calls = 0;
	long sum = 0;

	while (elapsed < seconds) {
		for (int i = 0; i < 1000; i++)
			sum += tracer_bench_call(i, "bench");
		calls += 1000;
		elapsed = now_seconds() - start;
	}
	printf("calls=%ld seconds=%.3f ns_per_call=%.1f sum=%ld\n", calls, elapsed, elapsed * 1e9 / calls, sum);
	return 0;
}
