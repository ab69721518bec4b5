/*
 * name.h - host name syntax shared by mx.c, policy.c and cert.c.
 */
#ifndef MTASTS_NAME_H
#define MTASTS_NAME_H

#include <stddef.h>

int	name_check_ldh(const char *p, size_t len, const char *what,
	    char *err, size_t errlen);
int	name_is_ip(const char *p, size_t len);

#endif /* MTASTS_NAME_H */
