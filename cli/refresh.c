/*
 * refresh.c - mtasts refresh: refetch cached policies before they expire
 * (RFC 8461 §3.3, §10.2), a few at a time on one event loop, and alert
 * when an enforce or testing policy keeps failing to refresh, or when
 * an enforce policy whose refresh failed expires within a day.  Shows
 * its progress: one updating line on a terminal, log lines otherwise.
 *
 * A long list is shared among worker processes (--procs): one event
 * loop spends most of its time in the TLS handshakes of the fetches and
 * keeps one core busy (issue 16: 100 000 domains).  Each worker has its
 * own context and takes turns at the cache like any other process
 * (cache.c); the parent only adds up what they report through a pipe.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
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
    "usage: mtasts [-c FILE] [-v] refresh [--jobs N] [--procs N] "
    "[--jitter S]\n    --all | "
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
/* Workers: at most this many, and each with at least REFRESH_PER_PROC
 * domains (a short list is not worth a fork). */
#define REFRESH_PROCS_MAX	64
#define REFRESH_PER_PROC	64

struct refresh {
	struct mtasts_ctx	*ctx;
	char			**domains;	/* owned */
	size_t			 n, size, next, done;
	size_t			 first, step;	/* a worker's share: first,
						 * first + step, ... */
	int			 inflight, jobs, tty, alerts, lapsing;
	unsigned int		 fetched, kept, nopolicy, failed;
	int64_t			 start_ms, drawn_ms; /* monotonic */
	size_t			 logged;	/* done at the last line */
	int			 report;	/* worker: pipe to the parent,
						 * else -1 */
};

/* A worker's report: one per domain done, and the totals at the end.
 * Smaller than PIPE_BUF, so each write arrives whole. */
struct refresh_msg {
	int32_t		 kind;		/* REFRESH_MSG_* */
	uint32_t	 v[6];		/* DONE: failed; END: the counters */
};
#define REFRESH_MSG_DONE	1
#define REFRESH_MSG_END		2

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

	if (rf->report >= 0)
		return;		/* the parent draws */
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

/* A worker tells the parent; a parent that is gone hears nothing (the
 * worker dies with it, PR_SET_PDEATHSIG). */
static void
refresh_tell(struct refresh *rf, int kind, int failed)
{
	struct refresh_msg m;

	if (rf->report < 0)
		return;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	if (kind == REFRESH_MSG_DONE)
		m.v[0] = failed != 0;
	else {
		m.v[0] = rf->fetched;
		m.v[1] = rf->kept;
		m.v[2] = rf->nopolicy;
		m.v[3] = rf->failed;
		m.v[4] = (uint32_t)rf->alerts;
		m.v[5] = (uint32_t)rf->lapsing;
	}
	while (write(rf->report, &m, sizeof(m)) == -1 && errno == EINTR)
		;
}

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
	unsigned int failed = rf->failed;

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
	refresh_tell(rf, REFRESH_MSG_DONE, rf->failed != failed);
	refresh_progress(rf, 0);
	mtasts_result_free(res);
	refresh_start_more(rf);
}

static void
refresh_start_more(struct refresh *rf)
{
	char err[MTASTS_ERRLEN];

	while (rf->inflight < rf->jobs && rf->next < rf->n) {
		const char *d = rf->domains[rf->next];

		rf->next += rf->step;
		if (mtasts_query(rf->ctx, d, MTASTS_Q_REFRESH,
		    refresh_on_result, rf, err, sizeof(err)) != MTASTS_OK) {
			fprintf(stderr, "mtasts: %s\n", err);
			rf->done++;
			rf->failed++;
			refresh_tell(rf, REFRESH_MSG_DONE, 1);
			continue;
		}
		rf->inflight++;
	}
}

/* This process's share of the list, on base. */
static void
refresh_loop(struct refresh *rf, struct event_base *base)
{
	rf->next = rf->first;
	refresh_start_more(rf);
	if (rf->inflight > 0)
		event_base_dispatch(base);
}

/* A worker: its own loop and context (nothing of the parent's is used
 * after fork), its share, its report; it never returns. */
static void
refresh_worker(const struct cli_global *g, struct refresh *rf, int fd,
    pid_t parent)
{
	char err[MTASTS_ERRLEN] = "";
	struct event_base *base;

	/* A refresh killed (a timeout of its service) is killed whole. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(EXIT_USAGE);
	rf->report = fd;
	if ((base = event_base_new()) == NULL ||
	    mtasts_ctx_new(base, g->cfg, 0, &rf->ctx, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err[0] ? err : "no memory");
		_exit(EXIT_USAGE);
	}
	refresh_loop(rf, base);
	refresh_tell(rf, REFRESH_MSG_END, 0);
	mtasts_ctx_free(rf->ctx);
	event_base_free(base);
	_exit(EXIT_VALID);
}

/* Add up one worker's report; 0 when its pipe is done. */
static int
refresh_on_report(struct refresh *rf, int fd, size_t *got, int *ended)
{
	struct refresh_msg m;
	ssize_t r;

	if ((r = read(fd, &m, sizeof(m))) == -1 && (errno == EINTR ||
	    errno == EAGAIN))
		return 1;
	if (r != (ssize_t)sizeof(m))
		return 0;	/* EOF (whole messages only: see above) */
	if (m.kind == REFRESH_MSG_DONE) {
		rf->done++;
		rf->failed += m.v[0] != 0;
		(*got)++;
	} else if (m.kind == REFRESH_MSG_END) {
		rf->fetched += m.v[0];
		rf->kept += m.v[1];
		rf->nopolicy += m.v[2];
		rf->alerts += (int)m.v[4];
		rf->lapsing += (int)m.v[5];
		*ended = 1;
	}
	return 1;
}

/* Start procs workers; -1 if none could be (then nothing ran). */
static int
refresh_spawn(const struct cli_global *g, struct refresh *rf, int procs,
    struct pollfd *pfd, pid_t *pid)
{
	pid_t me = getpid();
	int k, j, fds[2], jobs = rf->jobs;

	fflush(stdout);
	fflush(stderr);
	for (k = 0; k < procs; k++) {
		if (pipe(fds) == -1)
			break;
		if ((pid[k] = fork()) == -1) {
			close(fds[0]);
			close(fds[1]);
			break;
		}
		if (pid[k] == 0) {
			for (j = 0; j < k; j++)
				close(pfd[j].fd);
			close(fds[0]);
			rf->first = (size_t)k;
			rf->step = (size_t)procs;
			/* --jobs stays the total in flight. */
			rf->jobs = jobs / procs + (k < jobs % procs);
			refresh_worker(g, rf, fds[1], me);
		}
		close(fds[1]);
		pfd[k].fd = fds[0];
		pfd[k].events = POLLIN;
	}
	if (k == procs)
		return 0;
	/* Each share was cut for procs workers: stop those started (the
	 * cache survives a kill anywhere) and refresh in this process. */
	fprintf(stderr, "mtasts: cannot start refresh worker %d: %s; "
	    "refreshing in one process\n", k + 1, strerror(errno));
	for (j = 0; j < k; j++) {
		kill(pid[j], SIGKILL);
		close(pfd[j].fd);
		waitpid(pid[j], NULL, 0);
	}
	return -1;
}

/* The parent of procs workers: show their progress, add up their
 * counts.  A worker that ends without its totals leaves its undone
 * domains failed. */
static int
refresh_fork(const struct cli_global *g, struct refresh *rf, int procs)
{
	struct pollfd pfd[REFRESH_PROCS_MAX];
	pid_t pid[REFRESH_PROCS_MAX], w;
	size_t got[REFRESH_PROCS_MAX], share;
	int ended[REFRESH_PROCS_MAX], k, left = procs, st, rc = EXIT_VALID;

	if (refresh_spawn(g, rf, procs, pfd, pid) == -1)
		return -1;
	memset(got, 0, sizeof(got));
	memset(ended, 0, sizeof(ended));
	while (left > 0) {
		if (poll(pfd, (nfds_t)procs, REFRESH_DRAW_MS) == -1 &&
		    errno != EINTR)
			break;
		for (k = 0; k < procs; k++) {
			if (pfd[k].fd < 0 || pfd[k].revents == 0 ||
			    refresh_on_report(rf, pfd[k].fd, &got[k],
			    &ended[k]))
				continue;
			close(pfd[k].fd);
			pfd[k].fd = -1;
			left--;
		}
		refresh_progress(rf, 0);
	}
	for (k = 0; k < procs; k++) {
		if (pfd[k].fd >= 0)
			close(pfd[k].fd);
		st = 0;
		while ((w = waitpid(pid[k], &st, 0)) == -1 && errno == EINTR)
			;
		/* ECHILD (SIGCHLD ignored by whoever started us): no
		 * status to read; its totals, if any, came by the pipe. */
		if (w != -1 && WIFEXITED(st) && WEXITSTATUS(st) == EXIT_USAGE)
			rc = EXIT_USAGE;
		if (ended[k])
			continue;
		share = (rf->n - (size_t)k + (size_t)procs - 1) /
		    (size_t)procs;
		fprintf(stderr, "%smtasts: refresh worker %d ended early; "
		    "%zu of its %zu domains not refreshed\n",
		    rf->tty ? "\r\033[K" : "", k + 1, share - got[k], share);
		rf->done += share - got[k];
		rf->failed += share - got[k];
		if (rc == EXIT_VALID)
			rc = EXIT_INVALID;
	}
	return rc;
}

/* Workers for n domains: --procs, else one per core up to 4; each
 * with REFRESH_PER_PROC domains and one job at least. */
static int
refresh_procs(const struct cli_args *a, size_t n, int jobs)
{
	long p = a->procs;

	if (p == 0 && (p = sysconf(_SC_NPROCESSORS_ONLN)) > 4)
		p = 4;
	if (p > REFRESH_PROCS_MAX)
		p = REFRESH_PROCS_MAX;
	if (p > jobs)
		p = jobs;
	if ((size_t)p > n / REFRESH_PER_PROC)
		p = (long)(n / REFRESH_PER_PROC);
	return p > 1 ? (int)p : 1;
}

static int
refresh_run(const struct cli_global *g, const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "";
	struct event_base *base;
	struct refresh rf;
	size_t i;
	int rc = EXIT_VALID, procs;

	if (a->all == (a->npos > 0))
		return cli_usage_error(usage_refresh, "give --all or domains");
	memset(&rf, 0, sizeof(rf));
	rf.jobs = a->jobs ? a->jobs : 4;
	rf.tty = isatty(STDERR_FILENO);
	rf.step = 1;
	rf.report = -1;
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
	procs = refresh_procs(a, rf.n, rf.jobs);
	if (rc == EXIT_VALID) {
		rf.start_ms = refresh_now_ms();
		if (procs > 1) {
			/* The workers make their own. */
			mtasts_ctx_free(rf.ctx);
			rf.ctx = NULL;
			event_base_free(base);
			base = NULL;
			if ((rc = refresh_fork(g, &rf, procs)) == -1) {
				rc = EXIT_VALID;
				procs = 1;
				if ((base = event_base_new()) == NULL ||
				    mtasts_ctx_new(base, g->cfg, 0, &rf.ctx,
				    err, sizeof(err)) != MTASTS_OK) {
					fprintf(stderr, "mtasts: %s\n",
					    err[0] ? err : "no memory");
					rc = EXIT_USAGE;
				}
			}
		}
		if (procs == 1 && rc == EXIT_VALID)
			refresh_loop(&rf, base);
		if (rf.n > 0)
			refresh_progress(&rf, 1);
	}
	printf("%zu due: %u fetched, %u kept from the cache, %u without "
	    "policy, %u failed, %d alert%s, %d expiring\n", rf.n, rf.fetched,
	    rf.kept, rf.nopolicy, rf.failed, rf.alerts,
	    rf.alerts == 1 ? "" : "s", rf.lapsing);
	if (rf.ctx != NULL)
		mtasts_ctx_free(rf.ctx);
	if (base != NULL)
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
	    CLI_OPT_JITTER | CLI_OPT_PROCS, &a) != 0)
		r = cli_usage_error(usage_refresh, "bad arguments");
	else if (a.help) {
		fputs(usage_refresh, stdout);
		r = 0;
	} else
		r = refresh_run(g, &a);
	free(a.pos);
	return r;
}
