// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fork storm: COUNT processes, forked in batches of LIVE that are alive at
 * the same time and then exit together (LIVE 1: each exits at once), so that
 * many exits and many live processes reach the tracer's process table.
 * Prints "forks=N seconds=S rate=R".
 *
 * usage: fork_storm COUNT [LIVE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotonic.h"

/* Forks `batch` children that block on a pipe, then ends them all at once. */
static int fork_batch(long batch)
{
	int gate[2];
	char byte;

	if (pipe(gate) != 0)
		return -1;
	for (long i = 0; i < batch; i++) {
		pid_t child = fork();
		if (child == 0) {
			close(gate[1]);
			if (read(gate[0], &byte, 1) < 0) /* EOF once the parent closes */
				_exit(1);
			_exit(0);
		}
		if (child < 0)
			return -1;
	}
	close(gate[0]);
	close(gate[1]);
	while (wait(NULL) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fork_storm COUNT [LIVE]\n");
		return 2;
	}
	const long count = atol(argv[1]);
	const long live = argc > 2 && atol(argv[2]) > 0 ? atol(argv[2]) : 1;
	const double start = now_seconds();

	for (long done = 0; done < count; done += live) {
		if (fork_batch(count - done < live ? count - done : live) != 0) {
			perror("fork");
			return 1;
		}
	}
	const double seconds = now_seconds() - start;
	printf("forks=%ld seconds=%.2f rate=%.0f\n", count, seconds, count / seconds);
	return 0;
}
