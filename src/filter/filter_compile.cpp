#include "tracer/filter/filter_compile.hpp"

#include <algorithm>
#include <cstring>

namespace tracer {
namespace {

void compile_numeric(const FilterSpec& spec, KernelFilter& out) {
  for (uint32_t field = 0; field < TRACER_FIELD_COUNT; ++field) {
    const NumericConstraint& constraint = spec.numeric[field];
    out.config.range_min[field] = constraint.min;
    out.config.range_max[field] = constraint.max;
    if (!constraint.active()) continue;
    out.config.active_fields |= 1u << field;
    // has_in already excludes not_in (the parser folds them).
    const std::set<uint64_t>& set = constraint.has_in ? constraint.in : constraint.not_in;
    if (set.empty()) continue;
    out.config.set_mode[field] = constraint.has_in ? TRACER_SET_IN : TRACER_SET_NOT_IN;
    for (uint64_t value : set) out.values.push_back({field, 0, value});
  }
}

// A pattern into the next slot of a fixed table (comm or exe patterns).
template <typename Slot, size_t N, typename Count>
void add_pattern_slot(Slot (&slots)[N], Count& count, const Pattern& pattern, bool exclude) {
  Slot& slot = slots[count++];
  slot.kind = static_cast<uint8_t>(pattern.kind);
  slot.exclude = exclude;
  slot.len = static_cast<decltype(slot.len)>(pattern.text.size());
  std::memcpy(slot.text, pattern.text.data(), slot.len);
}

template <typename Add>
void for_each_pattern(const TextConstraint& constraint, Add&& add) {
  for (const Pattern& pattern : constraint.include) add(pattern, false);
  for (const Pattern& pattern : constraint.exclude) add(pattern, true);
}

// Exact comms go to the filter_comms map; patterns to the fixed table.
void compile_comm(const TextConstraint& comm, KernelFilter& out) {
  for_each_pattern(comm, [&](const Pattern& pattern, bool exclude) {
    if (pattern.kind != TRACER_PATTERN_EXACT) {
      add_pattern_slot(out.config.comm_patterns, out.config.comm_pattern_count, pattern, exclude);
      return;
    }
    std::array<char, TRACER_COMM_LEN> key{};
    std::memcpy(key.data(), pattern.text.data(), std::min(pattern.text.size(), key.size() - 1));
    out.comms.emplace_back(key, exclude ? TRACER_COMM_EXCLUDE : TRACER_COMM_INCLUDE);
  });
  out.config.comm_include_any = !comm.include.empty();
  out.config.comm_enabled = comm.active();
}

void compile_exe(const TextConstraint& exe, KernelFilter& out) {
  for_each_pattern(exe, [&](const Pattern& pattern, bool exclude) {
    add_pattern_slot(out.config.exe_patterns, out.config.exe_pattern_count, pattern, exclude);
  });
  out.config.exe_include_any = !exe.include.empty();
}

void compile_container(const FilterSpec& spec, KernelFilter& out) {
  switch (spec.container) {
    case ContainerScope::any: out.config.container_mode = TRACER_CONTAINER_ANY; break;
    case ContainerScope::only: out.config.container_mode = TRACER_CONTAINER_ONLY; break;
    case ContainerScope::host: out.config.container_mode = TRACER_CONTAINER_HOST; break;
  }
  out.config.container_only_new = spec.container_new;
  out.config.container_id_count = static_cast<uint8_t>(spec.container_ids.size());
  for (size_t i = 0; i < spec.container_ids.size(); ++i) {
    const std::string& id = spec.container_ids[i];
    out.config.container_id_lens[i] = static_cast<uint8_t>(id.size());
    std::memcpy(out.config.container_ids[i].text, id.data(), id.size());
  }
}

}  // namespace

KernelFilter compile_filter(const FilterSpec& spec, uint64_t tracer_start_boot_ns) {
  KernelFilter out;
  out.config.wanted_events = spec.wanted_events;
  compile_numeric(spec, out);
  compile_comm(spec.comm, out);
  compile_exe(spec.exe, out);
  out.config.only_new = spec.only_new;
  out.config.new_after_boot_ns = tracer_start_boot_ns;
  out.config.follow = spec.follow;
  compile_container(spec, out);
  out.config.enabled = spec.only_new || spec.comm.active() || spec.exe.active() || out.config.active_fields != 0 ||
                       spec.container != ContainerScope::any;
  return out;
}

}  // namespace tracer
