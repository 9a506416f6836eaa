/* A program of ours for the --capture mem tests: the unpacker pattern. Maps
 * pages read-write, writes code into each (x86-64: mov eax, VALUE; ret, the
 * rest of the page zero), makes it read-execute with mprotect and calls it;
 * then maps one more page read-write, writes into it and makes it read-only
 * (no exec added: nothing to capture).
 * usage: mem_unpacker VALUE COUNT [PAGES]
 * Each region is PAGES pages (1 by default); after the code, byte k of a
 * region is (uint8_t)(k * 31 + VALUE + i), so that every page is written.
 * prints "exec ADDRESS LENGTH" per executable region (the i-th returns
 * VALUE + i), then "readonly ADDRESS LENGTH"; exits 1 when a call returned
 * another value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *writable_page(size_t length)
{
	void *page = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return page;
}

int main(int argc, char **argv)
{
	size_t length = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t value;
	long count;
	int failed = 0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s VALUE COUNT [PAGES]\n", argv[0]);
		return 2;
	}
	value = (uint32_t)strtoul(argv[1], NULL, 0);
	count = strtol(argv[2], NULL, 0);
	if (argc == 4)
		length *= strtoul(argv[3], NULL, 0);
	for (long i = 0; i < count; i++) {
		uint8_t *page = writable_page(length);
		const uint32_t expected = value + (uint32_t)i;

		page[0] = 0xb8; /* mov eax, imm32 */
		memcpy(&page[1], &expected, sizeof(expected));
		page[5] = 0xc3; /* ret */
		for (size_t k = 6; k < length; k++)
			page[k] = (uint8_t)(k * 31 + expected);
		if (mprotect(page, length, PROT_READ | PROT_EXEC) != 0) {
			perror("mprotect");
			return 2;
		}
#if defined(__x86_64__) || defined(__i386__)
		if (((uint32_t(*)(void))(void *)page)() != expected)
			failed = 1;
#endif
		printf("exec %#lx %zu\n", (unsigned long)(uintptr_t)page, length);
	}
	{
		uint8_t *page = writable_page((size_t)sysconf(_SC_PAGESIZE));

		memcpy(page, "not code", 8);
		if (mprotect(page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ) != 0) {
			perror("mprotect");
			return 2;
		}
		printf("readonly %#lx %ld\n", (unsigned long)(uintptr_t)page, sysconf(_SC_PAGESIZE));
	}
	fflush(stdout);
	return failed;
}
