#include "tracer/user_functions/resolve.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

namespace tracer {
namespace {

// An open ELF file, closed with its descriptor.
class ElfFile {
 public:
  static Result<ElfFile> open(const std::string& path) {
    if (elf_version(EV_CURRENT) == EV_NONE) return runtime_error("libelf is unusable: " + std::string(elf_errmsg(-1)));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return runtime_error("cannot open " + path + ": " + std::strerror(errno));
    ElfFile file(fd, elf_begin(fd, ELF_C_READ_MMAP, nullptr));
    if (!file.elf_ || elf_kind(file.elf_) != ELF_K_ELF) return runtime_error(path + " is not an ELF file");
    return file;
  }
  ElfFile(ElfFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)), elf_(std::exchange(other.elf_, nullptr)) {}
  ElfFile& operator=(ElfFile&&) = delete;
  ~ElfFile() {
    if (elf_) elf_end(elf_);
    if (fd_ >= 0) ::close(fd_);
  }

  // The defined function (or, with any_kind, any defined symbol) named name:
  // its virtual address.
  std::optional<uint64_t> symbol_address(const std::string& name, bool any_kind = false) const {
    for (Elf_Scn* section = elf_nextscn(elf_, nullptr); section; section = elf_nextscn(elf_, section)) {
      GElf_Shdr header;
      if (!gelf_getshdr(section, &header) || (header.sh_type != SHT_SYMTAB && header.sh_type != SHT_DYNSYM)) continue;
      Elf_Data* data = elf_getdata(section, nullptr);
      if (!data || header.sh_entsize == 0) continue;
      const size_t count = header.sh_size / header.sh_entsize;
      for (size_t i = 0; i < count; ++i) {
        GElf_Sym symbol;
        if (!gelf_getsym(data, static_cast<int>(i), &symbol) || symbol.st_shndx == SHN_UNDEF) continue;
        const int type = GELF_ST_TYPE(symbol.st_info);
        if (!any_kind && type != STT_FUNC) continue;
        const char* symbol_name = elf_strptr(elf_, header.sh_link, symbol.st_name);
        if (!symbol_name) continue;
        const std::string_view found(symbol_name);
        // .symtab may carry a version: readline@@READLINE_8.0.
        if (found == name || (found.starts_with(name) && found.size() > name.size() && found[name.size()] == '@'))
          return symbol.st_value;
      }
    }
    return std::nullopt;
  }

  // The file offset of a virtual address, through the executable segment
  // that maps it.
  std::optional<uint64_t> file_offset(uint64_t address) const {
    size_t count = 0;
    if (elf_getphdrnum(elf_, &count) != 0) return std::nullopt;
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr segment;
      if (!gelf_getphdr(elf_, static_cast<int>(i), &segment) || segment.p_type != PT_LOAD) continue;
      if (!(segment.p_flags & PF_X)) continue;
      if (address >= segment.p_vaddr && address < segment.p_vaddr + segment.p_memsz)
        return address - segment.p_vaddr + segment.p_offset;
    }
    return std::nullopt;
  }

  // DT_NEEDED: the libraries it is linked with, by soname.
  std::vector<std::string> needed() const {
    std::vector<std::string> names;
    for (Elf_Scn* section = elf_nextscn(elf_, nullptr); section; section = elf_nextscn(elf_, section)) {
      GElf_Shdr header;
      if (!gelf_getshdr(section, &header) || header.sh_type != SHT_DYNAMIC) continue;
      Elf_Data* data = elf_getdata(section, nullptr);
      if (!data || header.sh_entsize == 0) continue;
      for (size_t i = 0; i < header.sh_size / header.sh_entsize; ++i) {
        GElf_Dyn entry;
        if (!gelf_getdyn(data, static_cast<int>(i), &entry) || entry.d_tag != DT_NEEDED) continue;
        if (const char* name = elf_strptr(elf_, header.sh_link, entry.d_un.d_val)) names.emplace_back(name);
      }
    }
    return names;
  }

 private:
  ElfFile(int fd, Elf* elf) : fd_(fd), elf_(elf) {}
  int fd_;
  Elf* elf_;
};

std::optional<std::string> real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return std::nullopt;
  return std::string(resolved);
}

// The file offset of function in path, or why not.
Result<uint64_t> function_offset(const ElfFile& elf, const std::string& path, const std::string& function) {
  const std::optional<uint64_t> address = elf.symbol_address(function);
  if (!address) return runtime_error("no function '" + function + "' in " + path + " (.symtab and .dynsym)");
  const std::optional<uint64_t> offset = elf.file_offset(*address);
  if (!offset) return runtime_error("function '" + function + "' in " + path + " is in no executable segment");
  return *offset;
}

// Where the dynamic loader would find a library by soname (the common
// Debian directories; no ld.so.cache parsing).
std::optional<std::string> find_library(const std::string& soname) {
  static constexpr const char* kDirectories[] = {"/lib/x86_64-linux-gnu",
                                                 "/usr/lib/x86_64-linux-gnu",
                                                 "/lib/aarch64-linux-gnu",
                                                 "/usr/lib/aarch64-linux-gnu",
                                                 "/lib64",
                                                 "/usr/lib64",
                                                 "/lib",
                                                 "/usr/lib",
                                                 "/usr/local/lib"};
  for (const char* directory : kDirectories)
    if (std::optional<std::string> path = real_path(std::string(directory) + "/" + soname)) return path;
  return std::nullopt;
}

// readline in the shared library the dynamic loader finds by soname.
std::optional<UprobePoint> readline_in_library(const std::string& soname) {
  const std::optional<std::string> library = find_library(soname);
  if (!library) return std::nullopt;
  Result<ElfFile> elf = ElfFile::open(*library);
  if (!elf) return std::nullopt;
  Result<uint64_t> offset = function_offset(*elf, *library, "readline");
  if (!offset) return std::nullopt;
  return UprobePoint{*library, *offset};
}

// Adds a probe point unless target has it already.
void add_point(ResolvedUserFunction& target, UprobePoint point) {
  const bool known = std::any_of(target.points.begin(), target.points.end(), [&](const UprobePoint& other) {
    return other.binary == point.binary && other.offset == point.offset;
  });
  if (!known) target.points.push_back(std::move(point));
}

// The places bash is installed: the usual paths and /etc/shells' bashes.
std::vector<std::string> installed_bash_paths() {
  std::vector<std::string> paths = {"/bin/bash", "/usr/bin/bash"};
  std::ifstream shells("/etc/shells");
  for (std::string line; std::getline(shells, line);)
    if (line.starts_with('/') && line.ends_with("bash")) paths.push_back(line);
  return paths;
}

}  // namespace

std::optional<ExecutableId> executable_id(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  return ExecutableId{status.st_ino, (major(status.st_dev) << 20) | minor(status.st_dev)};
}

Result<ResolvedUserFunction> resolve_user_function(const UserFunction& tracer, uint32_t slot) {
  const std::string where = tracer.origin + ": ";
  const std::optional<std::string> binary = real_path(tracer.path);
  if (!binary) return usage_error(where + "cannot open " + tracer.path + ": " + std::strerror(errno));
  Result<ElfFile> elf = ElfFile::open(*binary);
  if (!elf) return usage_error(where + elf.error().message);
  Result<uint64_t> offset = function_offset(*elf, tracer.path, tracer.function_name);
  if (!offset) return usage_error(where + offset.error().message);
  ResolvedUserFunction target;
  target.slot = slot;
  target.points.push_back(UprobePoint{*binary, *offset});
  return target;
}

std::optional<ResolvedUserFunction> bash_readline_in(const std::string& path, uint32_t slot) {
  Result<ElfFile> elf = ElfFile::open(path);
  // bash, whatever its name: it defines bash's own version string.
  if (!elf || !elf->symbol_address("shell_version_string") || !elf->symbol_address("dist_version", true))
    return std::nullopt;
  const std::optional<ExecutableId> id = executable_id(path);
  if (!id) return std::nullopt;
  // Only bash: the probe may be in a library other programs use too.
  ResolvedUserFunction target;
  target.slot = slot;
  target.executables.push_back(*id);
  if (Result<uint64_t> offset = function_offset(*elf, path, "readline")) {
    target.points.push_back(UprobePoint{path, *offset});
    return target;
  }
  // A bash linked with the shared libreadline: the probe is on the library,
  // for this bash only.
  for (const std::string& soname : elf->needed()) {
    if (!soname.starts_with("libreadline.so")) continue;
    if (std::optional<UprobePoint> point = readline_in_library(soname)) {
      target.points.push_back(std::move(*point));
      return target;
    }
  }
  return std::nullopt;
}

Result<ResolvedUserFunction> resolve_bash_readline(uint32_t slot) {
  ResolvedUserFunction merged;
  merged.slot = slot;
  std::vector<ExecutableId> seen;
  for (const std::string& candidate : installed_bash_paths()) {
    const std::optional<std::string> path = real_path(candidate);
    const std::optional<ExecutableId> id = path ? executable_id(*path) : std::nullopt;
    if (!id || std::find(seen.begin(), seen.end(), *id) != seen.end()) continue;
    seen.push_back(*id);
    std::optional<ResolvedUserFunction> found = bash_readline_in(*path, slot);
    if (!found) continue;
    for (UprobePoint& point : found->points) add_point(merged, std::move(point));
    merged.executables.push_back(*id);
  }
  // Every shared libreadline too: a bash linked with it, run later from
  // anywhere, is then caught from its first line (the kernel asks userspace
  // about an executable it has no verdict on; other programs are refused).
  for (const char* soname : {"libreadline.so.8", "libreadline.so.7", "libreadline.so.6"})
    if (std::optional<UprobePoint> point = readline_in_library(soname)) add_point(merged, std::move(*point));
  if (merged.executables.empty())
    return runtime_error(
        "bash_readline: no bash with readline found (looked at /bin/bash, /usr/bin/bash and "
        "/etc/shells)");
  return merged;
}

std::optional<ResolvedUserFunction> bash_readline_of_process(uint32_t pid, const ExecutableId& id, uint32_t slot,
                                                             std::string& path) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  path = link;
  if (std::optional<std::string> resolved = real_path(link); resolved && executable_id(*resolved) == id)
    path = *resolved;
  else if (executable_id(link) != id)
    return std::nullopt;  // gone, or it exec'd something else already
  return bash_readline_in(path, slot);
}

}  // namespace tracer
