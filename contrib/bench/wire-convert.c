/*
 * Micro-benchmark of message_wire_convert() (the LF->CRLF and dot-stuffing
 * step of every RETR): 100 MB of 75-byte lines in 64 KiB chunks, best of 5.
 *
 *   cc -O2 -Ibuild -Icore contrib/bench/wire-convert.c -o /tmp/wire-convert \
 *      build/core/.libs/libroost.so -Wl,-rpath,$PWD/build/core/.libs
 *   /tmp/wire-convert; /tmp/wire-convert "$(printf "\r\n")"
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "message-wire.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc, char **argv){
	size_t total = 100u << 20; const char *lf = argc > 1 ? argv[1] : "\n";
	char *in = malloc(total); size_t n = 0;
	while (n + 80 < total) { memset(in + n, 'x', 75); n += 75; memcpy(in + n, lf, strlen(lf)); n += strlen(lf); }
	struct buffer out; buffer_init(&out);
	double best = 1e9;
	for (int r = 0; r < 5; r++) {
		struct message_wire w; message_wire_init(&w, true, MESSAGE_WIRE_ALL_LINES);
		double t0 = now();
		for (size_t off = 0; off < n; off += 65536) {
			buffer_reset(&out);
			size_t len = n - off < 65536 ? n - off : 65536;
			message_wire_convert(&w, in + off, len, &out);
		}
		double t = now() - t0; if (t < best) best = t;
	}
	printf("%s: %.0f MB/s\n", strcmp(lf, "\n") == 0 ? "LF" : "CRLF", n / best / 1e6);
	return 0; }
