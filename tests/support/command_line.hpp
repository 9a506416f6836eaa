#pragma once

// A command line as the tracer would receive it, parsed for a unit test: a
// parse error fails the test and gives default options.

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "tracer/app/options.hpp"

namespace tracer::testing {

inline Options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tracer");
  Result<Options> options = parse_command_line(static_cast<int>(args.size()), args.data());
  if (!options) {
    ADD_FAILURE() << options.error().message;
    return {};
  }
  return std::move(*options);
}

}  // namespace tracer::testing
