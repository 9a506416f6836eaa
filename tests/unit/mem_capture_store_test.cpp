// --capture mem's store and record handling, on real files (no BPF, no root).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "record_builder.hpp"
#include "scratch_dir.hpp"
#include "tracer/capture/mem_capture.hpp"
#include "tracer/core/abi.hpp"
#include "tracer/decode/decode.hpp"

namespace tracer {
namespace {

using testing::build_mem_capture_record;

using testing::ScratchDir;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string sha256_of(const std::string& text) {
  Sha256 hash;
  hash.update({reinterpret_cast<const std::byte*>(text.data()), text.size()});
  return sha256_hex(hash.finish());
}

// The event of a record, annotated: nullopt when not emitted.
struct Annotated {
  std::optional<Event> event;
  std::string arg(std::string_view name) const {
    const Arg* found = event ? event->args.find(name) : nullptr;
    if (!found) return "(none)";
    if (const auto* text = std::get_if<std::string_view>(&found->value)) return std::string(*text);
    if (const auto* number = std::get_if<uint64_t>(&found->value)) return std::to_string(*number);
    if (const auto* flag = std::get_if<bool>(&found->value)) return *flag ? "true" : "false";
    return "(other)";
  }
};

Annotated annotate(MemCapture& capture, const std::vector<std::byte>& record) {
  Result<Event> event = decode(record, DecodeOptions{});
  EXPECT_TRUE(event) << event.error().message;
  Annotated out;
  if (capture.annotate(*event, record)) out.event = std::move(*event);
  return out;
}

TEST(MemCaptureStore, ChunksAreSavedOnceAsTheirSha256) {
  ScratchDir scratch("tracer-mem-capture");
  Result<MemCaptureStore> store = MemCaptureStore::open(scratch.path() + "/capture", 1 << 20);
  ASSERT_TRUE(store) << store.error().message;
  MemCapture capture(std::move(*store));
  EXPECT_FALSE(annotate(capture, build_mem_capture_record(0x1000, 10, 0, "\xb8\x01\x02\x03\x04", 0)).event);
  const Annotated last = annotate(
      capture, build_mem_capture_record(0x1000, 10, 5, std::string("\xc3\0\0\0\0", 5), TRACER_MEM_CAPTURE_LAST));
  ASSERT_TRUE(last.event);
  const std::string bytes = std::string("\xb8\x01\x02\x03\x04\xc3", 6) + std::string(4, '\0');
  const std::string sha256 = sha256_of(bytes);
  EXPECT_EQ(last.arg("sha256"), sha256);
  EXPECT_EQ(last.arg("size"), "10");
  EXPECT_EQ(last.arg("existing"), "false");
  EXPECT_EQ(last.arg("truncated"), "(none)");
  const std::string path = scratch.path() + "/capture/mem/" + sha256;
  EXPECT_EQ(last.arg("capture"), path);
  EXPECT_EQ(read_all(path), bytes);
  struct stat file {
  }, directory{};
  ASSERT_EQ(::lstat(path.c_str(), &file), 0);
  ASSERT_EQ(::lstat((scratch.path() + "/capture/mem").c_str(), &directory), 0);
  EXPECT_EQ(file.st_mode & 07777, 0600u);
  EXPECT_EQ(directory.st_mode & 07777, 0700u);

  // The same bytes again, from another call: not saved twice.
  EXPECT_FALSE(annotate(capture, build_mem_capture_record(0x5000, 10, 0, "\xb8\x01\x02\x03\x04", 0, 78)).event);
  const Annotated again = annotate(
      capture, build_mem_capture_record(0x5000, 10, 5, std::string("\xc3\0\0\0\0", 5), TRACER_MEM_CAPTURE_LAST, 78));
  EXPECT_EQ(again.arg("existing"), "true");
  EXPECT_EQ(again.arg("capture"), path);
  EXPECT_EQ(capture.counters().regions_saved, 1u);
  EXPECT_EQ(capture.counters().regions_present, 1u);
  EXPECT_EQ(capture.not_saved(), 0u);
}

TEST(MemCaptureStore, TruncatedUnreadableLostAndOverTheLimit) {
  ScratchDir scratch("tracer-mem-capture");
  Result<MemCaptureStore> store = MemCaptureStore::open(scratch.path() + "/capture", 8);
  ASSERT_TRUE(store);
  MemCapture capture(std::move(*store));
  // Longer than the kernel's per-call bound: the bytes read are saved, flagged.
  const Annotated cut = annotate(
      capture,
      build_mem_capture_record(0x1000, 1 << 30, 0, "abcd", TRACER_MEM_CAPTURE_LAST | TRACER_MEM_CAPTURE_TRUNCATED));
  EXPECT_EQ(cut.arg("truncated"), "true");
  EXPECT_EQ(cut.arg("size"), "4");
  EXPECT_EQ(cut.arg("capture"), scratch.path() + "/capture/mem/" + sha256_of("abcd"));
  // Unreadable from the start: nothing to save.
  const Annotated unread = annotate(
      capture, build_mem_capture_record(0x2000, 4096, 0, "", TRACER_MEM_CAPTURE_LAST | TRACER_MEM_CAPTURE_READ_FAILED));
  EXPECT_EQ(unread.arg("capture_error"), "read_failed");
  EXPECT_EQ(unread.arg("read_failed"), "true");
  EXPECT_EQ(unread.arg("sha256"), "(none)");
  // A chunk lost between two.
  EXPECT_FALSE(annotate(capture, build_mem_capture_record(0x3000, 6, 0, "ab", 0)).event);
  EXPECT_EQ(
      annotate(capture, build_mem_capture_record(0x3000, 6, 4, "ef", TRACER_MEM_CAPTURE_LAST)).arg("capture_error"),
      "chunks_lost");
  // 4 + 5 > 8: over the limit, hashed but not saved; said once on stderr.
  ASSERT_TRUE(capture.take_notice() == std::nullopt);
  const Annotated over = annotate(capture, build_mem_capture_record(0x4000, 5, 0, "vwxyz", TRACER_MEM_CAPTURE_LAST));
  EXPECT_EQ(over.arg("capture_error"), "total_limit");
  EXPECT_EQ(over.arg("sha256"), sha256_of("vwxyz"));
  EXPECT_EQ(over.arg("capture"), "(none)");
  EXPECT_FALSE(std::filesystem::exists(scratch.path() + "/capture/mem/" + sha256_of("vwxyz")));
  EXPECT_EQ(capture.take_notice(),
            "memory capture limit reached: executable regions are no longer saved (tracing goes on)");
  annotate(capture, build_mem_capture_record(0x5000, 5, 0, "12345", TRACER_MEM_CAPTURE_LAST));
  EXPECT_EQ(capture.take_notice(), std::nullopt);
  EXPECT_EQ(capture.not_saved(), 4u);
}

TEST(MemCaptureStore, ASymlinkedDirectoryIsRefused) {
  ScratchDir scratch("tracer-mem-capture");
  std::filesystem::create_directories(scratch.path() + "/capture");
  std::filesystem::create_directory_symlink("/tmp", scratch.path() + "/capture/mem");
  EXPECT_FALSE(MemCaptureStore::open(scratch.path() + "/capture", 1 << 20));
}

}  // namespace
}  // namespace tracer
