#include "tracer/syscalls/syscall_decode.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>

#include "tracer/core/abi.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

struct NamedBit {
  uint64_t bit;
  std::string_view name;
};

#define TRACER_BIT(flag) \
  NamedBit { static_cast<uint64_t>(flag), #flag }

// Composite flags first: O_SYNC holds O_DSYNC, O_TMPFILE holds O_DIRECTORY.
constexpr NamedBit kOpenFlags[] = {
    TRACER_BIT(O_SYNC),      TRACER_BIT(O_TMPFILE),  TRACER_BIT(O_CREAT),   TRACER_BIT(O_EXCL),
    TRACER_BIT(O_NOCTTY),    TRACER_BIT(O_TRUNC),    TRACER_BIT(O_APPEND),  TRACER_BIT(O_NONBLOCK),
    TRACER_BIT(O_DSYNC),     TRACER_BIT(O_ASYNC),    TRACER_BIT(O_DIRECT),  TRACER_BIT(O_LARGEFILE),
    TRACER_BIT(O_DIRECTORY), TRACER_BIT(O_NOFOLLOW), TRACER_BIT(O_NOATIME), TRACER_BIT(O_CLOEXEC),
    TRACER_BIT(O_PATH),
};

constexpr NamedBit kCloneFlags[] = {
    TRACER_BIT(CLONE_VM),
    TRACER_BIT(CLONE_FS),
    TRACER_BIT(CLONE_FILES),
    TRACER_BIT(CLONE_SIGHAND),
    TRACER_BIT(CLONE_PIDFD),
    TRACER_BIT(CLONE_PTRACE),
    TRACER_BIT(CLONE_VFORK),
    TRACER_BIT(CLONE_PARENT),
    TRACER_BIT(CLONE_THREAD),
    TRACER_BIT(CLONE_NEWNS),
    TRACER_BIT(CLONE_SYSVSEM),
    TRACER_BIT(CLONE_SETTLS),
    TRACER_BIT(CLONE_PARENT_SETTID),
    TRACER_BIT(CLONE_CHILD_CLEARTID),
    TRACER_BIT(CLONE_DETACHED),
    TRACER_BIT(CLONE_UNTRACED),
    TRACER_BIT(CLONE_CHILD_SETTID),
    TRACER_BIT(CLONE_NEWCGROUP),
    TRACER_BIT(CLONE_NEWUTS),
    TRACER_BIT(CLONE_NEWIPC),
    TRACER_BIT(CLONE_NEWUSER),
    TRACER_BIT(CLONE_NEWPID),
    TRACER_BIT(CLONE_NEWNET),
    TRACER_BIT(CLONE_IO),
};

constexpr NamedBit kAccessModes[] = {TRACER_BIT(R_OK), TRACER_BIT(W_OK), TRACER_BIT(X_OK)};
constexpr NamedBit kProtections[] = {TRACER_BIT(PROT_READ), TRACER_BIT(PROT_WRITE), TRACER_BIT(PROT_EXEC),
                                     TRACER_BIT(PROT_GROWSDOWN), TRACER_BIT(PROT_GROWSUP)};
// MAP_SHARED, MAP_PRIVATE and MAP_SHARED_VALIDATE are the values of the low
// two bits (the mapping's type), named apart.
constexpr NamedBit kMapFlags[] = {TRACER_BIT(MAP_FIXED),          TRACER_BIT(MAP_ANONYMOUS),  TRACER_BIT(MAP_GROWSDOWN),
                                  TRACER_BIT(MAP_DENYWRITE),      TRACER_BIT(MAP_EXECUTABLE), TRACER_BIT(MAP_LOCKED),
                                  TRACER_BIT(MAP_NORESERVE),      TRACER_BIT(MAP_POPULATE),   TRACER_BIT(MAP_NONBLOCK),
                                  TRACER_BIT(MAP_STACK),          TRACER_BIT(MAP_HUGETLB),    TRACER_BIT(MAP_SYNC),
                                  TRACER_BIT(MAP_FIXED_NOREPLACE)};
// 0x200 is AT_REMOVEDIR for unlinkat and AT_EACCESS for faccessat2: named
// by unlink_flags, shown in hex here.
constexpr NamedBit kAtFlags[] = {TRACER_BIT(AT_SYMLINK_NOFOLLOW), TRACER_BIT(AT_SYMLINK_FOLLOW),
                                 TRACER_BIT(AT_NO_AUTOMOUNT),     TRACER_BIT(AT_EMPTY_PATH),
                                 TRACER_BIT(AT_STATX_FORCE_SYNC), TRACER_BIT(AT_STATX_DONT_SYNC),
                                 TRACER_BIT(AT_RECURSIVE)};
constexpr NamedBit kUnlinkFlags[] = {TRACER_BIT(AT_REMOVEDIR)};
constexpr NamedBit kSocketTypeFlags[] = {TRACER_BIT(SOCK_NONBLOCK), TRACER_BIT(SOCK_CLOEXEC)};

struct NamedValue {
  int64_t value;
  std::string_view name;
};
#define TRACER_VALUE(constant) \
  NamedValue { constant, #constant }

constexpr NamedValue kFamilies[] = {
    TRACER_VALUE(AF_UNSPEC),  TRACER_VALUE(AF_UNIX),   TRACER_VALUE(AF_INET),  TRACER_VALUE(AF_INET6),
    TRACER_VALUE(AF_NETLINK), TRACER_VALUE(AF_PACKET), TRACER_VALUE(AF_VSOCK), TRACER_VALUE(AF_BLUETOOTH),
    TRACER_VALUE(AF_ALG),     TRACER_VALUE(AF_XDP),    TRACER_VALUE(AF_KEY),   TRACER_VALUE(AF_CAN),
};
constexpr NamedValue kSocketTypes[] = {TRACER_VALUE(SOCK_STREAM),    TRACER_VALUE(SOCK_DGRAM),
                                       TRACER_VALUE(SOCK_RAW),       TRACER_VALUE(SOCK_RDM),
                                       TRACER_VALUE(SOCK_SEQPACKET), TRACER_VALUE(SOCK_PACKET)};

// "A|B|0x40" for the bits set; `zero` when none is.
std::string bits_text(uint64_t value, std::span<const NamedBit> names, std::string_view zero) {
  std::string out;
  for (const NamedBit& named : names) {
    if ((value & named.bit) != named.bit || named.bit == 0) continue;
    if (!out.empty()) out += '|';
    out += named.name;
    value &= ~named.bit;
  }
  if (value) {
    if (!out.empty()) out += '|';
    char hex[24];
    std::snprintf(hex, sizeof(hex), "%#llx", static_cast<unsigned long long>(value));
    out += hex;
  }
  return out.empty() ? std::string(zero) : out;
}

std::string value_name(int64_t value, std::span<const NamedValue> names, std::string_view prefix) {
  for (const NamedValue& named : names)
    if (named.value == value) return std::string(named.name);
  std::string text(prefix);
  text += std::to_string(value);
  return text;
}

std::string open_flags_text(uint64_t flags) {
  std::string access;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: access = "O_RDONLY"; break;
    case O_WRONLY: access = "O_WRONLY"; break;
    case O_RDWR: access = "O_RDWR"; break;
    default: access = "O_ACCMODE"; break;
  }
  std::string rest = bits_text(flags & ~uint64_t{O_ACCMODE}, kOpenFlags, "");
  return rest.empty() ? access : access + "|" + rest;
}

std::string mmap_flags_text(uint64_t flags) {
  std::string type;
  switch (flags & 3) {
    case MAP_SHARED: type = "MAP_SHARED"; break;
    case MAP_PRIVATE: type = "MAP_PRIVATE"; break;
    case MAP_SHARED_VALIDATE: type = "MAP_SHARED_VALIDATE"; break;
    default: break;
  }
  std::string rest = bits_text(flags & ~uint64_t{3}, kMapFlags, "");
  if (type.empty()) return rest.empty() ? "0" : rest;
  return rest.empty() ? type : type + "|" + rest;
}

std::string signal_text(int64_t signal) {
  if (signal == 0) return "0";
  std::string text = "SIG";
  if (const char* abbreviation = sigabbrev_np(static_cast<int>(signal))) return text += abbreviation;
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    text += "RTMIN+";
    text += std::to_string(signal - SIGRTMIN);
    return text;
  }
  return std::to_string(signal);
}

std::string clone_flags_text(uint64_t flags) {
  // The low byte of clone()'s flags is the exit signal.
  const uint64_t exit_signal = flags & 0xff;
  std::string text = bits_text(flags & ~uint64_t{0xff}, kCloneFlags, "");
  if (exit_signal) {
    if (!text.empty()) text += '|';
    text += signal_text(static_cast<int64_t>(exit_signal));
  }
  return text.empty() ? "0" : text;
}

std::string socket_type_text(uint64_t type) {
  const uint64_t flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  std::string text = value_name(static_cast<int64_t>(type & ~flags), kSocketTypes, "SOCK_");
  if (type & flags) {
    text += '|';
    text += bits_text(type & flags, kSocketTypeFlags, "");
  }
  return text;
}

template <typename T>
T read_at(std::string_view bytes, size_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

void add_syscall_flags(uint8_t failed, uint8_t truncated, Event& event) {
  if (failed) event.set(EventFlag::argument_read_failed);
  if (truncated) event.set(EventFlag::argument_truncated);
}

// The register value as its C type has it: int-sized ones sign- or
// zero-extended from their low 32 bits.
uint64_t normalized(uint64_t raw, const SyscallArg& arg, bool is_signed) {
  if (!arg.is_32bit) return raw;
  return is_signed ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw))) : uint64_t{uint32_t(raw)};
}

}  // namespace

std::string symbolic_text(const SymbolicValue& value) {
  const auto raw = static_cast<uint64_t>(value.raw);
  switch (value.symbols) {
    case Symbols::fd: return value.raw == AT_FDCWD ? "AT_FDCWD" : std::to_string(value.raw);
    case Symbols::open_flags: return open_flags_text(raw);
    case Symbols::file_mode: {
      char octal[24];
      std::snprintf(octal, sizeof(octal), "0%03llo", static_cast<unsigned long long>(raw));
      return octal;
    }
    case Symbols::access_mode: return raw == F_OK ? "F_OK" : bits_text(raw, kAccessModes, "F_OK");
    case Symbols::signal: return signal_text(value.raw);
    case Symbols::clone_flags: return clone_flags_text(raw);
    case Symbols::socket_family: return value_name(value.raw, kFamilies, "AF_");
    case Symbols::socket_type: return socket_type_text(raw);
    case Symbols::memory_protection: return bits_text(raw, kProtections, "PROT_NONE");
    case Symbols::mmap_flags: return mmap_flags_text(raw);
    case Symbols::at_flags: return bits_text(raw, kAtFlags, "0");
    case Symbols::unlink_flags: return bits_text(raw, kUnlinkFlags, "0");
    case Symbols::hex: return raw == 0 ? "0" : fmt::format("{:#x}", raw);
    case Symbols::address: return fmt::format("{:#x}", raw);
  }
  return std::to_string(value.raw);
}

bool json_shows_number(const SymbolicValue& value) { return value.symbols == Symbols::fd; }

SocketAddressFields describe_socket_address(std::string_view bytes) {
  SocketAddressFields fields;
  if (bytes.size() < sizeof(sa_family_t)) {
    fields.family = "AF_UNSPEC";
    return fields;
  }
  const auto family = read_at<sa_family_t>(bytes, 0);
  fields.family = value_name(family, kFamilies, "AF_");
  if (family == AF_INET && bytes.size() >= sizeof(sockaddr_in)) {
    const auto address = read_at<sockaddr_in>(bytes, 0);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address.sin_addr, text, sizeof(text));
    fields.address = text;
    fields.port = ntohs(address.sin_port);
  } else if (family == AF_INET6 && bytes.size() >= sizeof(sockaddr_in6)) {
    const auto address = read_at<sockaddr_in6>(bytes, 0);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &address.sin6_addr, text, sizeof(text));
    fields.address = text;
    fields.port = ntohs(address.sin6_port);
  } else if (family == AF_UNIX) {
    std::string_view path = bytes.substr(offsetof(sockaddr_un, sun_path));
    if (!path.empty() && path.front() == '\0') {
      fields.abstract = true;  // the name is every byte after the NUL
      path.remove_prefix(1);
    } else {
      path = path.substr(0, path.find('\0'));
    }
    fields.path = path;
  }
  return fields;
}

std::optional<std::string_view> errno_name_of_return(int64_t ret) {
  if (ret >= 0 || ret < -4095) return std::nullopt;
  const char* name = strerrorname_np(static_cast<int>(-ret));
  if (!name) return std::nullopt;
  return std::string_view(name);
}

Result<Event> decode_syscall(std::span<const std::byte> record, Event event, const SyscallSignatures* signatures) {
  if (record.size() < sizeof(tracer_syscall_record))
    return runtime_error("syscall record of " + std::to_string(record.size()) + " bytes is too short");
  tracer_syscall_record raw;
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.nr >= TRACER_SYSCALL_NR_MAX || raw.header.event_id != TRACER_EVENT_SYSCALL_BASE + raw.nr)
    return runtime_error("syscall record of number " + std::to_string(raw.nr) + " with event id " +
                         std::to_string(raw.header.event_id));
  size_t captured = 0;
  for (uint16_t length : raw.capture_len) captured += length;
  if (captured > record.size() - sizeof(raw)) return runtime_error("syscall record lengths overrun the record");

  const SyscallSignature* signature = signatures ? signatures->find(static_cast<uint16_t>(raw.nr)) : nullptr;
  std::optional<SyscallSignature> generic;
  if (!signature) {
    const EventDefinition* definition = syscall_event(static_cast<uint16_t>(raw.nr));
    generic = generic_syscall_signature(definition ? definition->name : "", static_cast<uint16_t>(raw.nr));
    signature = &*generic;
  }

  SyscallRaw details;
  details.number = static_cast<uint16_t>(raw.nr);
  details.count = static_cast<uint8_t>(signature->args.size());
  details.no_return = raw.flags & TRACER_SYSCALL_NO_RETURN;
  details.duration_ns = raw.header.boot_ns > raw.enter_boot_ns ? raw.header.boot_ns - raw.enter_boot_ns : 0;
  if (!details.no_return) event.ret = raw.ret;
  add_syscall_flags(raw.capture_failed, raw.capture_truncated, event);

  // Argument names are views: of the run's signatures, or of static text for
  // a generic signature built here (which dies with this call).
  constexpr std::string_view kGenericNames[TRACER_SYSCALL_ARGS] = {"arg0", "arg1", "arg2", "arg3", "arg4", "arg5"};
  size_t offset = sizeof(raw);
  for (size_t i = 0; i < signature->args.size(); ++i) {
    const SyscallArg& arg = signature->args[i];
    const std::string_view name = generic ? kGenericNames[i % TRACER_SYSCALL_ARGS] : std::string_view(arg.name);
    const bool is_signed = arg.is_signed;
    const uint64_t value = normalized(raw.args[i], arg, is_signed);
    details.args[i] = value;
    if (is_signed) details.signed_mask |= static_cast<uint8_t>(1u << i);
    const std::string_view bytes(reinterpret_cast<const char*>(record.data()) + offset, raw.capture_len[i]);
    offset += raw.capture_len[i];
    const bool read = raw.args[i] != 0 && !(raw.capture_failed & (1u << i));
    switch (arg.format) {
      case ArgFormat::string:
        if (read) {
          event.args.add(name, bytes);
          continue;
        }
        break;
      case ArgFormat::sockaddr:
        if (read && !bytes.empty()) {
          event.args.add(name, SocketAddress{bytes});
          continue;
        }
        break;
      case ArgFormat::symbolic: event.args.add(name, SymbolicValue{static_cast<int64_t>(value), arg.symbols}); continue;
      case ArgFormat::signed_number: event.args.add(name, static_cast<int64_t>(value)); continue;
      default: break;
    }
    event.args.add(name, value);  // unsigned, pointers, and what could not be read
  }
  event.syscall = details;
  return event;
}

}  // namespace tracer
