/*
 * smtp.h - one SMTP session to an MX host (mtasts check, the TLS probe): greeting,
 * EHLO, STARTTLS (RFC 3207), a TLS handshake with SNI, the certificate
 * checked as an MTA-STS sender would (RFC 8461 §4.2), QUIT.
 */
#ifndef MTASTS_SMTP_H
#define MTASTS_SMTP_H

#include <stdint.h>

#include <mtasts.h>

#include "smtpreply.h"

struct smtp_probe {
	const char	*host;		/* MX host: SNI and name check */
	const char	*addr;		/* numeric address to connect to */
	unsigned int	 port;
	unsigned int	 timeout;	/* seconds per step */
	const char	*ca_file;	/* trust anchors (PEM) */
	const char	*helo;		/* our EHLO name */
};

/* How far the session got, in order. */
enum smtp_stage {
	SMTP_ST_CONNECT = 0,
	SMTP_ST_GREETING,
	SMTP_ST_EHLO,
	SMTP_ST_STARTTLS,
	SMTP_ST_TLS,
	SMTP_ST_DONE,		/* handshake done, certificate examined */
};

struct smtp_result {
	enum smtp_stage	 stage;		/* where it stopped */
	char		 error[320];	/* why, when stage < SMTP_ST_DONE */
	char		 banner[SMTP_TEXT_MAX];
	int		 starttls;	/* advertised in the EHLO reply */
	char		 tls_version[32];
	char		 cipher[64];
	long		 verify;	/* X509_V_OK or the chain's error */
	char		 verify_text[128];
	int		 name_ok;	/* SAN dNSName matches host */
	char		 name_err[MTASTS_ERRLEN];
	int64_t		 not_after;	/* certificate expiry, Unix time */
};

/* Run one session; every wait bounded by timeout, the whole session by
 * four times that.  0 if the handshake completed (the result then says
 * what the certificate is worth), -1 otherwise (error says why). */
int	smtp_probe_run(const struct smtp_probe *in, struct smtp_result *out);

/* Our EHLO name: this host's name if it is a valid host name, else
 * "localhost".  size: at least MTASTS_DOMAIN_MAX + 1. */
void	smtp_helo_name(char *buf, size_t size);

#endif /* MTASTS_SMTP_H */
