#include "tracer/syscalls/syscall_tracefs.hpp"

#include <charconv>

#include "tracer/decode/event_table.hpp"
#include "tracer/kernel/pseudo_fs.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kExecTracepoints[] = {"sys_enter_execve", "sys_enter_execveat", "sys_exit_execve",
                                            "sys_exit_execveat"};

std::string event_path(const std::string& tracepoint, const char* file) {
  return std::string(kTracefs) + "/events/syscalls/" + tracepoint + "/" + file;
}

std::optional<uint64_t> parse_id(const std::string& text) {
  uint64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || id == 0) return std::nullopt;
  return id;
}

}  // namespace

TracefsSyscalls read_tracefs_syscalls(const std::bitset<TRACER_SYSCALL_NR_MAX>& selected) {
  // Ids of the exec tracepoints and of the selected syscalls' exits; formats
  // (which carry the id) of their entries.
  struct Wanted {
    std::string tracepoint;
    bool is_format;
    uint16_t number;
  };
  std::vector<Wanted> wanted;
  for (const char* tracepoint : kExecTracepoints) wanted.push_back({tracepoint, false, 0});
  for (const SyscallName& syscall : syscall_names()) {
    if (syscall.number >= TRACER_SYSCALL_NR_MAX || !selected.test(syscall.number)) continue;
    const std::string name(syscall_tracepoint_name(syscall.name));
    wanted.push_back({"sys_enter_" + name, true, syscall.number});
    wanted.push_back({"sys_exit_" + name, false, syscall.number});
  }
  std::vector<std::string> paths;
  for (const Wanted& each : wanted) paths.push_back(event_path(each.tracepoint, each.is_format ? "format" : "id"));
  const std::vector<std::optional<std::string>> files = read_pseudo_fs_files("tracefs", kTracefs, paths);

  TracefsSyscalls out;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const Wanted& each = wanted[i];
    std::optional<uint64_t> id;
    if (files[i] && each.is_format) {
      const EventDefinition* event = syscall_event(each.number);
      const std::string_view name = event ? event->name : std::string_view();
      if (Result<SyscallSignature> signature = parse_syscall_format(name, each.number, *files[i]))
        out.signatures.add(std::move(*signature));
      id = format_tracepoint_id(*files[i]);
    } else if (files[i]) {
      id = parse_id(*files[i]);
    }
    if (id) out.tracepoint_ids.emplace_back("syscalls/" + each.tracepoint, *id);
  }
  for (const SyscallName& syscall : syscall_names())
    if (syscall.number < TRACER_SYSCALL_NR_MAX && selected.test(syscall.number) && !out.signatures.find(syscall.number))
      out.signatures.add(generic_syscall_signature(syscall.name, syscall.number));
  return out;
}

}  // namespace tracer
