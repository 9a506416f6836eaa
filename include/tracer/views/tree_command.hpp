#pragma once
// tracer tree [FILE|-]: reads a saved JSON log and draws its process tree on
// stdout (colour on a terminal, none in a pipe).

#include "tracer/app/options.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

Status run_tree(const Options& options);

}  // namespace tracer
