/*
 * text.c - the text table protocol of OpenSMTPD 7.6 and later
 * (smtpd-tables(7)), which smtpd speaks instead of imsg when it starts
 * a table backend: "config|..." lines, then one request per line,
 * answered in order, each reply naming the request's id:
 *
 *   config|ready                         -> register|domain
 *                                           register|relayhost
 *                                           register|ready
 *   table|0.1|TS|NAME|check|domain|ID|KEY    -> check-result|ID|found
 *                                               (not-found, error|why)
 *   table|0.1|TS|NAME|lookup|relayhost|ID|KEY -> lookup-result|ID|found|V
 *   table|0.1|TS|NAME|update|ID          -> update-result|ID|ok
 *
 * smtpd waits for each reply, so every request with an id gets one;
 * a line without a usable id is logged and dropped.  Not tested with a
 * real 7.x smtpd (Debian 12 ships 6.8): built from the protocol's
 * description, checked by tests/unit/test_table.c.
 */
#include <stdio.h>
#include <string.h>

#include <mtasts.h>

#include "table.h"
#include "../fields.h"
#include "../loglimit.h"

#define TEXT_FIELDS	8

/* Request ids come back verbatim: keep them to what smtpd makes. */
static int
text_id_ok(const char *id)
{
	size_t	len = strlen(id);

	return len > 0 && len <= 32 && strspn(id,
	    "0123456789abcdefABCDEF") == len;
}

/* out's length, or 0 if the reply did not fit (nothing is sent). */
static size_t
text_fit(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static const char *
text_result(const char *op)
{
	return strcmp(op, "lookup") == 0 ? "lookup-result" :
	    strcmp(op, "fetch") == 0 ? "fetch-result" : "check-result";
}

static size_t
text_error(char *out, size_t size, const char *op, const char *id,
    const char *why)
{
	return text_fit(snprintf(out, size, "%s|%s|error|%s\n",
	    text_result(op), id, why), size);
}

static size_t
text_table(struct answer_env *e, char **f, size_t n, char *out, size_t size)
{
	char	val[MTASTS_DOMAIN_MAX + 32];
	int	r;

	if (n == 6 && strcmp(f[4], "update") == 0 && text_id_ok(f[5]))
		return text_fit(snprintf(out, size, "update-result|%s|ok\n",
		    f[5]), size);
	if (n != 8 || !text_id_ok(f[6])) {
		log_input("text request without a usable id dropped");
		return 0;
	}
	if (strcmp(f[1], "0.1") != 0)
		return text_error(out, size, f[4], f[6],
		    "protocol version not understood");
	if (strcmp(f[4], "check") == 0 && strcmp(f[5], "domain") == 0) {
		if ((r = answer_check(e, f[7])) == -1)
			return text_error(out, size, f[4], f[6],
			    "cache unavailable");
		return text_fit(snprintf(out, size, "check-result|%s|%s\n",
		    f[6], r == 1 ? "found" : "not-found"), size);
	}
	if (strcmp(f[4], "lookup") == 0 && strcmp(f[5], "relayhost") == 0) {
		if (answer_relayhost(e, f[7], val, sizeof(val)) != 1)
			return text_error(out, size, f[4], f[6],
			    "no MX host allowed by the MTA-STS policy");
		log_warnx("%s: relay via %s", f[7], val);
		return text_fit(snprintf(out, size,
		    "lookup-result|%s|found|%s\n", f[6], val), size);
	}
	log_input("text request %.16s|%.16s not served", f[4], f[5]);
	return text_error(out, size, f[4], f[6], "not served");
}

size_t
text_line(struct answer_env *e, char *line, char *out, size_t size)
{
	char	*f[TEXT_FIELDS];
	size_t	 n;

	out[0] = '\0';
	n = fields_split(line, f, TEXT_FIELDS);
	if (strcmp(f[0], "config") == 0) {
		if (n == 2 && strcmp(f[1], "ready") == 0)
			return text_fit(snprintf(out, size, "register|domain\n"
			    "register|relayhost\nregister|ready\n"), size);
		return 0;
	}
	if (strcmp(f[0], "table") == 0 && n >= 6)
		return text_table(e, f, n, out, size);
	log_input("text line '%.32s' dropped", line);
	return 0;
}
