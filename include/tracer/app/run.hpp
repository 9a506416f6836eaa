#pragma once
// The trace command: privileges → kernel facts → plan → load → attach →
// loop → summary.

#include "tracer/app/options.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

Status run_trace(const Options& options);

}  // namespace tracer
