// The postgres check kind (src/kind.hpp): listed in registry.cpp. Its options are parsed in
// postgres_kind.cpp, its check is postgres.cpp.
#pragma once

#include "../kind.hpp"

namespace readyprobe::detail {

const Kind& postgres_kind();

}  // namespace readyprobe::detail
