#pragma once
// The trace command: privileges → load → attach → loop → summary.

#include "tracer/options.hpp"
#include "tracer/result.hpp"

namespace tracer {

Status run_trace(const Options& options);

}  // namespace tracer
