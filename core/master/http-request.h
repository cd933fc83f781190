/*
 * A strict parser for the one kind of HTTP request the metrics listener
 * serves (RFC 9112): "GET /metrics HTTP/1.1" with header fields and no
 * body. Input is untrusted (anyone who can reach metrics_listen), so it
 * is judged only once the whole head (up to the empty line) has arrived,
 * within HTTP_REQUEST_MAX octets, and everything not plainly valid is
 * refused: bare LF, obs-fold, control bytes, a body, a missing Host on
 * HTTP/1.1, more than HTTP_HEADERS_MAX fields.
 */
#ifndef ROOST_HTTP_REQUEST_H
#define ROOST_HTTP_REQUEST_H

#include <stddef.h>

/* A scraper's request is a few hundred octets; 8 KiB is what common
 * servers allow for a whole head. */
#define HTTP_REQUEST_MAX 8192
/* Prometheus sends about five fields. */
#define HTTP_HEADERS_MAX 64
#define HTTP_METHOD_MAX 16
#define HTTP_TARGET_MAX 1024

enum http_parse_result {
	HTTP_PARSE_INCOMPLETE,   /* no empty line yet: read more */
	HTTP_PARSE_OK,
	HTTP_PARSE_BAD,          /* 400 */
	HTTP_PARSE_TOO_LARGE,    /* 431: no end of head within the limit */
};

struct http_request {
	char method[HTTP_METHOD_MAX + 1];
	char path[HTTP_TARGET_MAX + 1];    /* the target without its query */
	unsigned minor_version;            /* HTTP/1.x */
	size_t head_len;                   /* octets up to and including CRLFCRLF */
};

enum http_parse_result http_request_parse(const char *data, size_t len,
					  struct http_request *req);

#endif
