// The pure side of --capture mem: the option, the plan's hooks, the kernel
// record's decoding and the chunks of a call joined again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "command_line.hpp"
#include "kernel_facts.hpp"
#include "record_builder.hpp"
#include "tracer/app/options.hpp"
#include "tracer/capture/capture_options.hpp"
#include "tracer/capture/mem_chunks.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/mem_capture_decode.hpp"
#include "tracer/kernel/trace_plan.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

using testing::build_mem_capture_record;
using testing::parse;

TEST(MemCaptureOptions, MemIsACaptureKind) {
  CaptureOptions options;
  ASSERT_TRUE(apply_capture_specs({"mem", "dir:/srv/captures"}, options));
  EXPECT_TRUE(options.capture_mem);
  EXPECT_FALSE(options.exec_hash);  // a region is hashed by itself, not the exec
  EXPECT_EQ(options.directory, "/srv/captures");
  const Status bogus = apply_capture_specs({"memory"}, options);
  ASSERT_FALSE(bogus);
  EXPECT_EQ(bogus.error().message, "--capture memory: expected exec, exec:DIR, dir:DIR, write=GLOB or mem");
  EXPECT_EQ(parse({"--capture", "mem", "--capture-limit", "1M"}).capture.limit_bytes, 1u << 20);
}

KernelFacts facts_with_mem_tracepoints() {
  return testing::facts_with_syscall_tracepoints({"mprotect", "pkey_mprotect"});
}

TEST(MemCapturePlan, EachCallAtItsOwnTracepoints) {
  Result<TracePlan> plan = plan_trace(parse({"--capture", "mem"}), facts_with_mem_tracepoints());
  ASSERT_TRUE(plan) << plan.error().message;
  std::vector<std::string> hooks;
  for (const Attachment& attachment : plan->attachments)
    if (attachment.program >= BpfProgram::mem_capture_mprotect && attachment.program <= BpfProgram::mem_capture_exit) {
      hooks.push_back(std::string(program_name(attachment.program)) + "@" + attachment.tracepoint);
      EXPECT_TRUE(attachment.tracepoint_id.has_value());
    }
  EXPECT_EQ(hooks, (std::vector<std::string>{
                       "tracer_capture_mprotect@syscalls/sys_enter_mprotect",
                       "tracer_capture_mem_exit@syscalls/sys_exit_mprotect",
                       "tracer_capture_pkey_mprotect@syscalls/sys_enter_pkey_mprotect",
                       "tracer_capture_mem_exit@syscalls/sys_exit_pkey_mprotect",
                   }));
  EXPECT_TRUE(plan->loads(BpfProgram::mem_capture_exit));
  EXPECT_FALSE(plan->loads(BpfProgram::write_capture_exit));
  EXPECT_FALSE(plan->syscalls.test(syscall_number("mprotect").value()));  // not traced for it

  Result<TracePlan> plain = plan_trace(parse({}), facts_with_mem_tracepoints());
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->loads(BpfProgram::mem_capture_mprotect));
  EXPECT_FALSE(plain->loads(BpfProgram::mem_capture_exit));
}

TEST(MemCapturePlan, WithoutATracepointItIsAnError) {
  KernelFacts facts = facts_with_mem_tracepoints();
  std::erase_if(facts.tracepoint_ids,
                [](const auto& entry) { return entry.first == "syscalls/sys_enter_pkey_mprotect"; });
  Result<TracePlan> plan = plan_trace(parse({"--capture", "mem"}), facts);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message,
            "--capture mem: tracepoint syscalls/sys_enter_pkey_mprotect is not available (tracefs cannot be read, "
            "or the kernel lacks it)");
}

TEST(MemCapturePlan, SyscallsAreMprotectAndPkeyMprotect) {
  const std::bitset<TRACER_SYSCALL_NR_MAX> calls = mem_capture_syscalls();
  EXPECT_EQ(calls.count(), 2u);
  EXPECT_TRUE(calls.test(syscall_number("mprotect").value()));
  EXPECT_TRUE(calls.test(syscall_number("pkey_mprotect").value()));
}

TEST(MemCaptureDecode, AddressLengthProtAndCall) {
  const std::vector<std::byte> record =
      build_mem_capture_record(0x7f0000001000, 4096, 0, "code", TRACER_MEM_CAPTURE_LAST);
  Result<Event> event = decode(record, DecodeOptions{});
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->definition, &mem_capture_definition());
  EXPECT_EQ(event->definition->name, "mem_capture");
  EXPECT_EQ(event->task.pid, 77u);
  const Arg* address = event->args.find("address");
  ASSERT_NE(address, nullptr);
  EXPECT_EQ(std::get<SymbolicValue>(address->value).raw, 0x7f0000001000);
  EXPECT_EQ(std::get<SymbolicValue>(address->value).symbols, Symbols::address);
  EXPECT_EQ(std::get<uint64_t>(event->args.find("length")->value), 4096u);
  EXPECT_EQ(std::get<SymbolicValue>(event->args.find("prot")->value).raw, 5);
  EXPECT_EQ(std::get<std::string_view>(event->args.find("call")->value), "mprotect");
  EXPECT_EQ(std::get<bool>(event->args.find("was_writable")->value), true);
  EXPECT_EQ(std::get<bool>(event->args.find("anonymous")->value), true);
}

TEST(MemCaptureDecode, DataPastTheRecordIsRefused) {
  std::vector<std::byte> record = build_mem_capture_record(0x1000, 4096, 0, "code", TRACER_MEM_CAPTURE_LAST);
  record.pop_back();
  EXPECT_FALSE(parse_mem_capture(record));
  EXPECT_FALSE(decode(record, DecodeOptions{}));
  record.resize(sizeof(tracer_mem_capture_record) - 1);
  EXPECT_FALSE(parse_mem_capture(record));
  std::vector<std::byte> other = build_mem_capture_record(0x1000, 4096, 0, "", TRACER_MEM_CAPTURE_LAST);
  reinterpret_cast<tracer_record_header*>(other.data())->event_id = TRACER_EVENT_WRITE_CAPTURE;
  EXPECT_FALSE(decode(other, DecodeOptions{}));
}

// Feeds one chunk record to the joiner.
std::optional<JoinedMemCapture> add(MemChunkJoiner& joiner, const std::vector<std::byte>& record) {
  Result<MemCaptureRecord> parsed = parse_mem_capture(record);
  EXPECT_TRUE(parsed);
  return joiner.add(parsed->fixed, parsed->data);
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

TEST(MemChunkJoiner, ChunksOfTwoThreadsAreJoinedPerThread) {
  MemChunkJoiner joiner;
  EXPECT_FALSE(add(joiner, build_mem_capture_record(0x1000, 8, 0, "abc", 0, 1)));
  EXPECT_FALSE(add(joiner, build_mem_capture_record(0x9000, 4, 0, "wx", 0, 2)));
  EXPECT_FALSE(add(joiner, build_mem_capture_record(0x1000, 8, 3, "def", 0, 1)));
  EXPECT_EQ(joiner.pending(), 2u);
  std::optional<JoinedMemCapture> second = add(joiner, build_mem_capture_record(0x9000, 4, 2, "yz", 1, 2));
  ASSERT_TRUE(second);
  EXPECT_EQ(text_of(second->bytes), "wxyz");
  EXPECT_FALSE(second->chunks_lost);
  std::optional<JoinedMemCapture> first = add(joiner, build_mem_capture_record(0x1000, 8, 6, "gh", 1, 1));
  ASSERT_TRUE(first);
  EXPECT_EQ(text_of(first->bytes), "abcdefgh");
  EXPECT_EQ(joiner.pending(), 0u);
  EXPECT_EQ(joiner.calls_abandoned(), 0u);
}

TEST(MemChunkJoiner, AGapOrAMissingLastChunkIsALoss) {
  MemChunkJoiner joiner;
  // The middle chunk never came: the call is flagged, no bytes.
  EXPECT_FALSE(add(joiner, build_mem_capture_record(0x1000, 9, 0, "abc", 0)));
  std::optional<JoinedMemCapture> gap = add(joiner, build_mem_capture_record(0x1000, 9, 6, "ghi", 1));
  ASSERT_TRUE(gap);
  EXPECT_TRUE(gap->chunks_lost);
  EXPECT_TRUE(gap->bytes.empty());
  // The first chunk never came.
  std::optional<JoinedMemCapture> headless = add(joiner, build_mem_capture_record(0x2000, 6, 3, "def", 1));
  ASSERT_TRUE(headless);
  EXPECT_TRUE(headless->chunks_lost);
  // A last chunk lost: the thread's next call ends that one.
  EXPECT_FALSE(add(joiner, build_mem_capture_record(0x3000, 6, 0, "abc", 0)));
  std::optional<JoinedMemCapture> next = add(joiner, build_mem_capture_record(0x4000, 2, 0, "xy", 1));
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->chunks_lost);
  EXPECT_EQ(text_of(next->bytes), "xy");
  EXPECT_EQ(joiner.calls_abandoned(), 1u);
  EXPECT_EQ(joiner.pending(), 0u);
}

TEST(MemChunkJoiner, PendingCallsAreBounded) {
  MemChunkJoiner joiner;
  for (uint32_t tid = 1; tid <= MemChunkJoiner::kMaxPending + 1; ++tid)
    EXPECT_FALSE(add(joiner, build_mem_capture_record(0x1000, 8, 0, "a", 0, tid)));
  EXPECT_LE(joiner.pending(), MemChunkJoiner::kMaxPending);
  EXPECT_EQ(joiner.calls_abandoned(), MemChunkJoiner::kMaxPending);
}

}  // namespace
}  // namespace tracer
