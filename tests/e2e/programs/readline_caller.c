/* Calls readline() from the shared libreadline, like bash linked with it
 * would. Built twice: as a plain program (not a bash, whatever its name) and
 * with POSE_AS_BASH, defining the symbols by which the tracer recognises bash.
 * usage: readline_caller  (reads lines until EOF, echoes each as "got: LINE") */
#include <stdio.h>
#include <stdlib.h>

#include <readline/readline.h>

#ifdef POSE_AS_BASH
const char *dist_version = "5.2";
char *shell_version_string(void)
{
	return "5.2-posing";
}
#endif

int main(void)
{
	char *line;

	while ((line = readline("caller> ")) != NULL) {
		printf("got: %s\n", line);
		fflush(stdout);
		free(line);
	}
	return 0;
}
