/*
 * Fuzzes the metrics listener's HTTP request parser
 * (core/master/http-request.c): its input comes from anyone who can reach
 * metrics_listen.
 *
 * Invariants:
 *  - the result is one of the four values, and only TOO_LARGE at or past
 *    HTTP_REQUEST_MAX octets;
 *  - OK: head_len <= size and <= HTTP_REQUEST_MAX, the head ends with
 *    CRLFCRLF, the method is a non-empty token, the path starts with '/'
 *    and has no byte <= 0x20 or >= 0x7f, the version is 1.0 or 1.1;
 *  - OK is decided by the head alone: parsing data[0..head_len) gives
 *    the same request, and every shorter prefix is INCOMPLETE (a valid
 *    head has no byte that would be refused early);
 *  - the parser is deterministic.
 */
#include "config.h"
#include "master/http-request.h"

#include "fuzz-common.h"

static void check_ok(const char *data, size_t size, const struct http_request *req)
{
	FUZZ_CHECK(req->head_len >= 4 && req->head_len <= size &&
		   req->head_len <= HTTP_REQUEST_MAX, "head_len %zu of %zu", req->head_len, size);
	FUZZ_CHECK(memcmp(data + req->head_len - 4, "\r\n\r\n", 4) == 0,
		   "head does not end with CRLFCRLF");
	FUZZ_CHECK(req->method[0] != '\0', "empty method");
	FUZZ_CHECK(req->path[0] == '/', "path %s", req->path);
	for (const char *p = req->path; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f,
			   "path byte 0x%02x", (unsigned char)*p);
	FUZZ_CHECK(req->minor_version <= 1, "version 1.%u", req->minor_version);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exactly sized copy, so ASan sees reads past the end. */
	char *copy = fuzz_strndup(data, size);
	struct http_request req, again;
	enum http_parse_result r = http_request_parse(copy, size, &req);
	FUZZ_CHECK(r == HTTP_PARSE_INCOMPLETE || r == HTTP_PARSE_OK || r == HTTP_PARSE_BAD ||
		   r == HTTP_PARSE_TOO_LARGE, "result %d", (int)r);
	FUZZ_CHECK(r != HTTP_PARSE_TOO_LARGE || size >= HTTP_REQUEST_MAX,
		   "too large at %zu octets", size);
	FUZZ_CHECK(http_request_parse(copy, size, &again) == r, "not deterministic");
	if (r == HTTP_PARSE_OK) {
		check_ok(copy, size, &req);
		size_t head = req.head_len;
		FUZZ_CHECK(http_request_parse(copy, head, &again) == HTTP_PARSE_OK &&
			   again.head_len == head && strcmp(again.path, req.path) == 0 &&
			   strcmp(again.method, req.method) == 0,
			   "the head alone parses differently");
		for (size_t cut = 0; cut < head; cut += 1 + cut / 8) {
			enum http_parse_result p = http_request_parse(copy, cut, &again);
			FUZZ_CHECK(p == HTTP_PARSE_INCOMPLETE, "prefix of %zu octets: %d",
				   cut, (int)p);
		}
	}
	free(copy);
	return 0;
}
