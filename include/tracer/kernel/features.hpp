#pragma once
// What the running kernel offers the tracer, found by probing (loading and
// attaching), never by kernel version: --check and --list print it.

#include <cstdint>
#include <string>

namespace tracer {

class UserFunctions;

struct Feature {
  std::string name;
  bool available = false;
  std::string detail;
};

// --check: one line per kernel feature, then the events.
std::string describe_kernel_features(const UserFunctions& user_functions);
// --list: one line per event with its support here.
std::string describe_events(const UserFunctions& user_functions);

// The running kernel's BTF, which libbpf reads for CO-RE.
inline constexpr const char* kKernelBtfPath = "/sys/kernel/btf/vmlinux";
// Its size in bytes; 0 when it is missing.
uint64_t kernel_btf_bytes();

// Loads and attaches a do-nothing lsm/bprm_check_security program: "" when the
// kernel permits BPF LSM programs, else why not.
std::string probe_bpf_lsm();

// Whether this process runs in the host's (the initial) pid namespace.
bool in_host_pid_namespace();

// The boot clock now, the clock of the kernel's event times.
uint64_t boot_clock_now_ns();

}  // namespace tracer
