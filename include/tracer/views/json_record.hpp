#pragma once
// A line of `tracer --output json` read back into the Event it was formatted
// from, so that a saved log goes through the same filters and outputs as live
// records: formatting the Event again gives the line back byte for byte.
// The Event views the line and the reader's own buffers, so it lives until the
// next read, like a decoded ring-buffer record lives until the callback ends.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tracer/core/clock.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {

class UserFunctions;

// A replayed Event's boot_ns holds its wall time (ns since the epoch): with
// this clock the formatters print the timestamp the record had.
inline BootToWallClock replay_clock() { return BootToWallClock(0); }

// Session fields a record may carry (later versions may add them at the top
// level): what `tree --session` selects by.
struct SessionFields {
  std::optional<uint64_t> sid;
  std::optional<uint64_t> auid;
  std::optional<std::string_view> tty;
};

class JsonRecordReader {
 public:
  // user_functions names the user tracer events (bash_readline and those of
  // --config); events the reader knows no definition of get one of their own.
  explicit JsonRecordReader(const UserFunctions& user_functions) : user_functions_(user_functions) {}
  JsonRecordReader(const JsonRecordReader&) = delete;
  JsonRecordReader& operator=(const JsonRecordReader&) = delete;

  // One line, without its '\n'. The error says what is wrong, without the
  // line number (the caller knows it).
  Result<const Event*> read(std::string_view line);

  // Of the last record read: its exec_id's boot tag, whether it carried the
  // whole "ancestors" chain (not only "parent"), its session fields.
  std::string_view boot_tag() const { return boot_tag_; }
  bool had_ancestors() const { return had_ancestors_; }
  const SessionFields& session() const { return session_; }

  // Definitions made up for events of no known table (an id no filter wants).
  static constexpr uint16_t kUnknownEventId = 0xffff;

 private:
  friend class RecordParser;
  const EventDefinition* definition_of(std::string_view name);

  const UserFunctions& user_functions_;
  Event event_;
  std::string storage_;  // unescaped strings, argv lists, socket addresses
  std::vector<ProcessSummary> lineage_;
  std::string boot_tag_;
  bool had_ancestors_ = false;
  SessionFields session_;
  std::deque<std::string> unknown_names_;
  std::deque<EventDefinition> unknown_definitions_;
  std::unordered_map<std::string_view, const EventDefinition*> unknown_by_name_;
};

// "2026-11-23T04:30:30.123456789Z" → ns since the epoch (UTC).
std::optional<int64_t> parse_rfc3339(std::string_view text);

// "<boot tag>-<pid>-<start boot ns>-<exec gen>".
struct ExecIdParts {
  std::string_view boot_tag;
  uint32_t pid = 0;
  uint64_t start_boot_ns = 0;
  uint32_t exec_gen = 0;
};
std::optional<ExecIdParts> parse_exec_id(std::string_view text);

}  // namespace tracer
