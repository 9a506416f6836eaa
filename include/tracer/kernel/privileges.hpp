#pragma once
// §6: root, or CAP_BPF and CAP_PERFMON. Checked before anything is loaded so
// that a user without them reads one clear line instead of libbpf's errors.

#include "tracer/core/result.hpp"

namespace tracer {

Status check_privileges();

}  // namespace tracer
