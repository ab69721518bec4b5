/*
 * metrics.h - operational counters shared by every process on the host
 * (results.db, keys "M\t..."), and the Prometheus text made from them
 * and the cache (docs/operations.md).
 */
#ifndef MTASTS_METRICS_H
#define MTASTS_METRICS_H

#include <stdint.h>

#include "mtasts.h"

struct metrics;

/* Add n to counter name{labels}; labels already rendered
 * (`result="success"') or "".  Kept in the context and written to the
 * cache within a second (at once for a context without an event loop of
 * the caller's: Exim's processes never free theirs).  Never fails the
 * caller: a count that cannot be written is lost and logged (debug). */
void	metrics_count(struct mtasts_ctx *ctx, const char *name,
	    const char *labels, uint64_t n);
/* A policy discovery ended: "success" or the failure's result type. */
void	metrics_fetch(struct mtasts_ctx *ctx, const char *result);
/* One decision handed to a caller, by mode and source. */
void	metrics_decision(struct mtasts_ctx *ctx,
	    const struct mtasts_result *res);
/* A TLS result an MTA recorded (RFC 8460 §4.3 type or "success"). */
void	metrics_tls_result(struct mtasts_ctx *ctx, const char *type,
	    uint64_t n);
/* Write what is pending and free it (mtasts_ctx_free). */
void	metrics_free(struct mtasts_ctx *ctx);

#endif /* MTASTS_METRICS_H */
