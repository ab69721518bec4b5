/*
 * fuzz_filterreport.c - filter-mtasts --report (opensmtpd-filter/
 * report.c behind proto.c): smtp-out report lines from smtpd, hostile,
 * against a real core and cache made once per process.  Properties:
 * never a crash, never a sanitizer report, nothing written to smtpd but
 * registration lines and "proceed" for a (stray) filter request,
 * whatever the events' order, session ids and parameters.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mtasts.h>

#include "../../opensmtpd-filter/filter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct filter_env	 env;

void
log_warnx(const char *fmt, ...)
{
	(void)fmt;
}

void
log_debug(const char *fmt, ...)
{
	(void)fmt;
}

void
fatalx(const char *fmt, ...)
{
	(void)fmt;
	abort();		/* never for input */
}

void
io_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strncmp(buf, "register|", 9) != 0 &&
	    (strncmp(buf, "filter-result|", 14) != 0 ||
	    strcmp(buf + strlen(buf) - 8, "|proceed") != 0))
		abort();	/* a report filter decides nothing */
}

void
rcpt_start(const char *sid, const char *token, const char *addr,
    size_t len)
{
	(void)sid; (void)token; (void)addr; (void)len;
}

static char	dir[] = "/tmp/mtasts-fuzz-report.XXXXXX";

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

	if (env.mtasts != NULL)
		return;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\n", dir);
	if (mtasts_config_parse(conf, strlen(conf), "fuzz", &cfg, err,
	    sizeof(err)) != MTASTS_OK || mtasts_ctx_new(NULL, cfg, 0,
	    &env.mtasts, err, sizeof(err)) != MTASTS_OK)
		abort();
	env.report = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	char *line;
	size_t len;

	fuzz_init();
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len <= FILTER_LINE_MAX) {
			if ((line = malloc(len + 1)) == NULL)
				abort();
			memcpy(line, p, len);
			line[len] = '\0';
			proto_line(line, len);
			free(line);
		}
		p = nl + 1;
	}
	report_shutdown();	/* every input starts with no session */
	return 0;
}
