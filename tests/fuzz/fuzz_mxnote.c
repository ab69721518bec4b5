/*
 * fuzz_mxnote.c - the value of an MX address note as read back from the
 * shared database (core/mxnote.c): the file may be damaged, so its
 * bytes are hostile.  Properties: never a crash; an accepted note gives
 * two valid, normalised host names that fit their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "mxnote.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[MTASTS_DOMAIN_MAX + 1], host[MTASTS_DOMAIN_MAX + 1];
	char again[MTASTS_DOMAIN_MAX + 1], *v;

	if ((v = malloc(size + 1)) == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';		/* notes are read back NUL-terminated */
	if (mxnote_parse(v, domain, sizeof(domain), host, sizeof(host)) ==
	    MTASTS_OK) {
		if (mtasts_domain_normalize(domain, strlen(domain), again,
		    sizeof(again), NULL, 0) != MTASTS_OK ||
		    strcmp(again, domain) != 0 ||
		    mtasts_domain_normalize(host, strlen(host), again,
		    sizeof(again), NULL, 0) != MTASTS_OK ||
		    strcmp(again, host) != 0)
			abort();
	}
	free(v);
	return 0;
}
