#pragma once
// bash_readline follows bash wherever it lives: a bash run from elsewhere
// (copied, built) is probed when it first runs, and a readline in a library
// counts only for the bash executables that call it.
//
// Bounded: at most kMaxProbedExecutables such copies are probed at once; the
// probes of a copy no process runs any more are released at the periodic
// sweep (and before a new copy would find the cap reached); probes that could
// not be attached are counted for the summary.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/kernel/bpf_program.hpp"

namespace tracer {

class BashWatcher {
 public:
  // Each probed copy holds 3 links (readline's return and entry, accept-line).
  static constexpr size_t kMaxProbedExecutables = 64;

  BashWatcher(TracerBpf& bpf, uint32_t slot, bool verbose);
  ~BashWatcher();
  BashWatcher(const BashWatcher&) = delete;
  BashWatcher& operator=(const BashWatcher&) = delete;

  // An executable run for the first time: when it is a bash, its readline is
  // probed from now on.
  void on_new_executable(const tracer_executable_record& record);
  // A file being executed by pid, held by the ExecGate: when it is a bash
  // not probed yet, its readline is probed before it runs. True when the file
  // may run unasked from now on (not a bash, or one probed for the whole run).
  bool on_exec_opened(int file_fd, uint32_t pid);
  // A readline call from an executable the kernel has no verdict on yet:
  // judged once, by its binary; the kernel keeps the verdict. True for a bash.
  bool admit_unverified(const Event& event);
  // Releases the probes of the copies no process runs any more.
  void sweep();
  // Probes of copies found while running that were not attached (refused by
  // the kernel, or the cap reached).
  uint64_t probes_not_attached() const { return probes_not_attached_; }
  size_t probed_executables() const { return probed_.size(); }

 private:
  struct Probed {
    ExecutableId id;
    uint32_t pid = 0;  // the process seen running it first
    // Probed by the gate, before its exec has finished: no process runs it
    // until the kernel reports the exec (then running), or for a while.
    std::chrono::steady_clock::time_point since;
    bool running = true;
  };
  // Probes the bash at path (executable id, run by pid), within the cap.
  // True when its probes were all in place already (an installed bash).
  bool take(const ResolvedUserFunction& target, const ExecutableId& id, const std::string& path, uint32_t pid);
  bool probe(const ResolvedUserFunction& target, const ExecutableId& id, const std::string& path, uint32_t pid);
  bool is_probed(const ExecutableId& id) const;

  TracerBpf& bpf_;
  uint32_t slot_;
  bool verbose_;
  std::vector<Probed> probed_;
  // Refused by the gate (the cap reached): its exec report is not judged again.
  std::optional<ExecutableId> refused_by_gate_;
  uint64_t probes_not_attached_ = 0;
};

}  // namespace tracer
