/*
 * POP3 TRANSACTION and UPDATE states (RFC 1939 §5-6) over the storage API.
 *
 * Deletions are only marks until QUIT; a dropped connection, an idle
 * timeout or a server shutdown commits nothing. RETR and TOP stream the
 * message through message-wire in chunks and wait for the socket to drain,
 * so a client that never reads costs at most the stream's high-water mark.
 */
#include "config.h"
#include "pop3-session.h"
#include "pop3-capa.h"
#include "auth-mechanisms.h"
#include "pop3-command.h"

#include "line-reader.h"
#include "message-wire.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* Post-login lines are commands only (no SASL), but a generous reader
 * limit lets us answer an overlong line with -ERR instead of dropping it. */
#define POP3_SESSION_INPUT_MAX (POP3_AUTH_LINE_MAX * 2)
/* Bytes read from storage per step of a RETR. */
#define POP3_RETR_CHUNK 65536
/* After the session ended, the client gets this long to take its last
 * reply; one that never reads must not keep the process alive. */
#define POP3_CLOSE_GRACE_MS 10000

struct pop3_session {
	struct mail_session *mail;
	struct stream *stream;
	struct line_reader reader;
	struct event_timer *idle_timer;
	unsigned count;
	bool *deleted;
	unsigned deleted_count;
	uint64_t deleted_octets;
	/* A RETR/TOP in progress. */
	struct storage_message_reader *retr;
	struct message_wire wire;
	unsigned retr_index;
	uint64_t retr_sent;
	bool retr_truncated;
	bool ending;
	/* For the logout line; the rest is in mail->stats. */
	uint64_t top_count;
	uint64_t started_ms;
};

static void session_input(void *context);
static void session_continue_retr(struct pop3_session *ps);

/* Every byte for the client goes through here, so octets_sent is exact. */
static void send_bytes(struct pop3_session *ps, const void *data, size_t len)
{
	stream_write(ps->stream, data, len);
	ps->mail->stats.octets_sent += len;
}

static void send_printf(struct pop3_session *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void send_printf(struct pop3_session *ps, const char *fmt, ...)
{
	struct buffer out;
	va_list ap;
	buffer_init(&out);
	va_start(ap, fmt);
	buffer_vprintf(&out, fmt, ap);
	va_end(ap);
	send_bytes(ps, out.data, out.len);
	buffer_free(&out);
}

static void reply(struct pop3_session *ps, const char *line)
{
	send_printf(ps, "%s\r\n", line);
}

static void set_state(struct pop3_session *ps, const char *state)
{
	ps->mail->stats.state = state;
	mail_session_stats_changed(ps->mail);
}

static void close_deadline(void *context)
{
	struct pop3_session *ps = context;
	ps->idle_timer = NULL;
	log_msg(LOG_LEVEL_INFO, &ps->mail->log,
		"Closing: the client did not take its last reply in time");
	stream_destroy(ps->stream);
	ps->stream = NULL;
	mail_session_end(ps->mail);
}

/* reason: one of the words of mail_session_stats.end_reason; detail, when
 * not NULL, says more (the stream's close reason, an error). */
static void session_end(struct pop3_session *ps, const char *reason,
			const char *detail)
{
	if (ps->ending)
		return;
	ps->ending = true;
	const struct mail_session_stats *st = &ps->mail->stats;
	uint64_t ms = event_loop_now(ps->mail->loop) - ps->started_ms;
	log_msg(LOG_LEVEL_INFO, &ps->mail->log,
		"Logged out: retr=%" PRIu64 " retr_octets=%" PRIu64 " top=%" PRIu64
		" dele=%" PRIu64 " deleted_octets=%" PRIu64 " octets_sent=%" PRIu64
		" duration=%" PRIu64 ".%03u reason=%s%s%s%s",
		st->retrieved, st->retrieved_octets, ps->top_count, st->deleted,
		st->deleted_octets, st->octets_sent, ms / 1000, (unsigned)(ms % 1000),
		reason, detail != NULL ? " (" : "", detail != NULL ? detail : "",
		detail != NULL ? ")" : "");
	ps->mail->stats.end_reason = reason;
	set_state(ps, "closing");
	if (ps->retr != NULL) {
		ps->mail->storage->message_close(ps->retr);
		ps->retr = NULL;
	}
	/* Nothing is committed from here on: release the mailbox lock now
	 * rather than when the last bytes have left. */
	if (ps->mail->mailbox != NULL) {
		ps->mail->storage->close(ps->mail->mailbox);
		ps->mail->mailbox = NULL;
	}
	event_timer_remove(ps->idle_timer);
	ps->idle_timer = event_timer_add(ps->mail->loop, POP3_CLOSE_GRACE_MS,
					 close_deadline, ps);
	stream_finish(ps->stream);
}

static void stream_closed(void *context, const char *reason)
{
	struct pop3_session *ps = context;
	if (!ps->ending && reason != NULL)
		session_end(ps, "disconnect", reason);
	event_timer_remove(ps->idle_timer);
	ps->idle_timer = NULL;
	stream_destroy(ps->stream);
	ps->stream = NULL;
	mail_session_end(ps->mail);
}

static void idle_timeout(void *context)
{
	struct pop3_session *ps = context;
	ps->idle_timer = NULL;
	/* Never put a reply into the middle of a message being sent. */
	if (ps->retr == NULL)
		reply(ps, "-ERR Disconnected for inactivity.");
	session_end(ps, "timeout", NULL);
}

/* Parses "N" into a 0-based index of a message that exists and is not
 * deleted; answers -ERR and returns false otherwise. */
static bool message_arg(struct pop3_session *ps, const char *s, size_t len,
			unsigned *index_r)
{
	unsigned long n;
	if (!pop3_parse_uint(s, len, &n)) {
		reply(ps, "-ERR Invalid message number.");
		return false;
	}
	if (n == 0 || n > ps->count) {
		reply(ps, "-ERR No such message.");
		return false;
	}
	if (ps->deleted[n - 1]) {
		reply(ps, "-ERR Message is deleted.");
		return false;
	}
	*index_r = (unsigned)(n - 1);
	return true;
}

static const struct storage_message_info *info(struct pop3_session *ps, unsigned i)
{
	return ps->mail->storage->message_info(ps->mail->mailbox, i);
}

static void cmd_stat(struct pop3_session *ps)
{
	uint64_t octets = 0;
	unsigned n = 0;
	for (unsigned i = 0; i < ps->count; i++) {
		if (ps->deleted[i])
			continue;
		n++;
		octets += info(ps, i)->size;
	}
	send_printf(ps, "+OK %u %" PRIu64 "\r\n", n, octets);
}

static void cmd_list_or_uidl(struct pop3_session *ps, const struct pop3_command *cmd,
			     bool uidl)
{
	const char *words[1];
	size_t lens[1];
	int n = pop3_split_args(cmd->args, cmd->args_len, words, lens, 1);
	if (n < 0) {
		reply(ps, "-ERR Invalid arguments.");
		return;
	}
	if (n == 1) {
		unsigned i;
		if (!message_arg(ps, words[0], lens[0], &i))
			return;
		if (uidl)
			send_printf(ps, "+OK %u %s\r\n", i + 1, info(ps, i)->uidl);
		else
			send_printf(ps, "+OK %u %" PRIu64 "\r\n", i + 1, info(ps, i)->size);
		return;
	}
	struct buffer out;
	buffer_init(&out);
	if (uidl) {
		buffer_append_str(&out, "+OK Unique-ID listing follows\r\n");
	} else {
		unsigned count = 0;
		uint64_t octets = 0;
		for (unsigned i = 0; i < ps->count; i++) {
			if (!ps->deleted[i]) {
				count++;
				octets += info(ps, i)->size;
			}
		}
		buffer_printf(&out, "+OK %u messages (%" PRIu64 " octets)\r\n", count, octets);
	}
	for (unsigned i = 0; i < ps->count; i++) {
		if (ps->deleted[i])
			continue;
		if (uidl)
			buffer_printf(&out, "%u %s\r\n", i + 1, info(ps, i)->uidl);
		else
			buffer_printf(&out, "%u %" PRIu64 "\r\n", i + 1, info(ps, i)->size);
	}
	buffer_append_str(&out, ".\r\n");
	send_bytes(ps, out.data, out.len);
	buffer_free(&out);
}

static void start_retr(struct pop3_session *ps, unsigned index, uint64_t body_lines)
{
	struct error err;
	error_clear(&err);
	ps->retr = ps->mail->storage->message_open(ps->mail->mailbox, index, &err);
	if (ps->retr == NULL) {
		log_msg(LOG_LEVEL_ERROR, &ps->mail->log, "Cannot open message %u: %s",
			index + 1, err.message);
		reply(ps, err.kind == ERROR_NOT_FOUND ?
		      "-ERR Message has been removed by another client." :
		      "-ERR [SYS/TEMP] Cannot read the message, try again later.");
		return;
	}
	ps->retr_index = index;
	ps->retr_sent = 0;
	ps->retr_truncated = body_lines != MESSAGE_WIRE_ALL_LINES;
	message_wire_init(&ps->wire, true, body_lines);
	if (ps->retr_truncated)
		reply(ps, "+OK");
	else
		send_printf(ps, "+OK %" PRIu64 " octets\r\n", info(ps, index)->size);
	session_continue_retr(ps);
}

static void finish_retr(struct pop3_session *ps, bool ok)
{
	ps->mail->storage->message_close(ps->retr);
	ps->retr = NULL;
	if (!ok) {
		/* Half a message was sent; only closing the connection tells
		 * the client it is incomplete. */
		session_end(ps, "error", "message read failed during RETR");
		return;
	}
	send_bytes(ps, ".\r\n", 3);
	if (ps->retr_truncated) {
		ps->top_count++;
	} else {
		ps->mail->stats.retrieved++;
		ps->mail->stats.retrieved_octets += info(ps, ps->retr_index)->size;
	}
	mail_session_stats_changed(ps->mail);
}

static void session_continue_retr(struct pop3_session *ps)
{
	char chunk[POP3_RETR_CHUNK];
	while (ps->retr != NULL && !ps->ending && !stream_output_full(ps->stream)) {
		struct error err;
		ssize_t n = ps->mail->storage->message_read(ps->retr, chunk, sizeof(chunk), &err);
		if (n < 0) {
			log_msg(LOG_LEVEL_ERROR, &ps->mail->log,
				"Reading message %u failed: %s", ps->retr_index + 1, err.message);
			finish_retr(ps, false);
			break;
		}
		if (n == 0) {
			struct buffer end;
			buffer_init(&end);
			message_wire_finish(&ps->wire, &end);
			send_bytes(ps, end.data, end.len);
			buffer_free(&end);
		} else {
			/* Converted straight into the output queue: one copy
			 * less per byte of mail. */
			char *out = stream_write_reserve(ps->stream,
						MESSAGE_WIRE_OUTPUT_MAX((size_t)n));
			if (out == NULL) {
				/* The stream is failing; that ends the
				 * session. */
				break;
			}
			size_t written;
			message_wire_convert_into(&ps->wire, chunk, (size_t)n, out, &written);
			stream_write_commit(ps->stream, written);
			ps->mail->stats.octets_sent += written;
		}
		if (n == 0 || message_wire_done(&ps->wire)) {
			finish_retr(ps, true);
			break;
		}
	}
}

static void cmd_retr_or_top(struct pop3_session *ps, const struct pop3_command *cmd,
			    bool top)
{
	const char *words[2];
	size_t lens[2];
	int n = pop3_split_args(cmd->args, cmd->args_len, words, lens, 2);
	if (n != (top ? 2 : 1)) {
		reply(ps, top ? "-ERR Usage: TOP msg lines" : "-ERR Usage: RETR msg");
		return;
	}
	unsigned index;
	if (!message_arg(ps, words[0], lens[0], &index))
		return;
	uint64_t lines = MESSAGE_WIRE_ALL_LINES;
	if (top) {
		unsigned long l;
		if (!pop3_parse_uint(words[1], lens[1], &l)) {
			reply(ps, "-ERR Invalid number of lines.");
			return;
		}
		lines = l;
	}
	start_retr(ps, index, lines);
}

static void cmd_dele(struct pop3_session *ps, const struct pop3_command *cmd)
{
	unsigned index;
	if (!message_arg(ps, cmd->args, cmd->args_len, &index))
		return;
	ps->deleted[index] = true;
	ps->deleted_count++;
	ps->deleted_octets += info(ps, index)->size;
	reply(ps, "+OK Marked to be deleted.");
}

static void cmd_rset(struct pop3_session *ps)
{
	memset(ps->deleted, 0, ps->count * sizeof(bool));
	ps->deleted_count = 0;
	ps->deleted_octets = 0;
	reply(ps, "+OK");
}

static void cmd_quit(struct pop3_session *ps)
{
	if (ps->deleted_count > 0) {
		struct error err;
		error_clear(&err);
		set_state(ps, "update");
		if (ps->mail->storage->commit_deletions(ps->mail->mailbox,
							ps->deleted, &err) < 0) {
			log_msg(LOG_LEVEL_ERROR, &ps->mail->log,
				"Committing deletions failed: %s", err.message);
			reply(ps, err.kind == ERROR_PERM ?
			      "-ERR [SYS/PERM] Some deleted messages were not removed." :
			      "-ERR [SYS/TEMP] Some deleted messages were not removed.");
			session_end(ps, "error", "deletions failed");
			return;
		}
		ps->mail->stats.deleted = ps->deleted_count;
		ps->mail->stats.deleted_octets = ps->deleted_octets;
	}
	/* Release the lock before answering, so a client that reconnects
	 * the moment it reads +OK finds the mailbox free. */
	ps->mail->storage->close(ps->mail->mailbox);
	ps->mail->mailbox = NULL;
	reply(ps, "+OK Logging out.");
	session_end(ps, "quit", NULL);
}

static void handle_line(struct pop3_session *ps, const char *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_parse_result parsed = pop3_command_parse(line, len, &cmd);
	if (parsed != POP3_PARSE_OK) {
		reply(ps, pop3_parse_error_reply(parsed));
		return;
	}
	if (len > POP3_COMMAND_LINE_MAX) {
		reply(ps, "-ERR Command line too long.");
		return;
	}
	const char *k = cmd.keyword;
	bool no_args = cmd.args_len == 0;
	ps->mail->stats.commands++;
	mail_session_stats_changed(ps->mail);
	/* After login no command carries a secret, so the whole line may go
	 * to the (per-user, roostctl debug) debug log. */
	if (log_debug_enabled()) {
		char esc[POP3_COMMAND_LINE_MAX + 1];
		log_msg(LOG_LEVEL_DEBUG, &ps->mail->log, "Command: %s",
			log_escape(esc, sizeof(esc), line, len));
	}
	if (strcmp(k, "STAT") == 0 && no_args)
		cmd_stat(ps);
	else if (strcmp(k, "LIST") == 0)
		cmd_list_or_uidl(ps, &cmd, false);
	else if (strcmp(k, "UIDL") == 0)
		cmd_list_or_uidl(ps, &cmd, true);
	else if (strcmp(k, "RETR") == 0)
		cmd_retr_or_top(ps, &cmd, false);
	else if (strcmp(k, "TOP") == 0)
		cmd_retr_or_top(ps, &cmd, true);
	else if (strcmp(k, "DELE") == 0)
		cmd_dele(ps, &cmd);
	else if (strcmp(k, "RSET") == 0 && no_args)
		cmd_rset(ps);
	else if (strcmp(k, "NOOP") == 0 && no_args)
		reply(ps, "+OK");
	else if (strcmp(k, "QUIT") == 0)
		cmd_quit(ps);
	else if (strcmp(k, "CAPA") == 0) {
		/* Output is only queued within one event-loop round, so the
		 * growth of the queue is exactly what CAPA wrote. */
		size_t before = stream_output_pending(ps->stream);
		pop3_capa_write(ps->stream,
				auth_mechanisms_sasl_list(ps->mail->pool, ps->mail->set),
				true, false, ps->mail->set, ps->mail);
		ps->mail->stats.octets_sent += stream_output_pending(ps->stream) - before;
	}
	else if (strcmp(k, "USER") == 0 || strcmp(k, "PASS") == 0 ||
		 strcmp(k, "AUTH") == 0 || strcmp(k, "APOP") == 0 ||
		 strcmp(k, "STLS") == 0)
		reply(ps, "-ERR Already logged in.");
	else if (strcmp(k, "STAT") == 0 || strcmp(k, "RSET") == 0 ||
		 strcmp(k, "NOOP") == 0)
		reply(ps, "-ERR This command takes no arguments.");
	else
		reply(ps, "-ERR Unknown command.");
}

static void session_input(void *context)
{
	struct pop3_session *ps = context;
	struct buffer *in = stream_input(ps->stream);
	const char *line;
	size_t len;

	if (ps->idle_timer != NULL)
		event_timer_reset(ps->idle_timer, ps->mail->set->mail_idle_timeout);
	/* Commands are answered strictly in order: while a RETR is still
	 * being written, later pipelined commands wait in the buffer. */
	while (ps->retr == NULL && !ps->ending && !stream_output_full(ps->stream)) {
		enum line_result r = line_reader_next(&ps->reader, in, &line, &len);
		if (r == LINE_NONE)
			break;
		if (r == LINE_TOO_LONG) {
			reply(ps, "-ERR Command line too long.");
			continue;
		}
		handle_line(ps, line, len);
	}
	if (ps->stream != NULL && !ps->ending) {
		line_reader_unconsumed(&ps->reader, in);
		stream_input_resume(ps->stream);
	}
}

static void session_drained(void *context)
{
	struct pop3_session *ps = context;
	/* A client still taking a long RETR is not idle. */
	if (ps->idle_timer != NULL && !ps->ending)
		event_timer_reset(ps->idle_timer, ps->mail->set->mail_idle_timeout);
	if (ps->retr != NULL)
		session_continue_retr(ps);
	if (ps->retr == NULL && !ps->ending)
		session_input(ps);
}

static const struct stream_callbacks session_stream_callbacks = {
	.input = session_input,
	.drained = session_drained,
	.closed = stream_closed,
};

static void session_start(struct mail_session *mail)
{
	struct pop3_session *ps = pool_alloc(mail->pool, sizeof(*ps));
	ps->mail = mail;
	mail->protocol_data = ps;
	line_reader_init(&ps->reader, POP3_AUTH_LINE_MAX);
	ps->stream = stream_create(mail->loop, mail->fd, POP3_SESSION_INPUT_MAX,
				   &session_stream_callbacks, ps);
	mail->fd = -1;
	ps->started_ms = event_loop_now(mail->loop);
	/* Replies to commands pipelined before the login come first. */
	if (mail->output_len > 0)
		send_bytes(ps, mail->output, mail->output_len);

	if (mail->mailbox == NULL) {
		switch (mail->open_error.kind) {
		case ERROR_IN_USE:
			reply(ps, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
			break;
		case ERROR_PERM:
			reply(ps, "-ERR [SYS/PERM] The mailbox cannot be opened; contact the administrator.");
			break;
		default:
			reply(ps, "-ERR [SYS/TEMP] The mailbox cannot be opened now, try again later.");
			break;
		}
		log_msg(LOG_LEVEL_INFO, &mail->log, "Mailbox not opened: %s",
			mail->open_error.message);
		mail->stats.end_reason = mail->open_error.kind == ERROR_IN_USE ?
			"in-use" : "error";
		set_state(ps, "closing");
		ps->ending = true;
		stream_finish(ps->stream);
		return;
	}
	ps->count = mail->storage->message_count(mail->mailbox);
	ps->deleted = pool_alloc(mail->pool, (ps->count + 1) * sizeof(bool));
	uint64_t octets = 0;
	for (unsigned i = 0; i < ps->count; i++)
		octets += info(ps, i)->size;
	log_msg(LOG_LEVEL_INFO, &mail->log, "Logged in: tls=%s messages=%u octets=%" PRIu64,
		mail->tls ? "yes" : "no", ps->count, octets);
	/* The master hears that the mailbox is open before the client does
	 * (worker-pool.h: where the client's next login goes). */
	set_state(ps, "transaction");
	send_printf(ps, "+OK Logged in, %u messages (%" PRIu64 " octets).\r\n",
		    ps->count, octets);
	ps->idle_timer = event_timer_add(mail->loop, mail->set->mail_idle_timeout,
					 idle_timeout, ps);
	/* Commands the client pipelined behind its login. */
	if (mail->input_len > 0) {
		buffer_append(stream_input(ps->stream), mail->input, mail->input_len);
		session_input(ps);
	}
}

static void session_shutdown(struct mail_session *mail)
{
	struct pop3_session *ps = mail->protocol_data;
	if (ps == NULL || ps->ending || ps->stream == NULL) {
		mail_session_end(mail);
		return;
	}
	bool kicked = mail->stop == MAIL_SESSION_STOP_KICKED;
	/* RFC 1939: without QUIT nothing is deleted. A -ERR in the middle
	 * of a message would corrupt it; the closed connection alone tells
	 * the client that message is incomplete. */
	if (ps->retr == NULL)
		reply(ps, kicked ?
		      "-ERR [SYS/TEMP] Disconnected by the administrator, no messages were deleted." :
		      "-ERR [SYS/TEMP] Server shutting down, no messages were deleted.");
	session_end(ps, kicked ? "kicked" : "shutdown", NULL);
}

static void session_destroy(struct mail_session *mail)
{
	struct pop3_session *ps = mail->protocol_data;
	event_timer_remove(ps->idle_timer);
	ps->idle_timer = NULL;
	if (ps->retr != NULL) {
		mail->storage->message_close(ps->retr);
		ps->retr = NULL;
	}
	if (ps->stream != NULL) {
		stream_destroy(ps->stream);
		ps->stream = NULL;
	}
	mail->protocol_data = NULL;
}

const struct protocol_mail_ops pop3_mail_ops = {
	.session_start = session_start,
	.session_shutdown = session_shutdown,
	.session_destroy = session_destroy,
};
