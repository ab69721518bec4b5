/*
 * dnsmsg.c - walk the answer section of a DNS message (RFC 1035 §4.1)
 * and read TXT and MX RDATA.  Every read is checked against len; a
 * name is at most 255 octets and a compression pointer must point
 * before every octet of the name read so far, so no loop is possible.
 */
#include <stddef.h>
#include <string.h>

#include "dnsmsg.h"

#define DNSMSG_HDR	12	/* RFC 1035 §4.1.1 */
#define DNSMSG_C_IN	1
#define DNSMSG_WIRE_MAX	255	/* RFC 1035 §2.3.4, the length octets too */

static unsigned int
dnsmsg_u16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* Skip one (possibly compressed) name at *off; -1 if malformed.  The
 * pointer that ends a name is not followed: only its length matters. */
static int
dnsmsg_skip_name(const unsigned char *msg, size_t len, size_t *off)
{
	size_t o = *off, wire = 0;
	unsigned int c;

	while (o < len) {
		c = msg[o];
		if (c == 0) {
			*off = o + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (len - o < 2)
				return -1;
			*off = o + 2;
			return 0;
		}
		if ((c & 0xc0) != 0)
			return -1;	/* 01 and 10 are reserved */
		if ((wire += c + 1) >= DNSMSG_WIRE_MAX || len - o - 1 < c)
			return -1;
		o += 1 + c;
	}
	return -1;
}

int
dnsmsg_answers(const unsigned char *msg, size_t len, dnsmsg_rr_cb cb,
    void *arg)
{
	unsigned int qd, an, type, class, rdlen, i;
	size_t off = DNSMSG_HDR;
	int r;

	if (msg == NULL || len < DNSMSG_HDR)
		return -1;
	qd = dnsmsg_u16(msg + 4);
	an = dnsmsg_u16(msg + 6);
	for (i = 0; i < qd; i++) {
		if (dnsmsg_skip_name(msg, len, &off) != 0 || len - off < 4)
			return -1;
		off += 4;		/* QTYPE, QCLASS */
	}
	/* Each RR takes at least 11 octets: the loop ends with the data. */
	for (i = 0; i < an; i++) {
		/* NAME, then TYPE CLASS TTL RDLENGTH: 10 octets */
		if (dnsmsg_skip_name(msg, len, &off) != 0 || len - off < 10)
			return -1;
		type = dnsmsg_u16(msg + off);
		class = dnsmsg_u16(msg + off + 2);
		rdlen = dnsmsg_u16(msg + off + 8);
		off += 10;
		if (len - off < rdlen)
			return -1;
		if (class == DNSMSG_C_IN &&
		    (r = cb(msg, len, type, off, rdlen, arg)) != 0)
			return r;
		off += rdlen;
	}
	return 0;
}

int
dnsmsg_txt(const unsigned char *msg, size_t len, size_t rdoff, size_t rdlen,
    char *out, size_t *outlen)
{
	size_t o = 0, n = 0, slen;

	*outlen = 0;
	if (rdoff > len || len - rdoff < rdlen || rdlen == 0)
		return -1;	/* §3.3.14: one or more strings */
	msg += rdoff;
	while (o < rdlen) {
		slen = msg[o++];
		if (rdlen - o < slen)
			return -1;
		memcpy(out + n, msg + o, slen);
		n += slen;
		o += slen;
	}
	*outlen = n;
	return 0;
}

/* One label's octets as text, escaped as in c-ares' ares_expand_name. */
static size_t
dnsmsg_label(const unsigned char *p, size_t c, char *out)
{
	static const char digits[] = "0123456789";
	size_t i, n = 0;

	for (i = 0; i < c; i++) {
		if (p[i] == '.' || p[i] == '\\') {
			out[n++] = '\\';
			out[n++] = (char)p[i];
		} else if (p[i] < 0x21 || p[i] > 0x7e) {
			out[n++] = '\\';
			out[n++] = digits[p[i] / 100];
			out[n++] = digits[p[i] / 10 % 10];
			out[n++] = digits[p[i] % 10];
		} else
			out[n++] = (char)p[i];
	}
	return n;
}

/* Expand the name at off, which must end (its first pointer or its root
 * label) before end, into host.  RFC 1035 §4.1.4: a pointer refers to a
 * prior occurrence, so each must go below the lowest octet read yet. */
static int
dnsmsg_name(const unsigned char *msg, size_t len, size_t off, size_t end,
    char *host)
{
	size_t o = off, low = off, wire = 0, n = 0, ptr;
	unsigned int c;

	for (;;) {
		if (o >= end)
			goto bad;
		c = msg[o];
		if (c == 0)
			break;
		if ((c & 0xc0) == 0xc0) {
			if (end - o < 2)
				goto bad;
			ptr = (size_t)(c & 0x3f) << 8 | msg[o + 1];
			if (ptr >= low)
				goto bad;
			low = o = ptr;
			end = len;
			continue;
		}
		if ((c & 0xc0) != 0)
			goto bad;	/* 01 and 10 are reserved */
		if ((wire += c + 1) >= DNSMSG_WIRE_MAX || end - o - 1 < c)
			goto bad;
		if (n > 0)
			host[n++] = '.';
		n += dnsmsg_label(msg + o + 1, c, host + n);
		o += 1 + c;
	}
	host[n] = '\0';
	return 0;
bad:
	host[0] = '\0';
	return -1;
}

int
dnsmsg_mx(const unsigned char *msg, size_t len, size_t rdoff, size_t rdlen,
    unsigned int *pref, char *host)
{
	host[0] = '\0';
	if (rdoff > len || len - rdoff < rdlen || rdlen < 3)
		return -1;
	*pref = dnsmsg_u16(msg + rdoff);
	return dnsmsg_name(msg, len, rdoff + 2, rdoff + rdlen, host);
}
