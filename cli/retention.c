/*
 * retention.c - report_retention (mtasts.conf(5)), applied by each
 * "mtasts report send": TLS result counters of older UTC days leave the
 * cache, report files (and their send state) covering older days leave
 * report_dir.  Reports are sent within a day (RFC 8460 §5.5: retries
 * for up to 24 h); the retention only says how long they stay to be
 * looked at.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mtasts.h>

#include "cli.h"
#include "send.h"

/* A report file, or its send state, covering a day that began at
 * begin (> 0); -1 for anything else in the directory. */
static long long
retention_begin(const char *name)
{
	long long begin = send_name_begin(name);

	/* ".json.gz" after the begin field (send_name_begin found two '!') */
	return begin > 0 && strstr(strchr(strchr(name, '!') + 1, '!'),
	    ".json.gz") != NULL ? begin : -1;
}

static unsigned long
retention_files(const char *dir, long long cutoff)
{
	char		 path[4096];
	struct dirent	*d;
	DIR		*dp;
	unsigned long	 n = 0;
	long long	 begin;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		if ((begin = retention_begin(d->d_name)) < 0 ||
		    begin >= cutoff)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) <
		    (int)sizeof(path) && unlink(path) == 0)
			n++;
	}
	closedir(dp);
	return n;
}

void
send_retention(const struct cli_global *g, struct mtasts_ctx *ctx,
    const char *dir, long long now)
{
	char		 val[64], day[16];
	unsigned long	 secs, files;
	uint64_t	 counters = 0;
	time_t		 cutoff;
	struct tm	 tm;

	cli_config_value(g, "report_retention", val, sizeof(val));
	secs = strtoul(val, NULL, 10);		/* "2592000s": the dump's */
	if (secs < 86400)
		return;
	cutoff = (time_t)(now - (long long)secs);
	gmtime_r(&cutoff, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (mtasts_tls_result_purge(ctx, day, &counters) != MTASTS_OK)
		fprintf(stderr, "mtasts: report send: cannot forget the "
		    "results before %s\n", day);
	files = retention_files(dir, (long long)cutoff);
	if (counters > 0 || files > 0)
		printf("retention: results before %s forgotten (%llu "
		    "counters), %lu old report files removed\n", day,
		    (unsigned long long)counters, files);
}
