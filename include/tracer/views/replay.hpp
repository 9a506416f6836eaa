#pragma once
// tracer replay FILE|-: a saved JSON log through the --trace filters and the
// --output sinks, as if it were being traced now. Streams: memory does not
// grow with the log.

#include "tracer/app/options.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

Status run_replay(const Options& options);

}  // namespace tracer
