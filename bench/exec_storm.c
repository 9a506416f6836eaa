// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fork+exec storm: WORKERS processes each fork and exec PROGRAM with a
 * unique marker argument (PREFIX-<worker>-<n>) as fast as they can for
 * SECONDS. Prints "execs=N seconds=S rate=R" so that a harness can count
 * completeness (records with the prefix / execs) and throughput.
 *
 * usage: exec_storm WORKERS SECONDS PREFIX [PROGRAM]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotonic.h"

static long storm(int worker, double seconds, const char *prefix, const char *program)
{
	const double deadline = now_seconds() + seconds;
	char marker[256];
	long count = 0;

	while (now_seconds() < deadline) {
		snprintf(marker, sizeof(marker), "%s-%d-%ld", prefix, worker, count);
		pid_t child = fork();
		if (child == 0) {
			char *argv[] = {(char *)program, marker, NULL};
			char *envp[] = {NULL};
			execve(program, argv, envp);
			_exit(127);
		}
		if (child < 0)
			break;
		waitpid(child, NULL, 0);
		count++;
	}
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: exec_storm WORKERS SECONDS PREFIX [PROGRAM]\n");
		return 2;
	}
	const int workers = atoi(argv[1]);
	const double seconds = atof(argv[2]);
	const char *prefix = argv[3];
	const char *program = argc > 4 ? argv[4] : "/bin/true";
	long *counts = mmap(NULL, sizeof(long) * workers, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const double start = now_seconds();

	for (int w = 0; w < workers; w++) {
		if (fork() == 0) {
			counts[w] = storm(w, seconds, prefix, program);
			_exit(0);
		}
	}
	for (int w = 0; w < workers; w++)
		wait(NULL);
	const double elapsed = now_seconds() - start;
	long total = 0;
	for (int w = 0; w < workers; w++)
		total += counts[w];
	printf("execs=%ld seconds=%.3f rate=%.1f\n", total, elapsed, total / elapsed);
	return 0;
}
