const char dist_version[] = "5.2";
char *shell_version_string(void) { return (char *)dist_version; }
char *readline(const char *prompt) { return (char *)prompt; }
void _start(void) { readline(shell_version_string()); for (;;) {} }
