/*
 * fetch.h - the policy fetch over HTTPS (RFC 8461 §3.3), asynchronous
 * with libcurl's multi interface on a libevent loop.
 */
#ifndef MTASTS_FETCH_H
#define MTASTS_FETCH_H

#include <stddef.h>

struct event_base;
struct mtasts_config;
struct fetch;

enum fetch_status {
	FETCH_OK = 0,		/* 200, text/plain, body within 64 KiB */
	FETCH_ERROR,		/* sts-policy-fetch-error */
	FETCH_WEBPKI,		/* sts-webpki-invalid: the certificate */
};

/* body is valid only during the callback; why says what went wrong. */
typedef void (*fetch_cb)(int status, const char *body, size_t len,
    const char *why, void *arg);

int	fetch_new(struct event_base *base, const struct mtasts_config *cfg,
	    struct fetch **out, char *err, size_t errlen);
/* Pending callbacks run with FETCH_ERROR ("cancelled") first. */
void	fetch_free(struct fetch *f);

/* GET https://mta-sts.<domain>/.well-known/mta-sts.txt from the given
 * addresses (our resolver's, so curl never resolves by itself).
 * MTASTS_OK: cb runs exactly once, never from inside this call.
 * MTASTS_ENOMEM: nothing was started and cb never runs. */
int	fetch_policy(struct fetch *f, const char *domain,
	    char *const *addrs, size_t naddrs, fetch_cb cb, void *arg);

/* POST data (a gzip TLS report, RFC 8460 §5.4) to the https url whose
 * host and port are given, connecting to addrs only.  FETCH_OK on any
 * 2xx, with why non-empty if the certificate did not verify (accepted:
 * §3); FETCH_ERROR otherwise.  data is copied.  Returns as
 * fetch_policy() does: on MTASTS_OK cb runs exactly once, never from
 * inside this call; on MTASTS_ENOMEM it never runs. */
int	fetch_post(struct fetch *f, const char *url, const char *host,
	    unsigned int port, char *const *addrs, size_t naddrs,
	    const void *data, size_t len, fetch_cb cb, void *arg);

/* Is a Content-Type value the media type text/plain (D14)? */
int	fetch_is_text_plain(const char *ct);

#endif /* MTASTS_FETCH_H */
