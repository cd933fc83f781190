/*
 * Fuzzes `roostctl config convert-dovecot`: the reader of doveconf -n
 * dumps (tools/roostctl/doveconf-dump.c) and the conversion
 * (tools/roostctl/convert-dovecot.c) on what it reads. An admin feeds it
 * a file that may come from another machine or be damaged.
 *
 * Invariants:
 *  - every warning names a line that exists in the input;
 *  - the converted configuration always parses with Roost's own config
 *    parser (the values the converter writes are quoted where needed
 *    and its comments stay on one line), whatever the dump held.
 * The conversion runs with read_files off: a dump naming a
 * dovecot-sql.conf.ext must not make the fuzzer open files.
 */
#include "config.h"
#include "convert-dovecot.h"
#include "doveconf-dump.h"

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct fuzz_lines w;
	fuzz_lines_count(&w, data, size);

	pool_t *pool = pool_create();
	struct config_section *dump =
		doveconf_parse(pool, "fuzz", buf, size, fuzz_warning_in_range, &w);
	struct convert_dovecot_options opts = { .source = "fuzz" };
	struct buffer out;
	buffer_init(&out);
	convert_dovecot(pool, dump, &opts, &out);
	struct error err;
	error_clear(&err);
	FUZZ_CHECK(config_parse_string(pool, "converted", out.data, &err) != NULL,
		   "converted config does not parse: %s\n%s", err.message, out.data);
	buffer_free(&out);
	pool_destroy(pool);
	return 0;
}
