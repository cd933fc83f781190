/*
 * Fuzzes the mbox parser (storage/mbox/mbox-parse.c). mbox files are
 * written by delivery agents, MUAs and users, so every byte sequence is
 * possible input.
 *
 * The input is a whole mbox file. Invariants:
 *  - the result does not depend on how the input is cut into chunks
 *    (whole, and in chunks whose sizes come from the input itself);
 *  - messages tile the file after the preamble: each starts at "From ",
 *    from < content_offset <= content_end <= end_offset, and each ends
 *    where the next starts; the last ends at the end of the input;
 *  - content mode over a message's content range (what RETR reads)
 *    yields bytes whose message_wire_size() is the listed size, with the
 *    same digest, and fed in one piece or byte by byte gives the same;
 *  - an X-UIDL, when reported, is a valid UIDL.
 * All of it in Roost's own mode and in Dovecot mode (mbox-dovecot.h),
 * where the size leaves out the CRLF after an unterminated last line
 * and only the first message may be the pseudo-message.
 */
#include "config.h"
#include "mbox/mbox-parse.h"
#include "message-wire.h"

#include "fuzz-common.h"

#define MAX_MESSAGES 4096

struct result {
	struct mbox_message *msgs;
	size_t count;
};

static void on_message(void *context, const struct mbox_message *m)
{
	struct result *r = context;
	FUZZ_CHECK(r->count < MAX_MESSAGES, "too many messages");
	r->msgs[r->count++] = *m;
}

struct content {
	char *data;
	size_t len;
	struct mbox_message msg;
	int reported;
};

static void on_content(void *context, const char *data, size_t len)
{
	struct content *c = context;
	c->data = realloc(c->data, c->len + len);
	FUZZ_CHECK(c->data != NULL, "realloc");
	memcpy(c->data + c->len, data, len);
	c->len += len;
}

static void on_content_done(void *context, const struct mbox_message *m)
{
	struct content *c = context;
	c->msg = *m;
	c->reported++;
}

static void read_content(struct mbox_parser *p, const uint8_t *data,
			 const struct mbox_message *m, int bytewise,
			 bool dovecot, struct content *c)
{
	memset(c, 0, sizeof(*c));
	mbox_parser_init_content(p, m->content_offset, on_content,
				 on_content_done, c);
	if (dovecot)
		mbox_parser_set_dovecot(p);
	size_t len = (size_t)(m->content_end - m->content_offset);
	const uint8_t *start = data + m->content_offset;
	if (bytewise) {
		for (size_t i = 0; i < len; i++)
			mbox_parser_feed(p, start + i, 1);
	} else {
		mbox_parser_feed(p, start, len);
	}
	mbox_parser_finish(p);
	FUZZ_CHECK(c->reported == 1, "content mode reported %d messages",
		   c->reported);
}

/* What the listing announces for content c[0..len). */
static uint64_t listed_size(const char *c, size_t len, bool dovecot)
{
	uint64_t wire = message_wire_size(c, len);
	if (dovecot && len > 0 && c[len - 1] != '\n')
		wire -= 2;
	return wire;
}

static void check_mode(const uint8_t *data, size_t size, bool dovecot)
{
	struct mbox_parser *p = malloc(sizeof(*p));
	struct result whole = { calloc(MAX_MESSAGES, sizeof(struct mbox_message)), 0 };
	struct result cut = { calloc(MAX_MESSAGES, sizeof(struct mbox_message)), 0 };
	FUZZ_CHECK(p != NULL && whole.msgs != NULL && cut.msgs != NULL, "alloc");
	char *copy = fuzz_memdup(data, size);

	mbox_parser_init(p, on_message, &whole);
	if (dovecot)
		mbox_parser_set_dovecot(p);
	mbox_parser_feed(p, copy, size);
	mbox_parser_finish(p);

	mbox_parser_init(p, on_message, &cut);
	if (dovecot)
		mbox_parser_set_dovecot(p);
	size_t pos = 0, k = 0;
	while (pos < size) {
		size_t n = 1 + (size_t)(size > 0 ? data[k++ % size] % 13 : 0);
		if (n > size - pos)
			n = size - pos;
		mbox_parser_feed(p, copy + pos, n);
		pos += n;
	}
	mbox_parser_finish(p);

	FUZZ_CHECK(whole.count == cut.count, "%zu messages whole, %zu cut",
		   whole.count, cut.count);
	for (size_t i = 0; i < whole.count; i++) {
		const struct mbox_message *m = &whole.msgs[i];
		FUZZ_CHECK(memcmp(m, &cut.msgs[i], sizeof(*m)) == 0,
			   "message %zu differs when the input is cut", i);
		FUZZ_CHECK(m->from_offset + 5 <= size &&
			   memcmp(data + m->from_offset, "From ", 5) == 0,
			   "message %zu does not start with From_", i);
		FUZZ_CHECK(m->from_offset < m->content_offset &&
			   m->content_offset <= m->content_end &&
			   m->content_end <= m->end_offset,
			   "message %zu offsets out of order", i);
		FUZZ_CHECK(i + 1 < whole.count ?
			   m->end_offset == whole.msgs[i + 1].from_offset :
			   m->end_offset == size, "message %zu does not tile", i);
		size_t ulen = strnlen(m->x_uidl, sizeof(m->x_uidl));
		FUZZ_CHECK(ulen < sizeof(m->x_uidl), "X-UIDL not terminated");
		FUZZ_CHECK(ulen == 0 || storage_uidl_is_valid(m->x_uidl, ulen),
			   "invalid X-UIDL reported");

		FUZZ_CHECK(!m->pseudo || (dovecot && i == 0),
			   "message %zu reported as the pseudo-message", i);
		FUZZ_CHECK(dovecot || m->uid == 0, "X-UID outside Dovecot mode");
		struct content a, b;
		read_content(p, data, m, 0, dovecot, &a);
		read_content(p, data, m, 1, dovecot, &b);
		FUZZ_CHECK(a.len == b.len && (a.len == 0 ||
			   memcmp(a.data, b.data, a.len) == 0),
			   "content mode depends on chunking");
		FUZZ_CHECK(listed_size(a.data, a.len, dovecot) == m->size,
			   "message %zu: size %llu, content gives %llu", i,
			   (unsigned long long)m->size,
			   (unsigned long long)listed_size(a.data, a.len, dovecot));
		FUZZ_CHECK(a.msg.size == m->size &&
			   memcmp(a.msg.hash, m->hash, MBOX_HASH_BYTES) == 0,
			   "content mode disagrees on size or digest");
		FUZZ_CHECK(a.len <= m->content_end - m->content_offset,
			   "unquoting made the content longer");
		free(a.data);
		free(b.data);
	}
	if (whole.count == 0 && !dovecot)
		FUZZ_CHECK(size < 5 || memcmp(data, "From ", 5) != 0,
			   "a file starting with From_ has no message");
	free(copy);
	free(whole.msgs);
	free(cut.msgs);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_mode(data, size, false);
	check_mode(data, size, true);
	return 0;
}
