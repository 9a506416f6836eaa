/* A program of ours for the user tracer tests: functions with arguments of
 * several types, traced by uprobes with In and Out parameters.
 * usage: probe_target NAME  (prints the values it passed and got back) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct point {
	int32_t x;
	int32_t y;
	char label[8];
};

/* noipa: no clone, no constant propagation: the symbol is the real function. */
__attribute__((noipa)) long tracer_probe_mixed(int count, const char *name, struct point *point)
{
	point->x += count;
	point->y = -point->y;
	memcpy(point->label, "moved!!", sizeof(point->label));
	return (long)count * 1000 + (long)strlen(name);
}

__attribute__((noipa)) int tracer_probe_numbers(uint8_t small, int16_t negative, uint64_t big, void *pointer,
						int32_t *out)
{
	*out = -123456;
	return small + negative + (int)(big & 1) + (pointer != NULL);
}

int main(int argc, char **argv)
{
	struct point point = {7, 9, "start"};
	int32_t out = 0;
	long mixed;
	int numbers;

	if (argc != 2) {
		fprintf(stderr, "usage: probe_target NAME\n");
		return 2;
	}
	mixed = tracer_probe_mixed(42, argv[1], &point);
	numbers = tracer_probe_numbers(200, -300, 0x1122334455667788ull, (void *)0x1234, &out);
	printf("%ld %d %d %d %d\n", mixed, numbers, point.x, point.y, out);
	return 0;
}
