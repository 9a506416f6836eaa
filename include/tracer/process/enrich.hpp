#pragma once
// What a record does not carry and userspace adds: the container id (the
// kernel names the container's cgroup; its id text is in a BPF map), the host
// name (by UTS namespace, as the last exec in it read it), the tty's name and, with
// --output option:parent/ancestors, the lineage from the process table.
// With option:env it also picks and redacts what a successful exec's
// environment shows.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "tracer/app/options.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/process/env_select.hpp"
#include "tracer/process/process_table.hpp"

namespace tracer {

class Enricher {
 public:
  // container_ids_fd: the BPF map of id texts by cgroup. table: only with a lineage.
  Enricher(int container_ids_fd, Lineage lineage, std::optional<ProcessTable> table, EnvOptions env = {});

  // Every record, before any filter in userspace: keeps the process table.
  void observe(const Event& event);
  // A record to be printed: fills in container_id, lineage and env.
  void enrich(Event& event);

  const ProcessTable* table() const { return table_ ? &*table_ : nullptr; }

 private:
  std::string_view container_id_of(uint64_t container_cgroup_id);
  std::optional<std::string_view> host_of(uint32_t utsns) const;
  std::string_view tty_name_of(uint32_t kernel_dev);

  int container_ids_fd_;
  Lineage lineage_;
  std::optional<ProcessTable> table_;
  EnvSelector env_;
  std::unordered_map<uint64_t, std::string> container_ids_;  // a cache of the map, bounded
  // The nodename by UTS namespace inode: the tracer's own, then what exec
  // records read. Bounded like container_ids_.
  std::unordered_map<uint32_t, std::string> hosts_;
  std::unordered_map<uint32_t, std::string> tty_names_;  // by kernel dev_t
};

}  // namespace tracer
