// The redis check kind (src/kind.hpp): listed in registry.cpp.
#pragma once

#include "../kind.hpp"

namespace readyprobe::detail {

const Kind& redis_kind();

}  // namespace readyprobe::detail
