// An application's own function as a check (check.hpp): not a configured kind, so not in the table.
#include <readyprobe/check.hpp>

#include <stdexcept>

namespace readyprobe {
namespace {

class FunctionCheck final : public Check {
public:
    FunctionCheck(std::function<Result(Deadline)> fn, std::string kind)
        : fn_(std::move(fn)), kind_(std::move(kind)) {}
    std::string kind() const override { return kind_; }
    Result run(Deadline deadline) override { return fn_(deadline); }

private:
    std::function<Result(Deadline)> fn_;
    std::string kind_;
};

}  // namespace

std::unique_ptr<Check> make_function_check(std::function<Result(Deadline)> fn, std::string kind) {
    if (!fn) throw std::invalid_argument("make_function_check: empty function");
    return std::make_unique<FunctionCheck>(std::move(fn), std::move(kind));
}

}  // namespace readyprobe
