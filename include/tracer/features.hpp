#pragma once
// What the running kernel offers the tracer, found by probing (loading and
// attaching), never by kernel version: --check and --list print it.

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

// Loads and attaches a do-nothing lsm/bprm_check_security program: "" when the
// kernel permits BPF LSM programs, else why not.
std::string probe_bpf_lsm();

}  // namespace tracer
