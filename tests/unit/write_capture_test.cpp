// The pure side of --capture write=GLOB: the globs and the kernel's prefix,
// the options, the plan's hooks and the kernel record's decoding.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "kernel_facts.hpp"
#include "record_builder.hpp"
#include "tracer/app/options.hpp"
#include "tracer/capture/capture_options.hpp"
#include "tracer/capture/write_glob.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/write_capture_decode.hpp"
#include "tracer/kernel/trace_plan.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

TEST(WriteGlob, LiteralPrefixStopsAtTheFirstWildcard) {
  EXPECT_EQ(glob_literal_prefix("/var/log/*.log"), "/var/log/");
  EXPECT_EQ(glob_literal_prefix("/srv/a?c"), "/srv/a");
  EXPECT_EQ(glob_literal_prefix("/srv/[ab]"), "/srv/");
  EXPECT_EQ(glob_literal_prefix("/srv/x\\*"), "/srv/x");
  EXPECT_EQ(glob_literal_prefix("/etc/passwd"), "/etc/passwd");
}

TEST(WriteGlob, KernelPrefixIsCommonToEveryGlobAndBounded) {
  EXPECT_EQ(kernel_write_prefix({"/var/log/*.log"}, 256), "/var/log/");
  EXPECT_EQ(kernel_write_prefix({"/var/log/*.log", "/var/lib/x*"}, 256), "/var/l");
  EXPECT_EQ(kernel_write_prefix({"/etc/passwd", "/tmp/*"}, 256), "/");
  EXPECT_EQ(kernel_write_prefix({"/" + std::string(400, 'a')}, 256), "/" + std::string(255, 'a'));
  EXPECT_EQ(kernel_write_prefix({}, 256), "");
}

TEST(WriteGlob, MatchesTheWholeGlobAcrossDirectories) {
  const std::vector<std::string> globs{"/srv/data/*", "/etc/passwd"};
  EXPECT_TRUE(write_glob_matches(globs, "/srv/data/a"));
  EXPECT_TRUE(write_glob_matches(globs, "/srv/data/deep/b.txt"));  // * also matches /
  EXPECT_TRUE(write_glob_matches(globs, "/etc/passwd"));
  EXPECT_FALSE(write_glob_matches(globs, "/srv/data"));
  EXPECT_FALSE(write_glob_matches(globs, "/srv/database"));
  EXPECT_FALSE(write_glob_matches(globs, "/etc/passwd-"));
  EXPECT_FALSE(write_glob_matches(globs, std::string_view("/srv/data/a\0b", 13)));
  EXPECT_TRUE(write_glob_matches({"/tmp/*.log"}, "/tmp/x.log"));
  EXPECT_FALSE(write_glob_matches({"/tmp/*.log"}, "/tmp/x.log.1"));
}

TEST(WriteCaptureOptions, WriteGlobsAreAbsolute) {
  CaptureOptions options;
  ASSERT_TRUE(apply_capture_specs({"write=/srv/*.db", "write=/etc/passwd"}, options));
  EXPECT_EQ(options.write_globs, (std::vector<std::string>{"/srv/*.db", "/etc/passwd"}));
  EXPECT_FALSE(options.exec_hash);  // a write capture is named by its file, not a hash
  EXPECT_EQ(options.file_limit_bytes, 16u << 20);
  const Status relative = apply_capture_specs({"write=srv/*"}, options);
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().message, "--capture write=srv/*: GLOB must be an absolute path pattern");
  EXPECT_FALSE(apply_capture_specs({"write="}, options));
}

using testing::parse;

TEST(WriteCaptureOptions, FileLimitFromTheCommandLine) {
  const Options options = parse({"--capture", "write=/tmp/*", "--capture-file-limit", "64K"});
  EXPECT_EQ(options.capture.write_globs, std::vector<std::string>{"/tmp/*"});
  EXPECT_EQ(options.capture.file_limit_bytes, 64u << 10);
}

KernelFacts facts_with_write_tracepoints() {
  return testing::facts_with_syscall_tracepoints({"write", "pwrite64", "writev", "pwritev", "pwritev2"});
}

TEST(WriteCapturePlan, EachCallAtItsOwnTracepointsWithThePrefix) {
  const Options options = parse({"--capture", "write=/srv/data/*.log", "--capture-file-limit", "1M"});
  Result<TracePlan> plan = plan_trace(options, facts_with_write_tracepoints());
  ASSERT_TRUE(plan) << plan.error().message;
  std::vector<std::string> hooks;
  for (const Attachment& attachment : plan->attachments)
    if (attachment.program >= BpfProgram::write_capture_write) {
      hooks.push_back(std::string(program_name(attachment.program)) + "@" + attachment.tracepoint);
      EXPECT_TRUE(attachment.tracepoint_id.has_value());
    }
  EXPECT_EQ(hooks, (std::vector<std::string>{
                       "tracer_capture_write@syscalls/sys_enter_write",
                       "tracer_capture_write_exit@syscalls/sys_exit_write",
                       "tracer_capture_pwrite64@syscalls/sys_enter_pwrite64",
                       "tracer_capture_write_exit@syscalls/sys_exit_pwrite64",
                       "tracer_capture_writev@syscalls/sys_enter_writev",
                       "tracer_capture_write_exit@syscalls/sys_exit_writev",
                       "tracer_capture_pwritev@syscalls/sys_enter_pwritev",
                       "tracer_capture_write_exit@syscalls/sys_exit_pwritev",
                       "tracer_capture_pwritev2@syscalls/sys_enter_pwritev2",
                       "tracer_capture_write_exit@syscalls/sys_exit_pwritev2",
                   }));
  EXPECT_TRUE(plan->loads(BpfProgram::write_capture_exit));
  EXPECT_EQ(plan->write_capture_prefix, "/srv/data/");
  EXPECT_EQ(plan->write_capture_file_limit, 1u << 20);
  // The write syscalls themselves are not traced for it.
  EXPECT_FALSE(plan->syscalls.test(syscall_number("write").value()));
}

TEST(WriteCapturePlan, WithoutATracepointItIsAnError) {
  const Options options = parse({"--capture", "write=/tmp/*"});
  KernelFacts facts = facts_with_write_tracepoints();
  std::erase_if(facts.tracepoint_ids, [](const auto& entry) { return entry.first == "syscalls/sys_exit_pwritev2"; });
  Result<TracePlan> plan = plan_trace(options, facts);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message,
            "--capture write: tracepoint syscalls/sys_exit_pwritev2 is not available (tracefs cannot be read, or "
            "the kernel lacks it)");
  const Options without = parse({});
  Result<TracePlan> plain = plan_trace(without, facts);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->loads(BpfProgram::write_capture_exit));
  EXPECT_TRUE(plain->write_capture_prefix.empty());
}

TEST(WriteCapturePlan, SyscallsAreTheWriteFamily) {
  const std::bitset<TRACER_SYSCALL_NR_MAX> calls = write_capture_syscalls();
  EXPECT_EQ(calls.count(), 5u);
  for (const char* name : {"write", "pwrite64", "writev", "pwritev", "pwritev2"})
    EXPECT_TRUE(calls.test(syscall_number(name).value())) << name;
}

std::string text_of(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  return arg && std::holds_alternative<std::string_view>(arg->value)
             ? std::string(std::get<std::string_view>(arg->value))
             : "(none)";
}

uint64_t number_of(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  return arg && std::holds_alternative<uint64_t>(arg->value) ? std::get<uint64_t>(arg->value) : ~uint64_t{0};
}

TEST(WriteCaptureDecode, PathOffsetLengthAndCall) {
  const std::vector<std::byte> record = testing::build_write_capture_record("/srv/data/a.log", "hello");
  Result<Event> event = decode(record, DecodeOptions{});
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->definition, &write_capture_definition());
  EXPECT_EQ(event->definition->name, "write_capture");
  EXPECT_EQ(event->task.pid, 77u);
  EXPECT_EQ(event->ret, 5);
  EXPECT_EQ(text_of(*event, "path"), "/srv/data/a.log");
  EXPECT_EQ(text_of(*event, "call"), "pwrite64");
  EXPECT_EQ(number_of(*event, "file_offset"), 4096u);
  EXPECT_EQ(number_of(*event, "length"), 5u);
  EXPECT_EQ(number_of(*event, "inode"), 99u);
  EXPECT_EQ(number_of(*event, "dev"), user_dev_from_kernel((8ull << 20) | 3));
  EXPECT_EQ(event->args.find("path_truncated"), nullptr);

  Result<WriteCaptureRecord> parsed = parse_write_capture(record);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(parsed->data.data()), parsed->data.size()), "hello");
}

TEST(WriteCaptureDecode, LengthsPastTheRecordAreRefused) {
  std::vector<std::byte> record = testing::build_write_capture_record("/a", "xyz");
  ASSERT_GT(record.size(), sizeof(tracer_record_header));
  record.pop_back();  // not resize(size - 1): gcc 12 -O3 sees a huge memset there
  auto* header = reinterpret_cast<tracer_record_header*>(record.data());
  header->size = static_cast<uint32_t>(record.size());
  EXPECT_FALSE(parse_write_capture(record));
  EXPECT_FALSE(decode(record, DecodeOptions{}));
  EXPECT_EQ(write_call_name(TRACER_WRITE_CALL_PWRITEV2), "pwritev2");
  EXPECT_EQ(write_call_name(200), "unknown");
}

}  // namespace
}  // namespace tracer
