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

/* The probe's types and functions are public (mtasts.h): the CLI's
 * "check" runs it too. */

#endif /* MTASTS_SMTP_H */
