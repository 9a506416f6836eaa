#pragma once
// bash_readline follows bash wherever it lives: a bash run from elsewhere
// (copied, built) is probed when it first runs, and a readline in a library
// counts only for the bash executables that call it.

#include <cstdint>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/kernel/bpf_program.hpp"

namespace tracer {

class BashWatcher {
 public:
  BashWatcher(TracerBpf& bpf, uint32_t slot, bool verbose) : bpf_(bpf), slot_(slot), verbose_(verbose) {}

  // An executable run for the first time: when it is a bash, its readline is
  // probed from now on.
  void on_new_executable(const tracer_executable_record& record);
  // A readline call from an executable the kernel has no verdict on yet:
  // judged once, by its binary; the kernel keeps the verdict. True for a bash.
  bool admit_unverified(const Event& event);

 private:
  TracerBpf& bpf_;
  uint32_t slot_;
  bool verbose_;
};

}  // namespace tracer
