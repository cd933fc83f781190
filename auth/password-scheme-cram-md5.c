/*
 * {CRAM-MD5}: see password-scheme-cram-md5.h. Resuming an MD5 from a
 * stored state needs a hash whose state is settable: nettle's md5_ctx
 * (a documented public struct; libnettle is GnuTLS's own crypto library)
 * gives that, so no MD5 is written here.
 */
#include "config.h"
#include "password-scheme-private.h"
#include "password-scheme-cram-md5.h"

#include <stdio.h>
#include <string.h>

#include <nettle/md5.h>
#include <sodium.h>

#include "pool.h"

#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

/* The MD5 state after one block of key XOR pad, into out (16 bytes). */
static void pad_state(const unsigned char key[MD5_BLOCK_SIZE],
		      unsigned char pad, unsigned char *out)
{
	unsigned char block[MD5_BLOCK_SIZE];
	struct md5_ctx ctx;

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = key[i] ^ pad;
	md5_init(&ctx);
	md5_update(&ctx, sizeof(block), block);
	for (unsigned i = 0; i < 4; i++)
		put_le32(out + 4 * i, ctx.state[i]);
	sodium_memzero(block, sizeof(block));
	sodium_memzero(&ctx, sizeof(ctx));
}

void password_cram_md5_context(const void *password, size_t len,
			       unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN])
{
	unsigned char key[MD5_BLOCK_SIZE] = { 0 };

	/* RFC 2104: a key longer than a block is hashed first. */
	if (len > sizeof(key)) {
		struct md5_ctx ctx;
		md5_init(&ctx);
		md5_update(&ctx, len, password);
		md5_digest(&ctx, MD5_DIGEST_SIZE, key);
		sodium_memzero(&ctx, sizeof(ctx));
	} else {
		memcpy(key, password, len);
	}
	pad_state(key, HMAC_OPAD, context);
	pad_state(key, HMAC_IPAD, context + PASSWORD_CRAM_MD5_CONTEXT_LEN / 2);
	sodium_memzero(key, sizeof(key));
}

/* An MD5 resumed after its first block from a stored state. */
static void resume(struct md5_ctx *ctx, const unsigned char *state)
{
	memset(ctx, 0, sizeof(*ctx));
	for (unsigned i = 0; i < 4; i++)
		ctx->state[i] = get_le32(state + 4 * i);
	ctx->count = 1;
	ctx->index = 0;
}

void password_cram_md5_hmac(const unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN],
			    const void *msg, size_t len,
			    unsigned char digest[PASSWORD_CRAM_MD5_DIGEST_LEN])
{
	unsigned char inner[MD5_DIGEST_SIZE];
	struct md5_ctx ctx;

	resume(&ctx, context + PASSWORD_CRAM_MD5_CONTEXT_LEN / 2);
	md5_update(&ctx, len, msg);
	md5_digest(&ctx, sizeof(inner), inner);
	resume(&ctx, context);
	md5_update(&ctx, sizeof(inner), inner);
	md5_digest(&ctx, PASSWORD_CRAM_MD5_DIGEST_LEN, digest);
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&ctx, sizeof(ctx));
}

static int cram_md5_verify(const struct password_scheme *scheme,
			   const unsigned char *data, size_t data_len,
			   const char *password, struct error *err)
{
	unsigned char context[PASSWORD_CRAM_MD5_CONTEXT_LEN];

	if (data_len != sizeof(context)) {
		password_scheme_malformed(err, scheme->name,
					  "not 32 bytes of HMAC-MD5 state");
		return -1;
	}
	password_cram_md5_context(password, strlen(password), context);
	bool equal = sodium_memcmp(context, data, sizeof(context)) == 0;
	sodium_memzero(context, sizeof(context));
	return equal ? 1 : 0;
}

static int cram_md5_dummy_key(const struct password_scheme *scheme,
			      const unsigned char *data, size_t data_len,
			      char *key, size_t key_size)
{
	if (data_len != PASSWORD_CRAM_MD5_CONTEXT_LEN)
		return -1;
	snprintf(key, key_size, "%s", scheme->name);
	return 0;
}

static unsigned char *cram_md5_hash(const struct password_scheme *scheme,
				    const unsigned char *like,
				    size_t like_len, const char *password,
				    size_t *len_r, struct error *err)
{
	/* xmalloc zero-fills, so the data is NUL-terminated. */
	unsigned char *out = xmalloc(PASSWORD_CRAM_MD5_CONTEXT_LEN + 1);

	password_cram_md5_context(password, strlen(password), out);
	*len_r = PASSWORD_CRAM_MD5_CONTEXT_LEN;
	return out;
}

const struct password_scheme password_scheme_cram_md5 = {
	"CRAM-MD5", PASSWORD_ENCODING_HEX, PASSWORD_CRAM_MD5_CONTEXT_LEN, true,
	NULL, cram_md5_verify, cram_md5_dummy_key, cram_md5_hash,
};
