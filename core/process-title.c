/* Writing the process title over argv; see process-title.h. */
#include "config.h"
#include "process-title.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static char *title_area;
static size_t title_size;

void process_title_init(int argc, char **argv)
{
	if (argc <= 0 || argv[0] == NULL)
		return;
	/* Only the contiguous run of argv strings is ours to overwrite. */
	char *end = argv[0] + strlen(argv[0]) + 1;
	for (int i = 1; i < argc; i++) {
		if (argv[i] != end)
			break;
		end = argv[i] + strlen(argv[i]) + 1;
	}
	title_area = argv[0];
	title_size = (size_t)(end - argv[0]);
	for (int i = 1; i < argc; i++)
		argv[i] = NULL;
}

void process_title_set(const char *fmt, ...)
{
	char title[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	/* comm is at most 15 characters: the role is what matters there. */
	char comm[16];
	memcpy(comm, title, sizeof(comm) - 1);
	comm[sizeof(comm) - 1] = '\0';
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (title_area == NULL || title_size < 2)
		return;
	size_t len = strlen(title);
	if (len >= title_size)
		len = title_size - 1;
	memcpy(title_area, title, len);
	memset(title_area + len, '\0', title_size - len);
}
