/*
 * wire.c - smtpd 6.8's table-proc protocol (table_proc.c there): imsg
 * frames over the socketpair smtpd gives us as fd 0.  Everything read
 * is checked against the frame's length; smtpd calls lookups
 * synchronously and treats a missing or malformed reply as fatal, so
 * every well-framed request gets an answer, -1 (error) when its data
 * is not what the type says.
 *
 * CHECK and LOOKUP data: int service, size_t nparams (always 0 in 6.8),
 * the key and its NUL.  OPEN data: u32 version, char name[2048].
 */
#include <string.h>
#include <unistd.h>

#include "table.h"

ssize_t
wire_frame(const uint8_t *buf, size_t len)
{
	uint16_t	flen;

	if (len < TABLE_HDR_SIZE)
		return 0;
	memcpy(&flen, buf + 4, sizeof(flen));
	if (flen < TABLE_HDR_SIZE || flen > TABLE_FRAME_MAX)
		return -1;
	return len < flen ? 0 : (ssize_t)flen;
}

static void
wire_decode_key(const uint8_t *d, size_t n, struct table_req *req)
{
	int32_t		service;
	size_t		nparams;
	const uint8_t	*key;
	size_t		 klen;

	if (n < sizeof(service) + sizeof(nparams) + 1) {
		req->malformed = 1;
		return;
	}
	memcpy(&service, d, sizeof(service));
	memcpy(&nparams, d + sizeof(service), sizeof(nparams));
	key = d + sizeof(service) + sizeof(nparams);
	klen = n - sizeof(service) - sizeof(nparams);
	req->service = service;
	/* Exactly one NUL, at the end: the key is one C string. */
	if (nparams != 0 || key[klen - 1] != '\0' ||
	    memchr(key, '\0', klen - 1) != NULL) {
		req->malformed = 1;
		return;
	}
	req->key = (const char *)key;
}

void
wire_decode(const uint8_t *frame, size_t len, struct table_req *req)
{
	const uint8_t	*d = frame + TABLE_HDR_SIZE;
	size_t		 n = len - TABLE_HDR_SIZE;
	int32_t		 service;

	memset(req, 0, sizeof(*req));
	memcpy(&req->type, frame, sizeof(req->type));
	switch (req->type) {
	case TABLE_OPEN:
		if (n != sizeof(req->version) + TABLE_OPEN_NAME_SIZE) {
			req->malformed = 1;
			break;
		}
		memcpy(&req->version, d, sizeof(req->version));
		break;
	case TABLE_CHECK:
	case TABLE_LOOKUP:
		wire_decode_key(d, n, req);
		break;
	case TABLE_FETCH:
		if (n != sizeof(service) + sizeof(size_t)) {
			req->malformed = 1;
			break;
		}
		memcpy(&service, d, sizeof(service));
		req->service = service;
		break;
	case TABLE_CLOSE:
	case TABLE_UPDATE:
		req->malformed = n != 0;
		break;
	default:
		req->malformed = 1;
	}
}

size_t
wire_reply(uint8_t *out, size_t size, int want_r, int r, const char *value)
{
	uint32_t	type = TABLE_OK, peerid = 0, pid = (uint32_t)getpid();
	uint16_t	flen, flags = 0;
	size_t		n = TABLE_HDR_SIZE, vlen = 0;
	int32_t		r32 = r;

	if (want_r)
		n += sizeof(r32);
	if (want_r && r == 1 && value != NULL) {
		vlen = strlen(value) + 1;
		n += vlen;
	}
	if (n > size || n > TABLE_FRAME_MAX)
		return 0;
	flen = (uint16_t)n;
	memcpy(out, &type, 4);
	memcpy(out + 4, &flen, 2);
	memcpy(out + 6, &flags, 2);
	memcpy(out + 8, &peerid, 4);
	memcpy(out + 12, &pid, 4);
	if (want_r)
		memcpy(out + TABLE_HDR_SIZE, &r32, sizeof(r32));
	if (vlen > 0)
		memcpy(out + TABLE_HDR_SIZE + sizeof(r32), value, vlen);
	return n;
}
