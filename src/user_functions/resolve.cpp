#include "tracer/user_functions/resolve.hpp"

#include <fcntl.h>
#include <sys/mman.h>
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

#include "tracer/core/fd.hpp"
#include "tracer/user_functions/elf_symbols.hpp"

namespace tracer {
namespace {

// An ELF file mapped read-only, with what it says about itself; unmapped
// with it.
class ElfFile {
 public:
  static Result<ElfFile> open(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return runtime_error("cannot open " + path + ": " + errno_text(errno));
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return runtime_error("cannot stat " + path + ": " + errno_text(errno));
    const auto size = static_cast<size_t>(status.st_size);
    void* data = size == 0 ? nullptr : ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (data == MAP_FAILED) return runtime_error("cannot map " + path + ": " + errno_text(errno));
    Mapping mapping(data, size);
    Result<ElfImage> image = ElfImage::parse(mapping.bytes());
    if (!image) return runtime_error(path + ": " + image.error().message);
    return ElfFile(std::move(mapping), std::move(*image));
  }

  const ElfImage* operator->() const { return &image_; }
  const ElfImage& operator*() const { return image_; }

 private:
  class Mapping {
   public:
    Mapping(void* data, size_t size) : data_(data), size_(size) {}
    Mapping(Mapping&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    Mapping& operator=(Mapping&&) = delete;
    ~Mapping() {
      if (data_) ::munmap(data_, size_);
    }
    std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

   private:
    void* data_;
    size_t size_;
  };
  ElfFile(Mapping mapping, ElfImage image) : mapping_(std::move(mapping)), image_(std::move(image)) {}
  Mapping mapping_;  // image_ views it
  ElfImage image_;
};

std::optional<std::string> real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return std::nullopt;
  return std::string(resolved);
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

// Adds readline's probe points in the file at path (elf) to target, unless
// target has them already; false when it has no readline.
bool add_readline_points(ResolvedUserFunction& target, const ElfImage& elf, const std::string& path) {
  Result<uint64_t> offset = function_offset(elf, "readline", path);
  if (!offset) return false;
  const auto same = [&](const UprobePoint& point, uint64_t at) { return point.binary == path && point.offset == at; };
  if (std::ranges::none_of(target.points, [&](const UprobePoint& point) { return same(point, *offset); }))
    target.points.push_back(UprobePoint{path, *offset});
  const std::optional<AcceptSite> site = accept_site(elf);
  const std::optional<uint64_t> cookie = site ? accept_cookie(target.slot, *site) : std::nullopt;
  if (cookie && std::ranges::none_of(target.accept_points,
                                     [&](const AcceptPoint& accept) { return same(accept.point, site->offset); }))
    target.accept_points.push_back({UprobePoint{path, site->offset}, *cookie});
  return true;
}

// readline in the shared library the dynamic loader finds by soname.
bool add_readline_in_library(ResolvedUserFunction& target, const std::string& soname) {
  const std::optional<std::string> library = find_library(soname);
  if (!library) return false;
  Result<ElfFile> elf = ElfFile::open(*library);
  return elf && add_readline_points(target, **elf, *library);
}

// When path is a bash: adds its readline's probe points and itself (only
// bash: the probe may be in a library other programs use too) to target.
bool add_bash_readline(ResolvedUserFunction& target, const std::string& path) {
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf || !is_bash(**elf)) return false;
  const std::optional<ExecutableId> id = executable_id(path);
  if (!id) return false;
  bool found = add_readline_points(target, **elf, path);
  // A bash linked with the shared libreadline: the probe is on the library,
  // for this bash only.
  for (const std::string& soname : (*elf)->needed())
    if (!found && soname.starts_with("libreadline.so")) found = add_readline_in_library(target, soname);
  if (found) target.executables.push_back(*id);
  return found;
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

Result<ResolvedUserFunction> resolve_user_function(const UserFunction& function, uint32_t slot) {
  const std::string where = function.origin + ": ";
  const std::optional<std::string> binary = real_path(function.path);
  if (!binary) return usage_error(where + "cannot open " + function.path + ": " + errno_text(errno));
  Result<ElfFile> elf = ElfFile::open(*binary);
  if (!elf) return usage_error(where + elf.error().message);
  Result<uint64_t> offset = function_offset(**elf, function.function_name, function.path);
  if (!offset) return usage_error(where + offset.error().message);
  ResolvedUserFunction target;
  target.slot = slot;
  target.points.push_back(UprobePoint{*binary, *offset});
  return target;
}

std::optional<ResolvedUserFunction> bash_readline_in(const std::string& path, uint32_t slot) {
  ResolvedUserFunction target;
  target.slot = slot;
  if (!add_bash_readline(target, path)) return std::nullopt;
  return target;
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
    add_bash_readline(merged, *path);
  }
  // Every shared libreadline too: a bash linked with it, run later from
  // anywhere, is then caught from its first line (the kernel asks userspace
  // about an executable it has no verdict on; other programs are refused).
  for (const char* soname : {"libreadline.so.8", "libreadline.so.7", "libreadline.so.6"})
    add_readline_in_library(merged, soname);
  if (merged.executables.empty())
    return runtime_error(
        "bash_readline: no bash with readline found (looked at /bin/bash, /usr/bin/bash and "
        "/etc/shells)");
  return merged;
}

std::optional<ResolvedUserFunction> bash_readline_of_process(uint32_t pid, const ExecutableId& id, uint32_t slot,
                                                             std::string& path) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  path = path_of_link(link, id);
  if (path == link && executable_id(link) != id) return std::nullopt;  // gone, or it exec'd something else already
  return bash_readline_in(path, slot);
}

std::string path_of_link(const std::string& link, const ExecutableId& id) {
  if (std::optional<std::string> resolved = real_path(link); resolved && executable_id(*resolved) == id)
    return *resolved;
  return link;
}

}  // namespace tracer
