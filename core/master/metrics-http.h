/*
 * The optional OpenMetrics endpoint (metrics_listen = ADDR:PORT): plain
 * HTTP/1.x, GET or HEAD /metrics only, one request per connection, served
 * from the master's event loop. Requests are parsed by http-request.h;
 * connections are bounded in number, size and time, so a scanner or a
 * stuck scraper costs a few kilobytes and is gone after
 * METRICS_HTTP_TIMEOUT_MS.
 */
#ifndef ROOST_METRICS_HTTP_H
#define ROOST_METRICS_HTTP_H

#include "error.h"
#include "event-loop.h"

void metrics_http_init(struct event_loop *loop);
/* Listens on address ("" or NULL: off). An unchanged address keeps its
 * socket; a new one is bound before the old one is closed, and on
 * failure the old one stays. */
int metrics_http_configure(const char *address, struct error *err);
void metrics_http_deinit(void);

#endif
