/*
 * tlsrec.c - record TLS results as an MTA adapter would, for
 * tests/integration/fleet.sh:  tlsrec CONF DOMAIN TYPE MXHOST MXIP N
 * Records N results through the public API (mtasts_tls_result), in
 * this process, with the configuration CONF.  Exit 0, or 1 and a line
 * on stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mtasts.h>

int
main(int argc, char **argv)
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	char err[MTASTS_ERRLEN];
	long i, n;

	if (argc != 7 || (n = strtol(argv[6], NULL, 10)) < 1 || n > 100000) {
		fprintf(stderr, "usage: tlsrec CONF DOMAIN TYPE MXHOST MXIP N\n");
		return 1;
	}
	if (mtasts_config_load(argv[1], &cfg, err, sizeof(err)) != MTASTS_OK ||
	    mtasts_ctx_new(NULL, cfg, 0, &ctx, err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "tlsrec: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (mtasts_tls_result(ctx, argv[2], argv[3], argv[4], argv[5],
		    err, sizeof(err)) != MTASTS_OK) {
			fprintf(stderr, "tlsrec: %s\n", err);
			return 1;
		}
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	return 0;
}
