/*
 * A connection to the auth process: a login process (SASL exchanges,
 * auth-request.h) or the master and the admin tool (auth-master.h). The
 * connection owns the requests in flight on it; when it closes they are
 * freed without an answer.
 */
#ifndef ROOST_AUTH_CONN_H
#define ROOST_AUTH_CONN_H

#include <stdbool.h>

#include "buffer.h"
#include "stream.h"

struct auth_request;
struct auth_master_request;

struct auth_conn {
	struct stream *stream;
	bool master;
	struct auth_request *requests;                /* login connections */
	struct auth_master_request *master_requests; /* master connections */
	unsigned request_count;
	struct auth_conn *prev, *next;
};

/* Appends LF to line and queues it. */
void auth_conn_write_line(struct auth_conn *conn, struct buffer *line);

#endif
