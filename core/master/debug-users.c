/* Users with run-time debug logging; see debug-users.h. */
#include "config.h"
#include "debug-users.h"

#include <stdlib.h>
#include <string.h>

static char *users[DEBUG_USERS_MAX];
static unsigned users_count;

static int find(const char *user)
{
	for (unsigned i = 0; i < users_count; i++) {
		if (strcmp(users[i], user) == 0)
			return (int)i;
	}
	return -1;
}

int debug_users_set(const char *user, bool on)
{
	int i = find(user);
	if (!on) {
		if (i >= 0) {
			free(users[i]);
			users[i] = users[--users_count];
		}
		return 0;
	}
	if (i >= 0)
		return 0;
	if (users_count == DEBUG_USERS_MAX)
		return -1;
	users[users_count] = strdup(user);
	if (users[users_count] == NULL)
		return -1;
	users_count++;
	return 0;
}

bool debug_users_has(const char *user)
{
	return find(user) >= 0;
}

const char *debug_users_get(unsigned i)
{
	return i < users_count ? users[i] : NULL;
}

void debug_users_clear(void)
{
	while (users_count > 0)
		free(users[--users_count]);
}
