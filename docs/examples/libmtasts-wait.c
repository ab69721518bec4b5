/*
 * libmtasts-wait: the blocking form, for a program without an event
 * loop (as the Exim module): a context on a private base and
 * mtasts_query_wait().  See libmtasts(3).
 *
 *	cc libmtasts-wait.c $(pkg-config --cflags --libs mtasts)
 *	./a.out example.com
 */
#include <stdio.h>

#include <mtasts.h>

#define EX_TEMPFAIL	75	/* defer, try again later */

int
main(int argc, char *argv[])
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	struct mtasts_result *res;
	char err[MTASTS_ERRLEN] = "";
	size_t i;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s domain\n", argv[0]);
		return 64;
	}
	if (mtasts_config_load(NULL, &cfg, err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		return 78;
	}
	/* base NULL: a private event base, run by the *_wait calls. */
	if (mtasts_ctx_new(NULL, cfg, 0, &ctx, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		mtasts_config_free(cfg);
		return EX_TEMPFAIL;
	}
	r = mtasts_query_wait(ctx, argv[1], 0, &res, err, sizeof(err));
	if (r == MTASTS_OK && mtasts_result_status(res) != MTASTS_OK) {
		/* Incomplete (out of memory, say): never weaker, but not
		 * an answer to act on either. */
		r = mtasts_result_status(res);
		snprintf(err, sizeof(err), "incomplete answer");
		mtasts_result_free(res);
	}
	if (r != MTASTS_OK) {
		/* No answer is no licence to send in clear: defer. */
		fprintf(stderr, "%s: %s (%s)\n", argv[1], mtasts_strerror(r),
		    err);
	} else {
		printf("%s: %s", mtasts_result_domain(res),
		    mtasts_result_mode_name(res));
		for (i = 0; i < mtasts_result_mx_count(res); i++)
			printf(" mx:%s", mtasts_result_mx(res, i));
		printf("\n");
		for (i = 0; i < mtasts_result_error_count(res); i++)
			printf("  %s: %s\n", mtasts_result_error_type(res, i),
			    mtasts_result_error_detail(res, i));
		mtasts_result_free(res);
	}
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	if (r == MTASTS_EPARSE)
		return 65;		/* not a domain name */
	return r == MTASTS_OK ? 0 : EX_TEMPFAIL;
}
