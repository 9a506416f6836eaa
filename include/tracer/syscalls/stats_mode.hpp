#pragma once
// --stats: nothing goes through the ring buffer; the kernel counts, and this
// loop prints the counts every interval (if one is given) and once more, for
// the whole run, at SIGINT/SIGTERM.

#include "tracer/app/options.hpp"
#include "tracer/core/result.hpp"
#include "tracer/kernel/bpf_program.hpp"

namespace tracer {

// Runs until a stop signal (handled signals blocked already); detaches
// before the final reading. `counted`: the calls of the whole run; `losses`:
// the kernel's drop counters.
Status run_stats_loop(TracerBpf& bpf, const Options& options, uint64_t& counted, LossCounts& losses);

}  // namespace tracer
