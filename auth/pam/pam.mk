# PAM passdb (issue 4). Included from auth/auth.mk.
