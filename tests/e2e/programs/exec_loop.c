/* A fast exec storm for the e2e tests, in a process of its own (fork from a
 * small program, not from the big test process).
 * usage: exec_loop COMM PREFIX COUNT
 *   names itself COMM (the calling task of every exec: --trace comm=COMM),
 *   then runs itself COUNT times, one after another, as `exec_loop PREFIX-N`
 *   (N from 0): each exec is one record whose argv[1] is its marker. After
 *   every 100 execs, and at the end, it writes the count done so far as a
 *   line on stdout: the test waits on it to act mid-burst.
 * usage: exec_loop MARKER  exits 0 at once. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc == 2)
		return 0;
	if (argc != 4)
		return 2;
	if (prctl(PR_SET_NAME, argv[1]) != 0)
		return 3;
	const long count = strtol(argv[3], NULL, 10);
	char marker[256];
	char *child_argv[] = {argv[0], marker, NULL};
	for (long i = 0; i < count; ++i) {
		snprintf(marker, sizeof(marker), "%s-%ld", argv[2], i);
		pid_t pid;
		int status;
		if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) != 0)
			return 4;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 5;
		if ((i + 1) % 100 == 0 || i + 1 == count) {
			printf("%ld\n", i + 1);
			fflush(stdout);
		}
	}
	return 0;
}
