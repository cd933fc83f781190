/*
 * roost-storage-check --module-dir DIR[:DIR...] --module NAME --path PATH
 *                     [--expect-count N] [--read-only] [--delete]
 *
 * Loads storage module NAME the way a mail worker does (module_load() and
 * module_init() from libroost) and checks the storage contract on the
 * mailbox at PATH, which the caller prepared. Prints "PASS name" or
 * "FAIL name: why" per check and "N passed, M failed"; exits 1 when any
 * check failed, 2 on a usage error. With --delete the first message is
 * really deleted (unless the mailbox is --read-only): run it on a copy.
 */
#include "config.h"
#include "storage-check.h"

#include "module.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out, "usage: roost-storage-check --module-dir DIR[:DIR...] "
		"--module NAME --path PATH\n"
		"                           [--expect-count N] [--read-only] [--delete]\n");
}

static int parse_count(const char *s, unsigned *count_r)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > UINT_MAX)
		return -1;
	*count_r = (unsigned)v;
	return 0;
}

enum { OPT_MODULE_DIR = 256, OPT_MODULE, OPT_PATH, OPT_EXPECT_COUNT,
       OPT_READ_ONLY, OPT_DELETE, OPT_HELP };

static int parse_args(int argc, char **argv, struct check_options *opt)
{
	static const struct option longopts[] = {
		{ "module-dir", required_argument, NULL, OPT_MODULE_DIR },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "expect-count", required_argument, NULL, OPT_EXPECT_COUNT },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "delete", no_argument, NULL, OPT_DELETE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MODULE_DIR: opt->module_dir = optarg; break;
		case OPT_MODULE: opt->module = optarg; break;
		case OPT_PATH: opt->path = optarg; break;
		case OPT_EXPECT_COUNT:
			if (parse_count(optarg, &opt->expect_count) < 0) {
				fprintf(stderr, "roost-storage-check: --expect-count "
					"needs a number, not '%s'\n", optarg);
				return -1;
			}
			opt->have_expect_count = true;
			break;
		case OPT_READ_ONLY: opt->read_only = true; break;
		case OPT_DELETE: opt->delete_first = true; break;
		case OPT_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || opt->module_dir == NULL || opt->module == NULL ||
	    opt->path == NULL) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct check_options opt = { 0 };
	int ret = parse_args(argc, argv, &opt);
	if (ret != 0)
		return ret < 0 ? EXIT_USAGE : 0;

	struct check_report rep = { 0, 0 };
	struct error err;
	error_clear(&err);
	const struct roost_module *mod =
		module_load(opt.module_dir, MODULE_KIND_STORAGE, opt.module, &err);
	if (mod == NULL) {
		check_fail(&rep, "load", "%s", err.message);
	} else if (mod->kind != MODULE_KIND_STORAGE) {
		/* module_load() refuses other kinds already; a libroost that
		 * stopped doing so must not make the kit call the wrong ops. */
		check_fail(&rep, "load", "module %s is of kind %s, not storage",
			   opt.module, module_kind_name(mod->kind));
	} else if (module_init(mod, &err) < 0) {
		check_fail(&rep, "load", "%s", err.message);
	} else {
		check_pass(&rep, "load");
		check_contract(mod->ops, &opt, &rep);
	}
	module_unload_all();
	return check_report_finish(&rep);
}
