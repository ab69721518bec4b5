/*
 * cache.c - mtasts cache list|show|purge|stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_cache[] =
    "usage: mtasts [-c FILE] cache list [--json]\n"
    "       mtasts [-c FILE] cache show [--json] DOMAIN\n"
    "       mtasts [-c FILE] cache purge DOMAIN...\n"
    "       mtasts [-c FILE] cache stats [--json]\n";

static int
cache_on_list(const struct mtasts_result *r, void *arg)
{
	json_t *arr = arg;
	char t[32];

	if (arr != NULL) {
		json_array_append_new(arr, cli_result_json(r));
		return 0;
	}
	cli_time(mtasts_result_expires_at(r), t, sizeof(t));
	printf("%-40s %-9s %-32s %s%s\n", mtasts_result_domain(r),
	    mtasts_result_mode_name(r),
	    mtasts_result_has_policy(r) ? mtasts_result_id(r) : "-",
	    mtasts_result_has_policy(r) ? t : "-",
	    mtasts_result_fail_count(r) ? " (failing)" : "");
	return 0;
}

static int
cache_list(struct mtasts_ctx *ctx, const struct cli_args *a)
{
	json_t *arr = a->json ? json_array() : NULL;
	int r;

	if ((r = mtasts_cache_foreach(ctx, cache_on_list, arr)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: cache: %s\n", mtasts_strerror(r));
		json_decref(arr);
		return EXIT_USAGE;
	}
	if (arr != NULL)
		cli_json_print(arr);
	return EXIT_VALID;
}

static int
cache_show(struct mtasts_ctx *ctx, const struct cli_args *a)
{
	struct mtasts_result *res;
	int r;

	if (a->npos != 1)
		return cli_usage_error(usage_cache, "show needs one DOMAIN");
	if ((r = mtasts_cache_get(ctx, a->pos[0], &res)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: %s: %s\n", a->pos[0],
		    r == MTASTS_ENORECORD ? "not in the cache" :
		    mtasts_strerror(r));
		return EXIT_INVALID;
	}
	if (a->json)
		cli_json_print(cli_result_json(res));
	else
		cli_result_text(res);
	mtasts_result_free(res);
	return EXIT_VALID;
}

static int
cache_purge(struct mtasts_ctx *ctx, const struct cli_args *a)
{
	int i, r, rc = EXIT_VALID;

	if (a->npos == 0)
		return cli_usage_error(usage_cache, "purge needs a DOMAIN");
	for (i = 0; i < a->npos; i++)
		if ((r = mtasts_cache_purge(ctx, a->pos[i])) != MTASTS_OK) {
			fprintf(stderr, "mtasts: %s: %s\n", a->pos[i],
			    r == MTASTS_ENORECORD ? "not in the cache" :
			    mtasts_strerror(r));
			rc = EXIT_INVALID;
		}
	return rc;
}

static int
cache_stats_cmd(struct mtasts_ctx *ctx, const struct cli_args *a)
{
	uint64_t n, bytes, logs;
	int r;

	if ((r = mtasts_cache_stats(ctx, &n, &bytes, &logs)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: cache: %s\n", mtasts_strerror(r));
		return EXIT_USAGE;
	}
	if (a->json)
		cli_json_print(json_pack("{s:I,s:I,s:I}", "entries",
		    (json_int_t)n, "bytes", (json_int_t)bytes, "log_files",
		    (json_int_t)logs));
	else
		printf("entries:   %llu\nbytes:     %llu\nlog files: %llu\n",
		    (unsigned long long)n, (unsigned long long)bytes,
		    (unsigned long long)logs);
	return EXIT_VALID;
}

static int
cache_run(const struct cli_global *g, const char *what,
    const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "";
	struct mtasts_ctx *ctx;
	int purge = strcmp(what, "purge") == 0, r;

	if (mtasts_ctx_new(NULL, g->cfg, purge ? 0 : MTASTS_CTX_RDONLY, &ctx,
	    err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err);
		return EXIT_USAGE;
	}
	if (strcmp(what, "list") == 0)
		r = cache_list(ctx, a);
	else if (strcmp(what, "show") == 0)
		r = cache_show(ctx, a);
	else if (purge)
		r = cache_purge(ctx, a);
	else
		r = cache_stats_cmd(ctx, a);
	mtasts_ctx_free(ctx);
	return r;
}

int
cmd_cache(const struct cli_global *g, int argc, char **argv)
{
	static const char *const cmds[] = { "list", "show", "purge",
	    "stats" };
	struct cli_args a;
	size_t i;
	int r;

	if (argc < 1)
		return cli_usage_error(usage_cache, "cache what?");
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		fputs(usage_cache, stdout);
		return 0;
	}
	for (i = 0; i < 4 && strcmp(argv[0], cmds[i]) != 0; i++)
		;
	if (i == 4)
		return cli_usage_error(usage_cache, "unknown cache command "
		    "'%s'", argv[0]);
	if (cli_parse_args(argc - 1, argv + 1, 0, &a) != 0)
		r = cli_usage_error(usage_cache, "bad arguments");
	else if (a.help) {
		fputs(usage_cache, stdout);
		r = 0;
	} else
		r = cache_run(g, argv[0], &a);
	free(a.pos);
	return r;
}
