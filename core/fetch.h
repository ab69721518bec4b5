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
 * addresses (our resolver's, so curl never resolves by itself).  cb
 * runs exactly once, never from inside this call. */
void	fetch_policy(struct fetch *f, const char *domain,
	    char *const *addrs, size_t naddrs, fetch_cb cb, void *arg);

/* Is a Content-Type value the media type text/plain (D14)? */
int	fetch_is_text_plain(const char *ct);

#endif /* MTASTS_FETCH_H */
