/*
 * mxnote.h - the reader of MX address notes (mxnote.c), for its fuzz
 * target.
 */
#ifndef MTASTS_MXNOTE_H
#define MTASTS_MXNOTE_H

#include <stddef.h>

/* A note's value "<domain>\t<host>\t<unix time>" (NUL-terminated):
 * MTASTS_OK with both names normalised into domain and host (sizes at
 * least MTASTS_DOMAIN_MAX + 1), MTASTS_ENORECORD if stale or from the
 * future, MTASTS_EPARSE if malformed. */
int	mxnote_parse(const char *v, char *domain, size_t dsize, char *host,
	    size_t hsize);

#endif /* MTASTS_MXNOTE_H */
