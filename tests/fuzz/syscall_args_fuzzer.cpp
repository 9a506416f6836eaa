// Syscall arguments as a traced program passes them: any number as each
// kind of symbolic value (open flags, modes, signals, clone flags, socket
// families and types, protections), any bytes as a socket address, any
// return value as an errno; and any text as a tracefs format file. The names
// must be plain printable ASCII, the addresses views inside the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_support.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer::fuzz {
namespace {

constexpr Symbols kEverySymbols[] = {
    Symbols::fd,          Symbols::open_flags,    Symbols::file_mode,   Symbols::access_mode,       Symbols::signal,
    Symbols::clone_flags, Symbols::socket_family, Symbols::socket_type, Symbols::memory_protection, Symbols::address,
};

bool plain_ascii(std::string_view text) {
  for (char c : text)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

void check_numbers(std::string_view input) {
  int64_t raw = 0;
  std::memcpy(&raw, input.data(), std::min(input.size(), sizeof(raw)));
  for (Symbols symbols : kEverySymbols) {
    const std::string text = symbolic_text(SymbolicValue{raw, symbols});
    require(!text.empty() && plain_ascii(text), "a symbolic value has a plain name", text);
    (void)json_shows_number(SymbolicValue{raw, symbols});
  }
  if (std::optional<std::string_view> name = errno_name_of_return(raw))
    require(name->starts_with('E') && plain_ascii(*name), "an errno name is E...", *name);
}

void check_socket_address(std::string_view input) {
  const SocketAddressFields fields = describe_socket_address(input);
  require(fields.family.starts_with("AF_") && plain_ascii(fields.family), "a family is AF_...", fields.family);
  if (fields.address) require(plain_ascii(*fields.address), "an address is printable", *fields.address);
  if (fields.path) {
    const bool inside =
        fields.path->empty() || (fields.path->data() >= input.data() &&
                                 fields.path->data() + fields.path->size() <= input.data() + input.size());
    require(inside, "a unix path is a view of the address bytes");
  }
}

void check_format_file(std::string_view input) {
  const std::string_view names[] = {"openat", "connect", "accept4", "socket", "exit_group"};
  const std::string_view name = names[input.empty() ? 0 : static_cast<unsigned char>(input[0]) % std::size(names)];
  Result<SyscallSignature> signature = parse_syscall_format(name, *syscall_number(name), input);
  if (!signature) return;
  require(signature->args.size() <= TRACER_SYSCALL_ARGS, "at most six arguments");
  (void)signature->filterable_names();
  (void)signature->capture_spec();
  (void)format_tracepoint_id(input);
}

}  // namespace
}  // namespace tracer::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(tracer::fuzz::text_of(data, size));  // its own allocation: ASan sees overruns
  tracer::fuzz::check_numbers(input);
  tracer::fuzz::check_socket_address(input);
  tracer::fuzz::check_format_file(input);
  return 0;
}
