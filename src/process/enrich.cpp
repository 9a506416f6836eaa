#include "tracer/process/enrich.hpp"

#include <bpf/bpf.h>

#include "tracer/core/abi.hpp"

namespace tracer {
namespace {

constexpr size_t kContainerCacheLimit = 4096;

}  // namespace

Enricher::Enricher(int container_ids_fd, Lineage lineage, std::optional<ProcessTable> table)
    : container_ids_fd_(container_ids_fd), lineage_(lineage), table_(std::move(table)) {}

void Enricher::observe(const Event& event) {
  if (table_) table_->apply(event);
}

void Enricher::enrich(Event& event) {
  if (event.task.container_cgroup_id) event.container_id = container_id_of(event.task.container_cgroup_id);
  if (table_ && lineage_ != Lineage::none)
    event.lineage = table_->lineage(event, lineage_ == Lineage::ancestors ? SIZE_MAX : 1);
}

// The kernel writes a container's id before the first record that names its
// cgroup, and cgroup ids are not reused: one map lookup per container.
std::string_view Enricher::container_id_of(uint64_t container_cgroup_id) {
  if (auto it = container_ids_.find(container_cgroup_id); it != container_ids_.end()) return it->second;
  tracer_container_id id{};
  if (bpf_map_lookup_elem(container_ids_fd_, &container_cgroup_id, &id) != 0) return {};
  if (container_ids_.size() >= kContainerCacheLimit) container_ids_.clear();
  return container_ids_.emplace(container_cgroup_id, std::string(id.text, sizeof(id.text))).first->second;
}

}  // namespace tracer
