#include "tracer/filter/filter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter_compile.hpp"
#include "tracer/process/terminal.hpp"

namespace tracer {
namespace {

FilterSpec parse_ok(const std::vector<std::string>& expressions) {
  Result<FilterSpec> spec = parse_filters(expressions);
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message);
  return spec.ok() ? *spec : FilterSpec{};
}

std::string parse_error(const std::vector<std::string>& expressions) {
  Result<FilterSpec> spec = parse_filters(expressions);
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return "";
  EXPECT_EQ(spec.error().kind, ExitKind::usage);
  return spec.error().message;
}

const NumericConstraint& uid_of(const FilterSpec& spec) { return spec.numeric[TRACER_FIELD_UID]; }

// One numeric field as the kernel judges it (bpf/filter.bpf.h), from the
// compiled filter.
bool kernel_allows(const FilterSpec& spec, tracer_filter_field field, uint64_t value) {
  const KernelFilter compiled = compile_filter(spec, 0);
  const tracer_filter_config& config = compiled.config;
  if (!(config.active_fields & (1u << field))) return true;
  if (value < config.range_min[field] || value > config.range_max[field]) return false;
  if (config.set_mode[field] == TRACER_SET_NONE) return true;
  const bool listed =
      std::any_of(compiled.values.begin(), compiled.values.end(),
                  [&](const tracer_filter_value_key& key) { return key.field == field && key.value == value; });
  return (config.set_mode[field] == TRACER_SET_IN) == listed;
}
bool uid_allows(const FilterSpec& spec, uint64_t uid) { return kernel_allows(spec, TRACER_FIELD_UID, uid); }

// comm or exe: some include matches (when there are includes), no exclude.
bool text_allows(const TextConstraint& constraint, std::string_view value) {
  const auto match = [&](const Pattern& pattern) { return pattern.matches(value); };
  if (!constraint.include.empty() && std::none_of(constraint.include.begin(), constraint.include.end(), match))
    return false;
  return std::none_of(constraint.exclude.begin(), constraint.exclude.end(), match);
}

TEST(FilterParse, NoExpressionsTracesTheDefaultEvents) {
  const FilterSpec spec = parse_ok({});
  EXPECT_FALSE(compile_filter(spec, 0).config.enabled);
  EXPECT_TRUE(spec.wants(TRACER_EVENT_EXECVE));
  EXPECT_TRUE(spec.wants(TRACER_EVENT_EXECVEAT));
  EXPECT_FALSE(spec.wants(TRACER_EVENT_SCHED_PROCESS_FORK));
}

TEST(FilterParse, EveryNumericOperator) {
  EXPECT_TRUE(uid_allows(parse_ok({"uid=1000"}), 1000));
  EXPECT_FALSE(uid_allows(parse_ok({"uid=1000"}), 1001));
  EXPECT_FALSE(uid_allows(parse_ok({"uid!=0"}), 0));
  EXPECT_TRUE(uid_allows(parse_ok({"uid!=0"}), 1));
  EXPECT_FALSE(uid_allows(parse_ok({"uid>999"}), 999));
  EXPECT_TRUE(uid_allows(parse_ok({"uid>999"}), 1000));
  EXPECT_TRUE(uid_allows(parse_ok({"uid>=1000"}), 1000));
  EXPECT_FALSE(uid_allows(parse_ok({"uid>=1000"}), 999));
  EXPECT_TRUE(uid_allows(parse_ok({"uid<1000"}), 999));
  EXPECT_FALSE(uid_allows(parse_ok({"uid<1000"}), 1000));
  EXPECT_TRUE(uid_allows(parse_ok({"uid<=999"}), 999));
  EXPECT_FALSE(uid_allows(parse_ok({"uid<=999"}), 1000));
  for (const char* field : {"gid", "pid", "tid", "ppid"}) {
    const FilterSpec spec = parse_ok({std::string(field) + ">=5"});
    EXPECT_TRUE(compile_filter(spec, 0).config.enabled) << field;
  }
  EXPECT_TRUE(kernel_allows(parse_ok({"mntns=4026531841"}), TRACER_FIELD_MNTNS, 4026531841));
  EXPECT_TRUE(kernel_allows(parse_ok({"cgroup!=1"}), TRACER_FIELD_CGROUP, 2));
}

TEST(FilterParse, IdentityFields) {
  EXPECT_TRUE(kernel_allows(parse_ok({"euid=0"}), TRACER_FIELD_EUID, 0));
  EXPECT_FALSE(kernel_allows(parse_ok({"euid=0"}), TRACER_FIELD_EUID, 1000));
  EXPECT_TRUE(kernel_allows(parse_ok({"auid>=1000"}), TRACER_FIELD_AUID, 1000));
  EXPECT_FALSE(kernel_allows(parse_ok({"auid>=1000", "auid!=unset"}), TRACER_FIELD_AUID, TRACER_ID_UNSET));
  EXPECT_TRUE(kernel_allows(parse_ok({"auid=unset"}), TRACER_FIELD_AUID, TRACER_ID_UNSET));
  const FilterSpec tty = parse_ok({"tty=pts/3,tty1,ttyS0,188:0"});
  for (uint64_t dev : {(136u << 20) | 3, (4u << 20) | 1, (4u << 20) | 64, 188u << 20})
    EXPECT_TRUE(kernel_allows(tty, TRACER_FIELD_TTY, dev)) << dev;
  EXPECT_FALSE(kernel_allows(tty, TRACER_FIELD_TTY, (136u << 20) | 4));
  EXPECT_FALSE(kernel_allows(tty, TRACER_FIELD_TTY, 0));
  EXPECT_TRUE(kernel_allows(parse_ok({"tty=none"}), TRACER_FIELD_TTY, 0));
  EXPECT_FALSE(kernel_allows(parse_ok({"tty!=none"}), TRACER_FIELD_TTY, 0));
}

TEST(TtyNames, NameAndNumberAgree) {
  for (const char* name : {"pts/0", "pts/3", "pts/70000", "tty1", "tty63", "ttyS0", "ttyS191"}) {
    const std::optional<uint32_t> dev = tty_dev_of_name(name);
    ASSERT_TRUE(dev) << name;
    EXPECT_EQ(well_known_tty_name(*dev), name);
  }
  EXPECT_EQ(tty_dev_of_name("none"), 0u);
  EXPECT_EQ(tty_dev_of_name("188:1"), (188u << 20) | 1);
  EXPECT_EQ(well_known_tty_name((188u << 20) | 1), std::nullopt);
  EXPECT_EQ(numbered_tty_name((188u << 20) | 1), "188:1");
  for (const char* bad : {"pts/", "pts/x", "tty64", "ttyS192", "ttyUSB0", ":1", "1:", "0:0", "4096:1", "pts3"})
    EXPECT_EQ(tty_dev_of_name(bad), std::nullopt) << bad;
}

TEST(FilterParse, ListsAreOredAndExpressionsAnded) {
  const FilterSpec list = parse_ok({"uid=1000,1001"});
  EXPECT_TRUE(uid_allows(list, 1000));
  EXPECT_TRUE(uid_allows(list, 1001));
  EXPECT_FALSE(uid_allows(list, 1002));
  const FilterSpec range = parse_ok({"uid>=1000", "uid<2000", "uid!=1500"});
  EXPECT_TRUE(uid_allows(range, 1000));
  EXPECT_FALSE(uid_allows(range, 1500));
  EXPECT_FALSE(uid_allows(range, 2000));
  const FilterSpec narrowed = parse_ok({"uid=1,2,3", "uid=2,3,4", "uid!=3"});
  EXPECT_EQ(uid_of(narrowed).in, (std::set<uint64_t>{2}));
}

TEST(FilterParse, TextPatterns) {
  const FilterSpec spec = parse_ok({"comm=bash,ba*,*sh,*as*", "comm!=zsh"});
  ASSERT_EQ(spec.comm.include.size(), 4u);
  EXPECT_EQ(spec.comm.include[0], (Pattern{TRACER_PATTERN_EXACT, "bash"}));
  EXPECT_EQ(spec.comm.include[1], (Pattern{TRACER_PATTERN_PREFIX, "ba"}));
  EXPECT_EQ(spec.comm.include[2], (Pattern{TRACER_PATTERN_SUFFIX, "sh"}));
  EXPECT_EQ(spec.comm.include[3], (Pattern{TRACER_PATTERN_CONTAINS, "as"}));
  EXPECT_TRUE(text_allows(spec.comm, "bash"));
  EXPECT_TRUE(text_allows(spec.comm, "dash"));
  EXPECT_FALSE(text_allows(spec.comm, "zsh"));
  EXPECT_FALSE(text_allows(spec.comm, "python"));
  EXPECT_TRUE(text_allows(parse_ok({"comm=*"}).comm, "anything"));
  EXPECT_TRUE(text_allows(parse_ok({"exe=/usr/bin/*"}).exe, "/usr/bin/ls"));
  EXPECT_FALSE(text_allows(parse_ok({"exe=/usr/bin/*"}).exe, "/bin/ls"));
  EXPECT_TRUE(text_allows(parse_ok({"exe=*/ls"}).exe, "/bin/ls"));
}

TEST(FilterParse, NewFollowEvents) {
  EXPECT_TRUE(parse_ok({"pid=new"}).only_new);
  EXPECT_TRUE(parse_ok({"follow"}).follow);
  const FilterSpec only = parse_ok({"event=execveat"});
  EXPECT_TRUE(only.wants(TRACER_EVENT_EXECVEAT));
  EXPECT_FALSE(only.wants(TRACER_EVENT_EXECVE));
  const FilterSpec without = parse_ok({"event!=execveat"});
  EXPECT_TRUE(without.wants(TRACER_EVENT_EXECVE));
  EXPECT_FALSE(without.wants(TRACER_EVENT_EXECVEAT));
}

TEST(FilterParse, ArgumentFilters) {
  const FilterSpec spec = parse_ok({"execve.pathname=/usr/bin/*", "execve.argv!=*secret*"});
  ASSERT_EQ(spec.argument_filters.size(), 2u);
  EXPECT_EQ(spec.argument_filters[0].argument, "pathname");
  EXPECT_FALSE(spec.argument_filters[0].negate);
  EXPECT_TRUE(spec.argument_filters[1].negate);

  testing::ExecRecordSpec record_spec;
  record_spec.pathname = "/usr/bin/ls";
  auto bytes = testing::build_exec_record(record_spec);
  Event event = *decode(bytes, {});
  EXPECT_TRUE(passes_argument_filters(spec, event));
  record_spec.argv = testing::nul_joined({"ls", "a-secret-file"});
  bytes = testing::build_exec_record(record_spec);
  event = *decode(bytes, {});
  EXPECT_FALSE(passes_argument_filters(spec, event));
  record_spec.pathname = "/bin/ls";
  record_spec.argv = testing::nul_joined({"ls"});
  bytes = testing::build_exec_record(record_spec);
  event = *decode(bytes, {});
  EXPECT_FALSE(passes_argument_filters(spec, event));
  // Filters on another event leave this one alone.
  EXPECT_TRUE(passes_argument_filters(parse_ok({"execveat.pathname=/x"}), event));
  // Numbers compare as decimal text.
  EXPECT_TRUE(passes_argument_filters(parse_ok({"execve.inode=1234"}), event));
  EXPECT_FALSE(passes_argument_filters(parse_ok({"execve.inode=1235"}), event));
}

TEST(FilterParse, EveryErrorNamesTheExpression) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"uid>abc"}, "--trace 'uid>abc': uid needs a number"},
      {{"uid="}, "--trace 'uid=': uid needs a value"},
      {{"uid"}, "--trace 'uid': expected FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, ... or follow"},
      {{"=5"}, "--trace '=5': expected FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, ... or follow"},
      {{"uid!5"}, "--trace 'uid!5': '!' must be followed by '='"},
      {{"uid=1,,2"}, "--trace 'uid=1,,2': empty value in the list"},
      {{"uid>1,2"}, "--trace 'uid>1,2': a list of values needs = or !="},
      {{"uid=-1"}, "--trace 'uid=-1': uid needs a number"},
      {{"uid=99999999999999999999999"}, "--trace 'uid=99999999999999999999999': uid needs a number"},
      {{"uid=1", "uid=2"}, "--trace 'uid=2': contradicts the other uid filters: no uid is left"},
      {{"uid>10", "uid<5"}, "--trace 'uid<5': contradicts the other uid filters: no uid is left"},
      {{"uid<0"}, "--trace 'uid<0': no uid is less than 0"},
      {{"uid>18446744073709551615"}, "--trace 'uid>18446744073709551615': no uid is greater than 18446744073709551615"},
      {{"mntns>5"}, "--trace 'mntns>5': mntns takes only = or !="},
      {{"bogus=1"},
       "--trace 'bogus=1': unknown field 'bogus' (expected one of uid, gid, euid, auid, pid, tid, ppid, tty, comm, "
       "exe, "
       "mntns, pidns, cgroup, container, event, follow, or EVENT.ARGUMENT)"},
      {{"tty=pts3"}, "--trace 'tty=pts3': tty needs pts/N, ttyN, ttySN, MAJOR:MINOR or none"},
      {{"tty>pts/1"}, "--trace 'tty>pts/1': tty takes only = or !="},
      {{"auid=nobody"}, "--trace 'auid=nobody': auid needs a number"},
      {{"pid>new"}, "--trace 'pid>new': pid=new takes only ="},
      {{"pid!=new"}, "--trace 'pid!=new': pid=new takes only ="},
      {{"comm>bash"}, "--trace 'comm>bash': comm takes only = or !="},
      {{"comm=a*b"}, "--trace 'comm=a*b': '*' is allowed only as a prefix or suffix"},
      {{"comm=abcdefghijklmnop"}, "--trace 'comm=abcdefghijklmnop': comm values are at most 15 characters"},
      {{"comm=bash", "comm=zsh"},
       "--trace 'comm=zsh': comm= may be given once; list its values in one expression, e.g. comm=a,b"},
      {{"exe=usr/bin/ls"}, "--trace 'exe=usr/bin/ls': exe needs an absolute path, e.g. exe=/usr/bin/*"},
      {{"exe=*bin*"}, "--trace 'exe=*bin*': exe takes '*' as a prefix or a suffix, not both"},
      {{"exe=/a,/b,/c,/d,/e,/f,/g,/h,/i"}, "--trace 'exe=/a,/b,/c,/d,/e,/f,/g,/h,/i': at most 8 exe patterns"},
      {{"event=nope"},
       "--trace 'event=nope': unknown event 'nope' (did you mean open, pipe, iopl?); tracer --list shows the events"},
      {{"event>execve"}, "--trace 'event>execve': event takes only = or !="},
      {{"event!=execve,execveat"}, "--trace 'event!=execve,execveat': no event is left to trace"},
      {{"event=execve", "event=execveat"}, "--trace 'event=execveat': no event is left to trace"},
      {{"nope.pathname=/x"}, "--trace 'nope.pathname=/x': unknown event 'nope' (tracer --list shows the events)"},
      {{"execve.nope=/x"}, "--trace 'execve.nope=/x': execve has no argument 'nope'"},
      {{"execve.=/x"}, "--trace 'execve.=/x': expected EVENT.ARGUMENT, e.g. execve.pathname"},
      {{"execve.pathname>/x"}, "--trace 'execve.pathname>/x': argument filters take only = or !="},
      {{"container", "!container"}, "--trace '!container': contradicts the other container filters"},
      {{"!container", "container=new"}, "--trace 'container=new': contradicts !container"},
      {{"container!=abc"}, "--trace 'container!=abc': container takes only =; !container selects the host"},
      {{"container=abc"},
       "--trace 'container=abc': a container id is 12 to 64 hex digits (a unique prefix of the 64-digit id), or 'new'"},
      {{"container=0123456789ag"},
       "--trace 'container=0123456789ag': a container id is 12 to 64 hex digits (a unique prefix of the 64-digit id), "
       "or 'new'"},
  };
  for (const auto& [expressions, message] : cases) EXPECT_EQ(parse_error(expressions), message);
}

TEST(FilterCompile, ContainerFiltersReachTheKernelConfig) {
  const KernelFilter ids = compile_filter(parse_ok({"container=0123456789AB,new,fedcba9876543210"}), 1);
  EXPECT_EQ(ids.config.container_mode, TRACER_CONTAINER_ONLY);
  EXPECT_EQ(ids.config.container_only_new, 1);
  ASSERT_EQ(ids.config.container_id_count, 2);
  EXPECT_EQ(std::string(ids.config.container_ids[0].text, ids.config.container_id_lens[0]), "0123456789ab");
  EXPECT_EQ(std::string(ids.config.container_ids[1].text, ids.config.container_id_lens[1]), "fedcba9876543210");
  EXPECT_TRUE(ids.config.enabled);

  const KernelFilter host = compile_filter(parse_ok({"!container"}), 1);
  EXPECT_EQ(host.config.container_mode, TRACER_CONTAINER_HOST);
  EXPECT_TRUE(host.config.enabled);
  const KernelFilter any = compile_filter(parse_ok({"uid=0"}), 1);
  EXPECT_EQ(any.config.container_mode, TRACER_CONTAINER_ANY);
}

TEST(FilterCompile, KernelConfigMirrorsTheSpec) {
  const FilterSpec spec =
      parse_ok({"uid=1000,1001", "gid!=0", "pid>5", "comm=bash,ba*", "comm!=zsh", "exe=/usr/*", "pid=new", "follow"});
  const KernelFilter kernel = compile_filter(spec, 777);
  EXPECT_TRUE(kernel.config.enabled);
  EXPECT_TRUE(kernel.config.follow);
  EXPECT_TRUE(kernel.config.only_new);
  EXPECT_EQ(kernel.config.new_after_boot_ns, 777u);
  EXPECT_EQ(kernel.config.active_fields,
            (1u << TRACER_FIELD_UID) | (1u << TRACER_FIELD_GID) | (1u << TRACER_FIELD_PID));
  EXPECT_EQ(kernel.config.set_mode[TRACER_FIELD_UID], TRACER_SET_IN);
  EXPECT_EQ(kernel.config.set_mode[TRACER_FIELD_GID], TRACER_SET_NOT_IN);
  EXPECT_EQ(kernel.config.set_mode[TRACER_FIELD_PID], TRACER_SET_NONE);
  EXPECT_EQ(kernel.config.range_min[TRACER_FIELD_PID], 6u);
  EXPECT_EQ(kernel.values.size(), 3u);  // uid 1000, 1001; gid 0
  ASSERT_EQ(kernel.comms.size(), 2u);   // bash include, zsh exclude
  EXPECT_STREQ(kernel.comms[0].first.data(), "bash");
  EXPECT_EQ(kernel.comms[0].second, TRACER_COMM_INCLUDE);
  EXPECT_EQ(kernel.comms[1].second, TRACER_COMM_EXCLUDE);
  EXPECT_EQ(kernel.config.comm_pattern_count, 1);
  EXPECT_EQ(kernel.config.comm_patterns[0].kind, TRACER_PATTERN_PREFIX);
  EXPECT_TRUE(kernel.config.comm_enabled);
  EXPECT_TRUE(kernel.config.comm_include_any);
  EXPECT_EQ(kernel.config.exe_pattern_count, 1);
  EXPECT_EQ(std::string(kernel.config.exe_patterns[0].text, kernel.config.exe_patterns[0].len), "/usr/");
  EXPECT_EQ(kernel.config.wanted_events, (1u << TRACER_EVENT_EXECVE) | (1u << TRACER_EVENT_EXECVEAT));
}

TEST(FilterCompile, NoFilterIsDisabled) {
  const KernelFilter kernel = compile_filter(parse_ok({}), 0);
  EXPECT_FALSE(kernel.config.enabled);
  EXPECT_EQ(kernel.config.active_fields, 0u);
  EXPECT_TRUE(kernel.values.empty());
}

// Random expressions from the grammar's alphabet never crash the parser and
// always yield either a spec or one usage line.
TEST(FilterParse, RandomInputsNeverCrash) {
  std::mt19937 random(4242);
  const std::string alphabet = "uidgpcomnexvtfl=!<>,*./0123456789 \xff";
  const std::vector<std::string> prefixes = {"uid", "comm", "exe", "event", "pid", "execve.", "mntns", "follow", ""};
  for (int round = 0; round < 50000; ++round) {
    std::vector<std::string> expressions;
    const int count = 1 + static_cast<int>(random() % 3);
    for (int i = 0; i < count; ++i) {
      std::string text = prefixes[random() % prefixes.size()];
      const int length = static_cast<int>(random() % 12);
      for (int j = 0; j < length; ++j) text += alphabet[random() % alphabet.size()];
      expressions.push_back(text);
    }
    Result<FilterSpec> spec = parse_filters(expressions);
    if (spec.ok()) {
      (void)compile_filter(*spec, 0);
    } else {
      EXPECT_EQ(spec.error().kind, ExitKind::usage);
      EXPECT_EQ(spec.error().message.find('\n'), std::string::npos);
      EXPECT_TRUE(spec.error().message.starts_with("--trace '"));
    }
  }
}

}  // namespace
}  // namespace tracer
