/*
 * Fuzzes the master's reader of login processes' STATS messages
 * (core/master/login-stats.c): a login process runs unprivileged and
 * handles hostile clients, so the master must not trust what it says.
 *
 * Each input starts from nothing (login_stats_reset()) and is split at
 * LF into messages; each message's first byte picks
 * one of four pids (so processes come and go), and a first byte of 0xff
 * makes that pid exit instead.
 *
 * Invariants:
 *  - a message is either refused (-1) or accepted;
 *  - at most four processes are known, each pid once;
 *  - listener names are at most LOGIN_STATS_NAME_MAX - 1 word characters
 *    ([A-Za-z0-9_.-]), and each name appears once;
 *  - the accepted counters never shrink, whatever a process reports or
 *    whichever process exits.
 */
#include "config.h"
#include "master/login-stats.h"

#include "fuzz-common.h"

#define FUZZ_PIDS 4
#define FUZZ_LISTENERS_SEEN 64

static void check_state(char names[][LOGIN_STATS_NAME_MAX], uint64_t *seen,
			unsigned *nseen)
{
	unsigned procs = 0;
	for (const struct login_stats_process *p = login_stats_first(); p != NULL; p = p->next) {
		procs++;
		FUZZ_CHECK(p->pid >= 1 && p->pid <= FUZZ_PIDS, "pid %ld", (long)p->pid);
		for (const struct login_stats_process *q = p->next; q != NULL; q = q->next)
			FUZZ_CHECK(q->pid != p->pid, "pid %ld twice", (long)p->pid);
	}
	FUZZ_CHECK(procs <= FUZZ_PIDS, "%u processes", procs);
	uint64_t accepted;
	const char *name;
	for (unsigned i = 0; (name = login_stats_listener(i, &accepted)) != NULL; i++) {
		size_t len = strlen(name);
		FUZZ_CHECK(len < LOGIN_STATS_NAME_MAX, "name length %zu", len);
		for (size_t k = 0; k < len; k++) {
			char c = name[k];
			FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.',
				   "name byte 0x%02x", (unsigned char)c);
		}
		for (unsigned j = 0; j < i; j++) {
			uint64_t ignored;
			FUZZ_CHECK(strcmp(login_stats_listener(j, &ignored), name) != 0,
				   "listener %s twice", name);
		}
		FUZZ_CHECK(i < FUZZ_LISTENERS_SEEN, "listener %u", i);
		if (i < *nseen) {
			FUZZ_CHECK(strcmp(names[i], name) == 0, "listener %u renamed", i);
			FUZZ_CHECK(accepted >= seen[i], "%s shrank: %llu -> %llu", name,
				   (unsigned long long)seen[i], (unsigned long long)accepted);
		} else {
			memcpy(names[i], name, len + 1);
			*nseen = i + 1;
		}
		seen[i] = accepted;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char names[FUZZ_LISTENERS_SEEN][LOGIN_STATS_NAME_MAX];
	static uint64_t seen[FUZZ_LISTENERS_SEEN];
	unsigned nseen = 0;
	size_t pos = 0;
	login_stats_reset();
	while (pos < size) {
		const uint8_t *end = memchr(data + pos, '\n', size - pos);
		size_t len = end != NULL ? (size_t)(end - (data + pos)) : size - pos;
		if (len > 0) {
			pid_t pid = (pid_t)(data[pos] % FUZZ_PIDS) + 1;
			if (data[pos] == 0xff) {
				login_stats_exited(pid);
			} else {
				/* Exactly sized, so ASan sees reads past the end. */
				char *msg = malloc(len - 1 > 0 ? len - 1 : 1);
				if (msg == NULL)
					abort();
				memcpy(msg, data + pos + 1, len - 1);
				int r = login_stats_report(pid, msg, len - 1);
				FUZZ_CHECK(r == 0 || r == -1, "result %d", r);
				free(msg);
			}
			check_state(names, seen, &nseen);
		}
		pos += len + 1;
	}
	return 0;
}
