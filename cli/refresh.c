/*
 * refresh.c - mtasts refresh: refetch cached policies before they expire
 * (RFC 8461 §3.3, §10.2), a few at a time on one event loop, and alert
 * when an enforce or testing policy keeps failing to refresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <mtasts.h>

#include "cli.h"

static const char usage_refresh[] =
    "usage: mtasts [-c FILE] [-v] refresh [--jobs N] --all | DOMAIN...\n"
    "Exit status: 0 all refreshed or kept, 1 an enforce or testing policy\n"
    "failed to refresh repeatedly, 2 usage or configuration error.\n";

/* Failures in a row before an alert (§3.3 "SHOULD alert"). */
#define REFRESH_ALERT_AFTER	2

struct refresh {
	struct mtasts_ctx	*ctx;
	char			**domains;	/* owned */
	size_t			 n, size, next, done;
	int			 inflight, jobs, tty, alerts;
	unsigned int		 fetched, kept, nopolicy;
};

static void refresh_start_more(struct refresh *);

static int
refresh_add(struct refresh *rf, const char *domain)
{
	char **v;

	if (rf->n == rf->size) {
		rf->size = rf->size ? rf->size * 2 : 64;
		if ((v = realloc(rf->domains, rf->size * sizeof(*v))) == NULL)
			return -1;
		rf->domains = v;
	}
	if ((rf->domains[rf->n] = strdup(domain)) == NULL)
		return -1;
	rf->n++;
	return 0;
}

static int
refresh_on_cached(const struct mtasts_result *r, void *arg)
{
	struct refresh *rf = arg;

	if (mtasts_refresh_due(rf->ctx, r, (int64_t)time(NULL)) &&
	    refresh_add(rf, mtasts_result_domain(r)) != 0)
		return 1;
	return 0;
}

/* An enforce or testing policy that keeps failing is an alert (§3.3);
 * a cached "none" policy never is. */
static void
refresh_check_alert(struct refresh *rf, const char *domain)
{
	struct mtasts_result *c;
	char t[32];

	if (mtasts_cache_get(rf->ctx, domain, &c) != MTASTS_OK)
		return;
	if (mtasts_result_has_policy(c) &&
	    mtasts_result_mode(c) != MTASTS_MODE_NONE &&
	    mtasts_result_fail_count(c) >= REFRESH_ALERT_AFTER) {
		cli_time(mtasts_result_expires_at(c), t, sizeof(t));
		syslog(LOG_ALERT, "%s: %s policy failed to refresh %u times "
		    "in a row; it expires at %s", domain,
		    mtasts_result_mode_name(c), mtasts_result_fail_count(c), t);
		fprintf(stderr, "mtasts: ALERT: %s: %s policy failed to "
		    "refresh %u times in a row; it expires at %s\n", domain,
		    mtasts_result_mode_name(c), mtasts_result_fail_count(c), t);
		rf->alerts++;
	}
	mtasts_result_free(c);
}

static void
refresh_on_result(struct mtasts_result *res, void *arg)
{
	struct refresh *rf = arg;

	rf->inflight--;
	rf->done++;
	if (mtasts_result_source(res) == MTASTS_SOURCE_NETWORK)
		rf->fetched++;
	else if (mtasts_result_has_policy(res))
		rf->kept++;
	else
		rf->nopolicy++;
	if (mtasts_result_error_count(res) > 0)
		refresh_check_alert(rf, mtasts_result_domain(res));
	if (rf->tty)
		fprintf(stderr, "\rrefreshed %zu/%zu", rf->done, rf->n);
	mtasts_result_free(res);
	refresh_start_more(rf);
}

static void
refresh_start_more(struct refresh *rf)
{
	char err[MTASTS_ERRLEN];

	while (rf->inflight < rf->jobs && rf->next < rf->n) {
		const char *d = rf->domains[rf->next++];

		if (mtasts_query(rf->ctx, d, MTASTS_Q_REFRESH,
		    refresh_on_result, rf, err, sizeof(err)) != MTASTS_OK) {
			fprintf(stderr, "mtasts: %s\n", err);
			rf->done++;
			continue;
		}
		rf->inflight++;
	}
}

static int
refresh_run(const struct cli_global *g, const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "";
	struct event_base *base;
	struct refresh rf;
	size_t i;
	int rc = EXIT_VALID;

	if (a->all == (a->npos > 0))
		return cli_usage_error(usage_refresh, "give --all or domains");
	memset(&rf, 0, sizeof(rf));
	rf.jobs = a->jobs ? a->jobs : 4;
	rf.tty = isatty(STDERR_FILENO);
	if ((base = event_base_new()) == NULL ||
	    mtasts_ctx_new(base, g->cfg, 0, &rf.ctx, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err[0] ? err : "no memory");
		if (base != NULL)
			event_base_free(base);
		return EXIT_USAGE;
	}
	for (i = 0; i < (size_t)a->npos; i++)
		if (refresh_add(&rf, a->pos[i]) != 0)
			rc = EXIT_USAGE;
	if (a->all && mtasts_cache_foreach(rf.ctx, refresh_on_cached, &rf) !=
	    MTASTS_OK)
		rc = EXIT_USAGE;
	if (rc == EXIT_VALID) {
		refresh_start_more(&rf);
		if (rf.inflight > 0)
			event_base_dispatch(base);
	}
	if (rf.tty && rf.n > 0)
		fputc('\n', stderr);
	printf("%zu due: %u fetched, %u kept from the cache, %u without "
	    "policy, %d alert%s\n", rf.n, rf.fetched, rf.kept, rf.nopolicy,
	    rf.alerts, rf.alerts == 1 ? "" : "s");
	mtasts_ctx_free(rf.ctx);
	event_base_free(base);
	for (i = 0; i < rf.n; i++)
		free(rf.domains[i]);
	free(rf.domains);
	if (rc == EXIT_VALID && rf.alerts > 0)
		rc = EXIT_INVALID;
	return rc;
}

int
cmd_refresh(const struct cli_global *g, int argc, char **argv)
{
	struct cli_args a;
	int r;

	if (cli_parse_args(argc, argv, CLI_OPT_ALL | CLI_OPT_JOBS, &a) != 0)
		r = cli_usage_error(usage_refresh, "bad arguments");
	else if (a.help) {
		fputs(usage_refresh, stdout);
		r = 0;
	} else
		r = refresh_run(g, &a);
	free(a.pos);
	return r;
}
