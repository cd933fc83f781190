/* Temporary test directories and file helpers for check(3) unit tests:
 * see fs-test-util.h. */
#include "config.h"
#include "fs-test-util.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for a template like "/tmp/test-mbox-index-XXXXXX"; the tests
 * choose their templates, so a longer one is a test's bug. */
#define FS_TEST_DIR_MAX 64
/* Paths below the test directory; the tests' names are short. */
#define FS_TEST_PATH_MAX 4096
/* The most of a file the tests read back: the crafted mailboxes and what
 * the storage writes from them are a few KiB, so this is room to spare. */
#define FS_TEST_READ_MAX (1 << 20)

static char test_dir[FS_TEST_DIR_MAX];

void fs_test_setup(const char *template)
{
	ck_assert_uint_lt(strlen(template), sizeof(test_dir));
	strcpy(test_dir, template);
	ck_assert_ptr_nonnull(mkdtemp(test_dir));
}

void fs_test_teardown(void)
{
	fs_test_remove_tree(test_dir);
}

const char *fs_test_dir(void)
{
	return test_dir;
}

char *fs_test_path(const char *rel)
{
	static char buf[4][FS_TEST_PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", test_dir, rel);
	return p;
}

void fs_test_write_file(const char *rel, const void *data, size_t len)
{
	int fd = open(fs_test_path(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

void fs_test_append_file(const char *rel, const char *s)
{
	int fd = open(fs_test_path(rel), O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

bool fs_test_exists(const char *rel)
{
	struct stat st;
	return lstat(fs_test_path(rel), &st) == 0;
}

char *fs_test_read_whole(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *data = malloc(FS_TEST_READ_MAX + 1);
	ck_assert_ptr_nonnull(data);
	size_t n = fread(data, 1, FS_TEST_READ_MAX, f);
	fclose(f);
	data[n] = '\0';
	*len_r = n;
	return data;
}

void fs_test_remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		unlink(path);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char sub[FS_TEST_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		struct stat st;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			fs_test_remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}
