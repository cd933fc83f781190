/* From root to a service user; see privilege-drop.h. */
#include "config.h"
#include "privilege-drop.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

int privilege_drop_to_user(const char *setting_name, const char *user,
			   const char *chroot_dir, struct error *err)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		error_set(err, ERROR_PERM,
			  "%s '%s' does not exist (create it: useradd --system %s)",
			  setting_name, user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		error_set(err, ERROR_PERM, "%s '%s' must not be root", setting_name, user);
		return -1;
	}
	/* Copied out: chroot() can make getpwnam()'s buffers meaningless for
	 * later lookups, and nothing below may call it again. */
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (chroot_dir != NULL && (chroot(chroot_dir) < 0 || chdir("/") < 0)) {
		error_set_errno(err, "chroot(%s)", chroot_dir);
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		error_set_errno(err, "dropping privileges to %s", user);
		return -1;
	}
	if (setuid(0) == 0) {
		error_set(err, ERROR_PERM, "privileges could be regained after setuid");
		return -1;
	}
	return 0;
}
