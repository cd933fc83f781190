/*
 * Brute-force defence by remote address. Every failed login from an
 * address doubles the delay its next attempt waits before the password is
 * even checked (auth_failure_delay, 2x, 4x, ... up to AUTH_PENALTY_MAX_MS);
 * a success or ten quiet minutes forget the address. Because the penalty
 * belongs to the address, not to a connection or an exchange, cancelling,
 * disconnecting or opening parallel connections does not escape it.
 *
 * Addresses live in a fixed-size table (memory stays bounded however many
 * addresses attack); when it is full the least recently seen entry in the
 * probe window is replaced.
 */
#ifndef ROOST_AUTH_PENALTY_H
#define ROOST_AUTH_PENALTY_H

#include <stdint.h>

/* A penalty never exceeds this: longer would mainly hold connections open. */
#define AUTH_PENALTY_MAX_MS 15000

/* base_ms: the delay after one failure (auth_failure_delay); 0 disables. */
void auth_penalty_init(unsigned base_ms);
/* Milliseconds the next attempt from ip waits before being checked. */
unsigned auth_penalty_delay(const char *ip, uint64_t now_ms);
void auth_penalty_failure(const char *ip, uint64_t now_ms);
void auth_penalty_success(const char *ip);

#endif
