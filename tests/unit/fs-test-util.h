/*
 * Fixtures for unit tests that work on real files: one temporary
 * directory per test case, and short ways to name, write and check files
 * in it. Only for check(3) test cases: failures are check assertions,
 * which end the case, not values to handle. Not thread-safe (one test
 * case at a time, as check's fork mode runs them).
 */
#ifndef ROOST_FS_TEST_UTIL_H
#define ROOST_FS_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Creates the test directory from an mkdtemp(3) template such as
 * "/tmp/test-x-XXXXXX"; call from a check fixture's setup. */
void fs_test_setup(const char *template);
/* Removes the test directory and all it holds; a check fixture's
 * teardown as it is. */
void fs_test_teardown(void);
/* The test directory's path, valid until fs_test_teardown(). */
const char *fs_test_dir(void);

/* The test directory's path joined with rel, in one of four static
 * buffers that the following calls reuse in turn: valid until the
 * fourth call after it, enough for the arguments of one call. */
char *fs_test_path(const char *rel);
/* Creates or replaces rel (mode 0600) with data[0..len). */
void fs_test_write_file(const char *rel, const void *data, size_t len);
/* Appends s to rel, which must exist. */
void fs_test_append_file(const char *rel, const char *s);
/* True when rel exists (a dangling symlink counts). */
bool fs_test_exists(const char *rel);
/* Reads path (any path, not only in the test directory), at most
 * FS_TEST_READ_MAX bytes of it (fs-test-util.c), NUL-terminated for
 * string functions; the caller frees the result. */
char *fs_test_read_whole(const char *path, size_t *len_r);
/* Removes path: a file, or a directory with all below it; nothing when
 * it does not exist. */
void fs_test_remove_tree(const char *path);

#endif
