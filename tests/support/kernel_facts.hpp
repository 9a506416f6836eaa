#pragma once

// Kernel facts for plan tests: the exec tracepoints, and the enter and exit
// tracepoints of each syscall a capture hooks.

#include <initializer_list>
#include <string>

#include "tracer/kernel/trace_plan.hpp"

namespace tracer::testing {

inline KernelFacts facts_with_syscall_tracepoints(std::initializer_list<const char*> calls) {
  KernelFacts facts;
  for (const char* name : {"syscalls/sys_enter_execve", "syscalls/sys_enter_execveat", "syscalls/sys_exit_execve",
                           "syscalls/sys_exit_execveat"})
    facts.tracepoint_ids.emplace_back(name, 100 + facts.tracepoint_ids.size());
  for (const char* call : calls)
    for (const char* side : {"enter", "exit"})
      facts.tracepoint_ids.emplace_back(std::string("syscalls/sys_") + side + "_" + call,
                                        100 + facts.tracepoint_ids.size());
  facts.possible_cpus = 2;
  facts.own_pid = 4242;
  return facts;
}

}  // namespace tracer::testing
