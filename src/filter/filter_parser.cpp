#include <algorithm>
#include <bitset>
#include <cctype>
#include <charconv>
#include <string>

#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/value_visit.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/process/terminal.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_decode.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

enum class Op { eq, ne, gt, ge, lt, le };

struct Expression {
  std::string field;
  Op op;
  std::string value;
};

struct NumericFieldName {
  std::string_view name;
  tracer_filter_field field;
  bool ordered;  // < > make sense (ids), not for namespace or cgroup ids
};

constexpr NumericFieldName kNumericFields[] = {
    {"uid", TRACER_FIELD_UID, true},      {"gid", TRACER_FIELD_GID, true},        {"pid", TRACER_FIELD_PID, true},
    {"tid", TRACER_FIELD_TID, true},      {"ppid", TRACER_FIELD_PPID, true},      {"mntns", TRACER_FIELD_MNTNS, false},
    {"pidns", TRACER_FIELD_PIDNS, false}, {"cgroup", TRACER_FIELD_CGROUP, false}, {"euid", TRACER_FIELD_EUID, true},
    {"auid", TRACER_FIELD_AUID, true},    {"tty", TRACER_FIELD_TTY, false},
};

constexpr std::string_view kFieldList =
    "uid, gid, euid, auid, pid, tid, ppid, tty, comm, exe, mntns, pidns, cgroup, container, event, follow";

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Error fail(const std::string& what) const { return usage_error("--trace '" + text_ + "': " + what); }

  // Splits FIELD OP VALUE at the first operator.
  Result<Expression> split() const {
    const size_t at = text_.find_first_of("!=<>");
    if (at == std::string::npos || at == 0)
      return fail("expected FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, ... or follow");
    Expression expression;
    expression.field = text_.substr(0, at);
    const std::string_view rest = std::string_view(text_).substr(at);
    size_t op_length = 1;
    if (rest.starts_with("!=")) {
      expression.op = Op::ne;
      op_length = 2;
    } else if (rest.starts_with(">=")) {
      expression.op = Op::ge;
      op_length = 2;
    } else if (rest.starts_with("<=")) {
      expression.op = Op::le;
      op_length = 2;
    } else if (rest.starts_with('=')) {
      expression.op = Op::eq;
    } else if (rest.starts_with('>')) {
      expression.op = Op::gt;
    } else if (rest.starts_with('<')) {
      expression.op = Op::lt;
    } else {
      return fail("'!' must be followed by '='");
    }
    expression.value = std::string(rest.substr(op_length));
    if (expression.value.empty()) return fail(expression.field + " needs a value");
    return expression;
  }

  Result<std::vector<std::string>> values(const Expression& expression) const {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
      const size_t comma = expression.value.find(',', start);
      std::string item = expression.value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (item.empty()) return fail("empty value in the list");
      out.push_back(std::move(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (out.size() > 1 && expression.op != Op::eq && expression.op != Op::ne)
      return fail("a list of values needs = or !=");
    return out;
  }

  Result<uint64_t> number(const std::string& field, const std::string& value) const {
    uint64_t parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size()) return fail(field + " needs a number");
    return parsed;
  }

  Result<Pattern> pattern(const std::string& field, const std::string& value, size_t max_length) const {
    Pattern parsed;
    std::string text = value;
    const bool leading = text.starts_with('*');
    const bool trailing = text.size() > 1 && text.ends_with('*');
    if (leading) text.erase(0, 1);
    if (trailing) text.pop_back();
    if (text.find('*') != std::string::npos) return fail("'*' is allowed only as a prefix or suffix");
    parsed.kind = leading && trailing ? TRACER_PATTERN_CONTAINS
                  : leading           ? TRACER_PATTERN_SUFFIX
                  : trailing          ? TRACER_PATTERN_PREFIX
                                      : TRACER_PATTERN_EXACT;
    if (text.empty() && parsed.kind != TRACER_PATTERN_SUFFIX) return fail(field + " needs a value");
    if (text.size() > max_length)
      return fail(field + " values are at most " + std::to_string(max_length) + " characters");
    parsed.text = std::move(text);
    return parsed;
  }

 private:
  const std::string& text_;
};

// A number, or for auid and tty the names the kernel's value stands for:
// auid=unset (never logged in), tty=pts/3, tty=none.
Result<uint64_t> numeric_value(const Parser& parser, const NumericFieldName& name, const std::string& value) {
  if (name.field == TRACER_FIELD_AUID && value == "unset") return uint64_t{TRACER_ID_UNSET};
  if (name.field != TRACER_FIELD_TTY) return parser.number(std::string(name.name), value);
  if (std::optional<uint32_t> dev = tty_dev_of_name(value)) return uint64_t{*dev};
  return parser.fail("tty needs pts/N, ttyN, ttySN, MAJOR:MINOR or none");
}

Status apply_numeric(const Parser& parser, const NumericFieldName& name, const Expression& expression,
                     const std::vector<std::string>& values, NumericConstraint& constraint) {
  const std::string field(name.name);
  if (!name.ordered && expression.op != Op::eq && expression.op != Op::ne)
    return parser.fail(field + " takes only = or !=");
  std::set<uint64_t> parsed;
  for (const std::string& value : values) {
    Result<uint64_t> number = numeric_value(parser, name, value);
    if (!number) return number.take_error();
    parsed.insert(*number);
  }
  const uint64_t single = *parsed.begin();
  switch (expression.op) {
    case Op::eq:
      if (constraint.has_in) {
        std::set<uint64_t> both;
        std::set_intersection(constraint.in.begin(), constraint.in.end(), parsed.begin(), parsed.end(),
                              std::inserter(both, both.begin()));
        constraint.in = std::move(both);
      } else {
        constraint.in = std::move(parsed);
        constraint.has_in = true;
      }
      break;
    case Op::ne: constraint.not_in.insert(parsed.begin(), parsed.end()); break;
    case Op::gt:
      if (single == UINT64_MAX) return parser.fail("no " + field + " is greater than " + values[0]);
      constraint.min = std::max(constraint.min, single + 1);
      break;
    case Op::ge: constraint.min = std::max(constraint.min, single); break;
    case Op::lt:
      if (single == 0) return parser.fail("no " + field + " is less than 0");
      constraint.max = std::min(constraint.max, single - 1);
      break;
    case Op::le: constraint.max = std::min(constraint.max, single); break;
  }
  // Fold exclusions into an explicit set, and check that something is left.
  if (constraint.has_in) {
    std::erase_if(constraint.in, [&](uint64_t value) {
      return value < constraint.min || value > constraint.max || constraint.not_in.count(value);
    });
    if (constraint.in.empty())
      return parser.fail("contradicts the other " + field + " filters: no " + field + " is left");
  } else if (constraint.min > constraint.max) {
    return parser.fail("contradicts the other " + field + " filters: no " + field + " is left");
  }
  return ok_status();
}

Status apply_text(const Parser& parser, const std::string& field, const Expression& expression,
                  const std::vector<std::string>& values, size_t max_length, TextConstraint& constraint) {
  if (expression.op != Op::eq && expression.op != Op::ne) return parser.fail(field + " takes only = or !=");
  if (expression.op == Op::eq && !constraint.include.empty())
    return parser.fail(field + "= may be given once; list its values in one expression, e.g. " + field + "=a,b");
  std::vector<Pattern>& target = expression.op == Op::eq ? constraint.include : constraint.exclude;
  for (const std::string& value : values) {
    Result<Pattern> pattern = parser.pattern(field, value, max_length);
    if (!pattern) return pattern.take_error();
    if (field == "exe" && pattern->kind == TRACER_PATTERN_CONTAINS)
      return parser.fail("exe takes '*' as a prefix or a suffix, not both");
    if (field == "exe" && pattern->kind != TRACER_PATTERN_SUFFIX && !pattern->text.starts_with('/'))
      return parser.fail("exe needs an absolute path, e.g. exe=/usr/bin/*");
    target.push_back(std::move(*pattern));
  }
  // The kernel keeps exact comms in a map; patterns (and every exe) in a
  // fixed table.
  const auto in_table = [&](const Pattern& pattern) { return field == "exe" || pattern.kind != TRACER_PATTERN_EXACT; };
  const auto table_size = std::count_if(constraint.include.begin(), constraint.include.end(), in_table) +
                          std::count_if(constraint.exclude.begin(), constraint.exclude.end(), in_table);
  if (table_size > TRACER_FILTER_MAX_PATTERNS)
    return parser.fail("at most " + std::to_string(TRACER_FILTER_MAX_PATTERNS) + " " + field + " patterns");
  return ok_status();
}

Status apply_container(const Parser& parser, const Expression& expression, const std::vector<std::string>& values,
                       FilterSpec& spec) {
  if (expression.op != Op::eq) return parser.fail("container takes only =; !container selects the host");
  if (spec.container == ContainerScope::host) return parser.fail("contradicts !container");
  spec.container = ContainerScope::only;
  for (const std::string& value : values) {
    if (value == "new") {
      spec.container_new = true;
      continue;
    }
    std::string id;
    for (char c : value) id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (id.size() < 12 || id.size() > TRACER_CONTAINER_ID_LEN ||
        id.find_first_not_of("0123456789abcdef") != std::string::npos)
      return parser.fail("a container id is 12 to 64 hex digits (a unique prefix of the 64-digit id), or 'new'");
    spec.container_ids.push_back(std::move(id));
  }
  if (spec.container_ids.size() > TRACER_CONTAINER_MAX_IDS)
    return parser.fail("at most " + std::to_string(TRACER_CONTAINER_MAX_IDS) + " container ids");
  return ok_status();
}

// The events an event= list names: built-in ones as bits, syscalls (and
// @groups of them) by number.
struct EventSelection {
  uint64_t builtin = 0;
  std::bitset<TRACER_SYSCALL_NR_MAX> syscalls;
  std::bitset<TRACER_USER_FUNCTION_MAX> user_functions;
  bool empty() const { return builtin == 0 && syscalls.none() && user_functions.none(); }
  void add(const EventDefinition& definition) {
    if (std::optional<uint16_t> number = syscall_of_event(definition.id))
      syscalls.set(*number);
    else if (std::optional<uint32_t> slot = user_slot_of_event(definition.id))
      user_functions.set(*slot);
    else
      builtin |= uint64_t{1} << definition.id;
  }
};

// An event by name: built-in, syscall, or user tracer.
const EventDefinition* find_any_event(std::string_view name, const UserFunctions& user_functions) {
  if (const EventDefinition* definition = user_functions.find(name)) return definition;
  return find_event(name);
}

std::string unknown_event_message(const std::string& value) {
  std::string message = "unknown event '" + value + "'";
  const std::vector<std::string> closest = closest_event_names(value, 3);
  if (!closest.empty()) {
    message += " (did you mean ";
    for (size_t i = 0; i < closest.size(); ++i) {
      if (i) message += ", ";
      message += closest[i];
    }
    message += "?)";
  }
  return message + "; tracer --list shows the events";
}

Status apply_events(const Parser& parser, const Expression& expression, const std::vector<std::string>& values,
                    const UserFunctions& user_functions, bool& events_given, EventSelection& wanted) {
  if (expression.op != Op::eq && expression.op != Op::ne) return parser.fail("event takes only = or !=");
  EventSelection listed;
  for (const std::string& value : values) {
    if (value.starts_with('@')) {
      std::optional<std::vector<uint16_t>> group = syscall_group_numbers(value);
      if (!group) return parser.fail(unknown_event_message(value));
      // execve/execveat in @proc are the exec events, with their own records:
      // find_event gives the built-in event for those names.
      for (uint16_t number : *group) listed.add(*find_event(syscall_event(number)->name));
      continue;
    }
    const EventDefinition* definition = find_any_event(value, user_functions);
    if (!definition) return parser.fail(unknown_event_message(value));
    if (!definition->implemented) return parser.fail("event '" + value + "' is not produced by this version");
    listed.add(*definition);
  }
  if (expression.op == Op::eq) {
    if (events_given) {
      wanted.builtin &= listed.builtin;
      wanted.syscalls &= listed.syscalls;
      wanted.user_functions &= listed.user_functions;
    } else {
      wanted = listed;
    }
    events_given = true;
  } else {
    wanted.builtin &= ~listed.builtin;
    wanted.syscalls &= ~listed.syscalls;
    wanted.user_functions &= ~listed.user_functions;
  }
  if (wanted.empty()) return parser.fail("no event is left to trace");
  return ok_status();
}

Status apply_argument(const Parser& parser, const Expression& expression, const std::vector<std::string>& values,
                      const std::string& text, const UserFunctions& user_functions, FilterSpec& spec) {
  if (expression.op != Op::eq && expression.op != Op::ne) return parser.fail("argument filters take only = or !=");
  const size_t dot = expression.field.find('.');
  const std::string event_name = expression.field.substr(0, dot);
  const std::string argument = expression.field.substr(dot + 1);
  const EventDefinition* definition = find_any_event(event_name, user_functions);
  if (!definition) return parser.fail("unknown event '" + event_name + "' (tracer --list shows the events)");
  if (argument.empty()) return parser.fail("expected EVENT.ARGUMENT, e.g. execve.pathname");
  // A syscall's argument names come from the kernel at start-up: checked then.
  const auto& names = definition->argument_names;
  if (!syscall_of_event(definition->id) && std::find(names.begin(), names.end(), argument) == names.end())
    return parser.fail(event_name + " has no argument '" + argument + "'");
  ArgumentFilter filter;
  filter.event_id = definition->id;
  filter.argument = argument;
  filter.negate = expression.op == Op::ne;
  filter.expression = text;
  for (const std::string& value : values) {
    Result<Pattern> pattern = parser.pattern(expression.field, value, 4096);
    if (!pattern) return pattern.take_error();
    filter.patterns.push_back(std::move(*pattern));
  }
  spec.argument_filters.push_back(std::move(filter));
  return ok_status();
}

}  // namespace

bool Pattern::matches(std::string_view value) const {
  switch (kind) {
    case TRACER_PATTERN_EXACT: return value == text;
    case TRACER_PATTERN_PREFIX: return value.starts_with(text);
    case TRACER_PATTERN_SUFFIX: return value.ends_with(text);
    case TRACER_PATTERN_CONTAINS: return value.find(text) != std::string_view::npos;
  }
  return false;
}

Result<FilterSpec> parse_filters(const std::vector<std::string>& expressions) {
  const UserFunctions builtin_only({});
  return parse_filters(expressions, builtin_only);
}

Result<FilterSpec> parse_filters(const std::vector<std::string>& expressions, const UserFunctions& user_functions) {
  FilterSpec spec;
  bool events_given = false;
  EventSelection wanted;
  for (const EventDefinition& definition : event_definitions())
    if (definition.on_by_default) wanted.add(definition);
  for (const EventDefinition& definition : user_functions.definitions())
    if (definition.on_by_default) wanted.add(definition);

  for (const std::string& text : expressions) {
    const Parser parser(text);
    if (text == "follow") {
      spec.follow = true;
      continue;
    }
    if (text == "container") {
      if (spec.container == ContainerScope::host) return parser.fail("contradicts !container");
      spec.container = ContainerScope::only;
      continue;
    }
    if (text == "!container") {
      if (spec.container == ContainerScope::only) return parser.fail("contradicts the other container filters");
      spec.container = ContainerScope::host;
      continue;
    }
    Result<Expression> expression = parser.split();
    if (!expression) return expression.take_error();
    Result<std::vector<std::string>> values = parser.values(*expression);
    if (!values) return values.take_error();
    const std::string& field = expression->field;

    Status status = ok_status();
    if (field.find('.') != std::string::npos) {
      status = apply_argument(parser, *expression, *values, text, user_functions, spec);
    } else if (field == "pid" && expression->value == "new") {
      if (expression->op != Op::eq) return parser.fail("pid=new takes only =");
      spec.only_new = true;
    } else if (field == "comm") {
      status = apply_text(parser, field, *expression, *values, TRACER_COMM_LEN - 1, spec.comm);
    } else if (field == "exe") {
      status = apply_text(parser, field, *expression, *values, TRACER_EXE_PATTERN_MAX - 1, spec.exe);
    } else if (field == "event") {
      status = apply_events(parser, *expression, *values, user_functions, events_given, wanted);
    } else if (field == "container") {
      status = apply_container(parser, *expression, *values, spec);
    } else {
      const auto numeric = std::find_if(std::begin(kNumericFields), std::end(kNumericFields),
                                        [&](const NumericFieldName& name) { return name.name == field; });
      if (numeric == std::end(kNumericFields))
        return parser.fail("unknown field '" + field + "' (expected one of " + std::string(kFieldList) +
                           ", or EVENT.ARGUMENT)");
      status = apply_numeric(parser, *numeric, *expression, *values, spec.numeric[numeric->field]);
    }
    if (!status) return status.take_error();
  }
  spec.wanted_events = wanted.builtin;
  spec.wanted_syscalls = wanted.syscalls;
  spec.wanted_user_functions = wanted.user_functions;
  spec.events_given = events_given;
  return spec;
}

namespace {

// The decoded texts an argument filter compares with: the value as text,
// each string of a list, and for a symbolic number also the number itself.
template <typename Test>
struct FilterTexts {
  Test& test;

  template <typename Integer>
  void number(Integer value) {
    test(std::to_string(value));
  }
  void boolean(bool value) { test(value ? "true" : "false"); }
  void text(std::string_view value) { test(value); }
  void list_item(std::string_view item, bool) { test(item); }
  void symbolic(const SymbolicValue& value) {
    test(symbolic_text(value));
    test(std::to_string(value.raw));
  }
  void address(const SocketAddressFields& fields) {
    if (fields.address && fields.port) test(*fields.address + ":" + std::to_string(*fields.port));
    if (fields.path) test(*fields.path);
  }
  void bytes(std::string_view value) {
    std::string hex;
    append_hex(hex, value);
    test(hex);
  }
  void null() { test("NULL"); }
};

// family, address, port, path: a field of the event's socket address.
template <typename Test>
bool for_each_socket_field(const Event& event, std::string_view field, Test&& test) {
  for (const Arg& arg : event.args) {
    const auto* address = std::get_if<SocketAddress>(&arg.value);
    if (!address) continue;
    const SocketAddressFields fields = describe_socket_address(address->bytes);
    if (field == "family") test(fields.family);
    if (field == "address" && fields.address) test(*fields.address);
    if (field == "port" && fields.port) test(std::to_string(*fields.port));
    if (field == "path" && fields.path) test(*fields.path);
    return true;
  }
  return false;
}

}  // namespace

bool passes_argument_filters(const FilterSpec& filters, const Event& event) {
  for (const ArgumentFilter& filter : filters.argument_filters) {
    if (filter.event_id != event.definition->id) continue;
    bool matched = false;
    const auto test = [&](std::string_view value) {
      for (const Pattern& pattern : filter.patterns) matched |= pattern.matches(value);
    };
    if (const Arg* argument = event.args.find(filter.argument)) {
      FilterTexts<decltype(test)> texts{test};
      visit_value(argument->value, texts);
    } else {
      for_each_socket_field(event, filter.argument, test);
    }
    if (matched == filter.negate) return false;
  }
  return true;
}

}  // namespace tracer
