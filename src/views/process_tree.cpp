#include "tracer/views/process_tree.hpp"

#include <algorithm>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/process/exec_id.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

std::string cut(std::string_view text, size_t max) { return std::string(text.substr(0, max)); }

const std::string_view* text_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  return arg ? std::get_if<std::string_view>(&arg->value) : nullptr;
}

std::optional<int64_t> number_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  if (!arg) return std::nullopt;
  if (const auto* value = std::get_if<uint64_t>(&arg->value)) return static_cast<int64_t>(*value);
  if (const auto* value = std::get_if<int64_t>(&arg->value)) return *value;
  return std::nullopt;
}

bool is_exec(const Event& event) {
  const uint16_t id = event.definition->id;
  return id == TRACER_EVENT_EXECVE || id == TRACER_EVENT_EXECVEAT || id == TRACER_EVENT_SCHED_PROCESS_EXEC;
}

}  // namespace

std::string join_argv(const StringList& argv, size_t max) {
  std::string out;
  argv.for_each([&](std::string_view item) {
    if (out.size() >= max) return;
    if (!out.empty()) out += ' ';
    out.append(item.substr(0, max - std::min(max, out.size())));
  });
  return out;
}

size_t ProcessTree::process_at(const ProcessKey& key) {
  const auto [found, inserted] = index_.try_emplace(key, processes_.size());
  if (inserted) processes_.emplace_back().key = key;
  return found->second;
}

TreeImage& ProcessTree::image_of(TreeProcess& process, uint32_t exec_gen, int64_t time_ns) {
  auto at = std::lower_bound(process.images.begin(), process.images.end(), exec_gen,
                             [](const TreeImage& image, uint32_t gen) { return image.exec_gen < gen; });
  if (at == process.images.end() || at->exec_gen != exec_gen) {
    at = process.images.insert(at, TreeImage{});
    at->exec_gen = exec_gen;
    at->start_ns = time_ns;
  }
  return *at;
}

// The process of the record's task; made at its first record, with the
// parent its record names (or the fork record that made it).
size_t ProcessTree::process_of(const Event& event) {
  const TaskContext& task = event.task;
  const ProcessKey key{task.pid, task.start_boot_ns};
  const size_t before = processes_.size();
  const size_t index = process_at(key);
  TreeProcess& process = processes_[index];
  const auto time_ns = static_cast<int64_t>(event.boot_ns);
  if (index == before || process.placeholder) {
    process.placeholder = false;
    process.comm = cut(task.comm, ProcessTree::kMaxText);
    process.container_id = std::string(event.container_id);
    process.first_ns = time_ns;
    process.exec_id.clear();
    append_exec_id(process.exec_id, boot_tag_, task.pid, task.start_boot_ns, task.exec_gen);
    if (task.ppid != 0) {
      process.parent = ProcessKey{task.ppid, task.parent_start_boot_ns};
      process.parent_exec_gen = task.parent_exec_gen;
    }
    if (const auto fork = pending_forks_.find(task.pid); fork != pending_forks_.end()) {
      if (fork->second.parent.pid == task.ppid) {
        process.fork_ns = fork->second.time_ns;
        process.parent_exec_gen = fork->second.parent_exec_gen;
      }
      pending_forks_.erase(fork);
    }
  }
  process.last_ns = std::max(process.last_ns, time_ns);
  return index;
}

void ProcessTree::add_exec(TreeProcess& process, const Event& event, int64_t time_ns) {
  const Arg* argv = event.args.find("argv");
  const auto* list = argv ? std::get_if<StringList>(&argv->value) : nullptr;
  std::string text = list ? join_argv(*list, kMaxText) : std::string();
  if (event.ret && *event.ret < 0) {
    if (text.empty())
      if (const std::string_view* pathname = text_arg(event, "pathname")) text = cut(*pathname, kMaxText);
    image_of(process, event.task.exec_gen, time_ns)
        .items.push_back({TreeItem::Kind::failed_exec, time_ns, 0, std::move(text), *event.ret, record_of(line_)});
    return;
  }
  TreeImage& image = image_of(process, event.task.exec_gen, time_ns);
  if (image.exec_seen) return;  // execve and sched_process_exec of one exec
  image.exec_seen = true;
  image.start_ns = time_ns;
  image.argv = std::move(text);
  image.record = record_of(line_);
  const std::string_view* path = text_arg(event, "exe");
  if (!path) path = text_arg(event, "filename");
  if (path) image.path = cut(*path, kMaxText);
}

void ProcessTree::add_fork(const Event& event, int64_t time_ns) {
  const std::optional<int64_t> child = number_arg(event, "child_pid");
  if (!child || *child == event.task.pid) return;  // a new thread
  pending_forks_[static_cast<uint32_t>(*child)] =
      PendingFork{{event.task.pid, event.task.start_boot_ns}, event.task.exec_gen, time_ns};
}

void ProcessTree::add(const Event& event, std::string_view boot_tag, std::string_view line) {
  if (boot_tag_.empty()) boot_tag_ = std::string(boot_tag);
  line_ = line;
  const auto time_ns = static_cast<int64_t>(event.boot_ns);
  TreeProcess& process = processes_[process_of(event)];
  if (is_exec(event)) {
    add_exec(process, event, time_ns);
    return;
  }
  // Every other record still shows that its image ran.
  TreeImage& image = image_of(process, event.task.exec_gen, time_ns);
  const uint16_t id = event.definition->id;
  if (id == TRACER_EVENT_SCHED_PROCESS_FORK) {
    add_fork(event, time_ns);
  } else if (id == TRACER_EVENT_SCHED_PROCESS_EXIT) {
    process.exit_ns = time_ns;
    process.exit_code = number_arg(event, "exit_code");
    process.signal = number_arg(event, "signal");
    process.exit_record = record_of(line);
  } else if (event.definition->name == kBashReadline) {
    const std::string_view* typed = text_arg(event, "line");
    if (!typed) typed = text_arg(event, kReturnValue);
    if (!typed) return;
    if (image.items.size() >= kMaxLines) {
      ++process.lines_dropped;
      return;
    }
    image.items.push_back({TreeItem::Kind::line, time_ns, 0, cut(*typed, kMaxText), 0, record_of(line)});
  }
}

// Parents known only from their children's records: one placeholder each,
// under which the orphans of a log whose start is missing are grouped.
void ProcessTree::add_placeholders() {
  const size_t known = processes_.size();
  for (size_t i = 0; i < known; ++i) {
    if (!processes_[i].parent || index_.contains(*processes_[i].parent)) continue;
    const ProcessKey parent = *processes_[i].parent;
    TreeProcess& made = processes_[process_at(parent)];
    made.placeholder = true;
    made.first_ns = processes_[i].first_ns;
    made.exec_id.clear();
    append_exec_id(made.exec_id, boot_tag_, parent.pid, parent.start_boot_ns, processes_[i].parent_exec_gen);
  }
}

void ProcessTree::finish() {
  // Forks whose child left no record of its own: the child, unnamed.
  for (const auto& [child_pid, fork] : pending_forks_) {
    TreeProcess& child = processes_[process_at({child_pid, 0})];
    child.parent = fork.parent;
    child.parent_exec_gen = fork.parent_exec_gen;
    child.fork_ns = child.first_ns = child.last_ns = fork.time_ns;
  }
  pending_forks_.clear();
  add_placeholders();
  for (size_t i = 0; i < processes_.size(); ++i) {
    TreeProcess& process = processes_[i];
    if (!process.parent || process.parent == process.key) {
      roots_.push_back(i);
      continue;
    }
    TreeProcess& parent = processes_[index_.at(*process.parent)];
    const int64_t time_ns = process.fork_ns.value_or(process.first_ns);
    image_of(parent, process.parent_exec_gen, time_ns).items.push_back({TreeItem::Kind::child, time_ns, i, {}, 0, {}});
  }
  for (TreeProcess& process : processes_) {
    // A forked copy runs from its fork, before its first record.
    if (process.fork_ns && !process.images.empty() && !process.images.front().exec_seen)
      process.images.front().start_ns = std::min(process.images.front().start_ns, *process.fork_ns);
    for (TreeImage& image : process.images)
      std::stable_sort(image.items.begin(), image.items.end(),
                       [](const TreeItem& a, const TreeItem& b) { return a.time_ns < b.time_ns; });
  }
  std::stable_sort(roots_.begin(), roots_.end(),
                   [&](size_t a, size_t b) { return processes_[a].first_ns < processes_[b].first_ns; });
}

const TreeProcess* ProcessTree::find(const ProcessKey& key) const {
  const auto found = index_.find(key);
  return found == index_.end() ? nullptr : &processes_[found->second];
}

std::optional<std::pair<size_t, size_t>> ProcessTree::find_exec_id(std::string_view exec_id) const {
  for (size_t i = 0; i < processes_.size(); ++i) {
    const TreeProcess& process = processes_[i];
    for (size_t image = 0; image < process.images.size(); ++image) {
      std::string id;
      append_exec_id(id, boot_tag_, process.key.pid, process.key.start_boot_ns, process.images[image].exec_gen);
      if (id == exec_id) return std::pair{i, image};
    }
  }
  return std::nullopt;
}

}  // namespace tracer
