#pragma once
// A FilterSpec as the kernel evaluates it: the read-only filter config and the
// entries of the filter_values and filter_comms maps.

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/filter/filter.hpp"

namespace tracer {

struct KernelFilter {
  tracer_filter_config config{};
  std::vector<tracer_filter_value_key> values;
  std::vector<std::pair<std::array<char, TRACER_COMM_LEN>, uint8_t>> comms;
};

// tracer_start_boot_ns: the boot-clock time pid=new compares start times with.
KernelFilter compile_filter(const FilterSpec& spec, uint64_t tracer_start_boot_ns);

}  // namespace tracer
