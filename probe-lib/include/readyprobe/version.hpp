#pragma once

namespace readyprobe {
const char* version();
}
