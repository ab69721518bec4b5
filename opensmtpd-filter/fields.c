/*
 * fields.c - split a protocol line on '|' (fields.h).
 */
#include <string.h>

#include "fields.h"

size_t
fields_split(char *line, char **f, size_t n)
{
	size_t	 i = 0;
	char	*p = line;

	while (i + 1 < n) {
		f[i++] = p;
		if ((p = strchr(p, '|')) == NULL)
			return i;
		*p++ = '\0';
	}
	f[i++] = p;
	return i;
}
