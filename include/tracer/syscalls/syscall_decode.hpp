#pragma once
// Syscall records → Events, and the names numbers are shown by: open flags
// (O_RDONLY|O_CLOEXEC), modes, signals, clone flags, socket families and
// types, errno names; socket addresses as family, address, port or path.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/syscalls/syscall_signature.hpp"

namespace tracer {

// A syscall record's arguments decoded by its signature (generic arg0..arg5
// when the syscall has none). `event` has its header fields set already.
Result<Event> decode_syscall(std::span<const std::byte> record, Event event, const SyscallSignatures* signatures);

// The name of a number: "O_WRONLY|O_CREAT|O_CLOEXEC", "0644", "SIGTERM", ...
std::string symbolic_text(const SymbolicValue& value);
// Whether JSON shows this value as its number (fds) rather than its name.
bool json_shows_number(const SymbolicValue& value);

struct SocketAddressFields {
  std::string family;                  // "AF_INET", "AF_INET6", "AF_UNIX", or AF_<n>
  std::optional<std::string> address;  // inet: dotted or RFC 5952 text
  std::optional<uint16_t> port;
  std::optional<std::string_view> path;  // unix: the path ('@' first for an abstract name)
  bool abstract = false;
};
SocketAddressFields describe_socket_address(std::string_view bytes);

// "ENOENT" for -2; nothing for a value that is no -errno.
std::optional<std::string_view> errno_name_of_return(int64_t ret);

}  // namespace tracer
