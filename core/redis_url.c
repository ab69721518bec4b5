/*
 * redis_url.c - the shared_cache value of mtasts.conf(5):
 *
 *   redis://[[user]:password@]HOST[:PORT][/DB]	TCP (HOST an address,
 *						[IPv6] or a name)
 *   rediss://...				the same over TLS
 *   unix:[[user]:password@]/path		a unix socket (DB 0)
 *
 * as redis-cli and the Redis URI schemes (IANA "redis", "rediss")
 * write them.  The file is ours, so the value is read strictly:
 * anything else is an error naming what is wrong.  "rediss://" needs
 * hiredis 1.0 with its SSL library (Debian 13); a build without it
 * (Debian 12's hiredis 0.14) refuses it, never downgrades to plain TCP.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "mtasts.h"
#include "redis.h"
#include "util.h"

static int
redis_url_num(const char *p, size_t len, unsigned int max, unsigned int *out)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!UTIL_IS_DIGIT(p[i]))
			return -1;
		n = n * 10 + (unsigned long)(p[i] - '0');
	}
	if (n > max)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

/* Printable ASCII without blanks: credentials are sent as they are. */
static int
redis_url_cred(const char *p, size_t len, char *out, size_t size)
{
	size_t i;

	if (len >= size)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] > 0x7e)
			return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
redis_url_host(const char *p, size_t len, struct redis_url *u)
{
	const char *h = p, *end = p + len, *port = NULL, *rb, *colon;
	size_t i, hlen;

	if (len > 0 && p[0] == '[') {
		if ((rb = memchr(p, ']', len)) == NULL)
			return -1;
		h = p + 1;
		hlen = (size_t)(rb - h);
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -1;
			port = rb + 2;
		}
	} else {
		colon = memchr(p, ':', len);
		hlen = colon != NULL ? (size_t)(colon - p) : len;
		if (colon != NULL)
			port = colon + 1;
	}
	if (hlen == 0 || hlen > REDIS_HOST_MAX)
		return -1;
	for (i = 0; i < hlen; i++)
		if (!UTIL_IS_ALNUM((unsigned char)h[i]) && h[i] != '.' &&
		    h[i] != '-' && h[i] != '_' && (h[i] != ':' || h == p))
			return -1;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	u->port = 6379;
	if (port != NULL && (redis_url_num(port, (size_t)(end - port), 65535,
	    &u->port) != 0 || u->port == 0))
		return -1;
	return 0;
}

/* "[user]:password@" from p to the first '/' (or end), if there is an
 * '@' in it: *pp then points after it.  0, or -1 and why. */
static int
redis_url_creds(const char **pp, const char *end, struct redis_url *u,
    char *why, size_t whylen)
{
	const char *p = *pp, *slash, *at, *c;

	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
		slash = end;
	/* The last '@' before the path ends the credentials. */
	for (at = NULL, c = p; c < slash; c++)
		if (*c == '@')
			at = c;
	if (at == NULL)
		return 0;
	if ((c = memchr(p, ':', (size_t)(at - p))) == NULL)
		return util_err(why, whylen, "credentials must be "
		    "user:password@ or :password@"), -1;
	if (redis_url_cred(p, (size_t)(c - p), u->user, sizeof(u->user)) !=
	    0 || redis_url_cred(c + 1, (size_t)(at - c - 1), u->pass,
	    sizeof(u->pass)) != 0 || u->pass[0] == '\0')
		return util_err(why, whylen, "bad user or password "
		    "(printable, no blanks, at most %d bytes)",
		    REDIS_CRED_MAX), -1;
	*pp = at + 1;
	return 0;
}

static int
redis_url_unix(const char *p, const char *end, struct redis_url *u,
    char *why, size_t whylen)
{
	if (redis_url_creds(&p, end, u, why, whylen) != 0)
		return -1;
	if (p == end || *p != '/' || (size_t)(end - p) > REDIS_PATH_MAX ||
	    memchr(p, '\0', (size_t)(end - p)))
		return util_err(why, whylen, "unix: needs an absolute path of "
		    "at most %d bytes", REDIS_PATH_MAX), -1;
	u->unix_sock = 1;
	memcpy(u->path, p, (size_t)(end - p));
	snprintf(u->name, sizeof(u->name), "unix:%s", u->path);
	return 0;
}

int
redis_url_parse(const char *v, size_t len, struct redis_url *u, char *why,
    size_t whylen)
{
	const char *p, *end = v + len, *slash;
	int n;

	memset(u, 0, sizeof(*u));
	if (len >= 9 && memcmp(v, "rediss://", 9) == 0) {
#ifndef MTASTS_REDIS_TLS
		return util_err(why, whylen, "rediss:// (TLS) needs hiredis "
		    "1.0 or later with libhiredis_ssl; this build has hiredis "
		    "%d.%d without it", HIREDIS_MAJOR, HIREDIS_MINOR), -1;
#endif
		u->tls = 1;
		p = v + 9;
	} else if (len >= 5 && memcmp(v, "unix:", 5) == 0)
		return redis_url_unix(v + 5, end, u, why, whylen);
	else if (len >= 8 && memcmp(v, "redis://", 8) == 0)
		p = v + 8;
	else
		return util_err(why, whylen, "expected redis://HOST:PORT/DB, "
		    "rediss://HOST:PORT/DB or unix:/path"), -1;
	if (redis_url_creds(&p, end, u, why, whylen) != 0)
		return -1;
	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
		slash = end;
	if (redis_url_host(p, (size_t)(slash - p), u) != 0)
		return util_err(why, whylen, "expected HOST, HOST:PORT or "
		    "[IPv6]:PORT"), -1;
	if (slash < end && (slash + 1 == end || redis_url_num(slash + 1,
	    (size_t)(end - slash - 1), 65535, &u->db) != 0))
		return util_err(why, whylen, "the database after '/' must be "
		    "a number"), -1;
	n = snprintf(u->name, sizeof(u->name), strchr(u->host, ':') ?
	    "%s://[%s]:%u/%u" : "%s://%s:%u/%u", u->tls ? "rediss" : "redis",
	    u->host, u->port, u->db);
	if (n < 0 || (size_t)n >= sizeof(u->name))
		return util_err(why, whylen, "too long"), -1;
	return 0;
}

void
redis_url_redact(const struct redis_url *u, char *out, size_t size)
{
	const char *rest;

	if (u->pass[0] == '\0') {
		snprintf(out, size, "%s", u->name);
		return;
	}
	/* name is "scheme:" then "//host..." or "/path": the credentials
	 * go between, the password as "****". */
	rest = strchr(u->name, ':') + 1;
	if (!u->unix_sock)
		rest += 2;
	snprintf(out, size, "%.*s%s:****@%s", (int)(rest - u->name), u->name,
	    u->user, rest);
}
