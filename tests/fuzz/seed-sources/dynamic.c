#include <stdio.h>
int traced(int value) { return value * 2; }
int main(int argc, char **argv) { (void)argv; printf("%d\n", traced(argc)); return 0; }
