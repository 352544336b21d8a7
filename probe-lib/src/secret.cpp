#include <readyprobe/secret.hpp>

namespace readyprobe {

std::string mask(std::string text, const std::vector<Secret>& secrets) {
    for (const auto& secret : secrets) {
        const std::string& value = secret.reveal();
        if (value.empty()) continue;
        for (auto pos = text.find(value); pos != std::string::npos;
             pos = text.find(value, pos + 3)) {
            text.replace(pos, value.size(), "***");
        }
    }
    return text;
}


}  // namespace readyprobe
