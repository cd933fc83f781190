/*
 * When each user last logged in, for LOGIN-DELAY (RFC 2449 §6.5): the
 * master records every successful hand-over and refuses a login of the
 * same user inside that user's delay. The table lives in the master's
 * memory only, so a restart forgets it (a user may then log in once
 * early), and it holds at most LOGIN_HISTORY_MAX users: when it is full,
 * entries whose delay has passed go first, then the oldest login, whose
 * user may then also log in early. Both err towards letting a user in;
 * the delay is a courtesy to the server, not a security boundary.
 */
#ifndef ROOST_LOGIN_HISTORY_H
#define ROOST_LOGIN_HISTORY_H

#include <stdint.h>

/* Users remembered at once: ~100 bytes each, so about 10 MiB at most,
 * and more distinct users than one machine's POP3 clients log in within
 * any sensible delay. */
#define LOGIN_HISTORY_MAX 100000

/* Seconds user must still wait (0: may log in now) given the user's
 * delay in seconds; now_ms is the event loop's monotonic clock. */
unsigned login_history_wait(const char *user, unsigned delay_s, uint64_t now_ms);
/* Records a login of user at now_ms, remembered for delay_s seconds
 * (nothing is kept when delay_s is 0). */
void login_history_record(const char *user, unsigned delay_s, uint64_t now_ms);
/* Forgets everything (master shutdown). */
void login_history_clear(void);
/* Users remembered now. */
unsigned login_history_count(void);

#endif
