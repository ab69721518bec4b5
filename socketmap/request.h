/*
 * request.h - one socketmap request, "NAME KEY" (socketmap_table(5)),
 * read as postfix-mta-sts-resolver reads smtp_tls_policy_maps keys.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>

#include <mtasts.h>

/* The map name that asks for Postfix 3.10's TLSRPT attributes, as
 * postfix-tlspol names it (any case); socketmap_tlsrpt = yes asks for
 * them whatever the name. */
#define REQUEST_NAME_TLSRPT	"QUERYwithTLSRPT"

/* Socketmap names longer than this are malformed requests. */
#define REQUEST_NAME_MAX	64

enum request_kind {
	REQUEST_DOMAIN = 0,	/* a policy domain to look up */
	REQUEST_SKIP,		/* no MTA-STS lookup: answer NOTFOUND */
	REQUEST_BAD,		/* malformed: answer PERM */
};

struct request {
	char	name[REQUEST_NAME_MAX + 1];
	int	tlsrpt;		/* name is REQUEST_NAME_TLSRPT */
	char	domain[MTASTS_DOMAIN_MAX + 1];	/* REQUEST_DOMAIN only */
	char	why[MTASTS_ERRLEN];			/* SKIP and BAD: the reason */
};

/* Classify the netstring data p[0..len).  Returns the kind and fills
 * req; never fails otherwise. */
enum request_kind	request_parse(const char *p, size_t len,
			    struct request *req);

#endif /* REQUEST_H */
