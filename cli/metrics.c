/*
 * metrics.c - mtasts metrics: the Prometheus text (mtasts_metrics_text)
 * on standard output, or written atomically to a file for
 * node_exporter's textfile collector, which reads every *.prom file of
 * its directory at each scrape and must never see half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_metrics[] =
    "usage: mtasts [-c FILE] metrics [--output FILE]\n"
    "Exit status: 0 written, 2 usage error, no cache or cannot write.\n";

static int
metrics_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* FILE.PID.tmp next to FILE (same file system, and not "*.prom", which
 * the collector would read), then rename(2) over FILE. */
static int
metrics_write_file(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		fprintf(stderr, "mtasts: metrics: %s: name too long\n", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		fprintf(stderr, "mtasts: metrics: %s: %s\n", tmp,
		    strerror(errno));
		return -1;
	}
	if (metrics_write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		fprintf(stderr, "mtasts: metrics: %s: %s\n", tmp, strerror(e));
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		fprintf(stderr, "mtasts: metrics: %s: %s\n", path,
		    strerror(e));
		return -1;
	}
	return 0;
}

int
cmd_metrics(const struct cli_global *g, int argc, char **argv)
{
	char err[MTASTS_ERRLEN] = "", *text = NULL;
	struct mtasts_ctx *ctx = NULL;
	struct cli_args a;
	size_t len;
	int r, rc = EXIT_USAGE;

	if (cli_parse_args(argc, argv, CLI_OPT_OUTPUT, &a) != 0 || a.npos > 0 ||
	    a.json) {
		free(a.pos);
		return cli_usage_error(usage_metrics, "bad arguments");
	}
	if (a.help) {
		fputs(usage_metrics, stdout);
		free(a.pos);
		return EXIT_VALID;
	}
	/* Reading only: the counts are the MTA processes' to write. */
	if (mtasts_ctx_new(NULL, g->cfg, MTASTS_CTX_RDONLY, &ctx, err,
	    sizeof(err)) != MTASTS_OK)
		fprintf(stderr, "mtasts: %s\n", err[0] ? err : "no memory");
	else if ((r = mtasts_metrics_text(ctx, &text, &len)) != MTASTS_OK)
		fprintf(stderr, "mtasts: metrics: %s\n", mtasts_strerror(r));
	else if (a.output != NULL)
		rc = metrics_write_file(a.output, text, len) == 0 ?
		    EXIT_VALID : EXIT_USAGE;
	else if (metrics_write_all(STDOUT_FILENO, text, len) == 0)
		rc = EXIT_VALID;
	free(text);
	mtasts_ctx_free(ctx);
	free(a.pos);
	return rc;
}
