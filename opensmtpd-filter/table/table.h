/*
 * table.h - table-mtasts, the OpenSMTPD table backend of mtasts (the
 * "Tier B" of docs/opensmtpd.md): smtpd 6.8 asks it, per delivery
 * attempt, which MX host to relay a domain's mail to, and it answers
 * only with an MX host that the domain's policy allows (RFC 8461 §4.1
 * at delivery time, not only at RCPT time).
 *
 * wire.c	smtpd 6.8's table-proc protocol: imsg frames on fd 0
 * answer.c	the answers: enforce check, the relay host to use
 * text.c	the text protocol of OpenSMTPD 7.6 and later
 * main.c	arguments, configuration, the request loop
 */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct mtasts_ctx;

/* imsg as smtpd 6.8 frames it (OpenBSD imsg.h): a header of
 * {u32 type, u16 len (header included), u16 flags, u32 peerid, u32 pid}
 * in host byte order, then the data.  imsg refuses frames larger than
 * MAX_IMSGSIZE, so do we. */
#define TABLE_HDR_SIZE		16
#define TABLE_FRAME_MAX		16384
/* smtpd-api.h: PROC_TABLE_API_VERSION and struct table_open_params. */
#define TABLE_API_VERSION	2
#define TABLE_OPEN_NAME_SIZE	2048

enum table_msg {
	TABLE_OK = 0,
	TABLE_FAIL = 1,
	TABLE_OPEN = 2,
	TABLE_CLOSE = 3,
	TABLE_UPDATE = 4,
	TABLE_CHECK = 5,
	TABLE_LOOKUP = 6,
	TABLE_FETCH = 7,
};

/* smtpd.h enum table_service: the two we serve. */
#define TABLE_K_DOMAIN		0x002	/* match ... for domain <t> */
#define TABLE_K_RELAYHOST	0x200	/* relay domain <t> */

struct table_req {
	uint32_t	 type;		/* enum table_msg */
	int		 service;	/* CHECK, LOOKUP, FETCH */
	uint32_t	 version;	/* OPEN */
	const char	*key;		/* CHECK, LOOKUP: inside the frame */
	int		 malformed;	/* framed, but the data is not */
};

/* wire.c */
/* The length of the complete frame at the start of buf: 0 if more
 * bytes are needed, -1 if the header is impossible (the stream cannot
 * be resynchronised). */
ssize_t	wire_frame(const uint8_t *buf, size_t len);
/* Decode one complete frame (from wire_frame); never fails, but sets
 * req->malformed when the data does not fit the message type. */
void	wire_decode(const uint8_t *frame, size_t len, struct table_req *req);
/* Encode an OK reply: no data (want_r 0), or the int r, then for r == 1
 * the NUL-terminated value if not NULL.  Returns its length, or 0 if
 * it does not fit size. */
size_t	wire_reply(uint8_t *out, size_t size, int want_r, int r,
	    const char *value);

/* answer.c */
struct answer_env {
	struct event_base	*base;
	struct mtasts_ctx	*mtasts;
	unsigned int		 deadline;	/* DNS, seconds */
};
/* 1 if domain has an enforce policy in the cache, 0 if not, -1 on a
 * cache error. */
int	answer_check(struct answer_env *, const char *domain);
/* 1 and "smtp+tls://<mx>" in out: the best MX host of domain that its
 * policy allows; -1 if none does or DNS failed (smtpd then defers the
 * mail: RFC 8461 §5.1, temporary, never a bounce). */
int	answer_relayhost(struct answer_env *, const char *domain, char *out,
	    size_t size);
void	answer_shutdown(void);

/* text.c: one line of smtpd 7.6+'s text protocol (its newline
 * removed, NUL-terminated; changed in place): the reply lines to send,
 * in out, and their length (0: nothing to send). */
#define TEXT_LINE_MAX		4096
size_t	text_line(struct answer_env *, char *line, char *out, size_t size);

#endif /* TABLE_H */
