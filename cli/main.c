/*
 * main.c - the mtasts command: dispatch to subcommands.
 */
#include <stdio.h>
#include <string.h>

#include <mtasts.h>

#include "cli.h"

static const char usage_main[] =
    "usage: mtasts lint record [--json] RR... | --file FILE...\n"
    "       mtasts lint policy [--json] FILE|-\n"
    "       mtasts lint tlsrpt [--json] RR... | --file FILE...\n"
    "       mtasts match [--json] PATTERN HOST\n"
    "       mtasts match --cert FILE.pem [--json] HOST\n"
    "       mtasts --version | --help\n"
    "Exit status: 0 valid or match, 1 invalid or no match, 2 usage error "
    "or\nunreadable input.  See mtasts(1).\n";

int
main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(usage_main, "no command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mtasts %s\n", MTASTS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "lint") == 0)
		return cmd_lint(argc - 2, argv + 2);
	if (strcmp(argv[1], "match") == 0)
		return cmd_match(argc - 2, argv + 2);
	return cli_usage_error(usage_main, "unknown command '%s'", argv[1]);
}
