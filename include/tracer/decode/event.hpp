#pragma once
// One record type for every event kind (exec, syscall, user function, ...):
// the caller's context, an optional return value, flags and named arguments.
// Strings are views into the ring-buffer record the Event was decoded from, so
// an Event lives no longer than the callback that received the record.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>

namespace tracer {

struct EventDefinition;

struct TaskContext {
  uint32_t pid = 0;  // tgid, host pid namespace
  uint32_t tid = 0;
  uint32_t ppid = 0;
  uint32_t ns_pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mntns = 0;
  uint32_t pidns = 0;
  uint64_t cgroup_id = 0;
  uint64_t start_boot_ns = 0;         // thread group leader's start, boot clock
  uint64_t parent_start_boot_ns = 0;  // the real parent's
  uint32_t exec_gen = 0;              // with pid and start: the process image (exec_id)
  uint32_t parent_exec_gen = 0;
  uint64_t container_cgroup_id = 0;  // the cgroup named after the container; 0: the host
  std::string_view comm;
  uint32_t euid = 0;
  uint32_t egid = 0;
  std::optional<uint32_t> auid;       // the login uid; none: never set (or no audit in the kernel)
  std::optional<uint32_t> sessionid;  // the audit session; likewise
  uint32_t sid = 0;                   // the session leader's pid (host pid namespace); 0: none
  uint32_t tty_dev = 0;               // the controlling tty, kernel dev_t; 0: none
  uint32_t utsns = 0;                 // UTS namespace inode: names the host

  bool operator==(const TaskContext&) const = default;
};

// NUL-separated strings, e.g. argv.
struct StringList {
  std::string_view nul_separated;

  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::string_view rest = nul_separated;
    while (!rest.empty()) {
      size_t end = rest.find('\0');
      fn(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
};

// A process as the process table knows it: for `parent` and `ancestors`.
struct ProcessSummary {
  uint32_t pid = 0;
  uint64_t start_boot_ns = 0;
  std::optional<uint32_t> exec_gen;  // unknown for processes seen only in /proc
  std::string_view comm;
  std::string_view exe;
  StringList argv;
  bool argv_truncated = false;
};

// How a number is shown by name (syscall_decode.hpp).
enum class Symbols : uint8_t {
  fd,  // a number; AT_FDCWD by name in the table
  open_flags,
  file_mode,
  access_mode,
  signal,
  clone_flags,
  socket_family,
  socket_type,
  memory_protection,
  mmap_flags,
  at_flags,      // AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW...
  unlink_flags,  // AT_REMOVEDIR
  hex,           // flags or a mode without a table of names: 0x21
  address,       // a pointer: 0x7ffd...
};

// A number and how to name it: JSON shows the name (the number stays in
// raw_args), the table the name.
struct SymbolicValue {
  int64_t raw = 0;
  Symbols symbols = Symbols::fd;
};

// A struct sockaddr as the call passed or received it (untrusted bytes).
struct SocketAddress {
  std::string_view bytes;
};

// Raw bytes (a user function's ByteArray): shown as lowercase hex.
struct ByteArray {
  std::string_view bytes;
};

// Bytes as captured: not necessarily UTF-8; sinks escape them. nullptr: a
// NULL pointer where a string or bytes were expected (JSON null).
using Value = std::variant<int64_t, uint64_t, bool, std::string_view, StringList, SymbolicValue, SocketAddress,
                           ByteArray, std::nullptr_t>;

struct Arg {
  std::string_view name;
  Value value;
};

// Notable facts about a record (JSON "flags", [name] in the table), in the
// order they are printed.
enum class EventFlag : uint32_t {
  argv_truncated = 1u << 0,
  path_mismatch = 1u << 1,
  fileless = 1u << 2,
  entry_missing = 1u << 3,
  pathname_read_failed = 1u << 4,
  argv_read_failed = 1u << 5,
  filename_read_failed = 1u << 6,
  compat_syscall = 1u << 7,
  exe_truncated = 1u << 8,
  cwd_truncated = 1u << 9,
  argument_read_failed = 1u << 10,  // a syscall argument's memory could not be read
  argument_truncated = 1u << 11,    // a captured syscall argument was cut at its bound
  env_truncated = 1u << 12,         // option:env: the environment was cut at its bound
};
inline constexpr std::array<std::pair<EventFlag, std::string_view>, 13> kEventFlagNames{{
    {EventFlag::argv_truncated, "argv_truncated"},
    {EventFlag::path_mismatch, "path_mismatch"},
    {EventFlag::fileless, "fileless"},
    {EventFlag::entry_missing, "entry_missing"},
    {EventFlag::pathname_read_failed, "pathname_read_failed"},
    {EventFlag::argv_read_failed, "argv_read_failed"},
    {EventFlag::filename_read_failed, "filename_read_failed"},
    {EventFlag::compat_syscall, "compat_syscall"},
    {EventFlag::exe_truncated, "exe_truncated"},
    {EventFlag::cwd_truncated, "cwd_truncated"},
    {EventFlag::argument_read_failed, "argument_read_failed"},
    {EventFlag::argument_truncated, "argument_truncated"},
    {EventFlag::env_truncated, "env_truncated"},
}};

// A syscall record's raw side: the number and the registers as passed.
struct SyscallRaw {
  uint16_t number = 0;
  uint8_t count = 0;        // arguments the syscall takes
  uint8_t signed_mask = 0;  // bit per argument: a signed type
  std::array<uint64_t, 6> args{};
  uint64_t duration_ns = 0;
  bool no_return = false;  // reported at entry: the call does not return
};

// Up to kCapacity arguments in place. Slots beyond size() are raw bytes,
// neither set up nor copied: an Event is built and handed on for every
// record, and most of its slots are empty (a getppid has none).
class ArgList {
 public:
  static constexpr size_t kCapacity = 20;
  ArgList() = default;
  ArgList(const ArgList& other) : size_(other.size_) { std::memcpy(storage_, other.storage_, size_ * sizeof(Arg)); }
  ArgList& operator=(const ArgList& other) {
    size_ = other.size_;
    std::memmove(storage_, other.storage_, size_ * sizeof(Arg));
    return *this;
  }
  void add(std::string_view name, Value value) {
    if (size_ < kCapacity) new (storage_ + size_++ * sizeof(Arg)) Arg{name, value};
  }
  const Arg* begin() const { return std::launder(reinterpret_cast<const Arg*>(storage_)); }
  const Arg* end() const { return begin() + size_; }
  size_t size() const { return size_; }
  const Arg* find(std::string_view name) const {
    for (const Arg& arg : *this)
      if (arg.name == name) return &arg;
    return nullptr;
  }

 private:
  static_assert(std::is_trivially_copyable_v<Arg> && std::is_trivially_destructible_v<Arg>);
  alignas(Arg) std::byte storage_[kCapacity * sizeof(Arg)];
  size_t size_ = 0;
};

// A user function call by a process whose executable the kernel had no
// verdict on yet (a library probe limited to some programs): userspace
// judges it before the event counts.
struct UnverifiedExecutable {
  uint64_t inode = 0;
  uint32_t kernel_dev = 0;
};

// A successful exec's environment as the kernel copied it (option:env),
// before EnvSelector picks and redacts: never shown as it is.
struct RawEnvironment {
  std::string_view nul_separated;
  bool cut = false;  // the kernel cut it at its bound
};

struct Event {
  const EventDefinition* definition = nullptr;
  uint64_t boot_ns = 0;
  TaskContext task;
  std::optional<int64_t> ret;
  uint32_t flags = 0;  // EventFlag bits
  ArgList args;
  std::optional<std::string_view> cwd;    // exec records: the caller's working directory
  std::string_view exec_host;             // exec records: the UTS nodename at the exec
  std::optional<RawEnvironment> raw_env;  // successful exec records with option:env
  // Sent only to keep the process table right: no filter selected it.
  bool context_only = false;
  uint64_t child_start_boot_ns = 0;   // sched_process_fork: the child's start
  std::optional<SyscallRaw> syscall;  // syscall events
  std::optional<UnverifiedExecutable> unverified_executable;

  // Filled in by enrichment, after decoding.
  std::string_view container_id;            // empty: the host
  std::optional<std::string_view> host;     // the UTS nodename; none: not known
  std::optional<std::string_view> tty;      // "pts/3", "tty1"; none: no controlling tty
  std::span<const ProcessSummary> lineage;  // parent first, then its parent, ...

  bool has(EventFlag flag) const { return flags & static_cast<uint32_t>(flag); }
  void set(EventFlag flag) { flags |= static_cast<uint32_t>(flag); }
};

}  // namespace tracer
