/*
 * report.c - --report: the TLS result of each outgoing session of the
 * relay action this filter is attached to ("relay tls ... filter NAME",
 * undocumented in smtpd.conf(5) 6.8), counted for TLSRPT (RFC 8460 §4.3)
 * with mtasts_tls_result().
 *
 * smtpd reports no verification result, and 6.8 and 7.6 report the
 * TLS events in different orders: 6.8 (OpenSSL) sends link-tls when
 * the handshake ends, before it checks the certificate, then the second
 * EHLO (link-identify) once the check passed; 7.6 (libtls) checks
 * during the handshake, sends the second EHLO from mta_tls_started()
 * and only then link-tls, and a refused certificate ends the session
 * with no link-tls at all.  What both share, on an action with
 * "relay tls" (verification mandatory): the EHLO after STARTTLS is
 * sent only over a verified connection.  So a session is verified when
 * it saw link-tls and two link-identify, in any order; the server's 220
 * answer to STARTTLS (a 220 after the EHLO answer) followed by
 * link-disconnect without that is a validation-failure; an EHLO answer
 * without STARTTLS then link-disconnect is starttls-not-supported.  A
 * TCP failure gives link-disconnect without link-connect: not a TLS
 * result.
 *
 * The policy domain is known from tx-rcpt, which comes after TLS, so a
 * failed session has none: the receiving address then names it, through
 * the note filter-mtasts made at RCPT for the MX hosts of enforce
 * domains (mtasts_mx_note); that note also gives the MX host name
 * (RFC 8460 receiving-mx-hostname), which smtpd's reports lack.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include <mtasts.h>

#include "fields.h"
#include "filter.h"

#define REPORT_SESSIONS_MAX	10000	/* sessions tracked at once */

struct osess {
	LIST_ENTRY(osess)	 entry;
	char			 sid[17];
	char			 ip[64];	/* receiving address */
	unsigned int		 port;		/* ... and port */
	char			 src[64];	/* our (sending) address */
	char			 helo[MTASTS_DOMAIN_MAX + 1];	/* MX's EHLO
							 * name, "" unknown */
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	int			 connected;	/* link-connect seen */
	int			 tls;		/* link-tls seen */
	int			 identify;	/* link-identify count */
	int			 ehlo;		/* an EHLO answer seen */
	int			 starttls;	/* ... offering STARTTLS */
	int			 tlsgo;		/* 220 to STARTTLS seen */
};

static LIST_HEAD(, osess)	sessions = LIST_HEAD_INITIALIZER(sessions);
static size_t			nsessions;

static struct osess *
report_session(const char *sid, int create)
{
	struct osess	*s;

	LIST_FOREACH(s, &sessions, entry)
		if (strcmp(s->sid, sid) == 0)
			return s;
	if (!create)
		return NULL;
	if (nsessions >= REPORT_SESSIONS_MAX) {
		log_warnx("session %s: too many sessions, not tracked", sid);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatalx("out of memory");
	memcpy(s->sid, sid, strlen(sid) + 1);	/* checked: <= 16 */
	LIST_INSERT_HEAD(&sessions, s, entry);
	nsessions++;
	return s;
}

static void
report_free(struct osess *s)
{
	LIST_REMOVE(s, entry);
	free(s);
	nsessions--;
}

/* The port at the end of "127.0.3.1:25" or "[::1]:25"; 25 if none. */
static unsigned int
report_port(const char *a)
{
	const char	*c = strrchr(a, ':');
	unsigned long	 n;
	char		*e;

	if (c == NULL)
		return 25;
	n = strtoul(c + 1, &e, 10);
	return *e == '\0' && n > 0 && n < 65536 ? (unsigned int)n : 25;
}

/* "127.0.3.1:25" or "[::1]:25" into out without the port; "" if it
 * does not fit or has no port. */
static void
report_addr(const char *a, size_t len, char *out, size_t size)
{
	const char	*end;

	out[0] = '\0';
	if (len > 0 && *a == '[') {
		a++;
		len--;
		end = memchr(a, ']', len);
	} else {
		for (end = a + len; end > a && end[-1] != ':'; end--)
			;
		end = end > a ? end - 1 : NULL;
	}
	if (end == NULL || (size_t)(end - a) >= size)
		return;
	memcpy(out, a, (size_t)(end - a));
	out[end - a] = '\0';
}

/* link-connect rdns|fcrdns|src|dest: the addresses of src (ours, the
 * sending-mta-ip) and dest (the MX), without their ports. */
static void
report_connect(struct osess *s, char *params)
{
	char		*dest, *src;
	unsigned char	 a[16];

	s->connected = 1;
	if (params == NULL || (dest = strrchr(params, '|')) == NULL)
		return;
	report_addr(dest + 1, strlen(dest + 1), s->ip, sizeof(s->ip));
	s->port = report_port(dest + 1);
	*dest = '\0';
	if ((src = strrchr(params, '|')) != NULL)
		report_addr(src + 1, strlen(src + 1), s->src, sizeof(s->src));
	*dest = '|';
	/* Optional in reports: anything but an address is left out
	 * rather than cost the result (the core refuses it). */
	if (inet_pton(AF_INET, s->src, a) != 1 &&
	    inet_pton(AF_INET6, s->src, a) != 1)
		s->src[0] = '\0';
}

/* protocol-server: an EHLO answer line, "250-STARTTLS" or "250 ...". */
static void
report_server(struct osess *s, const char *line)
{
	size_t	 len;

	if (line == NULL)
		return;
	/* After the EHLO answer, only STARTTLS is answered 220. */
	if (s->ehlo && s->starttls && strncmp(line, "220", 3) == 0 &&
	    (line[3] == ' ' || line[3] == '-' || line[3] == '\0')) {
		s->tlsgo = 1;
		return;
	}
	if (strncmp(line, "250", 3) != 0 || (line[3] != '-' && line[3] != ' '))
		return;
	/* The first line of the EHLO answer names the MX (RFC 5321
	 * §4.1.1.1): receiving-mx-helo.  Checked by the core. */
	if (!s->ehlo) {
		len = strcspn(line + 4, " ");
		if (len < sizeof(s->helo)) {
			memcpy(s->helo, line + 4, len);
			s->helo[len] = '\0';
		}
	}
	s->ehlo = 1;
	if (strcasecmp(line + 4, "STARTTLS") == 0)
		s->starttls = 1;
}

/* tx-rcpt msgid|result|address (protocol 0.6 and later). */
static void
report_rcpt(struct osess *s, char *params)
{
	char	*f[3], *result, *addr, *at;
	char	 err[MTASTS_ERRLEN];

	if (params == NULL || fields_split(params, f, 3) != 3)
		return;
	result = f[1];
	addr = f[2];
	if (strcmp(result, "ok") != 0 || (at = strrchr(addr, '@')) == NULL)
		return;
	at++;
	if (mtasts_domain_normalize(at, strlen(at), s->domain,
	    sizeof(s->domain), err, sizeof(err)) != MTASTS_OK)
		s->domain[0] = '\0';
}

/* Is domain's cached policy "testing"?  Its sessions went out without
 * verification; other domains' results need none (no policy) or were
 * verified (enforce, on its own action). */
static int
report_testing(const char *domain)
{
	struct mtasts_result	*res;
	int			 testing;

	if (mtasts_cache_get(env.mtasts, domain, &res) != MTASTS_OK)
		return 0;
	testing = mtasts_result_has_policy(res) &&
	    mtasts_result_mode(res) == MTASTS_MODE_TESTING;
	mtasts_result_free(res);
	return testing;
}

static void
report_done(struct osess *s)
{
	const char	*type;
	char		 err[MTASTS_ERRLEN];
	char		 noted[MTASTS_DOMAIN_MAX + 1], mx[MTASTS_DOMAIN_MAX + 1];

	if (!s->connected)
		return;		/* TCP connection failed: no TLS result */
	if (s->tls || s->tlsgo)
		type = s->tls && s->identify >= 2 ? "success" :
		    "validation-failure";
	else if (s->ehlo && !s->starttls)
		type = "starttls-not-supported";
	else
		return;
	if (s->ip[0] == '\0' || mtasts_mx_note_get(env.mtasts, s->ip,
	    s->domain[0] ? s->domain : NULL, noted, sizeof(noted), mx,
	    sizeof(mx)) != MTASTS_OK)
		noted[0] = mx[0] = '\0';
	if (s->domain[0] == '\0' && noted[0] != '\0')
		memcpy(s->domain, noted, sizeof(s->domain));
	if (s->domain[0] == '\0') {
		log_warnx("session %s: %s at %s: no recipient domain known, "
		    "not counted", s->sid, type, s->ip[0] ? s->ip : "?");
		return;
	}
	/* The noted MX host belongs to the noted domain only. */
	if (strcmp(noted, s->domain) != 0)
		mx[0] = '\0';
	if (env.probe && s->tls && report_testing(s->domain)) {
		/* Unverified TLS: what would verification have said? */
		if (mx[0] != '\0')
			probe_session(s->domain, mx, s->ip, s->port);
		else
			log_warnx("session %s: %s: MX host of %s unknown, "
			    "not probed, not counted", s->sid, s->domain,
			    s->ip);
		return;
	}
	if (mtasts_tls_result_ex(env.mtasts, s->domain, type,
	    mx[0] ? mx : NULL, s->ip[0] ? s->ip : NULL,
	    s->src[0] ? s->src : NULL, s->helo, err, sizeof(err)) !=
	    MTASTS_OK)
		log_warnx("session %s: %s", s->sid, err);
	else
		log_debug("session %s: %s %s at %s (%s)", s->sid, s->domain,
		    type, s->ip, mx[0] ? mx : "MX name unknown");
}

void
report_event(const char *dir, const char *event, const char *sid,
    char *params)
{
	struct osess	*s;

	if (strcmp(dir, "smtp-out") != 0)
		return;
	if (strcmp(event, "link-disconnect") == 0) {
		if ((s = report_session(sid, 0)) != NULL) {
			report_done(s);
			report_free(s);
		}
		return;
	}
	if ((s = report_session(sid, 1)) == NULL)
		return;
	if (strcmp(event, "link-connect") == 0)
		report_connect(s, params);
	else if (strcmp(event, "link-tls") == 0)
		s->tls = 1;
	else if (strcmp(event, "link-identify") == 0 && s->identify < 2)
		s->identify++;
	else if (strcmp(event, "protocol-server") == 0)
		report_server(s, params);
	else if (strcmp(event, "tx-rcpt") == 0)
		report_rcpt(s, params);
}

void
report_shutdown(void)
{
	struct osess	*s;

	while ((s = LIST_FIRST(&sessions)) != NULL)
		report_free(s);
}
