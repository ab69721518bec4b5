/*
 * mail.c - a TLS report as mail (RFC 8460 §5.3): the mailto: address
 * it goes to, and the multipart/report message handed to sendmail -t.
 * The rua comes from DNS and is hostile: one plain address or nothing,
 * so that no header can be injected through it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#include "send.h"

#define MAIL_HEADER_MAX	200	/* one header value */
#define MAIL_B64_LINE	76	/* RFC 2045 §6.8 */

static int
mail_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* RFC 5322 §3.2.3 atext */
static int
mail_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom: atext runs separated by single dots. */
static int
mail_dot_atom(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > 64 || p[0] == '.' || p[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] == '.' ? p[i + 1] == '.' : !mail_atext(
		    (unsigned char)p[i]))
			return 0;
	return 1;
}

static int
mail_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

int
send_mailto_addr(const char *uri, size_t len, char *addr, size_t size,
    char *why, size_t whylen)
{
	char buf[SEND_ADDR_MAX + 1], dom[MTASTS_DOMAIN_MAX + 1], *at;
	size_t i, o = 0;
	int h, l;

	if (size > 0)
		addr[0] = '\0';
	if (len < 7 || strncasecmp(uri, "mailto:", 7) != 0)
		return mail_fail(why, whylen, "not a mailto: URI");
	for (i = 7; i < len && uri[i] != '?'; i++) {	/* hfields: ignored */
		int c = (unsigned char)uri[i];

		if (c == '%') {
			if (i + 2 >= len || (h = mail_hex(uri[i + 1])) < 0 ||
			    (l = mail_hex(uri[i + 2])) < 0)
				return mail_fail(why, whylen, "bad %%-escape");
			c = h * 16 + l;
			i += 2;
		}
		if (o >= SEND_ADDR_MAX)
			return mail_fail(why, whylen, "address too long");
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
			return mail_fail(why, whylen, "not one plain address "
			    "(character 0x%02x)", c);
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	if ((at = strrchr(buf, '@')) == NULL || at == buf ||
	    memchr(buf, '@', (size_t)(at - buf)) != NULL ||
	    !mail_dot_atom(buf, (size_t)(at - buf)))
		return mail_fail(why, whylen, "not local@domain");
	if (mtasts_domain_normalize(at + 1, strlen(at + 1), dom, sizeof(dom),
	    NULL, 0) != MTASTS_OK)
		return mail_fail(why, whylen, "bad domain");
	if ((size_t)snprintf(addr, size, "%.*s@%s", (int)(at - buf), buf,
	    dom) >= size) {
		addr[0] = '\0';
		return mail_fail(why, whylen, "address too long");
	}
	return 0;
}

/* A value that may go into a header as it is: printable ASCII. */
static int
mail_value_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > MAIL_HEADER_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* A bounded growing buffer (curl's dynbuf, smaller). */
struct mail_buf {
	char	*p;
	size_t	 len, size;
	int	 failed;
};

static void
mail_put(struct mail_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *np;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->size - b->len) {
		need = b->len + (size_t)n + 1;
		if ((np = realloc(b->p, need)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->size = need;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* RFC 4648 §4, in lines of 76 (RFC 2045 §6.8). */
static void
mail_base64(struct mail_buf *b, const unsigned char *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[MAIL_B64_LINE + 1];
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		line[o++] = tab[(v >> 18) & 63];
		line[o++] = tab[(v >> 12) & 63];
		line[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		line[o++] = i + 2 < len ? tab[v & 63] : '=';
		if (o == MAIL_B64_LINE || i + 3 >= len) {
			line[o] = '\0';
			mail_put(b, "%s\n", line);
			o = 0;
		}
	}
}

int
send_mail_build(const struct send_mail *m, char **out, size_t *len,
    char *why, size_t whylen)
{
	const char *v[] = { m->from, m->to, m->org, m->domain, m->submitter,
	    m->report_id, m->filename, m->date };
	struct mail_buf b = { NULL, 0, 0, 0 };
	char date[64], bound[64];
	time_t now = (time_t)m->now;
	struct tm tm;
	size_t i;

	*out = NULL;
	*len = 0;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] == NULL || !mail_value_ok(v[i]) ||
		    strchr(v[i], '"') != NULL)
			return mail_fail(why, whylen, "header value %zu is not "
			    "1-%d printable ASCII characters", i,
			    MAIL_HEADER_MAX);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* "=_" never occurs in base64 or in our text: a safe boundary. */
	snprintf(bound, sizeof(bound), "=_mtasts_%lld", (long long)m->now);
	if ((b.p = malloc(b.size = 4096 + m->gzlen * 2)) == NULL)
		return mail_fail(why, whylen, "out of memory");
	mail_put(&b, "From: %s\nTo: %s\nDate: %s\n", m->from, m->to, date);
	/* §5.3 (D21): the Subject's Report-ID is the JSON report-id. */
	mail_put(&b, "Subject: Report Domain: %s Submitter: %s Report-ID: "
	    "<%s>\n", m->domain, m->submitter, m->report_id);
	mail_put(&b, "Message-ID: <%s>\n", m->report_id);
	mail_put(&b, "TLS-Report-Domain: %s\nTLS-Report-Submitter: %s\n",
	    m->domain, m->submitter);
	mail_put(&b, "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
	    "\tboundary=\"%s\"\n\nThis is a MIME message.\n\n", bound);
	mail_put(&b, "--%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\n"
	    "for mail sent to %s on %s (UTC).\n"
	    "Report-ID: %s\n\n", bound, m->org, m->domain, m->date,
	    m->report_id);
	mail_put(&b, "--%s\nContent-Type: application/tlsrpt+gzip;\n"
	    "\tname=\"%s\"\nContent-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n\tfilename=\"%s\"\n\n", bound,
	    m->filename, m->filename);
	mail_base64(&b, m->gz, m->gzlen);
	mail_put(&b, "\n--%s--\n", bound);
	if (b.failed) {
		free(b.p);
		return mail_fail(why, whylen, "out of memory");
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
