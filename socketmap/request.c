/*
 * request.c - a socketmap request's name and key.  Postfix asks
 * smtp_tls_policy_maps with the next-hop destination: "example.com",
 * "[mx.example.com]", "[mx.example.com]:587", "example.com:25" or, for
 * parent-domain matching, ".example.com".  Like postfix-mta-sts-resolver
 * (utils.filter_domain) we look up the host part; parent-domain keys
 * and address literals have no MTA-STS policy (RFC 8461 §4: the policy
 * domain is the recipient's domain itself).
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"

/* No space, control byte or DEL; bytes above 127 only where utf8 (a
 * key may be a U-label domain: SMTPUTF8). */
static int
request_printable(const char *p, size_t len, int utf8)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] == 127 ||
		    (!utf8 && (unsigned char)p[i] > 127))
			return 0;
	return 1;
}

/* The host of "[host]", "[host]:port", "host:port" or "host": sets
 * *h and *hlen inside p. */
static void
request_host(const char *p, size_t len, const char **h, size_t *hlen)
{
	const char	*rb, *colon;

	if ((rb = memchr(p, ']', len)) != NULL) {
		*h = p;
		*hlen = (size_t)(rb - p);
		if (*hlen > 0 && p[0] == '[') {
			(*h)++;
			(*hlen)--;
		}
		return;
	}
	*h = p;
	*hlen = len;
	for (colon = p + len; colon > p; colon--)
		if (colon[-1] == ':') {
			*hlen = (size_t)(colon - 1 - p);
			return;
		}
}

static int
request_is_address(const char *h, size_t hlen)
{
	char		buf[64];
	unsigned char	addr[16];

	if (hlen == 0 || hlen >= sizeof(buf))
		return 0;
	memcpy(buf, h, hlen);
	buf[hlen] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1 ||
	    inet_pton(AF_INET6, buf, addr) == 1;
}

static enum request_kind
request_skip(struct request *req, const char *why)
{
	snprintf(req->why, sizeof(req->why), "%s", why);
	return REQUEST_SKIP;
}

enum request_kind
request_parse(const char *p, size_t len, struct request *req)
{
	const char	*sp, *key, *h;
	size_t		 nlen, klen, hlen;
	char		 err[MTASTS_ERRLEN];

	memset(req, 0, sizeof(*req));
	if ((sp = memchr(p, ' ', len)) == NULL || sp == p) {
		snprintf(req->why, sizeof(req->why),
		    "malformed request: expected \"name key\"");
		return REQUEST_BAD;
	}
	nlen = (size_t)(sp - p);
	key = sp + 1;
	klen = len - nlen - 1;
	if (nlen > REQUEST_NAME_MAX || !request_printable(p, nlen, 0)) {
		snprintf(req->why, sizeof(req->why), "malformed request: "
		    "map name over %d bytes or not printable ASCII",
		    REQUEST_NAME_MAX);
		return REQUEST_BAD;
	}
	if (!request_printable(key, klen, 1)) {
		snprintf(req->why, sizeof(req->why), "malformed request: "
		    "a space or control byte in the key");
		return REQUEST_BAD;
	}
	memcpy(req->name, p, nlen);
	req->tlsrpt = strcasecmp(req->name, REQUEST_NAME_TLSRPT) == 0;
	request_host(key, klen, &h, &hlen);
	if (hlen == 0)
		return request_skip(req, "empty key");
	if (h[0] == '.')
		return request_skip(req, "parent-domain key");
	if (request_is_address(h, hlen))
		return request_skip(req, "address literal");
	if (mtasts_domain_normalize(h, hlen, req->domain,
	    sizeof(req->domain), err, sizeof(err)) != MTASTS_OK)
		return request_skip(req, err);
	return REQUEST_DOMAIN;
}
