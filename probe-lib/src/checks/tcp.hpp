// The tcp check kind (src/kind.hpp): listed in registry.cpp.
#pragma once

#include "../kind.hpp"

namespace readyprobe::detail {

const Kind& tcp_kind();

}  // namespace readyprobe::detail
