#include <readyprobe/version.hpp>

namespace readyprobe {

const char* version() { return READYPROBE_VERSION; }

}  // namespace readyprobe
