// The migration guard's check that a SQL file leaves transaction control to the guard.
#include "guard_text.hpp"

#include <catch2/catch.hpp>

using readyprobe::detail::transaction_control;

TEST_CASE("guard: a file that starts or ends a transaction is named, not bodies, strings or comments") {
    CHECK(transaction_control("ALTER TABLE orders DROP COLUMN customer_name;") == "");
    CHECK(transaction_control("BEGIN; ALTER TABLE orders DROP COLUMN x; COMMIT;") == "begin");
    CHECK(transaction_control("ALTER TABLE t ADD c int;\ncommit;") == "commit");
    CHECK(transaction_control("alter table t add c int; End;") == "end");
    CHECK(transaction_control("ALTER TABLE t ADD c int;\n  START TRANSACTION;") == "start");
    CHECK(transaction_control("ALTER TABLE t ADD c int; PREPARE TRANSACTION 'x';") == "prepare transaction");
    CHECK(transaction_control("ALTER TABLE t ADD c int; ABORT") == "abort");
    // Inside the transaction: allowed.
    CHECK(transaction_control("SAVEPOINT a; ALTER TABLE t ADD c int; ROLLBACK TO SAVEPOINT a;") == "");
    CHECK(transaction_control("SAVEPOINT a; rollback to a;") == "");
    CHECK(transaction_control("PREPARE q AS SELECT 1;") == "");
    // Not statement starts: bodies, strings, identifiers, comments.
    CHECK(transaction_control("DO $$ BEGIN IF true THEN PERFORM 1; END IF; END $$;") == "");
    CHECK(transaction_control("DO $body$ BEGIN PERFORM 1; COMMIT; END $body$;") == "");
    CHECK(transaction_control("INSERT INTO t VALUES ('x; COMMIT; y');") == "");
    CHECK(transaction_control("INSERT INTO t VALUES ('it''s; COMMIT');") == "");
    CHECK(transaction_control("SELECT 1 AS \"a; commit\";") == "");
    CHECK(transaction_control("-- BEGIN;\nALTER TABLE t ADD c int; /* ; COMMIT; /* nested */ ; END */") == "");
    CHECK(transaction_control("ALTER TABLE t ADD c int; -- then\n  COMMIT;") == "commit");
    CHECK(transaction_control("SELECT $1; COMMIT") == "commit");
    CHECK(transaction_control("ALTER TABLE t ADD beginning int;") == "");
    // SQL-standard routine bodies (PostgreSQL 14+): their `;` and END stay inside the CREATE, as
    // psql's lexer (psqlscan.l) and the server read them; CASE .. END inside one counts too.
    CHECK(transaction_control("CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE "
                              "WHEN a > 0 THEN 1 ELSE 2 END; END; ALTER TABLE t ADD c int;") == "");
    CHECK(transaction_control("create or replace procedure p() language sql begin atomic insert into t values "
                              "(1); end;\nCOMMIT;") == "commit");
    CHECK(transaction_control("CREATE OR REPLACE FUNCTION g() RETURNS int BEGIN ATOMIC SELECT 1; END; END;") ==
          "end");
    // BEGIN is an unreserved word: a routine or column of that name opens no body, so a COMMIT
    // after it is still found.
    CHECK(transaction_control("CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1'; COMMIT;") == "commit");
    CHECK(transaction_control("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT begin FROM t; END;\n"
                              "COMMIT;") == "commit");
    CHECK(transaction_control("CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql RETURN (x + 1)); COMMIT;") ==
          "commit");
    // A body never closed: refused rather than guessed.
    CHECK(transaction_control("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; COMMIT;") ==
          readyprobe::detail::kUnclosedAtomic);
    // Not a routine: BEGIN after CREATE TABLE is no body, the statement ends at its `;`.
    CHECK(transaction_control("CREATE TABLE begin_log (x int); BEGIN;") == "begin");
    CHECK(transaction_control("") == "");
}
