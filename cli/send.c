/*
 * send.c - mtasts report send: generate the day's reports (once), then
 * deliver every report in the report directory that is due, to the rua
 * of its policy domain's _smtp._tls record (RFC 8460 §3): https by POST
 * (§5.4), mailto by the local MTA (§5.3).  A report is delivered once
 * one endpoint accepted it; otherwise it is retried at later runs with
 * a doubling delay for up to 24 h (§5.5).  Its state lives next to it
 * in NAME.state; one run at a time (flock on .send.lock).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <mtasts.h>

#include "cli.h"
#include "send.h"

#define SEND_FILES_MAX	65536		/* reports looked at per run */
#define SEND_AGE_MAX	(3 * 86400)	/* older reports are done (§5.5) */
#define SEND_RUA_MAX	8		/* rua URIs tried per report */
#define SEND_GZ_MAX	(16u << 20)	/* a report file, compressed */
#define SEND_JSON_MAX	(64u << 20)	/* and its JSON */
#define SEND_ARGV_MAX	16		/* words of report_sendmail */

struct send_run {
	const struct cli_global	*g;
	struct mtasts_ctx	*ctx;
	const char		*dir;
	char			 sendmail[256];
	char			 org[256], contact[256], submitter[256];
	unsigned int		 retry;
	int64_t			 now;
	int			 failed;	/* reports not delivered */
};

/* One report file, as far as delivery needs it. */
struct send_report {
	const char	*name;		/* §5.1 file name */
	char		 domain[MTASTS_DOMAIN_MAX + 1];
	char		 date[16];	/* YYYY-MM-DD of its begin */
	char		 id[256];	/* the JSON report-id */
	unsigned char	*gz;
	size_t		 gzlen;
};

static int
send_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > max ||
	    (*out = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, *out, (size_t)st.st_size + 1);
	close(fd);
	if (n != (ssize_t)st.st_size) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* Written beside the report, then renamed: never half a state. */
static int
send_state_save(const struct send_run *run, const char *name,
    const struct send_state *st)
{
	char path[4096], tmp[4200], buf[SEND_STATE_MAX];
	int fd, n, ok;

	if ((n = send_state_format(st, buf, sizeof(buf))) < 0 ||
	    snprintf(path, sizeof(path), "%s/%s.state", run->dir, name) >=
	    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) < 0)
		return -1;
	ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* 0 with the state (a fresh one if there is no file), -1 if damaged. */
static int
send_state_load(const struct send_run *run, const char *name,
    struct send_state *st)
{
	char path[4096], why[128], *buf;
	size_t len;
	int r;

	memset(st, 0, sizeof(*st));
	if (snprintf(path, sizeof(path), "%s/%s.state", run->dir, name) >=
	    (int)sizeof(path))
		return -1;
	if (send_read_file(path, SEND_STATE_MAX, &buf, &len) != 0)
		return errno == ENOENT ? 0 : -1;
	if ((r = send_state_parse(buf, len, st, why, sizeof(why))) != 0)
		fprintf(stderr, "mtasts: report send: %s: %s\n", path, why);
	free(buf);
	return r;
}

/* submitter!domain!begin!end!unique.json.gz (RFC 8460 §5.1) */
static int
send_parse_name(struct send_report *rep)
{
	const char *f[5], *p = rep->name;
	char *end;
	long long begin;
	time_t t;
	struct tm tm;
	size_t i, n;

	for (i = 0; i < 5 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '!')) != NULL)
			p++;
	}
	if (i != 5 || p != NULL || (n = (size_t)(f[2] - f[1] - 1)) == 0 ||
	    mtasts_domain_normalize(f[1], n, rep->domain,
	    sizeof(rep->domain), NULL, 0) != MTASTS_OK)
		return -1;
	begin = strtoll(f[2], &end, 10);
	if (end != f[3] - 1 || begin < 0 || begin > 253402300799LL)
		return -1;
	t = (time_t)begin;
	gmtime_r(&t, &tm);
	strftime(rep->date, sizeof(rep->date), "%Y-%m-%d", &tm);
	return 0;
}

/* The report-id inside the gzip JSON (§5.6: the JSON is what counts). */
static int
send_report_id(struct send_report *rep)
{
	z_stream z;
	json_t *j;
	char *json;
	const char *id;
	size_t i;
	int r;

	memset(&z, 0, sizeof(z));
	if ((json = malloc(SEND_JSON_MAX)) == NULL ||
	    inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(json);
		return -1;
	}
	z.next_in = rep->gz;
	z.avail_in = (uInt)rep->gzlen;
	z.next_out = (Bytef *)json;
	z.avail_out = SEND_JSON_MAX;
	r = inflate(&z, Z_FINISH);
	j = r == Z_STREAM_END ? json_loadb(json, z.total_out,
	    JSON_REJECT_DUPLICATES, NULL) : NULL;
	inflateEnd(&z);
	free(json);
	id = json_string_value(json_object_get(j, "report-id"));
	r = id == NULL || strlen(id) >= sizeof(rep->id) ? -1 : 0;
	for (i = 0; r == 0 && id[i] != '\0'; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' &&
		    id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
		    strchr(".-_@", id[i]) != NULL))
			r = -1;		/* D21: it goes into headers */
	if (r == 0)
		snprintf(rep->id, sizeof(rep->id), "%s", id);
	json_decref(j);
	return r;
}

/* report_sendmail split on blanks, run with the message on stdin. */
static int
send_sendmail(const struct send_run *run, const char *msg, size_t len,
    char *why, size_t whylen)
{
	char cmd[256], *argv[SEND_ARGV_MAX + 1], *w;
	int fds[2], status, argc = 0, ok = 1;
	void (*old)(int);
	ssize_t n;
	size_t off = 0;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s", run->sendmail);
	for (w = cmd; *w != '\0' && argc < SEND_ARGV_MAX; ) {
		while (*w == ' ' || *w == '\t')
			*w++ = '\0';
		if (*w == '\0')
			break;
		argv[argc++] = w;
		while (*w != '\0' && *w != ' ' && *w != '\t')
			w++;
	}
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/')
		return snprintf(why, whylen, "report_sendmail needs an "
		    "absolute path"), -1;
	if (pipe(fds) != 0 || (pid = fork()) < 0)
		return snprintf(why, whylen, "cannot run %s", argv[0]), -1;
	if (pid == 0) {
		dup2(fds[0], 0);
		dup2(2, 1);	/* our stdout is the list of outcomes */
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	old = signal(SIGPIPE, SIG_IGN);
	while (ok && off < len) {
		if ((n = write(fds[1], msg + off, len - off)) < 0)
			ok = errno == EINTR;
		else
			off += (size_t)n;
	}
	close(fds[1]);
	signal(SIGPIPE, old);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return snprintf(why, whylen, "%s failed (status %d)", argv[0],
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1), -1;
	return 0;
}

static int
send_mailto(const struct send_run *run, const struct send_report *rep,
    const char *uri, char *why, size_t whylen)
{
	char to[SEND_ADDR_MAX + 1], *msg;
	struct send_mail m;
	size_t len;
	int r;

	if (send_mailto_addr(uri, strlen(uri), to, sizeof(to), why,
	    whylen) != 0)
		return -1;
	memset(&m, 0, sizeof(m));
	m.from = run->contact;
	m.to = to;
	m.org = run->org;
	m.domain = rep->domain;
	m.submitter = run->submitter;
	m.report_id = rep->id;
	m.filename = rep->name;
	m.date = rep->date;
	m.now = run->now;
	m.gz = rep->gz;
	m.gzlen = rep->gzlen;
	if (send_mail_build(&m, &msg, &len, why, whylen) != 0)
		return -1;
	r = send_sendmail(run, msg, len, why, whylen);
	free(msg);
	return r;
}

/* The usable rua in record order until one accepts the report (§3:
 * delivered once one endpoint accepted it); 1 then, else 0. */
static int
send_to_rua(struct send_run *run, const struct send_report *rep,
    const struct mtasts_tlsrpt *rec)
{
	char why[MTASTS_ERRLEN];
	const char *uri;
	size_t i, n = mtasts_tlsrpt_rua_count(rec);
	int accepted = 0, r;

	if (n > SEND_RUA_MAX) {
		fprintf(stderr, "mtasts: report send: %s: %zu rua URIs, only "
		    "the first %d used\n", rep->domain, n, SEND_RUA_MAX);
		n = SEND_RUA_MAX;
	}
	for (i = 0; i < n && !accepted; i++) {
		uri = mtasts_tlsrpt_rua(rec, i);
		why[0] = '\0';
		if (strncasecmp(uri, "mailto:", 7) == 0)
			r = send_mailto(run, rep, uri, why, sizeof(why));
		else
			r = mtasts_tlsrpt_post_wait(run->ctx, uri, rep->gz,
			    rep->gzlen, why, sizeof(why)) == MTASTS_OK ? 0 : -1;
		if (r == 0) {
			accepted = 1;
			printf("%s: delivered to %s\n", rep->name, uri);
		} else
			fprintf(stderr, "mtasts: report send: %s: %s: %s\n",
			    rep->domain, uri, why);
	}
	return accepted;
}

static int
send_load_report(const struct send_run *run, struct send_report *rep)
{
	char path[4096];
	size_t len;

	if (send_parse_name(rep) != 0 ||
	    snprintf(path, sizeof(path), "%s/%s", run->dir, rep->name) >=
	    (int)sizeof(path) ||
	    send_read_file(path, SEND_GZ_MAX, (char **)&rep->gz, &len) != 0)
		return -1;
	rep->gzlen = len;
	return send_report_id(rep);
}

/* One report: delivered, not due, or tried now. */
static void
send_one(struct send_run *run, const char *name)
{
	struct mtasts_tlsrpt *rec = NULL;
	struct send_report rep;
	struct send_state st;
	char err[MTASTS_ERRLEN], who[320];
	int r;

	if (send_state_load(run, name, &st) != 0) {
		run->failed++;
		return;
	}
	if (st.phase != SEND_PENDING || st.next > run->now)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.name = name;
	if (send_load_report(run, &rep) != 0) {
		fprintf(stderr, "mtasts: report send: %s: not a readable "
		    "report\n", name);
		free(rep.gz);
		run->failed++;
		return;
	}
	/* Fleet mode: one host delivers the fleet's report (RFC 8460 §4:
	 * one report per policy domain per day). */
	if ((r = mtasts_report_claim(run->ctx, rep.domain, rep.date, who,
	    sizeof(who))) != MTASTS_OK) {
		if (r == MTASTS_EMULTIPLE)
			printf("%s: left to the fleet (%s)\n", name, who);
		else {
			fprintf(stderr, "mtasts: report send: %s: the shared "
			    "cache cannot say who delivers it; next run\n",
			    name);
			run->failed++;
		}
		free(rep.gz);
		return;
	}
	r = mtasts_tlsrpt_query_wait(run->ctx, rep.domain, &rec, err,
	    sizeof(err));
	if (r == MTASTS_ENORECORD) {
		printf("%s: not sent: %s\n", name, err);
		st.phase = SEND_NORUA;
		st.last = run->now;
	} else if (r == MTASTS_OK && send_to_rua(run, &rep, rec)) {
		st.phase = SEND_DELIVERED;
		st.last = run->now;
		(void)mtasts_metric_add(run->ctx, "mtasts_reports_sent_total",
		    NULL, 1);
	} else {
		(void)mtasts_metric_add(run->ctx,
		    "mtasts_reports_failed_total", NULL, 1);
		if (r != MTASTS_OK)
			fprintf(stderr, "mtasts: report send: %s: %s\n",
			    rep.domain, err);
		send_state_failed(&st, run->now, run->retry);
		printf("%s: not delivered (attempt %lu)%s\n", name,
		    (unsigned long)st.attempts, st.phase == SEND_EXPIRED ?
		    ": giving up after 24 h" : "");
		run->failed++;
	}
	if (send_state_save(run, name, &st) != 0) {
		fprintf(stderr, "mtasts: report send: %s: cannot save the "
		    "state\n", name);
		run->failed++;
	}
	if (st.phase != SEND_PENDING)
		(void)mtasts_report_done(run->ctx, rep.domain, rep.date,
		    st.phase == SEND_DELIVERED ? "delivered" :
		    st.phase == SEND_NORUA ? "no-rua" : "expired");
	mtasts_tlsrpt_free(rec);
	free(rep.gz);
}

static int
send_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The begin time in a report file's name, "submitter!domain!begin!..."
 * (§5.1; its state file has the same name + ".state"), or -1 if name is
 * not one (a dot file, no begin field). */
long long
send_name_begin(const char *name)
{
	const char *p;
	char *end;
	long long begin;

	if (name[0] == '.' || (p = strchr(name, '!')) == NULL ||
	    (p = strchr(p + 1, '!')) == NULL)
		return -1;
	begin = strtoll(p + 1, &end, 10);
	return end != p + 1 && *end == '!' && begin >= 0 ? begin : -1;
}

/* Is name a report (not a temporary file) covering a day that began
 * less than SEND_AGE_MAX ago?  Older ones are delivered, given up or
 * never to be sent: the directory may keep them for months. */
static int
send_recent(const char *name, int64_t now)
{
	size_t len = strlen(name);

	return len > 8 && strcmp(name + len - 8, ".json.gz") == 0 &&
	    send_name_begin(name) > now - SEND_AGE_MAX;
}

/* The recent report files in dir, sorted; at most SEND_FILES_MAX. */
static int
send_list(const char *dir, int64_t now, char ***out, size_t *n)
{
	struct dirent *d;
	char **v;
	DIR *dp;

	*n = 0;
	if ((dp = opendir(dir)) == NULL ||
	    (v = calloc(SEND_FILES_MAX, sizeof(*v))) == NULL) {
		if (dp != NULL)
			closedir(dp);
		return -1;
	}
	while ((d = readdir(dp)) != NULL && *n < SEND_FILES_MAX)
		if (send_recent(d->d_name, now) &&
		    (v[*n] = strdup(d->d_name)) != NULL)
			(*n)++;
	closedir(dp);
	qsort(v, *n, sizeof(*v), send_cmp);
	*out = v;
	return 0;
}

static int
send_setup(struct send_run *run, const struct cli_global *g,
    struct mtasts_ctx *ctx, const char *dir, char *dirbuf, size_t size)
{
	char val[64];
	unsigned long v;

	memset(run, 0, sizeof(*run));
	run->g = g;
	run->ctx = ctx;
	run->now = (int64_t)time(NULL);
	cli_config_value(g, "report_dir", dirbuf, size);
	run->dir = dir != NULL ? dir : dirbuf;
	cli_config_value(g, "report_sendmail", run->sendmail,
	    sizeof(run->sendmail));
	cli_config_value(g, "report_organization", run->org,
	    sizeof(run->org));
	cli_config_value(g, "report_contact", run->contact,
	    sizeof(run->contact));
	cli_config_value(g, "report_submitter", run->submitter,
	    sizeof(run->submitter));
	cli_config_value(g, "report_retry", val, sizeof(val));
	v = strtoul(val, NULL, 10);	/* "300s": the dump's form */
	run->retry = v > 0 && v <= 3600 ? (unsigned int)v : 300;
	return 0;
}

int
report_send(const struct cli_global *g, struct mtasts_ctx *ctx,
    const char *date, const char *dir)
{
	struct send_run run;
	char dirbuf[1024], lock[1100], **names = NULL;
	size_t i, n = 0;
	int fd, r;

	send_setup(&run, g, ctx, dir, dirbuf, sizeof(dirbuf));
	snprintf(lock, sizeof(lock), "%s/.send.lock", run.dir);
	if ((mkdir(run.dir, 0755) != 0 && errno != EEXIST) ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "mtasts: report send: %s: %s\n", run.dir,
		    strerror(errno));
		return EXIT_USAGE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "mtasts: report send: %s: another run is "
		    "sending\n", run.dir);
		close(fd);
		return EXIT_INVALID;
	}
	/* Reports already there keep their content and state. */
	if ((r = report_generate(g, ctx, date, run.dir, 1)) != EXIT_VALID ||
	    (r = send_list(run.dir, run.now, &names, &n)) != 0) {
		close(fd);
		return r == EXIT_USAGE ? r : EXIT_INVALID;
	}
	for (i = 0; i < n; i++) {
		send_one(&run, names[i]);
		free(names[i]);
	}
	free(names);
	send_retention(g, ctx, run.dir, run.now);
	close(fd);
	return run.failed ? EXIT_INVALID : EXIT_VALID;
}
