/*
 * txt.h - the key=value TXT record syntax shared by the _mta-sts record
 * (RFC 8461 §3.1) and the _smtp._tls record (RFC 8460 §3).
 */
#ifndef MTASTS_TXT_H
#define MTASTS_TXT_H

#include <stddef.h>

struct mtasts_rr;

/* Called once per field after the version; `off' is the name's offset. */
typedef int (*txt_field_cb)(const char *name, size_t nlen, const char *val,
    size_t vlen, size_t off, void *arg, char *err, size_t errlen);

int	txt_walk(const char *p, size_t len, const char *version,
	    const char *what, txt_field_cb cb, void *arg, char *err,
	    size_t errlen);
int	txt_is_kind(const char *p, size_t len, const char *version);
int	txt_ext_value_check(const char *name, size_t nlen, const char *val,
	    size_t vlen, size_t off, const char *what, char *err,
	    size_t errlen);
int	txt_select(const struct mtasts_rr *rrs, size_t n, const char *version,
	    const char *what, size_t *idx, char *err, size_t errlen);

#endif /* MTASTS_TXT_H */
