/*
 * tmpctx.h - for unit tests that need a context: one on a cache in a
 * fresh temporary directory, made and removed by the cmocka group
 * setup and teardown below (DNS goes to port 9, where nobody answers).
 * Included by one test file each; it defines cfg and ctx.
 */
#ifndef MTASTS_TEST_TMPCTX_H
#define MTASTS_TEST_TMPCTX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts.h"

static char			 tmpctx_dir[] = "/tmp/mtasts-test-ctx.XXXXXX";
static struct mtasts_config	*cfg;
static struct mtasts_ctx	*ctx;

static int
tmpctx_setup(void **state)
{
	char conf[256], err[MTASTS_ERRLEN];

	(void)state;
	if (mkdtemp(tmpctx_dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\ndns_timeout = 1s\n", tmpctx_dir);
	if (mtasts_config_parse(conf, strlen(conf), "test", &cfg, err,
	    sizeof(err)) != MTASTS_OK || mtasts_ctx_new(NULL, cfg, 0, &ctx,
	    err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
tmpctx_teardown(void **state)
{
	char cmd[128];

	(void)state;
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpctx_dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif /* MTASTS_TEST_TMPCTX_H */
