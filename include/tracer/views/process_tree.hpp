#pragma once
// The process tree of a saved log, for `tracer tree`: each process (a pid
// from its fork to its exit, named by pid and start time as in exec_id) once,
// with its images (execs) in order, and under each image what happened while
// it ran: the children it forked, its failed execs and, for a shell, the lines
// typed into it. Records of a log whose start is missing still find their
// place: a process whose parent has no record of its own hangs under a
// placeholder for that parent.
//
// Memory grows with the processes, not the records: per process its pid,
// start, parent, exit, and per image (exec) its argv and path cut to
// kMaxText bytes; per shell at most kMaxLines typed lines; for the HTML page
// also the JSON line of each exec, exit and typed line, cut to kMaxRecord
// bytes. A log of a million syscall records from a few processes makes a few
// nodes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tracer/decode/event.hpp"

namespace tracer {

struct ProcessKey {
  uint32_t pid = 0;
  uint64_t start_boot_ns = 0;  // 0: not known (a fork whose child left no record)
  bool operator==(const ProcessKey&) const = default;
};
struct ProcessKeyHash {
  size_t operator()(const ProcessKey& key) const { return key.start_boot_ns * 1000003u ^ key.pid; }
};

// Something that happened while an image ran, in time order.
struct TreeItem {
  enum class Kind { child, line, failed_exec };
  Kind kind = Kind::child;
  int64_t time_ns = 0;
  size_t child = 0;    // Kind::child: index in ProcessTree::processes()
  std::string text;    // a typed line; a failed exec's argv
  int64_t ret = 0;     // a failed exec's -errno
  std::string record;  // its JSON line, when the tree keeps records
};

struct TreeImage {
  uint32_t exec_gen = 0;
  bool exec_seen = false;  // the log holds the exec that started it
  int64_t start_ns = 0;    // the exec, or the first record of the image
  std::string argv;        // space-separated, cut to kMaxText
  std::string path;        // exe (or filename)
  std::string record;      // the exec's JSON line, when the tree keeps records
  std::vector<TreeItem> items;
};

struct TreeProcess {
  ProcessKey key;
  std::optional<ProcessKey> parent;
  uint32_t parent_exec_gen = 0;
  bool placeholder = false;  // a parent known only from its children's records
  std::string comm;          // at its first record
  std::string container_id;
  std::string exec_id;  // of its first image, for --exec-id and the page
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  std::optional<int64_t> fork_ns;
  std::optional<int64_t> exit_ns;
  std::optional<int64_t> exit_code;
  std::optional<int64_t> signal;
  size_t lines_dropped = 0;
  std::string exit_record;        // when the tree keeps records
  std::vector<TreeImage> images;  // by exec_gen
};

class ProcessTree {
 public:
  static constexpr size_t kMaxText = 256;
  static constexpr size_t kMaxLines = 10000;
  static constexpr size_t kMaxRecord = 4096;

  // keep_records: keep the JSON lines behind the rows (for the page).
  explicit ProcessTree(bool keep_records = false) : keep_records_(keep_records) {}
  // line: the JSON line the event was read from.
  void add(const Event& event, std::string_view boot_tag, std::string_view line = {});
  // Links children to the image that forked them and orders every image's
  // items; call once, after the last add().
  void finish();

  const std::vector<TreeProcess>& processes() const { return processes_; }
  // Processes without a parent in the tree (placeholders included), by time.
  const std::vector<size_t>& roots() const { return roots_; }
  const TreeProcess* find(const ProcessKey& key) const;
  // The process and image an exec_id names.
  std::optional<std::pair<size_t, size_t>> find_exec_id(std::string_view exec_id) const;

 private:
  struct PendingFork {
    ProcessKey parent;
    uint32_t parent_exec_gen = 0;
    int64_t time_ns = 0;
  };
  size_t process_of(const Event& event);
  size_t process_at(const ProcessKey& key);
  TreeImage& image_of(TreeProcess& process, uint32_t exec_gen, int64_t time_ns);
  void add_exec(TreeProcess& process, const Event& event, int64_t time_ns);
  void add_fork(const Event& event, int64_t time_ns);
  void add_placeholders();

  std::string record_of(std::string_view line) const {
    return keep_records_ ? std::string(line.substr(0, kMaxRecord)) : std::string();
  }

  bool keep_records_;
  std::string boot_tag_;
  std::string_view line_;  // of the record being added
  std::vector<TreeProcess> processes_;
  std::unordered_map<ProcessKey, size_t, ProcessKeyHash> index_;
  std::unordered_map<uint32_t, PendingFork> pending_forks_;  // by child pid, until the child shows
  std::vector<size_t> roots_;
};

// argv as one line: items joined by spaces, cut to max bytes.
std::string join_argv(const StringList& argv, size_t max);

}  // namespace tracer
