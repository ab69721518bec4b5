/*
 * report.c - mtasts report counts: the TLS results counted so far for
 * TLSRPT (RFC 8460 §4.3), per UTC day, policy domain, policy (type and
 * id), result, MX host and MX address, as the MTA adapters recorded
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_report[] =
    "usage: mtasts [-c FILE] report counts [--json] [DATE]\n"
    "       mtasts [-c FILE] report show [--json] [--date DATE]\n"
    "       mtasts [-c FILE] report generate [--date DATE] --out DIR\n"
    "       mtasts [-c FILE] report send [--date DATE] [--out DIR]\n"
    "DATE is YYYY-MM-DD (UTC); show, generate and send default to "
    "yesterday.\n";

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

int
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

static int
report_counts(struct mtasts_ctx *ctx, const struct cli_args *a)
{
	struct report_walk w;
	int r;

	memset(&w, 0, sizeof(w));
	if (a->npos > 1 || (a->npos == 1 && !report_date_ok(a->pos[0])))
		return cli_usage_error(usage_report, "DATE is YYYY-MM-DD");
	w.date = a->npos == 1 ? a->pos[0] : NULL;
	w.arr = a->json ? json_array() : NULL;
	if ((r = mtasts_tls_result_foreach(ctx, report_on_count, &w)) !=
	    MTASTS_OK) {
		fprintf(stderr, "mtasts: report: %s\n", mtasts_strerror(r));
		json_decref(w.arr);
		return EXIT_USAGE;
	}
	if (w.arr != NULL)
		cli_json_print(w.arr);
	return EXIT_VALID;
}

/* The configured report metadata (mtasts.conf(5) report_*). */
static void
report_meta(const struct cli_global *g, struct tlsrpt_meta *m, char *org,
    char *contact, char *sub, size_t size)
{
	cli_config_value(g, "report_organization", org, size);
	cli_config_value(g, "report_contact", contact, size);
	cli_config_value(g, "report_submitter", sub, size);
	m->org = org;
	m->contact = contact;
	m->submitter = sub;
}

/* The report gzip-compressed (RFC 8460 §5.2) into path. */
static int
report_gzip(const char *path, json_t *rep)
{
	char *s;
	gzFile gz;
	int ok;

	if ((s = json_dumps(rep, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		return -1;
	if ((gz = gzopen(path, "wb9")) == NULL) {
		free(s);
		return -1;
	}
	ok = gzwrite(gz, s, (unsigned)strlen(s)) == (int)strlen(s);
	ok = gzclose(gz) == Z_OK && ok;
	free(s);
	return ok ? 0 : -1;
}

/* RFC 8460 §5.1: submitter!policy-domain!begin!end!unique.json.gz;
 * with keep, a report already there stays as it is (and maybe sent):
 * 1 then, 0 when written, -1 on error. */
static int
report_write(const char *dir, const struct tlsrpt_meta *m,
    const char *domain, json_t *rep, int keep)
{
	char path[4096], tmp[4200];
	struct tm tm;
	time_t begin;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(m->date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday) != 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	begin = timegm(&tm);
	if (snprintf(path, sizeof(path), "%s/%s!%s!%lld!%lld!%lld.json.gz", dir,
	    m->submitter, domain, (long long)begin, (long long)begin + 86399,
	    (long long)begin) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (keep && access(path, F_OK) == 0)
		return 1;
	if (report_gzip(tmp, rep) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "mtasts: report: cannot write %s\n", path);
		unlink(tmp);
		return -1;
	}
	printf("%s\n", path);
	return 0;
}

/* report show without --json: per domain, its policies, their counts
 * and failure details, one line each. */
static int	report_generate_as(const struct cli_global *,
		    struct mtasts_ctx *, const char *, const char *, int, int);

static const char *
report_str(json_t *v)
{
	return json_string_value(v) != NULL ? json_string_value(v) : "-";
}

static void
report_print(json_t *reps, const char *date)
{
	json_t *rep, *pol, *fd;
	const char *domain;
	size_t i, j;

	printf("TLS reports for %s (UTC)%s\n", date,
	    json_object_size(reps) == 0 ? ": no results" : "");
	json_object_foreach(reps, domain, rep) {
		printf("%s\n", domain);
		json_array_foreach(json_object_get(rep, "policies"), i, pol) {
			json_t *sum = json_object_get(pol, "summary");

			printf("  policy %s: %lld successful, %lld failed\n",
			    report_str(json_object_get(json_object_get(pol,
			    "policy"), "policy-type")),
			    (long long)json_integer_value(json_object_get(sum,
			    "total-successful-session-count")),
			    (long long)json_integer_value(json_object_get(sum,
			    "total-failure-session-count")));
			json_array_foreach(json_object_get(pol,
			    "failure-details"), j, fd)
				printf("    %lld x %s at %s\n",
				    (long long)json_integer_value(
				    json_object_get(fd,
				    "failed-session-count")),
				    report_str(json_object_get(fd,
				    "result-type")),
				    report_str(json_object_get(fd,
				    "receiving-mx-hostname")));
		}
	}
}

/* The reports of date (default yesterday) into dir; see report_write. */
int
report_generate(const struct cli_global *g, struct mtasts_ctx *ctx,
    const char *date, const char *dir, int keep)
{
	return report_generate_as(g, ctx, date, dir, keep, 1);
}

/* ... or without dir, printed: JSON, or a summary (report_print). */
static int
report_generate_as(const struct cli_global *g, struct mtasts_ctx *ctx,
    const char *date, const char *dir, int keep, int json)
{
	char org[256], contact[256], sub[256], day[16];
	struct tlsrpt_meta m;
	const char *domain;
	json_t *reps, *rep;
	time_t y = time(NULL) - 86400;
	struct tm tm;
	int rc = EXIT_VALID;

	gmtime_r(&y, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	m.date = date != NULL ? date : day;
	report_meta(g, &m, org, contact, sub, sizeof(org));
	if (dir != NULL && (!org[0] || !contact[0] || !sub[0]))
		return cli_usage_error(usage_report, "set report_organization, "
		    "report_contact and report_submitter in mtasts.conf");
	if ((reps = tlsrpt_reports(ctx, &m)) == NULL) {
		fprintf(stderr, "mtasts: report: cannot read the counters\n");
		return EXIT_USAGE;
	}
	if (dir == NULL && json) {
		cli_json_print(reps);	/* frees reps */
		return EXIT_VALID;
	}
	if (dir == NULL) {
		report_print(reps, m.date);
		json_decref(reps);
		return EXIT_VALID;
	}
	json_object_foreach(reps, domain, rep) {
		int w = report_write(dir, &m, domain, rep, keep);

		if (w < 0)
			rc = EXIT_INVALID;
		else if (w == 0)
			(void)mtasts_metric_add(ctx,
			    "mtasts_reports_generated_total", NULL, 1);
	}
	json_decref(reps);
	return rc;
}

static int
report_build(const struct cli_global *g, struct mtasts_ctx *ctx,
    const struct cli_args *a, int generate)
{
	if (a->npos != 0 || (a->date != NULL && !report_date_ok(a->date)) ||
	    (generate && a->out == NULL))
		return cli_usage_error(usage_report, "bad arguments");
	return report_generate_as(g, ctx, a->date, generate ? a->out : NULL,
	    0, a->json);
}

int
cmd_report(const struct cli_global *g, int argc, char **argv)
{
	char err[MTASTS_ERRLEN];
	struct mtasts_ctx *ctx;
	struct cli_args a;
	int r, what;

	if (argc < 1 || ((what = strcmp(argv[0], "counts") == 0 ? 0 :
	    strcmp(argv[0], "show") == 0 ? 1 : strcmp(argv[0], "generate") ==
	    0 ? 2 : strcmp(argv[0], "send") == 0 ? 3 : -1) < 0))
		return cli_usage_error(usage_report, "give a report command");
	if (cli_parse_args(argc - 1, argv + 1, CLI_OPT_REPORT, &a) != 0) {
		free(a.pos);
		return cli_usage_error(usage_report, "bad arguments");
	}
	if (a.help) {
		fputs(usage_report, stdout);
		free(a.pos);
		return EXIT_VALID;
	}
	/* send writes: it forgets results older than report_retention;
	 * both it and generate count reports (mtasts_reports_*_total). */
	if (mtasts_ctx_new(NULL, g->cfg, what >= 2 ? 0 : MTASTS_CTX_RDONLY,
	    &ctx, err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err);
		free(a.pos);
		return EXIT_USAGE;
	}
	if (what == 3 && (a.npos != 0 || (a.date != NULL &&
	    !report_date_ok(a.date))))
		r = cli_usage_error(usage_report, "bad arguments");
	else if (what == 3)
		r = report_send(g, ctx, a.date, a.out);
	else
		r = what == 0 ? report_counts(ctx, &a) : report_build(g, ctx,
		    &a, what == 2);
	mtasts_ctx_free(ctx);
	free(a.pos);
	return r;
}
