#include "tracer/views/json_record.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "tracer/process/terminal.hpp"
#include "tracer/syscalls/syscall_decode.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {

namespace {

// A tty the record names but no tty= filter can: it matches none.
constexpr uint32_t kUnknownTtyDev = UINT32_MAX;

template <typename Integer>
std::optional<Integer> parse_decimal(std::string_view text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

// The socket family a name stands for: the inverse of describe_socket_address.
std::optional<sa_family_t> family_named(std::string_view name) {
  static const std::unordered_map<std::string, sa_family_t> families = [] {
    std::unordered_map<std::string, sa_family_t> table;
    for (sa_family_t family = 0; family < 256; ++family) {
      char bytes[sizeof(family)];
      std::memcpy(bytes, &family, sizeof(family));
      table.emplace(describe_socket_address(std::string_view(bytes, sizeof(bytes))).family, family);
    }
    return table;
  }();
  const auto found = families.find(std::string(name));
  if (found == families.end()) return std::nullopt;
  return found->second;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ: fixed positions, as Rfc3339Formatter writes.
  if (text.size() != 30 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != '.' || text[29] != 'Z')
    return std::nullopt;
  const auto year = parse_decimal<int64_t>(text.substr(0, 4));
  const auto month = parse_decimal<unsigned>(text.substr(5, 2));
  const auto day = parse_decimal<unsigned>(text.substr(8, 2));
  const auto hour = parse_decimal<int64_t>(text.substr(11, 2));
  const auto minute = parse_decimal<int64_t>(text.substr(14, 2));
  const auto second = parse_decimal<int64_t>(text.substr(17, 2));
  const auto nanoseconds = parse_decimal<int64_t>(text.substr(20, 9));
  if (!year || !month || !day || !hour || !minute || !second || !nanoseconds || *month < 1 || *month > 12 || *day < 1 ||
      *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  const int64_t seconds = days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
  return seconds * 1'000'000'000 + *nanoseconds;
}

std::optional<ExecIdParts> parse_exec_id(std::string_view text) {
  ExecIdParts parts;
  const size_t gen_dash = text.rfind('-');
  if (gen_dash == std::string_view::npos) return std::nullopt;
  const size_t start_dash = text.rfind('-', gen_dash - 1);
  if (start_dash == std::string_view::npos || start_dash == 0) return std::nullopt;
  const size_t pid_dash = text.rfind('-', start_dash - 1);
  if (pid_dash == std::string_view::npos) return std::nullopt;
  const auto pid = parse_decimal<uint32_t>(text.substr(pid_dash + 1, start_dash - pid_dash - 1));
  const auto start = parse_decimal<uint64_t>(text.substr(start_dash + 1, gen_dash - start_dash - 1));
  const auto gen = parse_decimal<uint32_t>(text.substr(gen_dash + 1));
  if (!pid || !start || !gen) return std::nullopt;
  parts.boot_tag = text.substr(0, pid_dash);
  parts.pid = *pid;
  parts.start_boot_ns = *start;
  parts.exec_gen = *gen;
  return parts;
}

// Walks one line. Strings without escapes are views into the line; the others
// are unescaped into storage, reserved up front to more than the line can
// need, so that no view into it moves.
class RecordParser {
 public:
  RecordParser(std::string_view line, JsonRecordReader& reader)
      : at_(line.data()), end_(line.data() + line.size()), reader_(reader), storage_(reader.storage_) {}

  Status record();

 private:
  bool fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    at_ = end_;
    return false;
  }
  void skip_space() {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\r')) ++at_;
  }
  bool next_is(char c) {
    skip_space();
    return at_ < end_ && *at_ == c;
  }
  bool expect(char c) {
    if (next_is(c)) {
      ++at_;
      return true;
    }
    return fail(std::string("expected '") + c + "'");
  }
  bool literal(std::string_view word) {
    skip_space();
    if (static_cast<size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word)
      return fail("expected " + std::string(word));
    at_ += word.size();
    return true;
  }
  // Appends to storage; the reserve made in read() leaves room for it.
  char* grow(size_t bytes) {
    const size_t old = storage_.size();
    if (old + bytes > storage_.capacity()) return nullptr;
    storage_.resize(old + bytes);
    return storage_.data() + old;
  }
  std::string_view stored(size_t from) const { return std::string_view(storage_).substr(from); }

  bool string(std::string_view& out);
  bool unescape_into_storage(const char* from, std::string_view& out);
  bool hex4(uint32_t& code);
  bool number(Value& out);
  template <typename Integer>
  bool unsigned_number(Integer& out);
  bool skip_value();

  template <typename Element>
  bool sequence(char open, char close, Element&& element);
  template <typename Member>
  bool object(Member&& member);
  template <typename Item>
  bool array(Item&& item);

  bool top_level_member(std::string_view key);
  bool task_member(std::string_view key, bool& known);
  bool exec_id(std::string_view text, uint32_t& pid, uint64_t& start, uint32_t& gen);
  bool process(ProcessSummary& out);
  bool syscall();
  bool flags();
  bool args();
  bool value(Value& out);
  bool string_list(StringList& out);
  bool socket_address(Value& out);
  bool session_member(std::string_view key, bool& known);

  const char* at_;
  const char* end_;
  JsonRecordReader& reader_;
  std::string& storage_;
  std::string error_;
  std::optional<ProcessSummary> parent_;
  bool have_ancestors_ = false;
};

bool RecordParser::hex4(uint32_t& code) {
  if (end_ - at_ < 4) return fail("a \\u escape cut short");
  code = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = *at_++;
    code <<= 4;
    if (c >= '0' && c <= '9')
      code |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      code |= static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      code |= static_cast<uint32_t>(c - 'A' + 10);
    else
      return fail("a \\u escape with a non-hex digit");
  }
  return true;
}

// The writer escapes each byte that is not valid UTF-8 as \u00XX (XX >= 80)
// and writes valid sequences raw: every \u00XX is that one byte again.
bool RecordParser::unescape_into_storage(const char* from, std::string_view& out) {
  const size_t start = storage_.size();
  at_ = from;
  while (true) {
    const char* run = at_;
    while (at_ < end_ && *at_ != '"' && *at_ != '\\') ++at_;
    if (at_ == end_) return fail("a string without its closing quote");
    char* room = grow(static_cast<size_t>(at_ - run));
    if (!room) return fail("a string larger than its line");
    std::memcpy(room, run, static_cast<size_t>(at_ - run));
    if (*at_ == '"') break;
    ++at_;
    if (at_ == end_) return fail("a string without its closing quote");
    char c = *at_++;
    uint32_t code = 0;
    switch (c) {
      case '"':
      case '\\':
      case '/': break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u':
        if (!hex4(code)) return false;
        break;
      default: return fail(std::string("an unknown escape \\") + c);
    }
    char encoded[4];
    size_t length = 1;
    encoded[0] = c;
    if (c == 'u') {
      if (code <= 0xff) {
        encoded[0] = static_cast<char>(code);
      } else if (code < 0x800) {
        encoded[0] = static_cast<char>(0xc0 | (code >> 6));
        encoded[1] = static_cast<char>(0x80 | (code & 0x3f));
        length = 2;
      } else {
        encoded[0] = static_cast<char>(0xe0 | (code >> 12));
        encoded[1] = static_cast<char>(0x80 | ((code >> 6) & 0x3f));
        encoded[2] = static_cast<char>(0x80 | (code & 0x3f));
        length = 3;
      }
    }
    char* slot = grow(length);
    if (!slot) return fail("a string larger than its line");
    std::memcpy(slot, encoded, length);
  }
  ++at_;
  out = stored(start);
  return true;
}

bool RecordParser::string(std::string_view& out) {
  if (!expect('"')) return false;
  const char* start = at_;
  const char* stop = static_cast<const char*>(std::memchr(at_, '"', static_cast<size_t>(end_ - at_)));
  if (!stop) return fail("a string without its closing quote");
  if (!std::memchr(start, '\\', static_cast<size_t>(stop - start))) {
    out = std::string_view(start, static_cast<size_t>(stop - start));
    at_ = stop + 1;
    return true;
  }
  return unescape_into_storage(start, out);
}

template <typename Integer>
bool RecordParser::unsigned_number(Integer& out) {
  skip_space();
  const auto [end, error] = std::from_chars(at_, end_, out);
  if (error != std::errc() || end == at_) return fail("expected an unsigned number");
  at_ = end;
  return true;
}

bool RecordParser::number(Value& out) {
  skip_space();
  if (at_ < end_ && *at_ == '-') {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(at_, end_, value);
    if (error != std::errc()) return fail("a number out of range");
    at_ = end;
    out = value;
    return true;
  }
  uint64_t value = 0;
  if (!unsigned_number(value)) return false;
  out = value;
  return true;
}

// '{' or '[', elements separated by ',', then the closing bracket.
template <typename Element>
bool RecordParser::sequence(char open, char close, Element&& element) {
  if (!expect(open)) return false;
  if (next_is(close)) {
    ++at_;
    return true;
  }
  while (true) {
    if (!element()) return false;
    if (!next_is(',')) return expect(close);
    ++at_;
  }
}

template <typename Member>
bool RecordParser::object(Member&& member) {
  return sequence('{', '}', [&] {
    std::string_view key;
    return string(key) && expect(':') && member(key);
  });
}

template <typename Item>
bool RecordParser::array(Item&& item) {
  return sequence('[', ']', item);
}

bool RecordParser::skip_value() {
  skip_space();
  if (at_ == end_) return fail("a value is missing");
  std::string_view ignored;
  Value number_value;
  switch (*at_) {
    case '"': return string(ignored);
    case '{': return object([&](std::string_view) { return skip_value(); });
    case '[': return array([&] { return skip_value(); });
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    default: return number(number_value);
  }
}

bool RecordParser::exec_id(std::string_view text, uint32_t& pid, uint64_t& start, uint32_t& gen) {
  const std::optional<ExecIdParts> parts = parse_exec_id(text);
  if (!parts) return fail("an exec_id that is not BOOT-PID-START-GEN");
  if (reader_.boot_tag_ != parts->boot_tag) reader_.boot_tag_.assign(parts->boot_tag);
  pid = parts->pid;
  start = parts->start_boot_ns;
  gen = parts->exec_gen;
  return true;
}

// Elements NUL-terminated, so that [""] stays one empty string. An element
// that had escapes was unescaped to the end of storage: it is in place.
bool RecordParser::string_list(StringList& out) {
  const size_t start = storage_.size();
  const bool parsed = array([&] {
    const char* tail = storage_.data() + storage_.size();
    std::string_view item;
    if (!string(item)) return false;
    const bool in_place = item.data() == tail && !item.empty();
    char* room = grow(in_place ? 1 : item.size() + 1);
    if (!room) return fail("a list larger than its line");
    if (!in_place) std::memcpy(room, item.data(), item.size());
    storage_.back() = '\0';
    return true;
  });
  if (!parsed) return false;
  out.nul_separated = stored(start);
  return true;
}

// The struct sockaddr that describe_socket_address turns into this object.
bool RecordParser::socket_address(Value& out) {
  std::string_view family_name;
  std::optional<std::string_view> address;
  std::optional<std::string_view> path;
  uint16_t port = 0;
  bool abstract = false;
  const bool parsed = object([&](std::string_view key) {
    if (key == "family") return string(family_name);
    if (key == "address") return string(address.emplace());
    if (key == "path") return string(path.emplace());
    if (key == "port") return unsigned_number(port);
    if (key == "abstract") {
      abstract = next_is('t');
      return literal(abstract ? "true" : "false");
    }
    return skip_value();
  });
  if (!parsed) return false;
  const size_t start = storage_.size();
  if (family_name == "AF_UNSPEC" && !address && !path) {
    out = SocketAddress{};
    return true;
  }
  const std::optional<sa_family_t> family = family_named(family_name);
  if (!family) return fail("an unknown socket family " + std::string(family_name));
  sockaddr_storage raw{};
  size_t size = sizeof(sa_family_t);
  raw.ss_family = *family;
  if (address && *family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&raw);
    if (inet_pton(AF_INET, std::string(*address).c_str(), &in->sin_addr) != 1) return fail("a bad IPv4 address");
    in->sin_port = htons(port);
    size = sizeof(sockaddr_in);
  } else if (address && *family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&raw);
    if (inet_pton(AF_INET6, std::string(*address).c_str(), &in6->sin6_addr) != 1) return fail("a bad IPv6 address");
    in6->sin6_port = htons(port);
    size = sizeof(sockaddr_in6);
  }
  const size_t path_bytes = path ? path->size() + (abstract ? 1 : 0) : 0;
  char* room = grow(size + path_bytes);
  if (!room) return fail("a socket address larger than its line");
  std::memcpy(room, &raw, size);
  if (path) {
    if (abstract) *(room + size) = '\0';
    std::memcpy(room + size + (abstract ? 1 : 0), path->data(), path->size());
  }
  out = SocketAddress{stored(start)};
  return true;
}

bool RecordParser::value(Value& out) {
  skip_space();
  if (at_ == end_) return fail("a value is missing");
  switch (*at_) {
    case '"': {
      std::string_view text;
      if (!string(text)) return false;
      out = text;
      return true;
    }
    case '[': {
      StringList list;
      if (!string_list(list)) return false;
      out = list;
      return true;
    }
    case '{': return socket_address(out);
    case 't': out = true; return literal("true");
    case 'f': out = false; return literal("false");
    case 'n': out = nullptr; return literal("null");
    default: return number(out);
  }
}

bool RecordParser::args() {
  Event& event = reader_.event_;
  return object([&](std::string_view key) {
    // The exact bytes of a string that was not valid UTF-8: its escapes give
    // them again, and the writer adds them anew.
    if (key.ends_with("_b64")) return skip_value();
    Value argument;
    if (!value(argument)) return false;
    event.args.add(key, argument);
    return true;
  });
}

bool RecordParser::flags() {
  Event& event = reader_.event_;
  return array([&] {
    std::string_view name;
    if (!string(name)) return false;
    for (const auto& [flag, flag_name] : kEventFlagNames)
      if (flag_name == name) event.set(flag);
    return true;  // invalid_utf8 is found again when the record is written
  });
}

bool RecordParser::syscall() {
  SyscallRaw& raw = reader_.event_.syscall.emplace();
  raw.no_return = true;
  return object([&](std::string_view key) {
    if (key == "nr") return unsigned_number(raw.number);
    if (key == "duration_ns") {
      raw.no_return = false;
      return unsigned_number(raw.duration_ns);
    }
    if (key != "raw_args") return skip_value();
    return array([&] {
      Value argument;
      if (!number(argument)) return false;
      if (raw.count == raw.args.size()) return fail("more than 6 raw_args");
      if (const auto* negative = std::get_if<int64_t>(&argument)) {
        raw.signed_mask |= static_cast<uint8_t>(1u << raw.count);
        raw.args[raw.count++] = static_cast<uint64_t>(*negative);
      } else {
        raw.args[raw.count++] = std::get<uint64_t>(argument);
      }
      return true;
    });
  });
}

bool RecordParser::process(ProcessSummary& out) {
  return object([&](std::string_view key) {
    if (key == "pid") return unsigned_number(out.pid);
    if (key == "comm") return string(out.comm);
    if (key == "exe") return string(out.exe);
    if (key == "argv") return string_list(out.argv);
    if (key == "argv_truncated") {
      out.argv_truncated = next_is('t');
      return literal(out.argv_truncated ? "true" : "false");
    }
    if (key == "exec_id") {
      std::string_view text;
      uint32_t pid = 0;
      return string(text) && exec_id(text, pid, out.start_boot_ns, out.exec_gen.emplace());
    }
    return skip_value();
  });
}

// Who the caller acts as, and where: also kept for tree --session (sid, auid,
// tty). A tty name the tracer does not number (not pts/N, ttyN, ttySN or
// MAJ:MIN) matches no tty= filter.
bool RecordParser::session_member(std::string_view key, bool& known) {
  known = true;
  SessionFields& session = reader_.session_;
  Event& event = reader_.event_;
  TaskContext& task = event.task;
  if (key == "euid") return unsigned_number(task.euid);
  if (key == "egid") return unsigned_number(task.egid);
  if (key == "sid") {
    if (!unsigned_number(task.sid)) return false;
    session.sid = task.sid;
    return true;
  }
  if (key == "auid" || key == "sessionid") {
    std::optional<uint32_t>& value = key == "auid" ? task.auid : task.sessionid;
    if (next_is('n')) return literal("null");
    if (!unsigned_number(value.emplace())) return false;
    if (key == "auid") session.auid = *value;
    return true;
  }
  if (key == "tty" || key == "host") {
    std::optional<std::string_view>& value = key == "tty" ? event.tty : event.host;
    if (next_is('n')) return literal("null");
    if (!string(value.emplace())) return false;
    if (key == "tty") {
      session.tty = *value;
      task.tty_dev = tty_dev_of_name(*value).value_or(kUnknownTtyDev);
    }
    return true;
  }
  known = false;
  return true;
}

bool RecordParser::task_member(std::string_view key, bool& known) {
  TaskContext& task = reader_.event_.task;
  known = true;
  if (key == "pid") return unsigned_number(task.pid);
  if (key == "tid") return unsigned_number(task.tid);
  if (key == "ppid") return unsigned_number(task.ppid);
  if (key == "ns_pid") return unsigned_number(task.ns_pid);
  if (key == "uid") return unsigned_number(task.uid);
  if (key == "gid") return unsigned_number(task.gid);
  if (key == "comm") return string(task.comm);
  if (key == "cgroup_id") return unsigned_number(task.cgroup_id);
  if (key == "mntns") return unsigned_number(task.mntns);
  if (key == "pidns") return unsigned_number(task.pidns);
  std::string_view text;
  if (key == "exec_id") return string(text) && exec_id(text, task.pid, task.start_boot_ns, task.exec_gen);
  if (key == "parent_exec_id") {
    if (next_is('n')) return literal("null");
    return string(text) && exec_id(text, task.ppid, task.parent_start_boot_ns, task.parent_exec_gen);
  }
  known = false;
  return true;
}

bool RecordParser::top_level_member(std::string_view key) {
  Event& event = reader_.event_;
  bool known = false;
  bool parsed = task_member(key, known);
  if (known) return parsed;
  parsed = session_member(key, known);
  if (known) return parsed;
  std::string_view text;
  if (key == "timestamp") {
    if (!string(text)) return false;
    const std::optional<int64_t> wall_ns = parse_rfc3339(text);
    if (!wall_ns || *wall_ns < 0) return fail("a timestamp that is not YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ");
    event.boot_ns = static_cast<uint64_t>(*wall_ns);
    return true;
  }
  if (key == "event") {
    if (!string(text)) return false;
    event.definition = reader_.definition_of(text);
    return true;
  }
  if (key == "container_id") {
    if (next_is('n')) return literal("null");
    return string(event.container_id);
  }
  if (key == "cwd") return string(event.cwd.emplace());
  if (key == "ret") {
    Value ret;
    if (!number(ret)) return false;
    event.ret =
        std::holds_alternative<int64_t>(ret) ? std::get<int64_t>(ret) : static_cast<int64_t>(std::get<uint64_t>(ret));
    return true;
  }
  if (key == "parent") return process(parent_.emplace());
  if (key == "ancestors") {
    have_ancestors_ = true;
    return array([&] { return process(reader_.lineage_.emplace_back()); });
  }
  if (key == "syscall") return syscall();
  if (key == "flags") return flags();
  if (key == "args") return args();
  return skip_value();  // errno (found again from ret), and fields of later versions
}

Status RecordParser::record() {
  const bool parsed = object([&](std::string_view key) { return top_level_member(key); });
  if (!parsed || !error_.empty()) return runtime_error(error_.empty() ? "not a JSON object" : error_);
  skip_space();
  if (at_ != end_) return runtime_error("text after the record");
  Event& event = reader_.event_;
  if (!event.definition) return runtime_error("a record without \"event\"");
  if (!have_ancestors_ && parent_) reader_.lineage_.push_back(*parent_);
  reader_.had_ancestors_ = have_ancestors_;
  event.lineage = reader_.lineage_;
  return ok_status();
}

const EventDefinition* JsonRecordReader::definition_of(std::string_view name) {
  if (const EventDefinition* known = find_event(name)) return known;
  if (const EventDefinition* function = user_functions_.find(name)) return function;
  if (const auto found = unknown_by_name_.find(name); found != unknown_by_name_.end()) return found->second;
  const std::string& owned = unknown_names_.emplace_back(name);
  const EventDefinition& made =
      unknown_definitions_.emplace_back(EventDefinition{kUnknownEventId, owned, "", false, false, {}});
  unknown_by_name_.emplace(owned, &made);
  return &made;
}

Result<const Event*> JsonRecordReader::read(std::string_view line) {
  event_ = Event{};
  lineage_.clear();
  session_ = SessionFields{};
  storage_.clear();
  // Decoded text is never longer than its JSON; lists add one NUL per item
  // and addresses a fixed part, each less than the JSON they came from.
  const size_t room = 2 * line.size() + 256;
  if (storage_.capacity() < room) storage_.reserve(room);
  RecordParser parser(line, *this);
  if (Status status = parser.record(); !status) return status.take_error();
  return &event_;
}

}  // namespace tracer
