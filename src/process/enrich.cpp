#include "tracer/process/enrich.hpp"

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <filesystem>

#include "tracer/core/abi.hpp"
#include "tracer/process/terminal.hpp"

namespace tracer {
namespace {

constexpr size_t kContainerCacheLimit = 4096;
constexpr size_t kHostCacheLimit = 4096;

// The tracer's own host name: that of every process that shares its UTS
// namespace and ran no exec since the tracer started.
void learn_own_host(std::unordered_map<uint32_t, std::string>& hosts) {
  struct stat own {};
  struct utsname names {};
  if (stat("/proc/self/ns/uts", &own) == 0 && uname(&names) == 0)
    hosts.emplace(static_cast<uint32_t>(own.st_ino), names.nodename);
}

// sysfs names the ttys of every other driver: /sys/dev/char/MAJ:MIN links to
// .../tty/NAME.
std::string tty_name_from_sysfs(uint32_t kernel_dev) {
  const std::string numbered = numbered_tty_name(kernel_dev);
  std::error_code error;
  const std::filesystem::path target = std::filesystem::read_symlink("/sys/dev/char/" + numbered, error);
  if (error || target.filename().empty()) return numbered;
  return target.filename().string();
}

}  // namespace

Enricher::Enricher(int container_ids_fd, Lineage lineage, std::optional<ProcessTable> table, EnvOptions env)
    : container_ids_fd_(container_ids_fd), lineage_(lineage), table_(std::move(table)), env_(std::move(env)) {
  learn_own_host(hosts_);
}

void Enricher::observe(const Event& event) {
  if (table_) table_->apply(event);
  // An exec read the nodename of its namespace: the freshest word on it
  // (sethostname in between shows from the next exec on).
  if (!event.exec_host.empty() && event.task.utsns) {
    if (hosts_.size() >= kHostCacheLimit) hosts_.clear();
    hosts_[event.task.utsns] = std::string(event.exec_host);
  }
}

void Enricher::enrich(Event& event) {
  event.host = host_of(event.task.utsns);
  if (event.task.tty_dev) event.tty = tty_name_of(event.task.tty_dev);
  if (event.task.container_cgroup_id) event.container_id = container_id_of(event.task.container_cgroup_id);
  if (table_ && lineage_ != Lineage::none)
    event.lineage = table_->lineage(event, lineage_ == Lineage::ancestors ? SIZE_MAX : 1);
  env_.apply(event);
}

// The kernel writes a container's id before the first record that names its
// cgroup, and cgroup ids are not reused: one map lookup per container.
std::string_view Enricher::container_id_of(uint64_t container_cgroup_id) {
  if (auto it = container_ids_.find(container_cgroup_id); it != container_ids_.end()) return it->second;
  tracer_container_id id{};
  if (bpf_map_lookup_elem(container_ids_fd_, &container_cgroup_id, &id) != 0) return {};
  if (container_ids_.size() >= kContainerCacheLimit) container_ids_.clear();
  return container_ids_.emplace(container_cgroup_id, std::string(id.text, sizeof(id.text))).first->second;
}

std::optional<std::string_view> Enricher::host_of(uint32_t utsns) const {
  if (auto it = hosts_.find(utsns); it != hosts_.end()) return it->second;
  return std::nullopt;
}

std::string_view Enricher::tty_name_of(uint32_t kernel_dev) {
  if (auto it = tty_names_.find(kernel_dev); it != tty_names_.end()) return it->second;
  std::optional<std::string> name = well_known_tty_name(kernel_dev);
  if (tty_names_.size() >= kContainerCacheLimit) tty_names_.clear();
  return tty_names_.emplace(kernel_dev, name ? *name : tty_name_from_sysfs(kernel_dev)).first->second;
}

}  // namespace tracer
