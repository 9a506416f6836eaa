#pragma once
// The trace command: privileges → kernel facts → plan → load → attach (an
// event asked for by name that cannot be produced stops it here) → confine
// (capabilities dropped, NO_NEW_PRIVS, seccomp) → loop → summary.

#include "tracer/app/options.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

Status run_trace(const Options& options);

}  // namespace tracer
