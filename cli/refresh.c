/*
 * refresh.c - mtasts refresh: refetch cached policies before they expire
 * (RFC 8461 §3.3, §10.2), a few at a time on one event loop, and alert
 * when an enforce or testing policy keeps failing to refresh, or when
 * an enforce policy whose refresh failed expires within a day.  Shows
 * its progress: one updating line on a terminal, log lines otherwise.
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
    "usage: mtasts [-c FILE] [-v] refresh [--jobs N] [--jitter S] --all | "
    "DOMAIN...\n"
    "Exit status: 0 all refreshed or kept, 1 an enforce or testing policy\n"
    "failed to refresh repeatedly, 2 usage or configuration error.\n";

/* Failures in a row before an alert (§3.3 "SHOULD alert"). */
#define REFRESH_ALERT_AFTER	2
/* An enforce policy this close to expiry with a failed refresh: warn
 * (the same window as the mtasts_policies_lapsing gauge). */
#define REFRESH_LAPSE_WINDOW	86400
/* Progress: a terminal line at most this often (ms); log lines at each
 * tenth of the work. */
#define REFRESH_DRAW_MS		200

struct refresh {
	struct mtasts_ctx	*ctx;
	char			**domains;	/* owned */
	size_t			 n, size, next, done;
	int			 inflight, jobs, tty, alerts, lapsing;
	unsigned int		 fetched, kept, nopolicy, failed;
	int64_t			 start_ms, drawn_ms; /* monotonic */
	size_t			 logged;	/* done at the last line */
};

static int64_t
refresh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* done/total, failures and rate: one line rewritten in place on a
 * terminal; on a log (systemd's journal) a line per tenth, and the
 * last. */
static void
refresh_progress(struct refresh *rf, int last)
{
	int64_t now = refresh_now_ms();
	double secs = (double)(now - rf->start_ms) / 1000.0;
	double rate = secs > 0.001 ? (double)rf->done / secs : 0.0;
	size_t step = rf->n >= 10 ? rf->n / 10 : 1;

	if (rf->tty) {
		if (!last && now - rf->drawn_ms < REFRESH_DRAW_MS)
			return;
		rf->drawn_ms = now;
		fprintf(stderr, "\r\033[Krefresh: %zu/%zu done, %u failed, "
		    "%.1f/s", rf->done, rf->n, rf->failed, rate);
		if (last)
			fputc('\n', stderr);
		return;
	}
	if (!last && rf->done < rf->logged + step)
		return;
	rf->logged = rf->done;
	fprintf(stderr, "mtasts: refresh: %zu/%zu done, %u failed, %.1f/s\n",
	    rf->done, rf->n, rf->failed, rate);
}

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

/* RFC 8461 §10.2: when an enforce policy expires unrefreshed, the
 * protection ends without a word.  Say so while there is time. */
static void
refresh_check_lapse(struct refresh *rf, const struct mtasts_result *c,
    const struct mtasts_result *res)
{
	int64_t left = mtasts_result_expires_at(c) - (int64_t)time(NULL);
	const char *why = mtasts_result_error_count(res) > 0 ?
	    mtasts_result_error_detail(res, 0) : "";
	char t[32];

	if (!mtasts_result_has_policy(c) || mtasts_result_mode(c) !=
	    MTASTS_MODE_ENFORCE || left <= 0 || left > REFRESH_LAPSE_WINDOW)
		return;
	cli_time(mtasts_result_expires_at(c), t, sizeof(t));
	syslog(LOG_WARNING, "%s: enforce policy id %s expires in %lldh%02lldm "
	    "(%s) and its refresh failed: %s", mtasts_result_domain(c),
	    mtasts_result_id(c), (long long)(left / 3600),
	    (long long)(left % 3600 / 60), t, why);
	fprintf(stderr, "%smtasts: WARNING: %s: enforce policy id %s expires "
	    "in %lldh%02lldm (%s) and its refresh failed: %s\n",
	    rf->tty ? "\r\033[K" : "", mtasts_result_domain(c),
	    mtasts_result_id(c), (long long)(left / 3600),
	    (long long)(left % 3600 / 60), t, why);
	rf->lapsing++;
}

/* An enforce or testing policy that keeps failing is an alert (§3.3);
 * a cached "none" policy never is. */
static void
refresh_check_alert(struct refresh *rf, const struct mtasts_result *res)
{
	const char *domain = mtasts_result_domain(res);
	struct mtasts_result *c;
	char t[32];

	if (mtasts_cache_get(rf->ctx, domain, &c) != MTASTS_OK)
		return;
	refresh_check_lapse(rf, c, res);
	if (mtasts_result_has_policy(c) &&
	    mtasts_result_mode(c) != MTASTS_MODE_NONE &&
	    mtasts_result_fail_count(c) >= REFRESH_ALERT_AFTER) {
		cli_time(mtasts_result_expires_at(c), t, sizeof(t));
		syslog(LOG_ALERT, "%s: %s policy failed to refresh %u times "
		    "in a row; it expires at %s", domain,
		    mtasts_result_mode_name(c), mtasts_result_fail_count(c), t);
		fprintf(stderr, "%smtasts: ALERT: %s: %s policy failed to "
		    "refresh %u times in a row; it expires at %s\n",
		    rf->tty ? "\r\033[K" : "", domain,
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
	/* A policy fetched (strict_testing notes are no failure), or none
	 * to fetch, is done; errors without a fetch are a failure. */
	if (mtasts_result_error_count(res) > 0 &&
	    mtasts_result_source(res) != MTASTS_SOURCE_NETWORK) {
		rf->failed++;
		refresh_check_alert(rf, res);
	}
	refresh_progress(rf, 0);
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
			rf->failed++;
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
	/* A fleet started by cron at one time spreads its fetches over
	 * the jitter (systemd's timer has RandomizedDelaySec instead). */
	if (a->jitter > 0)
		sleep(arc4random_uniform((uint32_t)a->jitter));
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
		rf.start_ms = refresh_now_ms();
		refresh_start_more(&rf);
		if (rf.inflight > 0)
			event_base_dispatch(base);
		if (rf.n > 0)
			refresh_progress(&rf, 1);
	}
	printf("%zu due: %u fetched, %u kept from the cache, %u without "
	    "policy, %u failed, %d alert%s, %d expiring\n", rf.n, rf.fetched,
	    rf.kept, rf.nopolicy, rf.failed, rf.alerts,
	    rf.alerts == 1 ? "" : "s", rf.lapsing);
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

	if (cli_parse_args(argc, argv, CLI_OPT_ALL | CLI_OPT_JOBS |
	    CLI_OPT_JITTER, &a) != 0)
		r = cli_usage_error(usage_refresh, "bad arguments");
	else if (a.help) {
		fputs(usage_refresh, stdout);
		r = 0;
	} else
		r = refresh_run(g, &a);
	free(a.pos);
	return r;
}
