/*
 * probe.c - --report --probe: TLS results for sessions of an action
 * that does not verify TLS ("relay" without "tls", where smtpd sends a
 * "testing" domain's mail).  smtpd 6.8 does not report whether the
 * certificate would have passed, so the filter asks the MX host itself
 * (mtasts_tls_probe: STARTTLS, chain, name, expiry) at most once an hour
 * per domain and address, in a child process (the probe blocks), and
 * counts each session with the latest verdict (RFC 8460 §4.3).
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <mtasts.h>

#include "filter.h"

#define PROBE_TTL	3600	/* seconds a verdict is reused */
#define PROBE_MAX	1024	/* verdicts remembered */
#define PROBE_RUNNING	8	/* probes at once */

struct probe {
	LIST_ENTRY(probe)	 entry;
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	char			 mx[MTASTS_DOMAIN_MAX + 1];
	char			 ip[64];
	char			 type[40];	/* "" until known */
	time_t			 at;
	unsigned int		 pending;	/* sessions waiting */
	pid_t			 pid;		/* > 0 while running */
	int			 fd;
	struct event		*ev;
};

static LIST_HEAD(, probe)	probes = LIST_HEAD_INITIALIZER(probes);
static size_t			nprobes, nrunning;

static void
probe_count(struct probe *p, unsigned int n)
{
	char	err[MTASTS_ERRLEN];

	while (n-- > 0)
		if (mtasts_tls_result(env.mtasts, p->domain, p->type, p->mx,
		    p->ip, err, sizeof(err)) != MTASTS_OK)
			log_warnx("%s: %s", p->domain, err);
}

static void
probe_on_verdict(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	char		 buf[sizeof(p->type)];
	ssize_t		 n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf) - 1)) == -1 && errno == EINTR)
		;
	event_free(p->ev);
	p->ev = NULL;
	close(p->fd);
	while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
		;
	p->pid = 0;
	nrunning--;
	p->at = time(NULL);
	if (n > 1 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		memcpy(p->type, buf, (size_t)n);
		log_debug("%s: probe of %s [%s]: %s", p->domain, p->mx, p->ip,
		    p->type);
		probe_count(p, p->pending);
	} else
		log_warnx("%s: probe of %s [%s]: no TLS result, %u "
		    "session%s not counted", p->domain, p->mx, p->ip,
		    p->pending, p->pending == 1 ? "" : "s");
	p->pending = 0;
}

/* The child: one probe, its verdict as one line on fd. */
static void __attribute__((noreturn))
probe_child(const struct probe *p, unsigned int port, int fd)
{
	const char	*type;
	char		 err[MTASTS_ERRLEN], line[64];
	size_t		 len;

	if (mtasts_tls_probe(env.mtasts, p->mx, p->ip, port, &type, err,
	    sizeof(err)) != MTASTS_OK || type == NULL)
		log_warnx("%s: probe: %s", p->domain, err);
	else {
		if (strcmp(type, "success") != 0)
			log_warnx("%s: probe: %s: %s", p->domain, type, err);
		len = (size_t)snprintf(line, sizeof(line), "%s\n", type);
		if (write(fd, line, len) != (ssize_t)len)
			_exit(1);
	}
	_exit(0);	/* no exit handlers: they belong to the parent */
}

static int
probe_start(struct probe *p, unsigned int port)
{
	int	fds[2];

	if (nrunning >= PROBE_RUNNING || pipe(fds) == -1)
		return -1;
	if ((p->pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (p->pid == 0) {
		close(fds[0]);
		probe_child(p, port, fds[1]);
	}
	close(fds[1]);
	p->fd = fds[0];
	if ((p->ev = event_new(env.base, p->fd, EV_READ, probe_on_verdict,
	    p)) == NULL || event_add(p->ev, NULL) == -1)
		fatalx("event_new failed");
	nrunning++;
	return 0;
}

static struct probe *
probe_find(const char *domain, const char *ip)
{
	struct probe	*p, *old = NULL;

	LIST_FOREACH(p, &probes, entry) {
		if (strcmp(p->domain, domain) == 0 && strcmp(p->ip, ip) == 0)
			return p;
		if (p->pid == 0 && (old == NULL || p->at < old->at))
			old = p;
	}
	if (nprobes >= PROBE_MAX) {
		if (old == NULL)
			return NULL;
		LIST_REMOVE(old, entry);
		free(old);
		nprobes--;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatalx("out of memory");
	memcpy(p->domain, domain, strlen(domain) + 1);
	memcpy(p->ip, ip, strlen(ip) + 1);
	LIST_INSERT_HEAD(&probes, p, entry);
	nprobes++;
	return p;
}

void
probe_session(const char *domain, const char *mx, const char *ip,
    unsigned int port)
{
	struct probe	*p;

	if ((p = probe_find(domain, ip)) == NULL) {
		log_warnx("%s: too many probes, session at %s not counted",
		    domain, ip);
		return;
	}
	memcpy(p->mx, mx, strlen(mx) + 1);
	if (p->pid > 0) {		/* running: counted when it ends */
		p->pending++;
		return;
	}
	if (p->type[0] != '\0' && time(NULL) - p->at < PROBE_TTL) {
		probe_count(p, 1);
		return;
	}
	p->type[0] = '\0';
	p->pending = 1;
	if (probe_start(p, port) == -1) {
		log_warnx("%s: cannot probe %s [%s] now, session not counted",
		    domain, mx, ip);
		p->pending = 0;
	}
}

void
probe_shutdown(void)
{
	struct probe	*p;

	while ((p = LIST_FIRST(&probes)) != NULL) {
		if (p->pid > 0) {
			event_free(p->ev);
			close(p->fd);
			while (waitpid(p->pid, NULL, 0) == -1 &&
			    errno == EINTR)
				;
		}
		LIST_REMOVE(p, entry);
		free(p);
	}
	nprobes = nrunning = 0;
}
