#pragma once
// Once everything is attached the tracer needs almost nothing: it reads the
// ring buffer and writes its outputs, while parsing ELF files and /proc
// entries that unprivileged users control. confine_run() then drops every
// capability the rest of the run does not need, sets NO_NEW_PRIVS and
// installs a seccomp filter of the syscalls the run loop still makes (any
// other fails with EPERM: the run goes on and the failure surfaces as an
// error, never as a kill).

#include <cstdint>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

// What the rest of the run still does beyond its loop.
struct RunNeeds {
  // The bash watcher attaches uprobes to bash copies found while running:
  // it keeps CAP_SYS_ADMIN (uprobes), CAP_BPF and CAP_PERFMON (links),
  // CAP_SYS_PTRACE (/proc/PID/exe of other users) and CAP_DAC_READ_SEARCH
  // (their files), those of them the tracer has.
  bool attaches_probes = false;
  // A syslog output connects to its server, and again after a failure.
  bool connects = false;
  // --output nats: libnats' threads connect (and reconnect, maybe resolving
  // a name), the spool removes what was acknowledged.
  bool publishes = false;
  // --exec-hash and --capture read the executables that ran: CAP_SYS_PTRACE
  // (/proc/PID/exe of other users) and CAP_DAC_READ_SEARCH (their files);
  // a capture is renamed into place and a failed one removed.
  bool reads_executables = false;
  // --capture mem: a region's capture is renamed into place and a failed
  // one removed (no capability).
  bool renames_captures = false;
};

// The capabilities kept (bit per CAP_*), of those held now.
uint64_t kept_capabilities(const RunNeeds& needs);
// The syscalls the filter allows, by name.
std::vector<std::string_view> allowed_syscalls(const RunNeeds& needs);

// Call before any thread of the run starts: capabilities are per thread (the
// filter is synchronised to every thread).
Status confine_run(const RunNeeds& needs);

}  // namespace tracer
