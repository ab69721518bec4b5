/*
 * main.c - the mtasts command: global options, then a subcommand.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_main[] =
    "usage: mtasts lint record [--json] RR... | --file FILE...\n"
    "       mtasts lint policy [--json] FILE|-\n"
    "       mtasts lint tlsrpt [--json] RR... | --file FILE...\n"
    "       mtasts match [--json] PATTERN HOST\n"
    "       mtasts match --cert FILE.pem [--json] HOST\n"
    "       mtasts [-c FILE] [-v] query [--json] [--no-cache] DOMAIN\n"
    "       mtasts [-c FILE] [-v] refresh [--jobs N] [--procs N] [--jitter S]\n"
    "           --all | DOMAIN...\n"
    "       mtasts [-c FILE] cache list|show|purge|stats [--json] ...\n"
    "       mtasts [-c FILE] report counts [--json] [DATE]\n"
    "       mtasts [-c FILE] report show|generate|send [--date D] "
    "[--out DIR]\n"
    "       mtasts [-c FILE] [-v] check [--json] [--port N] DOMAIN\n"
    "       mtasts [-c FILE] metrics [--output FILE]\n"
    "       mtasts --version | --help\n"
    "Exit status: 0 valid or match, 1 invalid or no match, 2 usage error "
    "or\nunreadable input.  See mtasts(1).\n";

static void
log_to_stderr(int prio, const char *msg, void *arg)
{
	static const char *const names[] = { "emerg", "alert", "crit",
	    "error", "warning", "notice", "info", "debug" };

	(void)arg;
	fprintf(stderr, "mtasts: %s: %s\n", names[prio & 7], msg);
}

static void
log_to_syslog(int prio, const char *msg, void *arg)
{
	(void)arg;
	syslog(prio, "%s", msg);
}

/* The one way the commands read a key: its effective value as text
 * (mtasts_config_item(), as "config dump" shows it).  0; -1 and "" if
 * no such key. */
int
cli_config_value(const struct cli_global *g, const char *key, char *val,
    size_t size)
{
	const char *k;
	size_t i;

	for (i = 0; mtasts_config_item(g->cfg, i, &k, val, size) ==
	    MTASTS_OK; i++)
		if (strcmp(k, key) == 0)
			return 0;
	val[0] = '\0';
	return -1;
}

/* Commands that need the configuration file get it here. */
static int
load_config(struct cli_global *g)
{
	char err[MTASTS_ERRLEN];

	if (mtasts_config_load(g->conf, &g->cfg, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "mtasts: %s\n", err);
		return -1;
	}
	if (g->verbose)
		mtasts_set_log(log_to_stderr, NULL);
	else {
		openlog("mtasts", LOG_PID, LOG_MAIL);
		mtasts_set_log(log_to_syslog, NULL);
	}
	return 0;
}

static int
run(struct cli_global *g, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	if (strcmp(cmd, "match") == 0)
		return cmd_match(argc - 1, argv + 1);
	if (strcmp(cmd, "query") == 0 || strcmp(cmd, "refresh") == 0 ||
	    strcmp(cmd, "cache") == 0 || strcmp(cmd, "report") == 0 ||
	    strcmp(cmd, "check") == 0 || strcmp(cmd, "metrics") == 0) {
		if (load_config(g) != 0)
			return EXIT_USAGE;
		if (strcmp(cmd, "query") == 0)
			return cmd_query(g, argc - 1, argv + 1);
		if (strcmp(cmd, "refresh") == 0)
			return cmd_refresh(g, argc - 1, argv + 1);
		if (strcmp(cmd, "report") == 0)
			return cmd_report(g, argc - 1, argv + 1);
		if (strcmp(cmd, "check") == 0)
			return cmd_check(g, argc - 1, argv + 1);
		if (strcmp(cmd, "metrics") == 0)
			return cmd_metrics(g, argc - 1, argv + 1);
		return cmd_cache(g, argc - 1, argv + 1);
	}
	return cli_usage_error(usage_main, "unknown command '%s'", cmd);
}

int
main(int argc, char **argv)
{
	struct cli_global g;
	int i, r;

	memset(&g, 0, sizeof(g));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_main, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("mtasts %s\n", MTASTS_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "-v") == 0)
			g.verbose = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			g.conf = argv[++i];
		else
			return cli_usage_error(usage_main, "unknown option %s",
			    argv[i]);
	}
	if (i == argc)
		return cli_usage_error(usage_main, "no command");
	if (strcmp(argv[i], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	r = run(&g, argc - i, argv + i);
	mtasts_config_free(g.cfg);
	return r;
}
