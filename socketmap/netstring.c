/*
 * netstring.c - the netstring reader of mtasts-socketmap: hostile
 * clients' bytes, one cursor, every read checked.
 */
#include <stddef.h>

#include "netstring.h"

size_t
netstring_frame_max(size_t max)
{
	return NETSTRING_DIGITS_MAX + 1 + max + 1;
}

/* The length prefix "digits:"; *ndig is the digits' count and *val
 * their value, which never exceeds max (checked digit by digit). */
static int
netstring_length(const char *p, size_t len, size_t max, size_t *val,
    size_t *ndig)
{
	size_t	i, v = 0;

	for (i = 0; i < len && p[i] != ':'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= NETSTRING_DIGITS_MAX)
			return NETSTRING_EDIGIT;
		v = v * 10 + (size_t)(p[i] - '0');
		if (v > max)
			return NETSTRING_ETOOLONG;
	}
	if (i == len)
		return NETSTRING_MORE;
	if (i == 0)
		return NETSTRING_EDIGIT;	/* ":" without digits */
	*val = v;
	*ndig = i;
	return NETSTRING_OK;
}

int
netstring_parse(const char *p, size_t len, size_t max, size_t *off,
    size_t *dlen, size_t *used)
{
	size_t	ndig, n, end;
	int	r;

	if ((r = netstring_length(p, len, max, &n, &ndig)) != NETSTRING_OK)
		return r;
	/* ndig + 1 <= NETSTRING_DIGITS_MAX + 1 and n <= max: no wrap for
	 * any max a caller can hold in memory. */
	end = ndig + 1 + n;
	if (len <= end)
		return NETSTRING_MORE;
	if (p[end] != ',')
		return NETSTRING_ECOMMA;
	*off = ndig + 1;
	*dlen = n;
	*used = end + 1;
	return NETSTRING_OK;
}

const char *
netstring_strerror(int status)
{
	switch (status) {
	case NETSTRING_OK:
		return "complete";
	case NETSTRING_MORE:
		return "incomplete";
	case NETSTRING_EDIGIT:
		return "netstring length is not a decimal number";
	case NETSTRING_ETOOLONG:
		return "netstring longer than the request limit";
	case NETSTRING_ECOMMA:
		return "netstring not terminated by ','";
	}
	return "unknown netstring status";
}
