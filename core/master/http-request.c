/* Strict HTTP/1.x request head parsing; see http-request.h. */
#include "config.h"
#include "http-request.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_tchar((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Finds CRLFCRLF; a bare CR or LF or another control byte (but HT)
 * anywhere before it makes the head bad. */
static enum http_parse_result find_head_end(const char *data, size_t len, size_t *end_r)
{
	size_t limit = len < HTTP_REQUEST_MAX ? len : HTTP_REQUEST_MAX;
	for (size_t i = 0; i < limit; i++) {
		unsigned char c = (unsigned char)data[i];
		/* LF not after CR, or a control byte no request head has (a
		 * TLS hello, a binary probe): refused at once rather than
		 * after the timeout. */
		if (c == '\n' || (c < 0x20 && c != '\r' && c != '\t') || c == 0x7f)
			return HTTP_PARSE_BAD;
		if (c != '\r')
			continue;
		if (i + 1 >= limit)
			break;
		if (data[i + 1] != '\n')
			return HTTP_PARSE_BAD;
		if (i + 3 < limit && data[i + 2] == '\r' && data[i + 3] == '\n') {
			*end_r = i + 4;
			return HTTP_PARSE_OK;
		}
		i++;   /* past this line's LF */
	}
	return len >= HTTP_REQUEST_MAX ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
}

static bool parse_request_line(const char *p, size_t len, struct http_request *req)
{
	const char *sp1 = memchr(p, ' ', len);
	if (sp1 == NULL)
		return false;
	size_t mlen = (size_t)(sp1 - p);
	if (mlen > HTTP_METHOD_MAX || !is_token(p, mlen))
		return false;
	memcpy(req->method, p, mlen);
	req->method[mlen] = '\0';
	const char *target = sp1 + 1;
	const char *end = p + len;
	const char *sp2 = memchr(target, ' ', (size_t)(end - target));
	if (sp2 == NULL)
		return false;
	size_t tlen = (size_t)(sp2 - target);
	if (tlen == 0 || tlen > HTTP_TARGET_MAX || target[0] != '/')
		return false;
	for (size_t i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)target[i];
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	const char *query = memchr(target, '?', tlen);
	size_t plen = query != NULL ? (size_t)(query - target) : tlen;
	memcpy(req->path, target, plen);
	req->path[plen] = '\0';
	const char *version = sp2 + 1;
	if ((size_t)(end - version) != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1'))
		return false;
	req->minor_version = (unsigned)(version[7] - '0');
	return true;
}

/* One field line (no CRLF). Counts Host; refuses anything announcing a
 * body, since none is read. */
static bool parse_field(const char *p, size_t len, unsigned *hosts)
{
	const char *colon = memchr(p, ':', len);
	if (colon == NULL || !is_token(p, (size_t)(colon - p)))
		return false;   /* also refuses obs-fold: it starts with SP/HT */
	size_t nlen = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	for (const char *q = v; q < end; q++) {
		unsigned char c = (unsigned char)*q;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (nlen == 4 && strncasecmp(p, "Host", 4) == 0)
		(*hosts)++;
	if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0)
		return false;
	if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0 &&
	    !(end - v == 1 && *v == '0'))
		return false;
	return true;
}

enum http_parse_result http_request_parse(const char *data, size_t len,
					  struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t head_len;
	enum http_parse_result r = find_head_end(data, len, &head_len);
	if (r != HTTP_PARSE_OK)
		return r;
	/* Lines are CRLF-terminated now; the head ends with an empty one. */
	const char *p = data, *end = data + head_len - 2;
	const char *eol = memchr(p, '\r', (size_t)(end - p));
	if (eol == NULL || !parse_request_line(p, (size_t)(eol - p), req))
		return HTTP_PARSE_BAD;
	p = eol + 2;
	unsigned fields = 0, hosts = 0;
	while (p < end) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || ++fields > HTTP_HEADERS_MAX ||
		    !parse_field(p, (size_t)(eol - p), &hosts))
			return HTTP_PARSE_BAD;
		p = eol + 2;
	}
	/* RFC 9112 3.2: HTTP/1.1 needs exactly one Host; more is always bad. */
	if (hosts > 1 || (req->minor_version == 1 && hosts != 1))
		return HTTP_PARSE_BAD;
	req->head_len = head_len;
	return HTTP_PARSE_OK;
}
