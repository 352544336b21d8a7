// Everything an embedding application needs.
#pragma once

#include <readyprobe/check.hpp>
#include <readyprobe/checks.hpp>
#include <readyprobe/clock.hpp>
#include <readyprobe/config.hpp>
#include <readyprobe/duration.hpp>
#include <readyprobe/guard.hpp>
#include <readyprobe/http.hpp>
#include <readyprobe/lease.hpp>
#include <readyprobe/log.hpp>
#include <readyprobe/prober.hpp>
#include <readyprobe/render.hpp>
#include <readyprobe/secret.hpp>
#include <readyprobe/serve.hpp>
#include <readyprobe/snapshot.hpp>
#include <readyprobe/spec.hpp>
#include <readyprobe/state.hpp>
#include <readyprobe/url.hpp>
#include <readyprobe/version.hpp>
