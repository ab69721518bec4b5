/*
 * fuzz_mailto.c - a mailto: rua from DNS reduced to one plain address
 * (cli/mail.c), then put into a report mail.  On success the address is
 * local@domain of printable ASCII without blanks, quotes, brackets,
 * commas or a second @, and the mail's header section has no CR and no
 * header line the address could have added.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "send.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_addr(const char *a)
{
	size_t i, at = 0;

	for (i = 0; a[i] != '\0'; i++) {
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f
		    || strchr("\"(),:;<>[\\]", a[i]) != NULL)
			abort();
		at += a[i] == '@';
	}
	if (at != 1 || i > SEND_ADDR_MAX)
		abort();
}

static void
fuzz_mail(const char *to)
{
	struct send_mail m;
	char *msg, why[128], *end, *p;
	size_t len, lines = 0;

	memset(&m, 0, sizeof(m));
	m.from = "tlsrpt@mx.example.net";
	m.to = to;
	m.org = "Example";
	m.domain = "example.com";
	m.submitter = "mx.example.net";
	m.report_id = "20261124.example.com@mx.example.net";
	m.filename = "r.json.gz";
	m.date = "2026-11-24";
	m.gz = (const unsigned char *)to;
	m.gzlen = strlen(to);
	if (send_mail_build(&m, &msg, &len, why, sizeof(why)) != 0)
		return;
	if ((end = strstr(msg, "\n\n")) == NULL ||
	    memchr(msg, '\r', (size_t)(end - msg)) != NULL)
		abort();
	for (p = msg; p < end; p++)
		lines += *p == '\n';
	if (lines != 10)	/* 11 header lines, the last without its LF */
		abort();
	free(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[SEND_ADDR_MAX + 1], why[128];

	why[0] = '\0';
	if (send_mailto_addr((const char *)data, size, addr, sizeof(addr),
	    why, sizeof(why)) != 0) {
		if (why[0] == '\0' || addr[0] != '\0')
			abort();
		return 0;
	}
	fuzz_check_addr(addr);
	fuzz_mail(addr);
	return 0;
}
