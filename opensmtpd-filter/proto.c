/*
 * proto.c - smtpd's filter protocol (smtpd-filters(7); protocol 0.6 in
 * OpenSMTPD 6.8, 0.7 from 7.4).  Every line is hostile: a malformed one
 * is logged (within loglimit.c's bounds) and dropped, never fatal.  A
 * filter request that names a session and a token is always answered,
 * whatever came before it: smtpd has no filter timeout, so a request
 * left unanswered stalls its session for good.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "filter.h"
#include "fields.h"
#include "loglimit.h"

static int	proto_registered;	/* register|ready sent */

/* "0.N" with N >= 5: session before token from 0.5 on, and the tx-rcpt
 * order of 0.6; 0.7 changed only link-auth, which we do not use. */
static int
proto_version_ok(const char *v)
{
	size_t	i;

	if (strncmp(v, "0.", 2) != 0 || v[2] == '\0' || strlen(v) > 6)
		return 0;
	for (i = 2; v[i] != '\0'; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return (v[2] != '0' || v[3] == '\0') &&
	    (strlen(v) > 3 || v[2] >= '5');
}

/* Session ids and tokens are 16 hex digits in every smtpd. */
static int
proto_id_ok(const char *id)
{
	size_t	len = strlen(id);

	return len > 0 && len <= 16 &&
	    strspn(id, "0123456789abcdefABCDEF") == len;
}

static void
proto_register(void)
{
	static const char *const out_events[] = {
		"link-connect", "link-greeting", "link-identify",
		"link-tls", "link-disconnect", "protocol-server", "tx-rcpt",
	};
	size_t	i;

	if (proto_registered)
		return;
	if (env.report) {
		/* smtp-out reports exist only with "relay ... filter"; a
		 * smtp-out filter registration would be fatal to smtpd. */
		for (i = 0; i < sizeof(out_events) / sizeof(out_events[0]);
		    i++)
			io_printf("register|report|smtp-out|%s", out_events[i]);
	} else
		io_printf("register|filter|smtp-in|rcpt-to");
	io_printf("register|ready");
	proto_registered = 1;
}

static void
proto_config(char **f, size_t n)
{
	if (n < 2) {
		log_input("stdin: config line without a key");
		return;
	}
	if (strcmp(f[1], "ready") == 0)
		proto_register();
	else if (n == 3 && strcmp(f[1], "protocol") == 0 &&
	    !proto_version_ok(f[2]))
		/* 7.6+ names its version up front; see proto_unknown(). */
		log_warnx("smtpd speaks filter protocol '%.16s', which this "
		    "filter does not know: each of its requests will be "
		    "answered 451 (temporary failure)", f[2]);
	else if (n == 3)
		log_debug("smtpd config %s = %s", f[1], f[2]);
}

/*
 * A request we cannot read (a protocol version we do not know, or no
 * parameter field) that still names its session and token.  Dropping it
 * would stall the session for good; "proceed" would let the recipient
 * through without an MTA-STS decision; exiting would take smtpd down
 * with us (it exits when a filter dies).  So it is answered with a
 * temporary failure: the client keeps the mail and retries, and only
 * the sessions we cannot read are affected.  filter-result has had the
 * same form, session then token, since session and token came in this
 * order (protocol 0.5).
 */
static void
proto_unknown(const char *sid, const char *tok, const char *why)
{
	log_input("session %s: %s: answered 451", sid, why);
	io_printf("filter-result|%s|%s|reject|451 4.7.0 MTA-STS filter "
	    "cannot read this request; try again later", sid, tok);
}

/* filter|ver|ts|subsystem|phase|session|token|param */
static void
proto_filter(char **f, size_t n)
{
	char		 why[64];
	const char	*sid, *tok;

	if (n < 7 || !proto_id_ok(f[5]) || !proto_id_ok(f[6])) {
		log_input("stdin: filter request without a usable session "
		    "and token (%zu fields)", n);
		return;
	}
	sid = f[5];
	tok = f[6];
	if (!proto_version_ok(f[1])) {
		snprintf(why, sizeof(why), "filter protocol '%.16s' not "
		    "known", f[1]);
		proto_unknown(sid, tok, why);
		return;
	}
	if (n != 8) {
		proto_unknown(sid, tok, "filter request without parameters");
		return;
	}
	if (strcmp(f[3], "smtp-in") == 0 && strcmp(f[4], "rcpt-to") == 0)
		rcpt_start(sid, tok, f[7], strlen(f[7]));
	else {
		/* Not registered: answer anyway, a stalled session is
		 * worse than an unfiltered phase. */
		log_input("session %s: unexpected phase '%.32s', proceeding",
		    sid, f[4]);
		io_printf("filter-result|%s|%s|proceed", sid, tok);
	}
}

/* report|ver|ts|subsystem|event|session|params */
static void
proto_report(char **f, size_t n)
{
	if (n < 6 || !proto_version_ok(f[1]) || !proto_id_ok(f[5])) {
		log_input("stdin: malformed report line");
		return;
	}
	if (env.report)
		report_event(f[3], f[4], f[5], n == 7 ? f[6] : NULL);
}

void
proto_line(char *line, size_t len)
{
	char	*f[FILTER_FIELDS_MAX];
	size_t	 n;

	loglimit_flush(time(NULL));
	if (memchr(line, '\0', len) != NULL) {
		log_input("stdin: line with a NUL byte dropped");
		return;
	}
	log_debug("< %s", line);
	if (strncmp(line, "config|", 7) == 0) {
		n = fields_split(line, f, 3);
		proto_config(f, n);
	} else if (strncmp(line, "filter|", 7) == 0) {
		n = fields_split(line, f, 8);
		proto_filter(f, n);
	} else if (strncmp(line, "report|", 7) == 0) {
		n = fields_split(line, f, 7);
		proto_report(f, n);
	} else
		log_input("stdin: unknown line '%.32s' dropped", line);
}
