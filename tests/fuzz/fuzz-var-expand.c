/*
 * Fuzzes %{...} expansion (core/var-expand.c) with hostile user names: a
 * login name is client input, and expansions become mail directory paths.
 *
 * Input layout: byte 0 = mode.
 *  - even: the rest is the user name (NULs included; user_len counts them
 *    all). Expanded with fixed templates and compared with a reference
 *    model. Key invariant: a successful "%{username}/%{domain}" has exactly
 *    one '/', no "..", and both components are the user's own parts, each
 *    non-empty and not "." -- the user cannot add a path component or climb
 *    out.
 *  - odd: the rest is "TEMPLATE NUL USER"; the template is fuzzed too. A
 *    success has no control byte that the template did not have, and a
 *    ".." path component only when the template has ".."; a failure is
 *    ERROR_INVALID with a message.
 */
#include "config.h"
#include "var-expand.h"

#include <stdbool.h>

#include "buffer.h"
#include "fuzz-common.h"

#define HOME "/home/fuzz"

struct parts {
	const char *user, *username, *domain;
	size_t user_len, username_len, domain_len;
	bool nul;   /* a NUL hides in the name */
};

static bool safe(const char *v, size_t len)
{
	if (len == 0 || memchr(v, '\0', len) != NULL || fuzz_has_ctl(v, len) ||
	    memchr(v, '/', len) != NULL || (len == 1 && v[0] == '.'))
		return false;
	for (size_t i = 0; i + 1 < len; i++)
		if (v[i] == '.' && v[i + 1] == '.')
			return false;
	return true;
}

static struct parts split_user(const char *user, size_t len)
{
	struct parts p = { user, user, user + len, len, len, 0, false };
	for (size_t i = len; i > 0; i--) {
		if (user[i - 1] == '@') {
			p.username_len = i - 1;
			p.domain = user + i;
			p.domain_len = len - i;
			break;
		}
	}
	p.nul = memchr(user, '\0', len) != NULL;
	return p;
}

/* Template pieces: a literal or one of the user variables. */
enum piece { LIT, USER, USERNAME, DOMAIN };

static void expect_expand(const char *template_text, const enum piece *pieces,
			  const char *const *lits, unsigned count,
			  const struct parts *p, const struct var_expand_input *in)
{
	struct buffer want;
	buffer_init(&want);
	bool ok = !p->nul;
	for (unsigned i = 0; i < count; i++) {
		const char *v = lits[i];
		size_t vlen = v != NULL ? strlen(v) : 0;
		switch (pieces[i]) {
		case LIT: break;
		case USER: v = p->user; vlen = p->user_len; break;
		case USERNAME: v = p->username; vlen = p->username_len; break;
		case DOMAIN: v = p->domain; vlen = p->domain_len; break;
		}
		if (pieces[i] != LIT && !safe(v, vlen))
			ok = false;
		buffer_append(&want, v, vlen);
	}

	pool_t *pool = pool_create();
	struct error err;
	error_clear(&err);
	char *r = var_expand(pool, template_text, in, &err);
	if (!ok) {
		FUZZ_CHECK(r == NULL, "'%s' expanded to '%s' for an unsafe user",
			   template_text, r);
		FUZZ_CHECK(err.kind == ERROR_INVALID && err.message[0] != '\0',
			   "refusal without ERROR_INVALID and a message");
	} else {
		FUZZ_CHECK(r != NULL, "'%s' refused a safe user: %s",
			   template_text, err.message);
		FUZZ_CHECK(strlen(r) == want.len && memcmp(r, want.data, want.len) == 0,
			   "'%s' gave '%s', expected '%s'", template_text, r,
			   want.data);
	}
	pool_destroy(pool);
	buffer_free(&want);
}

static void fixed_templates(const char *user, size_t len)
{
	struct parts p = split_user(user, len);
	struct var_expand_input in = { user, len, HOME };

	/* The invariant from the brief, checked on its own first. */
	pool_t *pool = pool_create();
	struct error err;
	error_clear(&err);
	char *r = var_expand(pool, "%{username}/%{domain}", &in, &err);
	if (r != NULL) {
		const char *slash = strchr(r, '/');
		FUZZ_CHECK(slash != NULL && strchr(slash + 1, '/') == NULL,
			   "'%s' does not have exactly one '/'", r);
		FUZZ_CHECK(strstr(r, "..") == NULL, "'%s' contains '..'", r);
		FUZZ_CHECK(slash > r && slash[1] != '\0', "'%s' has an empty part", r);
		FUZZ_CHECK(strcmp(r, "./.") != 0 && strncmp(r, "./", 2) != 0 &&
			   strcmp(slash, "/.") != 0, "'%s' has a '.' part", r);
		FUZZ_CHECK(!fuzz_has_ctl(r, strlen(r)), "control byte in '%s'", r);
	}
	pool_destroy(pool);

	static const enum piece t1[] = { USERNAME, LIT, DOMAIN };
	static const char *const l1[] = { NULL, "/", NULL };
	expect_expand("%{username}/%{domain}", t1, l1, 3, &p, &in);
	static const enum piece t2[] = { USER };
	static const char *const l2[] = { NULL };
	expect_expand("%{user}", t2, l2, 1, &p, &in);
	static const enum piece t3[] = { LIT, USERNAME, LIT };
	static const char *const l3[] = { HOME "/", NULL, "/%Maildir" };
	expect_expand("~/%{username}/%%Maildir", t3, l3, 3, &p, &in);
	static const enum piece t4[] = { LIT, DOMAIN, LIT, USERNAME };
	static const char *const l4[] = { "/var/vmail/", NULL, "/", NULL };
	expect_expand("/var/vmail/%{domain}/%{username}", t4, l4, 4, &p, &in);
}

static void fuzzed_template(const char *tmpl, const char *user, size_t len)
{
	struct var_expand_input in = { user, len, HOME };
	pool_t *pool = pool_create();
	struct error err;
	error_clear(&err);
	char *r = var_expand(pool, tmpl, &in, &err);
	if (r == NULL) {
		FUZZ_CHECK(err.kind == ERROR_INVALID && err.message[0] != '\0',
			   "failure without ERROR_INVALID and a message");
	} else {
		size_t rlen = strlen(r);
		if (!fuzz_has_ctl(tmpl, strlen(tmpl)))
			FUZZ_CHECK(!fuzz_has_ctl(r, rlen),
				   "a control byte came from the user");
		if (strstr(tmpl, "..") == NULL) {
			/* No path component may be "..". */
			const char *c = r;
			for (;;) {
				const char *slash = strchr(c, '/');
				size_t clen = slash ? (size_t)(slash - c) : strlen(c);
				FUZZ_CHECK(!(clen == 2 && c[0] == '.' && c[1] == '.'),
					   "'%s' from '%s' has a '..' component",
					   r, tmpl);
				if (slash == NULL)
					break;
				c = slash + 1;
			}
		}
	}
	pool_destroy(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *rest = data + 1;
	size_t rest_len = size - 1;
	if ((data[0] & 1) == 0) {
		/* user[user_len] is the terminator; NULs before it are hidden. */
		char *user = fuzz_strndup(rest, rest_len);
		fixed_templates(user, rest_len);
		free(user);
		return 0;
	}
	const uint8_t *nul = memchr(rest, '\0', rest_len);
	size_t tlen = nul != NULL ? (size_t)(nul - rest) : rest_len;
	const uint8_t *u = nul != NULL ? nul + 1 : (const uint8_t *)"";
	size_t ulen = nul != NULL ? rest_len - tlen - 1 : 0;
	char *tmpl = fuzz_strndup(rest, tlen);
	char *user = fuzz_strndup(u, ulen);
	fuzzed_template(tmpl, ulen > 0 ? user : "alice@example.com",
			ulen > 0 ? ulen : strlen("alice@example.com"));
	free(tmpl);
	free(user);
	return 0;
}
