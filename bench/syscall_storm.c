// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cost of being attached: a tight loop of a cheap syscall (getppid) for
 * SECONDS; prints "calls=N seconds=S ns_per_call=X".
 *
 * usage: syscall_storm SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monotonic.h"

int main(int argc, char **argv)
{
	const double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	const double start = now_seconds();
	double elapsed = 0;
	long calls = 0;

	while (elapsed < seconds) {
		for (int i = 0; i < 10000; i++)
			syscall(SYS_getppid);
		calls += 10000;
		elapsed = now_seconds() - start;
	}
	printf("calls=%ld seconds=%.3f ns_per_call=%.1f\n", calls, elapsed, elapsed * 1e9 / calls);
	return 0;
}
