/*
 * The configured passdbs tried in order, and the userdbs, with one
 * instance of every module (create()) per chain. Each auth worker process
 * builds its own chain, so database connections are per worker and calls
 * need no locking; the calls block.
 *
 * A passdb's answer moves the chain as its section's core keys say:
 *   result_success = return-ok (default) | continue
 *   result_failure = continue | return-fail
 * With result_failure unset, an unknown user continues with the next
 * passdb and a wrong password or a disabled account ends the chain. After
 * a success with `continue`, later passdbs that accept the same password
 * (or know the user, for credentials) add or override fields; their
 * failures do not undo the success. An internal error ends the chain at
 * once (the client gets [SYS/TEMP]).
 *
 * Failures carry a reason for the log only in err->message ("unknown
 * user", "password mismatch", "account disabled: ...", "passdb NAME: ...").
 *
 * Master users: passdbs with `master = yes` form a chain of their own
 * that normal logins never reach. A name "user SEP admin" (SEP is
 * auth_master_user_separator, auth-username.h) is checked in two steps:
 * admin's password (or stored secret) against the master chain, then
 * user must exist in the normal chain, looked up without a password
 * (lookup_credentials; when no passdb knows the user that way, the
 * userdbs). The result carries user's fields, never admin's, plus the
 * extra field PASSDB_CHAIN_MASTER_FIELD = admin for the log. Any failure
 * is an ordinary failure (unknown user, password mismatch), so the
 * client cannot tell which step failed.
 */
#ifndef ROOST_PASSDB_CHAIN_H
#define ROOST_PASSDB_CHAIN_H

#include "auth-module.h"
#include "error.h"
#include "pool.h"
#include "settings.h"

struct passdb_chain;

/* Extra field naming the master user of a master login. */
#define PASSDB_CHAIN_MASTER_FIELD "master_user"

/* Creates every passdb and userdb instance from pool; NULL with err
 * ("passdb DRIVER (FILE:LINE): ...") when one fails. The modules must be
 * loaded and initialised already. */
struct passdb_chain *passdb_chain_create(pool_t *pool,
					 const struct roost_settings *set,
					 struct error *err);
/* Calls the instances' destroy(); pool is the caller's. */
void passdb_chain_destroy(struct passdb_chain *chain);

/* On PASSDB_OK fields_r holds the merged fields (strings from pool). */
enum passdb_result passdb_chain_verify(struct passdb_chain *chain, pool_t *pool,
				       const char *user, const char *password,
				       struct auth_user_fields *fields_r,
				       struct error *err);
/* Same walk with lookup_credentials (passdbs without it are skipped as
 * not knowing the user); *stored_r is the first stored password found. */
enum passdb_result passdb_chain_credentials(struct passdb_chain *chain,
					    pool_t *pool, const char *user,
					    const char **stored_r,
					    struct auth_user_fields *fields_r,
					    struct error *err);
/* The first userdb that knows user fills fields (which may hold the
 * passdb's). Returns 1 found, 0 unknown, -1 error; with no userdb
 * configured the passdb's fields are all there is (1). */
int passdb_chain_userdb_lookup(struct passdb_chain *chain, pool_t *pool,
			       const char *user,
			       struct auth_user_fields *fields,
			       struct error *err);
/* True when some passdb has lookup_credentials. */
bool passdb_chain_has_credentials(const struct passdb_chain *chain);

#endif
