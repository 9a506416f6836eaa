/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The attach cookie of bash_readline's accept probe (on readline's
 * rl_newline), shared by bpf/user_function.bpf.h and userspace
 * (src/user_functions/elf_symbols.cpp). A user function's probes carry its
 * slot as the cookie; the accept probe adds where rl_line_buffer and
 * rl_prompt are from rl_newline, as signed 28-bit distances in bits 8-35 and
 * 36-63, so it is told apart by a cookie above the slot mask.
 */
#pragma once

#define TRACER_USER_ACCEPT_SLOT_MASK 0xffull
#define TRACER_USER_ACCEPT_LINE_SHIFT 8
#define TRACER_USER_ACCEPT_PROMPT_SHIFT 36
