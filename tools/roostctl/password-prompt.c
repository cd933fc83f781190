/* Reading a password for roostctl auth test and pw; see roostctl.h. */
#include "config.h"
#include "roostctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Longer than any real password, and than the server accepts on a POP3
 * line after base64. */
#define ROOSTCTL_PASSWORD_MAX 1024

static void wipe_free(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

/* One line from fd without its line end, or NULL at EOF or overflow. */
static char *read_line(int fd)
{
	char *buf = calloc(1, ROOSTCTL_PASSWORD_MAX + 1);
	size_t len = 0;
	if (buf == NULL)
		return NULL;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (len == 0) {
				free(buf);
				return NULL;
			}
			break;
		}
		if (c == '\n')
			break;
		if (len == ROOSTCTL_PASSWORD_MAX) {
			wipe_free(buf);
			return NULL;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return buf;
}

static char *prompt_no_echo(const char *prompt)
{
	struct termios old, quiet;
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return NULL;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* Echo goes off before the prompt shows, so nothing typed after
	 * the prompt can be echoed or flushed away. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return NULL;
	fputs(prompt, stderr);
	fflush(stderr);
	char *pw = read_line(STDIN_FILENO);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return pw;
}

char *roostctl_read_password(const char *prompt, bool confirm)
{
	if (!isatty(STDIN_FILENO)) {
		char *pw = read_line(STDIN_FILENO);
		if (pw == NULL)
			fprintf(stderr, "roostctl: no password on standard input\n");
		return pw;
	}
	char *pw = prompt_no_echo(prompt);
	if (pw == NULL) {
		fprintf(stderr, "roostctl: no password read\n");
		return NULL;
	}
	if (!confirm)
		return pw;
	char *again = prompt_no_echo("Retype password: ");
	bool same = again != NULL && strcmp(pw, again) == 0;
	wipe_free(again);
	if (!same) {
		fprintf(stderr, "roostctl: the passwords do not match\n");
		wipe_free(pw);
		return NULL;
	}
	return pw;
}
