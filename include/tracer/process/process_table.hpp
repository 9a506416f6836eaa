#pragma once
// The processes of the machine as the records tell them: seeded from /proc at
// start, then kept by fork, exec and exit records, so that a record's parent
// and ancestors are known even when they exited before it was printed.
// Bounded: an exited process is kept for a grace period (its children's
// records may still be in the ring), and at most max_exited of them.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tracer/decode/event.hpp"

namespace tracer {

struct ProcessEntry {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint64_t start_boot_ns = 0;
  bool start_exact = false;  // false: from /proc, to the clock tick only
  std::optional<uint32_t> exec_gen;
  std::string comm;
  std::string exe;
  std::string argv;  // NUL-separated, cut to ProcessTable::Limits::argv_bytes
  bool argv_truncated = false;
  std::optional<uint64_t> exited_boot_ns;
};

class ProcessTable {
 public:
  struct Limits {
    uint64_t exit_grace_ns = 5'000'000'000;
    size_t max_exited = 8192;
    size_t argv_bytes = 1024;
    size_t max_depth = 64;
  };
  // Looks a process up in /proc when the records have not told of it.
  using ProcReader = std::function<std::optional<ProcessEntry>(uint32_t pid)>;

  ProcessTable(Limits limits, ProcReader reader, uint64_t clock_tick_ns);

  void seed(ProcessEntry entry);
  // Learns from one decoded record (any event; fork, exec and exit change it).
  void apply(const Event& event);
  // The record's parent, then its parent, ... up to `depth` processes or pid 1.
  // The summaries point into the table: valid until the next apply or seed.
  std::span<const ProcessSummary> lineage(const Event& event, size_t depth);

  size_t size() const { return by_pid_.size(); }
  size_t peak_size() const { return peak_size_; }

 private:
  bool same_start(const ProcessEntry& entry, uint64_t start_boot_ns) const;
  ProcessEntry* find(uint32_t pid, std::optional<uint64_t> start_boot_ns);
  ProcessEntry& learn_task(const TaskContext& task);
  void apply_fork(const Event& event, const ProcessEntry& parent);
  void apply_exec(const Event& event, ProcessEntry& entry);
  void apply_exit(const Event& event, ProcessEntry& entry);
  void evict(uint64_t now_boot_ns);
  void keep_argv(ProcessEntry& entry, std::string_view argv, bool truncated) const;

  Limits limits_;
  ProcReader reader_;
  uint64_t clock_tick_ns_;
  std::unordered_map<uint32_t, ProcessEntry> by_pid_;
  struct Exited {
    uint32_t pid;
    uint64_t start_boot_ns;
    uint64_t exited_boot_ns;
  };
  std::deque<Exited> exited_;  // in exit order
  std::vector<ProcessSummary> lineage_;
  size_t peak_size_ = 0;
};

}  // namespace tracer
