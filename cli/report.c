/*
 * report.c - mtasts report counts: the TLS results counted so far for
 * TLSRPT (RFC 8460 §4.3), per UTC day, policy domain, policy (type and
 * id), result, MX host and MX address, as the MTA adapters recorded
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_report[] =
    "usage: mtasts [-c FILE] report counts [--json] [DATE]\n"
    "DATE is YYYY-MM-DD (UTC); without it, every day kept.\n";

struct report_walk {
	const char	*date;
	json_t		*arr;		/* --json */
	unsigned long	 n;
};

static int
report_on_count(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *type, const char *mx, const char *ip,
    uint64_t count, void *arg)
{
	struct report_walk *w = arg;
	json_t *o;

	if (w->date != NULL && strcmp(w->date, day) != 0)
		return 0;
	w->n++;
	if (w->arr == NULL) {
		printf("%s %-24s %-15s %-12s %-26s %-24s %-15s %llu\n", day,
		    domain, ptype, pid, type, mx, ip,
		    (unsigned long long)count);
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "date", cli_jstr(day));
	json_object_set_new(o, "domain", cli_jstr(domain));
	json_object_set_new(o, "policy_type", cli_jstr(ptype));
	json_object_set_new(o, "policy_id", cli_jstr(pid));
	json_object_set_new(o, "result", cli_jstr(type));
	json_object_set_new(o, "mx", cli_jstr(mx));
	json_object_set_new(o, "ip", cli_jstr(ip));
	json_object_set_new(o, "count", json_integer((json_int_t)count));
	json_array_append_new(w->arr, o);
	return 0;
}

static int
report_date_ok(const char *d)
{
	size_t i;

	if (strlen(d) != 10)
		return 0;
	for (i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? d[i] != '-' : (d[i] < '0' ||
		    d[i] > '9'))
			return 0;
	return 1;
}

int
cmd_report(const struct cli_global *g, int argc, char **argv)
{
	char err[MTASTS_ERRLEN];
	struct report_walk w;
	struct mtasts_ctx *ctx;
	struct cli_args a;
	int r;

	if (argc < 1 || strcmp(argv[0], "counts") != 0)
		return cli_usage_error(usage_report, "give a report command");
	if (cli_parse_args(argc - 1, argv + 1, 0, &a) != 0)
		return cli_usage_error(usage_report, "bad arguments");
	if (a.help) {
		fputs(usage_report, stdout);
		free(a.pos);
		return EXIT_VALID;
	}
	memset(&w, 0, sizeof(w));
	if (a.npos > 1 || (a.npos == 1 && !report_date_ok(a.pos[0]))) {
		free(a.pos);
		return cli_usage_error(usage_report, "DATE is YYYY-MM-DD");
	}
	w.date = a.npos == 1 ? a.pos[0] : NULL;
	if (mtasts_ctx_new(NULL, g->cfg, MTASTS_CTX_RDONLY, &ctx, err,
	    sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err);
		free(a.pos);
		return EXIT_USAGE;
	}
	w.arr = a.json ? json_array() : NULL;
	r = mtasts_tls_result_foreach(ctx, report_on_count, &w);
	mtasts_ctx_free(ctx);
	free(a.pos);
	if (r != MTASTS_OK) {
		fprintf(stderr, "mtasts: report: %s\n", mtasts_strerror(r));
		json_decref(w.arr);
		return EXIT_USAGE;
	}
	if (w.arr != NULL)
		cli_json_print(w.arr);
	return EXIT_VALID;
}
