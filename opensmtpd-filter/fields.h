/*
 * fields.h - the '|'-separated fields of smtpd's filter and table
 * protocols (smtpd-filters(7), table(5) text protocol); shared by
 * filter-mtasts and table-mtasts (fields.c).
 */
#ifndef FIELDS_H
#define FIELDS_H

#include <stddef.h>

/* Split line at its first n - 1 '|' into f[0..n-1], in place; the last
 * field keeps any further '|' (an address, a parameter or a table key
 * may hold one).  n >= 1.  Returns the number of fields found. */
size_t	fields_split(char *line, char **f, size_t n);

#endif /* FIELDS_H */
