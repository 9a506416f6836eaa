#include "tracer/decode/decode.hpp"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <random>

#include "record_builder.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/syscalls/syscall_decode.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

using testing::build_exec_record;
using testing::ExecRecordSpec;
using testing::nul_joined;

std::vector<std::string> argv_of(const Event& event) {
  std::vector<std::string> items;
  const Arg* argv = event.args.find("argv");
  if (argv) std::get<StringList>(argv->value).for_each([&](std::string_view item) { items.emplace_back(item); });
  return items;
}

std::string string_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  return arg ? std::string(std::get<std::string_view>(arg->value)) : "<absent>";
}

TEST(Decode, SuccessfulExecveCarriesContextAndKernelView) {
  ExecRecordSpec spec;
  auto bytes = build_exec_record(spec);
  Result<Event> event = decode(bytes, {});
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->definition->name, "execve");
  EXPECT_EQ(event->task.pid, 4242u);
  EXPECT_EQ(event->task.tid, 4243u);
  EXPECT_EQ(event->task.ppid, 4200u);
  EXPECT_EQ(event->task.ns_pid, 7u);
  EXPECT_EQ(event->task.uid, 1000u);
  EXPECT_EQ(event->task.gid, 1001u);
  EXPECT_EQ(event->task.comm, "bash");
  EXPECT_EQ(event->ret, 0);
  EXPECT_EQ(string_arg(*event, "pathname"), "/bin/ls");
  EXPECT_EQ(string_arg(*event, "filename"), "/bin/ls");
  EXPECT_EQ(string_arg(*event, "exe"), "/usr/bin/ls");
  EXPECT_EQ(event->args.find("interpreter"), nullptr);
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"ls", "-la"}));
  EXPECT_EQ(std::get<uint64_t>(event->args.find("dev")->value), (8u << 8) | 1u);  // 8:1 as st_dev
  EXPECT_EQ(std::get<uint64_t>(event->args.find("inode")->value), 1234u);
  EXPECT_FALSE(std::get<bool>(event->args.find("argv_truncated")->value));
  EXPECT_EQ(event->flags, 0u);
}

TEST(Decode, FailedExecHasNoKernelView) {
  ExecRecordSpec spec;
  spec.ret = -2;
  spec.flags = 0;
  spec.filename.clear();
  spec.exe.clear();
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->ret, -2);
  EXPECT_EQ(event->args.find("filename"), nullptr);
  EXPECT_EQ(event->args.find("dev"), nullptr);
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"ls", "-la"}));
}

TEST(Decode, ExecveatNamesDirfdAndFlags) {
  ExecRecordSpec spec;
  spec.event_id = TRACER_EVENT_EXECVEAT;
  spec.dirfd = 5;
  spec.at_flags = 0x1000;
  spec.pathname = "true";
  spec.filename = "/dev/fd/5/true";
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->definition->name, "execveat");
  const auto dirfd = std::get<SymbolicValue>(event->args.find("dirfd")->value);
  EXPECT_EQ(dirfd.raw, 5);
  EXPECT_EQ(dirfd.symbols, Symbols::fd);
  // Text, as every "flags" argument is: one JSON type per name.
  const auto flags = std::get<SymbolicValue>(event->args.find("flags")->value);
  EXPECT_EQ(symbolic_text(flags), "AT_EMPTY_PATH");
  EXPECT_FALSE(event->has(EventFlag::path_mismatch));
}

TEST(Decode, EmptyPathExecveatMatchesDevFd) {
  ExecRecordSpec spec;
  spec.event_id = TRACER_EVENT_EXECVEAT;
  spec.dirfd = 3;
  spec.pathname = "";
  spec.filename = "/dev/fd/3";
  spec.flags |= TRACER_EXEC_FILELESS;
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_FALSE(event->has(EventFlag::path_mismatch));
  EXPECT_TRUE(event->has(EventFlag::fileless));
}

TEST(Decode, PathnameDifferentFromKernelFilenameIsFlagged) {
  ExecRecordSpec spec;
  spec.pathname = "/bin/ls";
  spec.filename = "/bin/sh";
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->has(EventFlag::path_mismatch));
}

TEST(Decode, ScriptReportsInterpreter) {
  ExecRecordSpec spec;
  spec.pathname = "./run.sh";
  spec.filename = "./run.sh";
  spec.interpreter = "/bin/sh";
  spec.argv = nul_joined({"/bin/sh", "./run.sh"});
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(string_arg(*event, "interpreter"), "/bin/sh");
}

TEST(Decode, ArgvBeyondMaxArgsIsCutAndFlagged) {
  std::vector<std::string> items;
  for (int i = 0; i < 10; ++i) items.push_back("arg" + std::to_string(i));
  ExecRecordSpec spec;
  spec.argv = nul_joined(items);
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, DecodeOptions{4});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"arg0", "arg1", "arg2", "arg3"}));
  EXPECT_TRUE(event->has(EventFlag::argv_truncated));
  EXPECT_TRUE(std::get<bool>(event->args.find("argv_truncated")->value));

  const auto exact_bytes = build_exec_record(spec);
  Result<Event> exact = decode(exact_bytes, DecodeOptions{10});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(argv_of(*exact).size(), 10u);
  EXPECT_FALSE(exact->has(EventFlag::argv_truncated));
}

TEST(Decode, KernelTruncationFlagsSurvive) {
  ExecRecordSpec spec;
  spec.flags |= TRACER_EXEC_ARGV_TRUNCATED | TRACER_EXEC_ARGV_READ_FAILED;
  spec.argv = std::string("ls\0-l", 5);  // cut mid-string, no final NUL
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(event->has(EventFlag::argv_truncated));
  EXPECT_TRUE(event->has(EventFlag::argv_read_failed));
}

TEST(Decode, MissingEntryHasNoPathname) {
  ExecRecordSpec spec;
  spec.flags |= TRACER_EXEC_ENTRY_MISSING;
  spec.pathname.clear();
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->args.find("pathname"), nullptr);
  EXPECT_TRUE(event->has(EventFlag::entry_missing));
  EXPECT_FALSE(event->has(EventFlag::path_mismatch));
}

TEST(Decode, RejectsShortRecords) {
  auto bytes = build_exec_record({});
  for (size_t size : {size_t{0}, size_t{8}, sizeof(tracer_record_header) - 1, sizeof(tracer_exec_record) - 1}) {
    Result<Event> event = decode(std::span(bytes).first(size), {});
    EXPECT_FALSE(event.ok()) << size;
  }
}

TEST(Decode, RejectsSizeFieldBeyondRecord) {
  auto bytes = build_exec_record({});
  auto* header = reinterpret_cast<tracer_record_header*>(bytes.data());
  header->size = static_cast<uint32_t>(bytes.size() + 1);
  EXPECT_FALSE(decode(bytes, {}).ok());
}

TEST(Decode, RejectsStringLengthsBeyondRecord) {
  auto bytes = build_exec_record({});
  auto* record = reinterpret_cast<tracer_exec_record*>(bytes.data());
  record->argv_len = 60000;
  Result<Event> event = decode(bytes, {});
  ASSERT_FALSE(event.ok());
  EXPECT_NE(event.error().message.find("overrun"), std::string::npos);
}

TEST(Decode, RejectsUnknownKindAndEvent) {
  auto bytes = build_exec_record({});
  reinterpret_cast<tracer_record_header*>(bytes.data())->kind = 77;
  EXPECT_FALSE(decode(bytes, {}).ok());
  bytes = build_exec_record({});
  reinterpret_cast<tracer_record_header*>(bytes.data())->event_id = 999;
  EXPECT_FALSE(decode(bytes, {}).ok());
}

TEST(Decode, CommWithoutNulStopsAtSixteenBytes) {
  ExecRecordSpec spec;
  spec.task.comm = std::string(16, 'c');
  const auto event_bytes = build_exec_record(spec);
  Result<Event> event = decode(event_bytes, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->task.comm, std::string(16, 'c'));
}

// Hostile records: properties over a valid record of every kind, each of
// which fails on a decoder that trusts a length, a size or a kind.
struct NamedRecord {
  std::string name;
  std::vector<std::byte> bytes;
  struct Field {
    size_t offset = 0;
    size_t width = 2;
  };
  std::vector<Field> length_fields;  // its string and capture lengths
};

std::vector<NamedRecord> valid_records_of_every_kind() {
  std::vector<NamedRecord> records;
  ExecRecordSpec exec;
  exec.interpreter = "/bin/sh";
  records.push_back({"execve",
                     build_exec_record(exec),
                     {{offsetof(tracer_exec_record, pathname_len)},
                      {offsetof(tracer_exec_record, filename_len)},
                      {offsetof(tracer_exec_record, interp_len)},
                      {offsetof(tracer_exec_record, exe_len)},
                      {offsetof(tracer_exec_record, cwd_len)}}});
  records.back().length_fields.push_back({offsetof(tracer_exec_record, argv_len), 4});
  exec.event_id = TRACER_EVENT_SCHED_PROCESS_EXEC;
  records.push_back({"sched_process_exec", build_exec_record(exec), {{offsetof(tracer_exec_record, cwd_len)}}});
  records.push_back({"fork", testing::build_fork_record({}, 77, 900'000'000), {}});
  records.push_back({"exit", testing::build_exit_record({}, 1, 0), {}});
  testing::SyscallRecordSpec syscall;
  syscall.args = {uint64_t(-100), 0x7ffd0000, 0, 0, 0, 0};
  syscall.captures[1] = "/etc/passwd";
  NamedRecord syscall_record{"openat", testing::build_syscall_record(syscall), {}};
  for (size_t i = 0; i < TRACER_SYSCALL_ARGS; ++i)
    syscall_record.length_fields.push_back({offsetof(tracer_syscall_record, capture_len) + i * sizeof(uint16_t)});
  records.push_back(syscall_record);
  testing::UserFunctionRecordSpec user;
  user.slot = 0;  // bash_readline: prompt read at entry, line at return
  user.capture_len = {3, 5};
  user.captures = "$ ls -la";
  NamedRecord user_record{"bash_readline", testing::build_user_function_record(user), {}};
  for (size_t i = 0; i < 2; ++i)
    user_record.length_fields.push_back({offsetof(tracer_user_function_record, capture_len) + i * sizeof(uint16_t)});
  records.push_back(user_record);
  return records;
}

// Decodes with every table a run has: the syscall names and the user
// functions.
class HostileRecords : public ::testing::Test {
 protected:
  Result<Event> decode_bytes(std::span<const std::byte> bytes) {
    DecodeOptions options;
    options.user_functions = &functions_;
    return decode(bytes, options);
  }
  UserFunctions functions_{{}};
};

bool inside(std::string_view view, std::span<const std::byte> buffer) {
  if (view.empty()) return true;
  const auto* begin = reinterpret_cast<const char*>(buffer.data());
  return view.data() >= begin && view.data() + view.size() <= begin + buffer.size();
}

// Every string view of the event (the comm, the cwd, each string argument)
// lies inside buffer; the first that does not, else empty.
std::string view_outside(const Event& event, std::span<const std::byte> buffer) {
  if (!inside(event.task.comm, buffer)) return "comm";
  if (event.cwd && !inside(*event.cwd, buffer)) return "cwd";
  for (const Arg& arg : event.args) {
    std::string_view view;
    if (const auto* text = std::get_if<std::string_view>(&arg.value)) view = *text;
    if (const auto* list = std::get_if<StringList>(&arg.value)) view = list->nul_separated;
    if (const auto* address = std::get_if<SocketAddress>(&arg.value)) view = address->bytes;
    if (const auto* bytes = std::get_if<ByteArray>(&arg.value)) view = bytes->bytes;
    if (!inside(view, buffer)) return std::string(arg.name);
  }
  return "";
}

void set_header_size(std::vector<std::byte>& bytes, uint32_t size) {
  std::memcpy(bytes.data() + offsetof(tracer_record_header, size), &size, sizeof(size));
}

uint64_t length_at(const std::vector<std::byte>& bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data() + offset, width);
  return value;
}

void set_length(std::vector<std::byte>& bytes, size_t offset, size_t width, uint64_t value) {
  std::memcpy(bytes.data() + offset, &value, width);
}

TEST_F(HostileRecords, ValidRecordsDecode) {
  for (const NamedRecord& record : valid_records_of_every_kind()) {
    Result<Event> event = decode_bytes(record.bytes);
    ASSERT_TRUE(event.ok()) << record.name << ": " << event.error().message;
    EXPECT_EQ(view_outside(*event, record.bytes), "") << record.name;
  }
}

// Every truncation is rejected: as the ring buffer would cut it (the size
// field still says the whole record), and as a record that claims the cut size.
TEST_F(HostileRecords, EveryTruncationIsRejected) {
  for (const NamedRecord& record : valid_records_of_every_kind()) {
    for (size_t size = 0; size < record.bytes.size(); ++size) {
      std::vector<std::byte> cut(record.bytes.begin(), record.bytes.begin() + static_cast<ptrdiff_t>(size));
      EXPECT_FALSE(decode_bytes(cut).ok()) << record.name << " cut to " << size;
      if (size < sizeof(tracer_record_header)) continue;
      set_header_size(cut, static_cast<uint32_t>(size));
      EXPECT_FALSE(decode_bytes(cut).ok()) << record.name << " cut to " << size << ", size field too";
    }
  }
}

// A length one byte past the record, or the largest its field holds.
TEST_F(HostileRecords, LengthsThatOverrunTheRecordAreRejected) {
  for (const NamedRecord& record : valid_records_of_every_kind()) {
    for (const NamedRecord::Field& field : record.length_fields) {
      const uint64_t largest = field.width == 2 ? 0xffff : 0xffffffff;
      for (uint64_t value : {length_at(record.bytes, field.offset, field.width) + 1, largest}) {
        auto bytes = record.bytes;
        set_length(bytes, field.offset, field.width, value);
        Result<Event> event = decode_bytes(bytes);
        EXPECT_FALSE(event.ok()) << record.name << ": length at " << field.offset << " = " << value << " accepted"
                                 << (event.ok() ? ", view outside: " + view_outside(*event, bytes) : "");
      }
    }
    for (uint32_t size : {uint32_t(record.bytes.size() + 1), uint32_t(0xffffffff), uint32_t(0)}) {
      auto bytes = record.bytes;
      set_header_size(bytes, size);
      EXPECT_FALSE(decode_bytes(bytes).ok()) << record.name << ": size field " << size;
    }
  }
}

// Any byte flipped, anywhere: an error or an event whose strings all lie
// inside the bytes given (ASan watches the reads in the sanitized run).
TEST_F(HostileRecords, FlippedBytesNeverYieldViewsOutsideTheRecord) {
  for (const NamedRecord& record : valid_records_of_every_kind()) {
    for (size_t at = 0; at < record.bytes.size(); ++at) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
        auto bytes = record.bytes;
        bytes[at] ^= std::byte{mask};
        Result<Event> event = decode_bytes(bytes);
        if (event.ok()) {
          EXPECT_EQ(view_outside(*event, bytes), "") << record.name << ": byte " << at << " ^ " << +mask;
        }
      }
    }
  }
  std::mt19937 random(12345);
  const std::vector<NamedRecord> records = valid_records_of_every_kind();
  for (int round = 0; round < 20000; ++round) {
    const NamedRecord& record = records[random() % records.size()];
    auto bytes = record.bytes;
    const int changes = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < changes; ++i) bytes[random() % bytes.size()] = static_cast<std::byte>(random());
    Result<Event> event = decode_bytes(bytes);
    if (event.ok()) {
      EXPECT_EQ(view_outside(*event, bytes), "") << record.name << ", round " << round;
    }
  }
}

// Kinds decode() does not know, and the executable record (the event loop's,
// never an event), are rejected; the event loop counts them as undecodable.
TEST_F(HostileRecords, UnknownRecordKindsAreRejected) {
  const auto executable = testing::build_executable_record({}, 1234, 8);
  EXPECT_FALSE(decode_bytes(executable).ok());
  for (const NamedRecord& record : valid_records_of_every_kind()) {
    for (int kind = 0; kind < 256; ++kind) {
      if (kind == TRACER_RECORD_EXEC || kind == TRACER_RECORD_PROCESS_FORK || kind == TRACER_RECORD_PROCESS_EXIT ||
          kind == TRACER_RECORD_SYSCALL || kind == TRACER_RECORD_USER_FUNCTION)
        continue;
      auto bytes = record.bytes;
      bytes[offsetof(tracer_record_header, kind)] = static_cast<std::byte>(kind);
      Result<Event> event = decode_bytes(bytes);
      EXPECT_FALSE(event.ok()) << record.name << " as kind " << kind;
    }
  }
}

TEST(Decode, ForkAndExitRecords) {
  tracer_fork_record fork_record{};
  fork_record.header.kind = TRACER_RECORD_PROCESS_FORK;
  fork_record.header.event_id = TRACER_EVENT_SCHED_PROCESS_FORK;
  fork_record.header.size = sizeof(fork_record);
  fork_record.header.task.tgid = 10;
  fork_record.child_pid = 11;
  fork_record.child_tid = 12;
  const auto fork_bytes = std::as_bytes(std::span(&fork_record, 1));
  Result<Event> fork_event = decode(fork_bytes, {});
  ASSERT_TRUE(fork_event.ok());
  EXPECT_EQ(fork_event->definition->name, "sched_process_fork");
  EXPECT_FALSE(fork_event->ret.has_value());
  EXPECT_EQ(std::get<uint64_t>(fork_event->args.find("child_pid")->value), 11u);
  EXPECT_EQ(std::get<uint64_t>(fork_event->args.find("child_tid")->value), 12u);

  tracer_exit_record exit_record{};
  exit_record.header.kind = TRACER_RECORD_PROCESS_EXIT;
  exit_record.header.event_id = TRACER_EVENT_SCHED_PROCESS_EXIT;
  exit_record.header.size = sizeof(exit_record);
  exit_record.exit_code = 3;
  exit_record.signal = 0;
  const auto exit_bytes = std::as_bytes(std::span(&exit_record, 1));
  Result<Event> exit_event = decode(exit_bytes, {});
  ASSERT_TRUE(exit_event.ok());
  EXPECT_EQ(std::get<int64_t>(exit_event->args.find("exit_code")->value), 3);
  EXPECT_EQ(std::get<uint64_t>(exit_event->args.find("signal")->value), 0u);

  // A fork record too short, or carrying another event's id, is rejected.
  EXPECT_FALSE(decode(fork_bytes.first(sizeof(tracer_record_header) + 4), {}).ok());
  fork_record.header.event_id = TRACER_EVENT_SCHED_PROCESS_EXIT;
  EXPECT_FALSE(decode(std::as_bytes(std::span(&fork_record, 1)), {}).ok());
}

TEST(Decode, SchedProcessExecIsTheImageWithoutPathnameOrRet) {
  ExecRecordSpec spec;
  spec.event_id = TRACER_EVENT_SCHED_PROCESS_EXEC;
  spec.pathname = "";
  spec.old_tid = 4250;
  spec.task.comm = "ls";
  const std::vector<std::byte> record = build_exec_record(spec);
  Result<Event> event = decode(record, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->definition->name, "sched_process_exec");
  EXPECT_FALSE(event->ret.has_value());
  EXPECT_EQ(event->args.find("pathname"), nullptr);
  EXPECT_EQ(string_arg(*event, "filename"), "/bin/ls");
  EXPECT_EQ(std::get<uint64_t>(event->args.find("old_tid")->value), 4250u);
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"ls", "-la"}));
  EXPECT_EQ(event->cwd, "/home/user");
  EXPECT_FALSE(event->has(EventFlag::path_mismatch));
}

TEST(Decode, BprmCheckCarriesImageAndArgv) {
  ExecRecordSpec spec;
  spec.event_id = TRACER_EVENT_SECURITY_BPRM_CHECK;
  spec.pathname = "";
  const std::vector<std::byte> record = build_exec_record(spec);
  Result<Event> event = decode(record, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->definition->name, "security_bprm_check");
  EXPECT_FALSE(event->ret.has_value());
  EXPECT_EQ(string_arg(*event, "filename"), "/bin/ls");
  EXPECT_EQ(std::get<uint64_t>(event->args.find("inode")->value), 1234u);
  EXPECT_EQ(argv_of(*event), (std::vector<std::string>{"ls", "-la"}));
}

TEST(Decode, ContextOnlyFlagAndProcessIdentity) {
  ExecRecordSpec spec;
  spec.header_flags = TRACER_HEADER_CONTEXT_ONLY;
  spec.task.container_cgroup_id = 77;
  spec.cwd = "";
  const std::vector<std::byte> record = build_exec_record(spec);
  Result<Event> event = decode(record, {});
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->context_only);
  EXPECT_EQ(event->task.exec_gen, 3u);
  EXPECT_EQ(event->task.parent_exec_gen, 2u);
  EXPECT_EQ(event->task.parent_start_boot_ns, 400'000'000u);
  EXPECT_EQ(event->task.container_cgroup_id, 77u);
  EXPECT_FALSE(event->cwd.has_value());

  const std::vector<std::byte> fork_record = testing::build_fork_record({}, 5000, 900);
  Result<Event> fork = decode(fork_record, {});
  ASSERT_TRUE(fork.ok());
  EXPECT_FALSE(fork->context_only);
  EXPECT_EQ(fork->child_start_boot_ns, 900u);
}

TEST(Decode, UserDevEncoding) {
  EXPECT_EQ(user_dev_from_kernel((8ull << 20) | 1), 2049u);
  EXPECT_EQ(user_dev_from_kernel((259ull << 20) | 3), makedev(259, 3));
}

}  // namespace
}  // namespace tracer
