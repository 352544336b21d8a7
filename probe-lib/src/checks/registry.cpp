// The one table of check kinds. Each kind lives in its own files and owns its scheme(s), its
// options (parse, validate, describe) and its factory (see src/kind.hpp).
//
// Adding a kind (say `amqp`):
//   1. src/checks/amqp.hpp: `const detail::Kind& amqp_kind();`
//   2. src/checks/amqp.cpp: the Check class and amqp_kind() (schemes, options, check_url,
//      describe, make); options it needs go into CheckSpec (include/readyprobe/spec.hpp);
//   3. one line in kTable below, and the source in probe-lib/CMakeLists.txt;
//   4. tests/unit/test_kind_amqp.cpp (or integration/ against a real server): its options, its
//      errors, a pass and a failure.
// config.cpp, make_check and `readyprobe config` need no change.
#include "../kind.hpp"

#include "file.hpp"
#include "http.hpp"
#include "postgres.hpp"
#include "redis.hpp"
#include "tcp.hpp"

#include <readyprobe/check.hpp>
#include <readyprobe/checks.hpp>

#include <stdexcept>

namespace readyprobe {
namespace detail {

const std::vector<const Kind*>& kinds() {
    static const std::vector<const Kind*> kTable = {
        &postgres_kind(),
        &redis_kind(),
        &http_kind(),
        &tcp_kind(),
        &file_kind(),
    };
    return kTable;
}

const Kind* kind_for_scheme(const std::string& scheme) {
    for (const Kind* k : kinds()) {
        for (const auto& s : k->schemes) {
            if (s == scheme) return k;
        }
    }
    return nullptr;
}

const Kind* kind_named(const std::string& name) {
    for (const Kind* k : kinds()) {
        if (k->name == name) return k;
    }
    return nullptr;
}

}  // namespace detail

std::unique_ptr<Check> make_check(const CheckSpec& spec) {
    const detail::Kind* kind = detail::kind_named(spec.kind);
    if (!kind) throw std::invalid_argument("no check kind " + spec.kind);
    return kind->make(spec);
}

}  // namespace readyprobe
