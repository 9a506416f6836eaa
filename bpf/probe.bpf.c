// SPDX-License-Identifier: GPL-2.0-only
/* Feature probes: tiny programs loaded and attached once each to learn whether
 * the running kernel permits a hook type. They do nothing when they run. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/security_bprm_check")
int BPF_PROG(probe_trampoline)
{
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(probe_bpf_lsm, struct linux_binprm *bprm)
{
	return 0;
}
