/*
 * fuzz_tlsa.c - the TLSA walker of core/tlsa.c over a hostile DNS
 * answer (RFC 1035 §4.1, RFC 6698 §2.1).
 *
 * Properties: 0 or -1; never more records than asked for; with room
 * for 2 the records are the first 2 of those found with room for
 * TLSA_MAX, and the answer (0 or -1) is the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsa.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsa_rr all[TLSA_MAX], two[2];
	unsigned char *p;
	size_t n_all, n_two;
	int r_all, r_two;

	/* Exact size: a read past the end is a heap overflow. */
	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	r_all = tlsa_parse(p, size, all, TLSA_MAX, &n_all);
	r_two = tlsa_parse(p, size, two, 2, &n_two);
	if ((r_all != 0 && r_all != -1) || r_all != r_two ||
	    n_all > TLSA_MAX || n_two > 2 ||
	    n_two != (n_all < 2 ? n_all : 2) ||
	    (n_two > 0 && memcmp(all, two, n_two * sizeof(two[0])) != 0))
		__builtin_trap();
	free(p);
	return 0;
}
