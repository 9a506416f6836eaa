#include "tracer/process/proc_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <string>

namespace tracer {
namespace {

std::optional<std::string> read_small_file(const std::string& path, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content(limit, '\0');
  size_t used = 0;
  while (used < limit) {
    const ssize_t got = ::read(fd, content.data() + used, limit - used);
    if (got <= 0) break;
    used += static_cast<size_t>(got);
  }
  ::close(fd);
  content.resize(used);
  return content;
}

template <typename Integer>
bool parse_number(std::string_view text, Integer& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// The n-th (1-based, after the comm) space-separated field of a stat line's tail.
std::string_view stat_field(std::string_view tail, int n) {
  for (int i = 1; i < n; ++i) {
    const size_t space = tail.find(' ');
    if (space == std::string_view::npos) return {};
    tail.remove_prefix(space + 1);
  }
  return tail.substr(0, tail.find(' '));
}

}  // namespace

std::string read_boot_tag() {
  const std::string line = read_small_file("/proc/sys/kernel/random/boot_id", 64).value_or("");
  std::string tag;
  for (char c : line) {
    if (tag.size() == 16) break;
    if (std::isxdigit(static_cast<unsigned char>(c))) tag += c;
  }
  return tag.size() == 16 ? tag : std::string(16, '0');
}

uint64_t proc_clock_tick_ns() {
  const long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? 1'000'000'000ull / static_cast<uint64_t>(ticks) : 10'000'000ull;
}

std::optional<ProcessEntry> read_proc_process(uint32_t pid, size_t argv_bytes) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::optional<std::string> stat = read_small_file(dir + "/stat", 4096);
  if (!stat) return std::nullopt;
  // "pid (comm) state ppid ... starttime(22)": comm may hold spaces and ')'.
  const size_t open = stat->find('(');
  const size_t close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open || close + 2 > stat->size())
    return std::nullopt;
  const std::string_view tail = std::string_view(*stat).substr(close + 2);  // from the state field (3)
  ProcessEntry entry;
  entry.pid = pid;
  uint64_t start_ticks = 0;
  if (!parse_number(stat_field(tail, 2), entry.ppid) || !parse_number(stat_field(tail, 20), start_ticks))
    return std::nullopt;
  entry.start_boot_ns = start_ticks * proc_clock_tick_ns();
  entry.start_exact = false;
  entry.comm = stat->substr(open + 1, close - open - 1);
  char exe[4096];
  const ssize_t exe_len = ::readlink((dir + "/exe").c_str(), exe, sizeof(exe));
  if (exe_len > 0) entry.exe.assign(exe, static_cast<size_t>(exe_len));
  // One byte more than kept: the table sees that it was longer, and cuts it.
  entry.argv = read_small_file(dir + "/cmdline", argv_bytes + 1).value_or("");
  return entry;
}

std::vector<ProcessEntry> scan_proc_processes(size_t argv_bytes) {
  std::vector<ProcessEntry> processes;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  if (!proc) return processes;
  while (const dirent* item = ::readdir(proc.get())) {
    uint32_t pid = 0;
    if (!parse_number(std::string_view(item->d_name), pid)) continue;
    if (std::optional<ProcessEntry> entry = read_proc_process(pid, argv_bytes)) processes.push_back(std::move(*entry));
  }
  return processes;
}

}  // namespace tracer
