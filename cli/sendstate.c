/*
 * sendstate.c - the send state of one report (RFC 8460 §3, §5.5): sent
 * once, retried with a doubling delay for up to 24 h.  The file is
 * ours, but anything on disk may be damaged: it is parsed strictly and
 * a bad file is an error naming the line, never a guess.
 */
#include <stdio.h>
#include <string.h>

#include "send.h"

#define SEND_MAGIC	"mtasts-send 1"
#define SEND_BACKOFF_MAX	(6 * 3600)

static const char *const send_phases[] = {
	"pending", "delivered", "expired", "norua"
};

const char *
send_phase_name(enum send_phase phase)
{
	return (unsigned)phase < 4 ? send_phases[phase] : "?";
}

/* 1-19 digits, no sign, at most INT64_MAX / 10 (no overflow). */
static int
send_number(const char *p, size_t len, int64_t *out)
{
	int64_t n = 0;
	size_t i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	*out = n;
	return 0;
}

static int
send_field(struct send_state *st, const char *k, size_t klen,
    const char *v, size_t vlen, unsigned *seen)
{
	static const char *const keys[] = { "phase", "first", "last", "next",
	    "attempts" };
	int64_t n = 0;
	size_t i, j;

	for (i = 0; i < 5; i++)
		if (klen == strlen(keys[i]) && memcmp(k, keys[i], klen) == 0)
			break;
	if (i == 5 || (*seen & (1u << i)))
		return -1;
	*seen |= 1u << i;
	if (i == 0) {
		for (j = 0; j < 4; j++)
			if (vlen == strlen(send_phases[j]) &&
			    memcmp(v, send_phases[j], vlen) == 0)
				return st->phase = (enum send_phase)j, 0;
		return -1;
	}
	if (send_number(v, vlen, &n) != 0)
		return -1;
	if (i == 1)
		st->first = n;
	else if (i == 2)
		st->last = n;
	else if (i == 3)
		st->next = n;
	else if (n > UINT32_MAX)
		return -1;
	else
		st->attempts = (uint32_t)n;
	return 0;
}

int
send_state_parse(const char *p, size_t len, struct send_state *st,
    char *why, size_t whylen)
{
	const char *lf, *sp;
	size_t pos, end, line;
	unsigned seen = 0;

	memset(st, 0, sizeof(*st));
	if (len > SEND_STATE_MAX || len < sizeof(SEND_MAGIC) ||
	    memcmp(p, SEND_MAGIC "\n", sizeof(SEND_MAGIC)) != 0) {
		snprintf(why, whylen, "not a send state file");
		return -1;
	}
	for (pos = sizeof(SEND_MAGIC), line = 2; pos < len; pos = end + 1,
	    line++) {
		if ((lf = memchr(p + pos, '\n', len - pos)) == NULL) {
			snprintf(why, whylen, "line %zu: no newline", line);
			return -1;
		}
		end = (size_t)(lf - p);
		sp = memchr(p + pos, ' ', end - pos);
		if (sp == NULL || send_field(st, p + pos, (size_t)(sp - p) -
		    pos, sp + 1, (size_t)(lf - sp) - 1, &seen) != 0) {
			snprintf(why, whylen, "line %zu: bad, unknown or "
			    "repeated field", line);
			return -1;
		}
	}
	if (seen != 0x1f) {
		snprintf(why, whylen, "a field is missing");
		return -1;
	}
	return 0;
}

int
send_state_format(const struct send_state *st, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, SEND_MAGIC "\nphase %s\nfirst %lld\n"
	    "last %lld\nnext %lld\nattempts %lu\n",
	    send_phase_name(st->phase), (long long)st->first,
	    (long long)st->last, (long long)st->next,
	    (unsigned long)st->attempts);
	return (n < 0 || (size_t)n >= size) ? -1 : n;
}

void
send_state_failed(struct send_state *st, int64_t now, unsigned int retry)
{
	int64_t delay = retry;
	uint32_t i;

	if (st->first == 0)
		st->first = now;
	st->last = now;
	if (st->attempts < UINT32_MAX)
		st->attempts++;
	for (i = 1; i < st->attempts && delay < SEND_BACKOFF_MAX; i++)
		delay *= 2;		/* §5.5: exponential backoff */
	if (delay > SEND_BACKOFF_MAX)
		delay = SEND_BACKOFF_MAX;
	st->next = now + delay;
	if (st->next >= st->first + SEND_RETRY_SPAN)
		st->phase = SEND_EXPIRED;
	else
		st->phase = SEND_PENDING;
}
