/*
 * cli.h - the mtasts command: shared declarations.
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

#include <stddef.h>

#include <jansson.h>

/* Exit codes of the contract in mtasts(1). */
#define EXIT_VALID	0
#define EXIT_INVALID	1
#define EXIT_USAGE	2

/* Largest input file or standard input we read. */
#define CLI_INPUT_MAX	(4u * 1024 * 1024)

/* Options and positional arguments of one subcommand. */
struct cli_args {
	int	  json;		/* --json */
	int	  files;	/* --file: positional arguments are files */
	int	  help;		/* --help or -h */
	char	 *cert;		/* --cert FILE */
	char	**pos;		/* positional arguments */
	int	  npos;
};

int	 cli_parse_args(int argc, char **argv, int allow_file,
	    int allow_cert, struct cli_args *a);
int	 cli_read(const char *path, char **buf, size_t *len);
int	 cli_usage_error(const char *usage, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
json_t	*cli_jstr(const char *s);
void	 cli_json_print(json_t *obj);

int	 cmd_lint(int argc, char **argv);
int	 cmd_match(int argc, char **argv);

extern const char usage_lint[];
extern const char usage_match[];

#endif /* MTASTS_CLI_H */
