/*
 * fuzz_tablewire.c - table-mtasts's reader of smtpd's table-proc imsg
 * frames (opensmtpd-filter/table/wire.c), fed a hostile byte stream as
 * main.c reads it.  Properties:
 *  - wire_frame never claims more bytes than it was given, and a frame
 *    is at least a header and at most TABLE_FRAME_MAX;
 *  - a decoded key lies inside its frame and is NUL-terminated there;
 *  - a reply to any request fits and says what it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../opensmtpd-filter/table/table.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_reply(const struct table_req *req)
{
	uint8_t		out[TABLE_HDR_SIZE + 8 + 300];
	uint16_t	len;
	size_t		n;

	n = wire_reply(out, sizeof(out), 1, 1, req->key);
	if (req->key == NULL || strlen(req->key) < 256) {
		if (n == 0)
			abort();
		memcpy(&len, out + 4, 2);
		if (len != n || wire_frame(out, n) != (ssize_t)n)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table_req	req;
	uint8_t			*frame;
	ssize_t			 flen;

	while ((flen = wire_frame(data, size)) > 0) {
		if ((size_t)flen > size || flen < TABLE_HDR_SIZE ||
		    flen > TABLE_FRAME_MAX)
			abort();
		/* An exact-size copy: ASan sees any read past the frame. */
		if ((frame = malloc((size_t)flen)) == NULL)
			return 0;
		memcpy(frame, data, (size_t)flen);
		wire_decode(frame, (size_t)flen, &req);
		if (req.key != NULL && (req.malformed ||
		    (const uint8_t *)req.key < frame + TABLE_HDR_SIZE ||
		    (const uint8_t *)req.key + strlen(req.key) >=
		    frame + flen))
			abort();
		fuzz_reply(&req);
		free(frame);
		data += flen;
		size -= (size_t)flen;
	}
	return 0;
}
