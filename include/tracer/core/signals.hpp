#pragma once
// The signals both event loops act on: SIGINT and SIGTERM stop, SIGHUP
// reopens output files. They are blocked and read from a signalfd, so they
// arrive between batches, never inside one.

#include <string_view>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread so that a loop
// receives them through handled_signals_fd(); ignores SIGPIPE (a closed pipe
// is EPIPE from write(), handled there). Call before any thread starts.
Status block_handled_signals();

// A non-blocking signalfd for SIGINT, SIGTERM and SIGHUP (blocked already).
// An error reads "WHAT: <errno text>".
Result<UniqueFd> handled_signals_fd(std::string_view what);

}  // namespace tracer
