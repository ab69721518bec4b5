/*
 * netstring.h - netstrings (D. J. Bernstein, "len:data,"), the framing
 * of Postfix's socketmap protocol (socketmap_table(5)).
 *
 * Pure functions over (bytes, length): no I/O, no allocation, so the
 * daemon's buffered input and the fuzz target use the same code.
 */
#ifndef NETSTRING_H
#define NETSTRING_H

#include <stddef.h>

/* Length digits we accept: enough for any limit below 10^9.  Leading
 * zeros are accepted (Postfix's netstring_get_length() does too). */
#define NETSTRING_DIGITS_MAX	9

enum netstring_status {
	NETSTRING_OK = 0,	/* one complete netstring */
	NETSTRING_MORE,		/* incomplete so far: read more */
	NETSTRING_EDIGIT,	/* length missing or not a decimal number */
	NETSTRING_ETOOLONG,	/* length over the caller's limit */
	NETSTRING_ECOMMA,	/* data not followed by ',' */
};

/*
 * Look for one netstring at the start of p (len bytes).  max is the
 * largest data length accepted.  On NETSTRING_OK the data is
 * p[*off .. *off + *dlen) and the netstring took *used bytes.  The
 * errors are final: the stream cannot be resynchronised.  An overlong
 * length is reported as soon as its digits show it, before the data
 * arrives.
 */
int	netstring_parse(const char *p, size_t len, size_t max, size_t *off,
	    size_t *dlen, size_t *used);
/* A static description of a status, for logs. */
const char *netstring_strerror(int status);
/* Bytes netstring_parse() may need to see to decide on a netstring of
 * at most max data bytes. */
size_t	netstring_frame_max(size_t max);

#endif /* NETSTRING_H */
