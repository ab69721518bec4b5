/*
 * fuzz_sendstate.c - the send state file of `mtasts report send'
 * (cli/sendstate.c), read back from disk where anything may have
 * damaged it.  On success the phase is one of the four and the state
 * formats and parses back to the same values (round trip); on error
 * the message is non-empty.  The retry step never moves next backwards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "send.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct send_state st, st2;
	char buf[SEND_STATE_MAX], why[128];
	int n;

	why[0] = '\0';
	if (send_state_parse((const char *)data, size, &st, why,
	    sizeof(why)) != 0) {
		if (why[0] == '\0')
			abort();
		return 0;
	}
	if ((unsigned)st.phase > SEND_NORUA)
		abort();
	if ((n = send_state_format(&st, buf, sizeof(buf))) < 0 ||
	    send_state_parse(buf, (size_t)n, &st2, why, sizeof(why)) != 0 ||
	    memcmp(&st, &st2, sizeof(st)) != 0)
		abort();
	if (st.next < INT64_MAX / 4 && st.first < INT64_MAX / 4) {
		send_state_failed(&st, st.next, 300);
		if (st.phase != SEND_PENDING && st.phase != SEND_EXPIRED)
			abort();
	}
	return 0;
}
