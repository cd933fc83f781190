/*
 * struct auth_user_fields on the auth process's internal line protocols
 * (auth <-> auth worker): one TAB-separated "key=value" field per set
 * member, values escaped with ipc-escape. Keys: user, uid, gid, home,
 * mail, nologin (value "1"), and "x.KEY" for each extra field.
 */
#ifndef ROOST_AUTH_FIELDS_IPC_H
#define ROOST_AUTH_FIELDS_IPC_H

#include "auth-module.h"
#include "buffer.h"
#include "pool.h"

/* Fields a record can carry: the fixed ones plus every extra field. */
#define AUTH_FIELDS_IPC_MAX (AUTH_EXTRA_FIELDS_MAX + 8)

/* Appends "\tkey=value" (value escaped); nothing when value is NULL. */
void auth_fields_ipc_append_field(struct buffer *out, const char *key,
				  const char *value);
/* Appends the account fields a mail worker needs, as "\tuid=N",
 * "\tgid=N", "\thome=P", "\tmail=L", each only when set; shared with the
 * master's USER reply (auth-master.c). */
void auth_fields_ipc_append_account(struct buffer *out,
				    const struct auth_user_fields *fields);
/* Appends "\tkey=value" for every field that is set. */
void auth_fields_ipc_append(struct buffer *out,
			    const struct auth_user_fields *fields);
/* Reads count split (still escaped) fields into fields (after
 * auth_user_fields_init()), strings from pool. Unknown keys are skipped
 * (a newer peer); returns -1 for a malformed one. */
int auth_fields_ipc_parse(pool_t *pool, char **items, unsigned count,
			  struct auth_user_fields *fields);

#endif
