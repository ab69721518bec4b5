/*
 * query.c - mtasts query: the policy in force for a domain, and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#include "cli.h"

const char usage_query[] =
    "usage: mtasts [-c FILE] [-v] query [--json] [--no-cache] DOMAIN\n"
    "Exit status: 0 a decision was made (including no policy), 1 no\n"
    "decision in time or none could be completed, 2 usage or\n"
    "configuration error.\n";

static const char *const source_names[] = { "none", "cache", "network",
	"shared" };

/* RFC 3339 in UTC, e.g. 2026-11-24T19:00:00Z. */
void
cli_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

static json_t *
query_jtime(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	cli_time(t, buf, sizeof(buf));
	return cli_jstr(buf);
}

json_t *
cli_result_json(const struct mtasts_result *r)
{
	json_t *o = json_object(), *mx = json_array(), *errs = json_array();
	int pol = mtasts_result_has_policy(r);
	size_t i;

	for (i = 0; i < mtasts_result_mx_count(r); i++)
		json_array_append_new(mx, cli_jstr(mtasts_result_mx(r, i)));
	for (i = 0; i < mtasts_result_error_count(r); i++)
		json_array_append_new(errs, json_pack("{s:s,s:s}", "type",
		    mtasts_result_error_type(r, i), "detail",
		    mtasts_result_error_detail(r, i)));
	json_object_set_new(o, "domain", cli_jstr(mtasts_result_domain(r)));
	json_object_set_new(o, "mode", cli_jstr(mtasts_result_mode_name(r)));
	json_object_set_new(o, "id", pol ? cli_jstr(mtasts_result_id(r)) :
	    json_null());
	json_object_set_new(o, "max_age", pol ?
	    json_integer(mtasts_result_max_age(r)) : json_null());
	json_object_set_new(o, "mx", mx);
	json_object_set_new(o, "source",
	    cli_jstr(source_names[mtasts_result_source(r)]));
	json_object_set_new(o, "fetched_at",
	    query_jtime(pol ? mtasts_result_fetched_at(r) : 0));
	json_object_set_new(o, "expires_at",
	    query_jtime(pol ? mtasts_result_expires_at(r) : 0));
	json_object_set_new(o, "errors", errs);
	/* Only where a dane_resolver was asked (mtasts.conf(5)). */
	if (mtasts_result_dane(r) != MTASTS_DANE_UNCHECKED) {
		json_object_set_new(o, "dane",
		    cli_jstr(mtasts_dane_name(mtasts_result_dane(r))));
		json_object_set_new(o, "dane_why",
		    cli_jstr(mtasts_result_dane_why(r)));
		json_object_set_new(o, "apply",
		    cli_jstr(mtasts_apply_name(mtasts_result_apply(r))));
	}
	return o;
}

void
cli_result_text(const struct mtasts_result *r)
{
	char t[32];
	size_t i;

	printf("domain:     %s\n", mtasts_result_domain(r));
	printf("mode:       %s\n", mtasts_result_mode_name(r));
	if (mtasts_result_has_policy(r)) {
		printf("id:         %s\n", mtasts_result_id(r));
		printf("max_age:    %u\n", mtasts_result_max_age(r));
		for (i = 0; i < mtasts_result_mx_count(r); i++)
			printf("mx:         %s\n", mtasts_result_mx(r, i));
		cli_time(mtasts_result_fetched_at(r), t, sizeof(t));
		printf("fetched_at: %s\n", t);
		cli_time(mtasts_result_expires_at(r), t, sizeof(t));
		printf("expires_at: %s\n", t);
	}
	printf("source:     %s\n", source_names[mtasts_result_source(r)]);
	for (i = 0; i < mtasts_result_error_count(r); i++)
		printf("error:      %s: %s\n", mtasts_result_error_type(r, i),
		    mtasts_result_error_detail(r, i));
	if (mtasts_result_dane(r) != MTASTS_DANE_UNCHECKED) {
		printf("dane:       %s: %s\n",
		    mtasts_dane_name(mtasts_result_dane(r)),
		    mtasts_result_dane_why(r));
		printf("apply:      %s\n",
		    mtasts_apply_name(mtasts_result_apply(r)));
	}
}

/* "DOMAIN: no complete decision: out of memory" */
static void
query_err(char *err, size_t errlen, const char *domain, int status)
{
	snprintf(err, errlen, "%s: no complete decision: %s", domain,
	    mtasts_strerror(status));
}

/* --json: the domain, no mode, and why (exit status 1). */
static void
query_json_error(const char *domain, const char *err)
{
	json_t *o = json_object();

	json_object_set_new(o, "domain", cli_jstr(domain));
	json_object_set_new(o, "mode", json_null());
	json_object_set_new(o, "error", cli_jstr(err));
	cli_json_print(o);
}

static int
query_run(const struct cli_global *g, const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "";
	struct mtasts_ctx *ctx = NULL;
	struct mtasts_result *res;
	int r, incomplete = 0;

	if (a->npos != 1)
		return cli_usage_error(usage_query, "query needs one DOMAIN");
	if ((r = mtasts_ctx_new(NULL, g->cfg, a->nocache ?
	    MTASTS_CTX_NOCACHE : 0, &ctx, err, sizeof(err))) != MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err);
		return r == MTASTS_ENOMEM ? EXIT_INVALID : EXIT_USAGE;
	}
	r = mtasts_query_wait(ctx, a->pos[0], 0, &res, err, sizeof(err));
	if (r == MTASTS_OK && (r = mtasts_result_status(res)) != MTASTS_OK) {
		/* Not a decision: what it holds may be weaker than the
		 * policy in force (RFC 8461 §5.1), so none is printed. */
		mtasts_result_free(res);
		incomplete = 1;
	}
	if (r != MTASTS_OK) {
		if (incomplete || r == MTASTS_ENOMEM) {
			query_err(err, sizeof(err), a->pos[0], r);
			if (a->json)
				query_json_error(a->pos[0], err);
		}
		fprintf(stderr, "mtasts: %s\n", err);
		mtasts_ctx_free(ctx);
		return r == MTASTS_ETIMEOUT || r == MTASTS_ENOMEM ?
		    EXIT_INVALID : EXIT_USAGE;
	}
	if (a->json)
		cli_json_print(cli_result_json(res));
	else
		cli_result_text(res);
	mtasts_result_free(res);
	mtasts_ctx_free(ctx);
	return EXIT_VALID;
}

int
cmd_query(const struct cli_global *g, int argc, char **argv)
{
	struct cli_args a;
	int r;

	if (cli_parse_args(argc, argv, CLI_OPT_NOCACHE, &a) != 0)
		r = cli_usage_error(usage_query, "bad arguments");
	else if (a.help) {
		fputs(usage_query, stdout);
		r = 0;
	} else
		r = query_run(g, &a);
	free(a.pos);
	return r;
}
