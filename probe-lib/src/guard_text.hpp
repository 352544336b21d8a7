// The SQL text checks of the migration guard (guard.cpp), exposed for the unit tests. Internal.
#pragma once

#include <string>

namespace readyprobe::detail {

// The first statement of `sql` that starts or ends a transaction, lower-cased ("commit", "begin",
// "prepare transaction"), or empty: the guard's own BEGIN .. ROLLBACK/COMMIT must stay in charge.
// Skips comments, quoted strings, quoted identifiers and dollar-quoted bodies (DO $$ BEGIN .. END
// $$ is fine); ROLLBACK TO SAVEPOINT stays inside the transaction and is allowed.
// kUnclosedAtomic when a BEGIN ATOMIC body is still open at the end (refused: a COMMIT might hide
// in it).
std::string transaction_control(const std::string& sql);
inline const char* const kUnclosedAtomic = "begin atomic without its end";

}  // namespace readyprobe::detail
