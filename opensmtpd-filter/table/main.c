/*
 * main.c - table-mtasts: smtpd runs it as /usr/libexec/opensmtpd/
 * table-mtasts for a "table NAME mtasts:CONFIG" line, with argv
 * {NAME, CONFIG} and a socketpair on fd 0 (replies go back on fd 0,
 * not on stdout).  smtpd's lka waits for each reply and exits if this
 * process dies or answers garbage, so: every request is answered, input
 * never ends the program except a broken frame or end of input.  See
 * table-mtasts(8).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include <mtasts.h>

#include "table.h"
#include "../loglimit.h"

static char		 prefix[128] = "table-mtasts[mtasts]: ";

static void
main_send(const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(STDIN_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			log_warnx("reply: %s", strerror(errno));
			exit(1);
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void
main_reply(int want_r, int r, const char *value)
{
	uint8_t	out[TABLE_HDR_SIZE + 8 + 512];
	size_t	n;

	if ((n = wire_reply(out, sizeof(out), want_r, r, value)) == 0)
		n = wire_reply(out, sizeof(out), 1, -1, NULL);
	main_send(out, n);
}

static int
main_lookup(struct answer_env *e, const struct table_req *req, char *val,
    size_t size)
{
	if (req->malformed)
		return -1;
	if (req->type == TABLE_CHECK && req->service == TABLE_K_DOMAIN)
		return answer_check(e, req->key);
	if (req->type == TABLE_LOOKUP && req->service == TABLE_K_RELAYHOST) {
		int r = answer_relayhost(e, req->key, val, size);
		if (r == 1)
			log_warnx("%s: relay via %s", req->key, val);
		return r;
	}
	log_input("service 0x%x is not served (only domain, relayhost)",
	    (unsigned int)req->service);
	return -1;
}

static void
main_request(struct answer_env *e, const uint8_t *frame, size_t len)
{
	struct table_req	req;
	char			val[MTASTS_DOMAIN_MAX + 32];
	int			r;

	wire_decode(frame, len, &req);
	switch (req.type) {
	case TABLE_OPEN:
		if (req.malformed || req.version != TABLE_API_VERSION)
			log_input("open: unexpected table API (version %u)",
			    (unsigned int)req.version);
		main_reply(0, 0, NULL);
		break;
	case TABLE_UPDATE:
		main_reply(1, 1, NULL);	/* nothing to reload */
		break;
	case TABLE_CLOSE:
		exit(0);
	case TABLE_CHECK:
	case TABLE_LOOKUP:
		r = main_lookup(e, &req, val, sizeof(val));
		main_reply(1, r, r == 1 && req.type == TABLE_LOOKUP ? val :
		    NULL);
		break;
	default:
		log_input("request type %u not served",
		    (unsigned int)req.type);
		main_reply(1, -1, NULL);
	}
}

/* Lines of the text protocol (7.6+) in buf[0..*len), each answered;
 * what is left is an incomplete line.  A line longer than
 * TEXT_LINE_MAX cannot be smtpd's: the stream is lost. */
static void
main_text(struct answer_env *e, uint8_t *buf, size_t *len)
{
	char	out[1024], *nl;
	size_t	used, n;

	while ((nl = memchr(buf, '\n', *len)) != NULL) {
		*nl = '\0';
		used = (size_t)(nl - (char *)buf) + 1;
		if (memchr(buf, '\0', used - 1) != NULL)
			log_input("text line with a NUL byte dropped");
		else if ((n = text_line(e, (char *)buf, out, sizeof(out))) > 0)
			main_send((uint8_t *)out, n);
		memmove(buf, buf + used, *len - used);
		*len -= used;
	}
	if (*len > TEXT_LINE_MAX) {
		log_warnx("text line longer than %d bytes; exiting",
		    TEXT_LINE_MAX);
		exit(1);
	}
}

/* Read frames (6.8's imsg) or lines (7.6+, which begin "config|") from
 * fd 0 until end of input. */
static void
main_loop(struct answer_env *e)
{
	static uint8_t	buf[2 * TABLE_FRAME_MAX];
	size_t		len = 0;
	ssize_t		n, flen = 0;
	int		text = -1;	/* unknown until the first byte */

	for (;;) {
		if (text == -1 && len > 0)
			text = buf[0] == 'c';
		if (text == 1)
			main_text(e, buf, &len);
		else
			while ((flen = wire_frame(buf, len)) > 0) {
				main_request(e, buf, (size_t)flen);
				memmove(buf, buf + flen, len - (size_t)flen);
				len -= (size_t)flen;
			}
		if (flen == -1) {
			log_warnx("broken frame from smtpd; exiting");
			exit(1);
		}
		if ((n = read(STDIN_FILENO, buf + len, sizeof(buf) - len -
		    1)) == -1 && errno == EINTR)
			continue;
		loglimit_flush(time(NULL));
		if (n <= 0) {
			if (n == -1)
				log_warnx("read: %s", strerror(errno));
			return;
		}
		len += (size_t)n;
	}
}

int
main(int argc, char *argv[])
{
	struct answer_env	 e = { NULL, NULL, 3 };
	struct mtasts_config	*cfg = NULL;
	char			 err[MTASTS_ERRLEN];

	/* smtpd: execl(path, name, config); by hand: NAME [CONFIG]. */
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: table-mtasts [config]\n");
		return 1;
	}
	if (argc >= 1 && argv[0][0] != '\0' && strchr(argv[0], '/') == NULL)
		snprintf(prefix, sizeof(prefix), "table-mtasts[%.100s]: ",
		    argv[0]);
	/* stderr is smtpd's (its log with -d); syslog otherwise. */
	openlog("table-mtasts", LOG_PID, LOG_MAIL);
	log_init(prefix, LOG_TO_STDERR | LOG_TO_SYSLOG, LOG_MAIL);
	signal(SIGPIPE, SIG_IGN);
	mtasts_set_log(log_on_core, NULL);
	if (mtasts_config_load(argc == 2 ? argv[1] : NULL, &cfg, err,
	    sizeof(err)) != MTASTS_OK) {
		log_warnx("%s", err);
		return 1;
	}
	if ((e.base = event_base_new()) == NULL ||
	    mtasts_ctx_new(e.base, cfg, 0, &e.mtasts, err, sizeof(err)) !=
	    MTASTS_OK) {
		log_warnx("%s", e.base == NULL ? "event_base_new failed" : err);
		mtasts_config_free(cfg);
		if (e.base != NULL)
			event_base_free(e.base);
		return 1;
	}
	main_loop(&e);
	answer_shutdown();
	mtasts_ctx_free(e.mtasts);
	mtasts_config_free(cfg);
	event_base_free(e.base);
	return 0;
}
