#include "tracer/syscalls/syscall_signature.hpp"

#include <algorithm>
#include <charconv>

namespace tracer {
namespace {

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> candidates) {
  return std::find(candidates.begin(), candidates.end(), value) != candidates.end();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The kernel's names that the man pages call otherwise.
std::string user_facing_name(std::string_view kernel_name) {
  if (kernel_name == "filename") return "pathname";
  if (kernel_name == "dfd") return "dirfd";
  if (is_one_of(kernel_name, {"uservaddr", "umyaddr", "upeer_sockaddr", "usockaddr"})) return "addr";
  if (is_one_of(kernel_name, {"upeer_addrlen", "usockaddr_len", "addr_len"})) return "addrlen";
  return std::string(kernel_name);
}

// A number's width and sign from its C type.
void classify_number(SyscallArg& arg) {
  const std::string_view type = arg.type;
  if (type.find('*') != std::string_view::npos || type.ends_with("user_header_t") || type.ends_with("user_data_t")) {
    arg.format = ArgFormat::pointer;
  } else if (is_one_of(type, {"long", "loff_t", "off_t", "ssize_t", "__s64", "s64", "long long"})) {
    arg.format = ArgFormat::signed_number;
    arg.is_signed = true;
  } else if (is_one_of(type, {"int", "pid_t", "key_serial_t", "clockid_t", "timer_t", "mqd_t", "key_t", "rwf_t",
                              "__s32", "s32"})) {
    arg.format = ArgFormat::signed_number;
    arg.is_signed = true;
    arg.is_32bit = true;
  } else if (is_one_of(type, {"unsigned long", "size_t", "u64", "__u64", "aio_context_t", "unsigned long long"})) {
    arg.format = ArgFormat::unsigned_number;
  } else {
    arg.format = ArgFormat::unsigned_number;  // unsigned int, uid_t, gid_t, umode_t, u32, ...
    arg.is_32bit = true;
  }
}

void set_symbolic(SyscallArg& arg, Symbols symbols) {
  arg.format = ArgFormat::symbolic;
  arg.symbols = symbols;
}

// The names of a call's "flags" (or "flag") argument bits.
Symbols flags_symbols(std::string_view syscall) {
  if (syscall == "mmap") return Symbols::mmap_flags;
  if (syscall == "unlinkat") return Symbols::unlink_flags;
  if (is_one_of(syscall, {"execveat", "newfstatat", "fstatat64", "statx", "linkat", "fchownat", "utimensat",
                          "faccessat2", "fchmodat2", "name_to_handle_at", "open_tree", "mount_setattr"}))
    return Symbols::at_flags;
  return Symbols::hex;
}

// How a syscall's argument is shown, from its type and names.
void choose_format(std::string_view syscall, std::string_view kernel_name, SyscallArg& arg) {
  classify_number(arg);
  const std::string_view name = arg.name;
  if (arg.type == "const char *" && !is_one_of(kernel_name, {"buf", "u_msg_ptr"})) {
    arg.format = ArgFormat::string;
  } else if (arg.type == "struct sockaddr *") {
    arg.format = ArgFormat::sockaddr;
  } else if (arg.format == ArgFormat::pointer) {
    return;
  } else if (is_one_of(name, {"fd", "dirfd", "olddfd", "newdfd", "oldfd", "newfd", "fd_in", "fd_out", "epfd"})) {
    // An fd is an int whatever the register's declared type (mmap's is
    // unsigned long): -1 is -1.
    set_symbolic(arg, Symbols::fd);
    arg.is_signed = true;
    arg.is_32bit = true;
  } else if (name == "flags" && is_one_of(syscall, {"open", "openat"})) {
    set_symbolic(arg, Symbols::open_flags);
  } else if (name == "mode" && is_one_of(syscall, {"access", "faccessat", "faccessat2"})) {
    set_symbolic(arg, Symbols::access_mode);
  } else if (name == "mode" && is_one_of(syscall, {"open", "openat", "creat", "mkdir", "mkdirat", "chmod", "fchmod",
                                                   "fchmodat", "fchmodat2", "mknod", "mknodat", "mq_open"})) {
    set_symbolic(arg, Symbols::file_mode);
  } else if (name == "sig") {
    set_symbolic(arg, Symbols::signal);
  } else if (name == "clone_flags" || name == "unshare_flags" || (syscall == "setns" && name == "flags")) {
    set_symbolic(arg, Symbols::clone_flags);
  } else if (name == "family" && is_one_of(syscall, {"socket", "socketpair"})) {
    set_symbolic(arg, Symbols::socket_family);
  } else if (name == "type" && is_one_of(syscall, {"socket", "socketpair"})) {
    set_symbolic(arg, Symbols::socket_type);
  } else if (name == "prot" && is_one_of(syscall, {"mmap", "mprotect", "pkey_mprotect"})) {
    set_symbolic(arg, Symbols::memory_protection);
  } else if (is_one_of(name, {"flags", "flag", "mode", "prot"})) {
    // One JSON type per argument name across every event: these are text
    // everywhere, named where a table of names fits the call.
    set_symbolic(arg, flags_symbols(syscall));
  }
}

// A sockaddr's length is the argument after it: a value, or a pointer to
// one the call fills in (accept, getsockname, recvfrom).
void link_socket_lengths(SyscallSignature& signature) {
  for (size_t i = 0; i < signature.args.size(); ++i) {
    SyscallArg& arg = signature.args[i];
    if (arg.format != ArgFormat::sockaddr) continue;
    if (i + 1 >= signature.args.size()) {
      arg.format = ArgFormat::pointer;
      continue;
    }
    arg.length_arg = static_cast<uint8_t>(i + 1);
    arg.length_is_pointer = signature.args[i + 1].type.find('*') != std::string::npos;
  }
}

bool never_returns(std::string_view syscall) { return syscall == "exit" || syscall == "exit_group"; }

}  // namespace

void SyscallSignatures::add(SyscallSignature signature) {
  if (signature.number >= TRACER_SYSCALL_NR_MAX) return;
  int16_t& slot = index_[signature.number];
  if (slot >= 0) {
    signatures_[static_cast<size_t>(slot)] = std::move(signature);
    return;
  }
  slot = static_cast<int16_t>(signatures_.size());
  signatures_.push_back(std::move(signature));
}

const SyscallSignature* SyscallSignatures::find(uint16_t number) const {
  if (number >= TRACER_SYSCALL_NR_MAX || index_[number] < 0) return nullptr;
  return &signatures_[static_cast<size_t>(index_[number])];
}

const SyscallArg* SyscallSignature::find(std::string_view arg_name) const {
  for (const SyscallArg& arg : args)
    if (arg.name == arg_name) return &arg;
  return nullptr;
}

std::vector<std::string> SyscallSignature::filterable_names() const {
  std::vector<std::string> names;
  bool has_sockaddr = false;
  for (const SyscallArg& arg : args) {
    names.push_back(arg.name);
    has_sockaddr |= arg.format == ArgFormat::sockaddr;
  }
  if (has_sockaddr)
    for (const char* field : {"family", "address", "port", "path"})
      if (!find(field)) names.emplace_back(field);
  return names;
}

tracer_syscall_capture_spec SyscallSignature::capture_spec() const {
  tracer_syscall_capture_spec spec{};
  for (size_t i = 0; i < args.size() && i < TRACER_SYSCALL_ARGS; ++i) {
    const SyscallArg& arg = args[i];
    if (arg.format == ArgFormat::string) {
      spec.kind[i] = TRACER_CAPTURE_STRING;
    } else if (arg.format == ArgFormat::sockaddr) {
      spec.kind[i] = arg.length_is_pointer ? TRACER_CAPTURE_SOCKADDR_OUT : TRACER_CAPTURE_SOCKADDR;
      spec.length_arg[i] = arg.length_arg;
    }
  }
  spec.emit_at_entry = no_return;
  return spec;
}

std::optional<uint64_t> format_tracepoint_id(std::string_view format_text) {
  const size_t at = format_text.find("ID: ");
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = format_text.data() + at + 4;
  uint64_t id = 0;
  const auto [end, error] = std::from_chars(begin, format_text.data() + format_text.size(), id);
  if (error != std::errc() || end == begin) return std::nullopt;
  return id;
}

Result<SyscallSignature> parse_syscall_format(std::string_view name, uint16_t number, std::string_view format_text) {
  SyscallSignature signature;
  signature.number = number;
  signature.name = std::string(name);
  signature.no_return = never_returns(name);
  signature.from_kernel_format = true;
  bool after_nr = false;
  while (!format_text.empty()) {
    const size_t end = format_text.find('\n');
    const std::string_view line = format_text.substr(0, end);
    format_text.remove_prefix(end == std::string_view::npos ? format_text.size() : end + 1);
    const size_t field = line.find("field:");
    if (field == std::string_view::npos) continue;
    const size_t semicolon = line.find(';', field);
    if (semicolon == std::string_view::npos) continue;
    const std::string_view declaration = trim(line.substr(field + 6, semicolon - field - 6));
    const size_t split = declaration.find_last_of(" *");
    if (split == std::string_view::npos) continue;
    const std::string_view kernel_name = declaration.substr(split + 1);
    if (kernel_name == "__syscall_nr") {
      after_nr = true;
      continue;
    }
    if (!after_nr) continue;
    if (signature.args.size() == TRACER_SYSCALL_ARGS)
      return runtime_error("the format of " + std::string(name) + " has more than 6 arguments");
    SyscallArg arg;
    arg.name = user_facing_name(kernel_name);
    arg.type = std::string(trim(declaration.substr(0, split + 1)));
    choose_format(name, kernel_name, arg);
    signature.args.push_back(std::move(arg));
  }
  if (!after_nr) return runtime_error("the format of " + std::string(name) + " has no __syscall_nr field");
  link_socket_lengths(signature);
  return signature;
}

SyscallSignature generic_syscall_signature(std::string_view name, uint16_t number) {
  SyscallSignature signature;
  signature.number = number;
  signature.name = std::string(name);
  signature.no_return = never_returns(name);
  for (int i = 0; i < TRACER_SYSCALL_ARGS; ++i) {
    SyscallArg arg;
    arg.name = "arg" + std::to_string(i);
    arg.type = "unsigned long";
    signature.args.push_back(std::move(arg));
  }
  return signature;
}

}  // namespace tracer
