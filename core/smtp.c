/*
 * smtp.c - the SMTP client of mtasts check: a blocking session on a
 * non-blocking socket, every wait a poll() bounded by the step and the
 * session deadline, so a silent or dripping server costs bounded time.
 * Replies go through smtpreply.c (bounded lines and replies).  TLS is
 * OpenSSL with SNI = the MX host; the chain is verified against the
 * configured CA file, the name by mtasts_cert_match() (SAN dNSNames
 * only, RFC 8461 §4.2, D11, D12).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "smtp.h"

struct conn {
	int		 fd;
	SSL		*ssl;		/* NULL before STARTTLS */
	int64_t		 session_end;	/* ms, CLOCK_MONOTONIC */
	int64_t		 step_ms;
	char		 buf[SMTP_REPLY_MAX];
	size_t		 len;		/* bytes in buf not yet parsed */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on the socket until the step ends (or the session). */
static int
conn_wait(struct conn *c, short events, int64_t step_end)
{
	struct pollfd pfd;
	int64_t end = step_end < c->session_end ? step_end : c->session_end;
	int64_t left;
	int r;

	for (;;) {
		if ((left = end - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A non-blocking connect, bounded by one step. */
static int
conn_connect_to(struct conn *c, const struct addrinfo *ai)
{
	socklen_t sl = sizeof(int);
	int soerr = 0;

	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS ||
	    conn_wait(c, POLLOUT, now_ms() + c->step_ms) != 0 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static int
conn_connect(struct conn *c, const struct mtasts_smtp_probe *in, char *err,
    size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", in->port);
	if ((r = getaddrinfo(in->addr, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "address %s: %s", in->addr,
		    gai_strerror(r));
		return -1;
	}
	r = conn_connect_to(c, ai);
	freeaddrinfo(ai);
	if (r != 0) {
		snprintf(err, errlen, "connect to %s port %u: %s", in->addr,
		    in->port, errno == ETIMEDOUT ? "timed out" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* After an SSL call returned r <= 0: wait as it asks, or fail. */
static int
conn_ssl_wait(struct conn *c, int r, int64_t step_end)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return conn_wait(c, POLLIN, step_end);
	case SSL_ERROR_WANT_WRITE:
		return conn_wait(c, POLLOUT, step_end);
	default:
		errno = EPROTO;
		return -1;
	}
}

static int
conn_write(struct conn *c, const char *p, size_t len)
{
	int64_t step_end = now_ms() + c->step_ms;
	ssize_t n;
	int r;

	while (len > 0) {
		if (c->ssl != NULL) {
			if ((r = SSL_write(c->ssl, p, (int)len)) > 0)
				n = r;
			else if (conn_ssl_wait(c, r, step_end) != 0)
				return -1;
			else
				continue;
		} else if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) < 0) {
			if ((errno != EAGAIN && errno != EINTR) ||
			    conn_wait(c, POLLOUT, step_end) != 0)
				return -1;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what is there into the buffer: > 0 bytes, 0 at EOF, -1 error. */
static ssize_t
conn_read(struct conn *c, int64_t step_end)
{
	size_t room = sizeof(c->buf) - c->len;
	ssize_t n;
	int r;

	for (;;) {
		if (c->ssl != NULL) {
			if ((r = SSL_read(c->ssl, c->buf + c->len, (int)room))
			    > 0)
				n = r;
			else if (SSL_get_error(c->ssl, r) ==
			    SSL_ERROR_ZERO_RETURN)
				n = 0;
			else if (conn_ssl_wait(c, r, step_end) != 0)
				return -1;
			else
				continue;
		} else if ((n = recv(c->fd, c->buf + c->len, room, 0)) < 0) {
			if ((errno != EAGAIN && errno != EINTR) ||
			    conn_wait(c, POLLIN, step_end) != 0)
				return -1;
			continue;
		}
		c->len += (size_t)n;
		return n;
	}
}

/* The next reply; what names the step in messages. */
static int
conn_reply(struct conn *c, struct smtp_reply *rep, const char *what,
    char *err, size_t errlen)
{
	int64_t step_end = now_ms() + c->step_ms;
	size_t used;
	ssize_t n;

	for (;;) {
		switch (smtp_reply_parse(c->buf, c->len, rep, &used)) {
		case SMTP_DONE:
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return 0;
		case SMTP_BAD:
			snprintf(err, errlen, "%s: bad reply: %s", what,
			    rep->why);
			return -1;
		}
		if (c->len == sizeof(c->buf)) {
			snprintf(err, errlen, "%s: reply too long", what);
			return -1;
		}
		if ((n = conn_read(c, step_end)) <= 0) {
			snprintf(err, errlen, "%s: %s", what, n == 0 ?
			    "connection closed" : errno == ETIMEDOUT ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
}

/* Send a command and read its reply; want is the expected code. */
static int
conn_command(struct conn *c, const char *cmd, const char *what, int want,
    struct smtp_reply *rep, char *err, size_t errlen)
{
	if (cmd != NULL && conn_write(c, cmd, strlen(cmd)) != 0) {
		snprintf(err, errlen, "%s: cannot send: %s", what,
		    strerror(errno));
		return -1;
	}
	if (conn_reply(c, rep, what, err, errlen) != 0)
		return -1;
	if (rep->code != want) {
		snprintf(err, errlen, "%s: %d %s", what, rep->code, rep->text);
		return -1;
	}
	return 0;
}

/* The first OpenSSL error on the queue, or the errno text. */
static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s: %s", what, errno == ETIMEDOUT ?
		    "timed out" : errno == 0 || errno == EPROTO ?
		    "connection closed" : strerror(errno));
	ERR_clear_error();
}

static SSL_CTX *
tls_ctx_new(const struct mtasts_smtp_probe *in, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_error(err, errlen, "TLS");
		return NULL;
	}
	/* RFC 8996: nothing below TLS 1.2.  The chain is verified after
	 * the handshake (SSL_VERIFY_NONE here) so that we can say what is
	 * wrong with it instead of only that the handshake failed. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_load_verify_locations(ctx, in->ca_file, NULL) != 1) {
		tls_error(err, errlen, in->ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
tls_handshake(struct conn *c, SSL_CTX *ctx, const char *host, char *err,
    size_t errlen)
{
	int64_t step_end = now_ms() + c->step_ms;
	int r;

	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, host) != 1) {	/* SNI */
		tls_error(err, errlen, "TLS");
		return -1;
	}
	errno = 0;
	while ((r = SSL_connect(c->ssl)) != 1)
		if (conn_ssl_wait(c, r, step_end) != 0) {
			tls_error(err, errlen, "TLS handshake");
			return -1;
		}
	return 0;
}

/* What the certificate is worth: chain, name, expiry. */
static void
tls_examine(struct conn *c, const char *host, struct mtasts_smtp_result *out)
{
	X509 *cert;
	struct tm tm;

	snprintf(out->tls_version, sizeof(out->tls_version), "%s",
	    SSL_get_version(c->ssl));
	snprintf(out->cipher, sizeof(out->cipher), "%s",
	    SSL_get_cipher_name(c->ssl));
	out->verify = SSL_get_verify_result(c->ssl);
	if ((cert = SSL_get1_peer_certificate(c->ssl)) == NULL) {
		out->verify = X509_V_ERR_UNSPECIFIED;
		snprintf(out->verify_text, sizeof(out->verify_text),
		    "no certificate");
		snprintf(out->name_err, sizeof(out->name_err),
		    "no certificate");
		return;
	}
	snprintf(out->verify_text, sizeof(out->verify_text), "%s",
	    X509_verify_cert_error_string(out->verify));
	out->name_ok = mtasts_cert_match(cert, host, strlen(host),
	    out->name_err, sizeof(out->name_err)) == MTASTS_OK;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		out->not_after = (int64_t)timegm(&tm);
	X509_free(cert);
}

/* Greeting, EHLO, STARTTLS: 0 when the server said 220 to STARTTLS. */
static int
smtp_plain(struct conn *c, const struct mtasts_smtp_probe *in,
    struct mtasts_smtp_result *out)
{
	struct smtp_reply rep;
	char ehlo[300];

	out->stage = MTASTS_SMTP_ST_GREETING;
	if (conn_command(c, NULL, "greeting", 220, &rep, out->error,
	    sizeof(out->error)) != 0)
		return -1;
	memcpy(out->banner, rep.text, sizeof(out->banner));
	out->stage = MTASTS_SMTP_ST_EHLO;
	snprintf(ehlo, sizeof(ehlo), "EHLO %s\r\n", in->helo);
	if (conn_command(c, ehlo, "EHLO", 250, &rep, out->error,
	    sizeof(out->error)) != 0)
		return -1;
	out->stage = MTASTS_SMTP_ST_STARTTLS;
	if (!(out->starttls = rep.starttls)) {
		snprintf(out->error, sizeof(out->error), "STARTTLS is not "
		    "offered in the EHLO reply (RFC 3207)");
		return -1;
	}
	if (conn_command(c, "STARTTLS\r\n", "STARTTLS", 220, &rep,
	    out->error, sizeof(out->error)) != 0)
		return -1;
	/* Bytes sent before the handshake would be read as if they came
	 * over TLS: the STARTTLS injection of CVE-2011-0411. */
	if (c->len > 0) {
		snprintf(out->error, sizeof(out->error), "STARTTLS: the "
		    "server sent data after its 220 reply");
		return -1;
	}
	return 0;
}

static void
smtp_quit(struct conn *c)
{
	struct smtp_reply rep;
	char ignore[64];

	c->step_ms = c->step_ms < 2000 ? c->step_ms : 2000;
	if (conn_write(c, "QUIT\r\n", 6) == 0)
		(void)conn_reply(c, &rep, "QUIT", ignore, sizeof(ignore));
	if (c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);
}

MTASTS_API int
mtasts_smtp_probe(const struct mtasts_smtp_probe *in,
    struct mtasts_smtp_result *out)
{
	struct conn *c;
	SSL_CTX *ctx = NULL;
	int r = -1;

	memset(out, 0, sizeof(*out));
	out->verify = -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		return -1;
	}
	c->fd = -1;
	c->step_ms = (int64_t)in->timeout * 1000;
	c->session_end = now_ms() + 4 * c->step_ms;
	ERR_clear_error();
	if (conn_connect(c, in, out->error, sizeof(out->error)) != 0 ||
	    smtp_plain(c, in, out) != 0)
		goto done;
	out->stage = MTASTS_SMTP_ST_TLS;
	if ((ctx = tls_ctx_new(in, out->error, sizeof(out->error))) == NULL ||
	    tls_handshake(c, ctx, in->host, out->error,
	    sizeof(out->error)) != 0)
		goto done;
	tls_examine(c, in->host, out);
	out->stage = MTASTS_SMTP_ST_DONE;
	r = 0;
done:
	if (c->fd >= 0 && out->stage >= MTASTS_SMTP_ST_EHLO)
		smtp_quit(c);
	SSL_free(c->ssl);
	SSL_CTX_free(ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return r;
}

MTASTS_API void
mtasts_smtp_helo_name(char *buf, size_t size)
{
	char name[256];

	if (gethostname(name, sizeof(name)) != 0 ||
	    mtasts_domain_normalize(name, strnlen(name, sizeof(name)), buf,
	    size, NULL, 0) != MTASTS_OK)
		snprintf(buf, size, "localhost");
}
