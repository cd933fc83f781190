# SQL passdb/userdb drivers, SQLite and PostgreSQL (issue 4). Included from
# auth/auth.mk.
# The query template parser, the row -> fields mapping and the passdb /
# userdb logic are compiled into both modules (one .so each, so a config
# naming only sqlite never loads libpq).
SQL_COMMON_SOURCES = \
	auth/sql/sql-db.c auth/sql/sql-db.h \
	auth/sql/sql-fields.c auth/sql/sql-fields.h \
	auth/sql/sql-query.c auth/sql/sql-query.h

module_LTLIBRARIES += modules/auth_sqlite.la modules/auth_pgsql.la
modules_auth_sqlite_la_SOURCES = auth/sql/sqlite.c $(SQL_COMMON_SOURCES)
modules_auth_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
modules_auth_sqlite_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_sqlite_la_LIBADD = $(MODULE_LIBADD) $(SQLITE_LIBS)

modules_auth_pgsql_la_SOURCES = auth/sql/pgsql.c $(SQL_COMMON_SOURCES)
modules_auth_pgsql_la_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS)
modules_auth_pgsql_la_LDFLAGS = $(MODULE_LDFLAGS)
modules_auth_pgsql_la_LIBADD = $(MODULE_LIBADD) $(PQ_LIBS)

# Unit tests (Check): template conversion, row mapping, and the passdb /
# userdb logic against an in-memory driver.
check_PROGRAMS += tests/unit/test-sql
TESTS += tests/unit/test-sql
tests_unit_test_sql_SOURCES = tests/unit/test-sql.c $(SQL_COMMON_SOURCES)
tests_unit_test_sql_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/auth/sql
tests_unit_test_sql_LDADD = core/libroost.la $(SODIUM_LIBS) $(CHECK_LIBS)

# Integration tests against a real SQLite file and a real PostgreSQL
# server (tests/integration/pgserver.py starts one in a temporary
# directory; skipped when the server binaries are missing).
TESTS += tests/integration/test_sql_sqlite.py tests/integration/test_sql_pgsql.py

EXTRA_DIST += doc/auth-sql.md
