// Sentinel file: it exists (access(F_OK); no I/O that could block past the deadline).
#include "file.hpp"

#include "../url_text.hpp"
#include "io.hpp"

#include <readyprobe/checks.hpp>
#include <readyprobe/config.hpp>

#include <unistd.h>

#include <cerrno>

namespace readyprobe {
namespace {

class FileCheck final : public Check {
public:
    explicit FileCheck(const CheckSpec& spec) : path_(percent_decode(spec.url.path)) {}

    std::string kind() const override { return "file"; }

    Result run(Deadline) override {
        if (::access(path_.c_str(), F_OK) == 0) return Result::pass("exists");
        if (errno == ENOENT) return Result::fail("missing: " + path_);
        return Result::fail(path_ + ": " + detail::errno_text(errno));
    }

private:
    std::string path_;
};

void check_file_url(const Url& u, const std::string& where) {
    if (!u.host.empty() && u.host != "localhost") throw ConfigError(where, "file URLs are file:///absolute/path");
    if (u.path.empty() || u.path == "/") throw ConfigError(where, "file URL has no path (file:///absolute/path)");
}

}  // namespace

std::unique_ptr<Check> make_file_check(const CheckSpec& spec) { return std::make_unique<FileCheck>(spec); }

const detail::Kind& detail::file_kind() {
    static const Kind kind = [] {
        Kind k;
        k.name = "file";
        k.schemes = {"file"};
        k.has_password = false;
        k.check_url = check_file_url;
        k.make = make_file_check;
        return k;
    }();
    return kind;
}

}  // namespace readyprobe
