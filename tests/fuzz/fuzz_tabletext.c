/*
 * fuzz_tabletext.c - table-mtasts's reader of OpenSMTPD 7.6+'s text
 * table protocol (opensmtpd-filter/table/text.c), hostile lines, with
 * the real answers behind it (a private cache, DNS that refuses).
 * Properties: never a crash; every reply is whole lines, each beginning
 * with "register|", "check-result|", "lookup-result|" or
 * "update-result|" (or "fetch-result|"), and fits its buffer.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <mtasts.h>

#include "../../opensmtpd-filter/table/table.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void	log_warnx(const char *, ...);

static struct answer_env	e;
static char			dir[] = "/tmp/mtasts-fuzz-text.XXXXXX";

void
log_warnx(const char *fmt, ...)
{
	(void)fmt;
}

static void
fuzz_cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return;
}

static void
fuzz_init(void)
{
	static struct mtasts_config *cfg;
	char conf[256], err[MTASTS_ERRLEN];

	if (e.mtasts != NULL)
		return;
	if (mkdtemp(dir) == NULL || (e.base = event_base_new()) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\ndns_timeout = 1s\n", dir);
	if (mtasts_config_parse(conf, strlen(conf), "fuzz", &cfg, err,
	    sizeof(err)) != MTASTS_OK || mtasts_ctx_new(e.base, cfg, 0,
	    &e.mtasts, err, sizeof(err)) != MTASTS_OK)
		abort();
	e.deadline = 1;
}

static void
fuzz_reply(const char *out, size_t n)
{
	static const char *const ok[] = { "register|", "check-result|",
	    "lookup-result|", "update-result|", "fetch-result|" };
	const char *p = out, *nl;
	size_t i;

	if (n != strlen(out) || (n > 0 && out[n - 1] != '\n'))
		abort();
	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			if (strncmp(p, ok[i], strlen(ok[i])) == 0)
				break;
		if (i == sizeof(ok) / sizeof(ok[0]))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line, out[1024];
	size_t n;

	if (size > TEXT_LINE_MAX || memchr(data, '\n', size) != NULL ||
	    memchr(data, '\0', size) != NULL)
		return 0;	/* main.c hands over lines, without NULs */
	fuzz_init();
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	n = text_line(&e, line, out, sizeof(out));
	fuzz_reply(out, n);
	free(line);
	return 0;
}
