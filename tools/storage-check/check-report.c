/* The kit's output: one line per check, then the totals, on stdout so a
 * test (or a plugin's CI) can read it whole. */
#include "config.h"
#include "storage-check.h"

#include <stdarg.h>
#include <stdio.h>

void check_pass(struct check_report *rep, const char *name)
{
	rep->passed++;
	printf("PASS %s\n", name);
	fflush(stdout);
}

void check_fail(struct check_report *rep, const char *name, const char *fmt, ...)
{
	va_list ap;
	rep->failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	/* A module that crashes in a later check must not take the lines
	 * already decided with it. */
	fflush(stdout);
}

int check_report_finish(const struct check_report *rep)
{
	printf("%u passed, %u failed\n", rep->passed, rep->failed);
	fflush(stdout);
	return rep->failed > 0 ? 1 : 0;
}
