#pragma once
// Where a user function lives: the ELF file(s) and the file offset of the
// function's first instruction, found in the symbol tables (.symtab and
// .dynsym) by elf_symbols.hpp. This side finds and maps the files. A uprobe on
// a file's inode fires in every process that maps it, running now or started
// later.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracer/core/result.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {

struct UprobePoint {
  std::string binary;   // absolute path, symlinks resolved
  uint64_t offset = 0;  // file offset of the function
};

// An executable, as the kernel names it: its inode and its superblock's dev_t
// in the kernel's encoding (major << 20 | minor).
struct ExecutableId {
  uint64_t inode = 0;
  uint32_t kernel_dev = 0;
  bool operator==(const ExecutableId&) const = default;
};

// bash_readline's accept probe (rl_newline), with its attach cookie.
struct AcceptPoint {
  UprobePoint point;
  uint64_t cookie = 0;
};

struct ResolvedUserFunction {
  uint32_t slot = 0;
  std::vector<UprobePoint> points;
  // bash_readline only: where a line typed into a readline call entered
  // before the probes were attached is caught.
  std::vector<AcceptPoint> accept_points;
  // Not empty: only processes running one of these executables (a library
  // function traced for one program, e.g. readline for bash).
  std::vector<ExecutableId> executables;
};

// A configured user function. Errors are usage errors naming the entry:
// "--config F: user_tracers[0] (bash_events): no function 'readlin' in /usr/bin/bash ...".
Result<ResolvedUserFunction> resolve_user_function(const UserFunction& function, uint32_t slot);

// bash_readline: readline in every bash installed as /bin/bash, /usr/bin/bash
// or in /etc/shells, or in the libreadline such a bash is linked with; always
// limited to those bash executables (in the kernel). A runtime error when
// there is none.
Result<ResolvedUserFunction> resolve_bash_readline(uint32_t slot);

// Whether path is a bash executable (by its symbols, not by its name), and
// then where its readline is. Used for bash binaries found while running.
std::optional<ResolvedUserFunction> bash_readline_in(const std::string& path, uint32_t slot);

std::optional<ExecutableId> executable_id(const std::string& path);

// The readline of the bash that process pid runs (the executable `id`, seen
// at its first exec), when it is a bash; probed by its path when that still
// names the same file, else through /proc/PID/exe. `path` is set to the path.
std::optional<ResolvedUserFunction> bash_readline_of_process(uint32_t pid, const ExecutableId& id, uint32_t slot,
                                                             std::string& path);

// The path a /proc link (/proc/PID/exe, /proc/self/fd/N) names when that
// path is still the file id; else the link itself.
std::string path_of_link(const std::string& link, const ExecutableId& id);

}  // namespace tracer
