/* Unit tests for SCM_RIGHTS descriptor passing (core/fd-passing.c) over
 * SOCK_SEQPACKET, as between the master and its children. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-passing.h"

static int sv[2];

static void setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(fd_and_payload)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_send(sv[0], p[1], "hello\tworld", 11), 0);
	close(p[1]);

	char buf[64];
	int fd = -2;
	ssize_t n = fd_recv(sv[1], &fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 11);
	ck_assert(memcmp(buf, "hello\tworld", 11) == 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, sv[0]);
	ck_assert_int_ne(fd, sv[1]);

	/* It is the same pipe: what we write through it arrives at p[0]. */
	ck_assert_int_eq(write(fd, "via", 3), 3);
	char got[8];
	ck_assert_int_eq(read(p[0], got, sizeof(got)), 3);
	ck_assert(memcmp(got, "via", 3) == 0);
	close(fd);
	close(p[0]);
}
END_TEST

START_TEST(fd_identity)
{
	/* The received descriptor refers to the same open file. */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_send(sv[0], p[0], "x", 1), 0);
	char buf[4];
	int fd = -1;
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 1);
	ck_assert_int_ge(fd, 0);
	struct stat a, b;
	ck_assert_int_eq(fstat(p[0], &a), 0);
	ck_assert_int_eq(fstat(fd, &b), 0);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(message_without_fd)
{
	ck_assert_int_eq(fd_send(sv[0], -1, "no fd here", 10), 0);
	char buf[64];
	int fd = 1234;
	ssize_t n = fd_recv(sv[1], &fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(fd, -1);
	ck_assert(memcmp(buf, "no fd here", 10) == 0);
}
END_TEST

START_TEST(message_boundaries_kept)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_send(sv[0], -1, "one", 3), 0);
	ck_assert_int_eq(fd_send(sv[0], p[0], "two!", 4), 0);
	ck_assert_int_eq(fd_send(sv[0], -1, "three", 5), 0);
	char buf[64];
	int fd;
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 3);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 4);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 5);
	ck_assert_int_eq(fd, -1);
	ck_assert(memcmp(buf, "three", 5) == 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(truncated_closes_fd)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	char big[200];
	memset(big, 'm', sizeof(big));
	ck_assert_int_eq(fd_send(sv[0], p[1], big, sizeof(big)), 0);
	/* Our copy of the write end goes; only the one in flight remains. */
	close(p[1]);

	char small[16];
	int fd = 1234;
	errno = 0;
	ck_assert_int_eq(fd_recv(sv[1], &fd, small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(fd, -1);
	/* If the received write end had leaked, this would be EAGAIN rather
	 * than EOF. */
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);

	/* The socket is still usable for the next message. */
	ck_assert_int_eq(fd_send(sv[0], -1, "ok", 2), 0);
	ck_assert_int_eq(fd_recv(sv[1], &fd, small, sizeof(small)), 2);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(truncated_without_fd)
{
	char big[64];
	memset(big, 'm', sizeof(big));
	ck_assert_int_eq(fd_send(sv[0], -1, big, sizeof(big)), 0);
	char small[8];
	int fd = 1234;
	errno = 0;
	ck_assert_int_eq(fd_recv(sv[1], &fd, small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(exact_size_not_truncated)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_send(sv[0], p[0], "12345678", 8), 0);
	char buf[8];
	int fd = -1;
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 8);
	ck_assert_int_ge(fd, 0);
	ck_assert(fd_is_open(fd));
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(eof)
{
	close(sv[0]);
	char buf[8];
	int fd = 1234;
	ck_assert_int_eq(fd_recv(sv[1], &fd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(fd, -1);
	sv[0] = -1;
}
END_TEST

START_TEST(send_to_closed_peer)
{
	close(sv[1]);
	sv[1] = -1;
	/* MSG_NOSIGNAL: an error, not a SIGPIPE that kills the test. */
	errno = 0;
	ck_assert_int_eq(fd_send(sv[0], -1, "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fd-passing");
	TCase *tc = tcase_create("seqpacket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fd_and_payload);
	tcase_add_test(tc, fd_identity);
	tcase_add_test(tc, message_without_fd);
	tcase_add_test(tc, message_boundaries_kept);
	tcase_add_test(tc, truncated_closes_fd);
	tcase_add_test(tc, truncated_without_fd);
	tcase_add_test(tc, exact_size_not_truncated);
	tcase_add_test(tc, eof);
	tcase_add_test(tc, send_to_closed_peer);
	suite_add_tcase(s, tc);

	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
