/*
 * fuzz_config.c - mtasts.conf parser.  On success every item must dump;
 * the dump must parse again to the same values (round trip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_config *cfg, *again;
	char err[MTASTS_ERRLEN], val[1100], text[16384], val2[1100];
	const char *key, *key2;
	size_t i, o = 0;
	int n;

	if (mtasts_config_parse((const char *)data, size, "fuzz", &cfg, err,
	    sizeof(err)) != MTASTS_OK)
		return 0;
	for (i = 0; mtasts_config_item(cfg, i, &key, val, sizeof(val)) ==
	    MTASTS_OK; i++) {
		if (val[0] == '\0')
			continue;	/* "" is the default resolver */
		n = snprintf(text + o, sizeof(text) - o, "%s = %s\n", key, val);
		if (n < 0 || (size_t)n >= sizeof(text) - o)
			abort();
		o += (size_t)n;
	}
	if (mtasts_config_parse(text, o, "dump", &again, err, sizeof(err))
	    != MTASTS_OK)
		abort();
	for (i = 0; mtasts_config_item(cfg, i, &key, val, sizeof(val)) ==
	    MTASTS_OK; i++) {
		if (mtasts_config_item(again, i, &key2, val2, sizeof(val2)) !=
		    MTASTS_OK || strcmp(val, val2) != 0)
			abort();
	}
	mtasts_config_free(again);
	mtasts_config_free(cfg);
	return 0;
}
