# SQL passdb/userdb drivers, SQLite and PostgreSQL (issue 4). Included from
# auth/auth.mk.
