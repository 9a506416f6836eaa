// --capture write's store and record handling, on real files (no BPF, no root).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "record_builder.hpp"
#include "scratch_dir.hpp"
#include "tracer/capture/write_capture.hpp"
#include "tracer/core/abi.hpp"
#include "tracer/decode/decode.hpp"

namespace tracer {
namespace {

using testing::ScratchDir;

std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

WriteCaptureLimits limits_of(uint64_t total, uint64_t file, size_t open_files = 64) {
  WriteCaptureLimits limits;
  limits.total_bytes = total;
  limits.file_bytes = file;
  limits.max_open_files = open_files;
  return limits;
}

mode_t mode_of(const std::string& path) {
  struct stat status {};
  ::lstat(path.c_str(), &status);
  return status.st_mode & 07777;
}

TEST(WriteCaptureStore, AppendsEachFilesChunksToItsOwnPrivateFile) {
  ScratchDir scratch("tracer-write-capture");
  Result<WriteCaptureStore> store = WriteCaptureStore::open(scratch.path() + "/capture", limits_of(1 << 20, 1 << 20));
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(store->directory(), scratch.path() + "/capture/write");
  EXPECT_EQ(mode_of(store->directory()), 0700u);
  EXPECT_EQ(write_capture_file_name(2049, 1234), "2049-1234");

  Result<WriteSave> first = store->append(2049, 1234, bytes_of("hello "));
  Result<WriteSave> other = store->append(2049, 99, bytes_of("other"));
  Result<WriteSave> second = store->append(2049, 1234, bytes_of("world"));
  ASSERT_TRUE(first && other && second);
  EXPECT_EQ(first->state, WriteSaveState::saved);
  EXPECT_EQ(first->capture_offset, 0u);
  EXPECT_EQ(second->capture_offset, 6u);
  EXPECT_EQ(other->capture_offset, 0u);
  EXPECT_EQ(contents(store->directory() + "/2049-1234"), "hello world");
  EXPECT_EQ(contents(store->directory() + "/2049-99"), "other");
  EXPECT_EQ(mode_of(store->directory() + "/2049-1234"), 0600u);
  EXPECT_EQ(store->saved_bytes(), 16u);
}

TEST(WriteCaptureStore, LaterRunAppendsAfterWhatWasSaved) {
  ScratchDir scratch("tracer-write-capture");
  const WriteCaptureLimits limits = limits_of(100, 100);
  {
    Result<WriteCaptureStore> store = WriteCaptureStore::open(scratch.path() + "/c", limits);
    ASSERT_TRUE(store && store->append(1, 2, bytes_of("abc")));
  }
  Result<WriteCaptureStore> again = WriteCaptureStore::open(scratch.path() + "/c", limits);
  ASSERT_TRUE(again);
  Result<WriteSave> saved = again->append(1, 2, bytes_of("de"));
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->capture_offset, 3u);
  EXPECT_EQ(contents(scratch.path() + "/c/write/1-2"), "abcde");
}

TEST(WriteCaptureStore, PerFileAndTotalBoundsRefuseWholeChunks) {
  ScratchDir scratch("tracer-write-capture");
  Result<WriteCaptureStore> store = WriteCaptureStore::open(scratch.path() + "/c", limits_of(10, 6, 1));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->append(1, 1, bytes_of("1234"))->state, WriteSaveState::saved);
  EXPECT_EQ(store->append(1, 1, bytes_of("567"))->state, WriteSaveState::file_limit);  // 7 > 6
  EXPECT_EQ(store->append(1, 1, bytes_of("56"))->state, WriteSaveState::saved);        // exactly 6
  EXPECT_EQ(store->append(1, 2, bytes_of("abcd"))->state, WriteSaveState::saved);      // 10 in all
  EXPECT_EQ(store->append(1, 3, bytes_of("x"))->state, WriteSaveState::total_limit);
  // One open file at most: the first was closed for the second, reopened here.
  EXPECT_EQ(store->append(1, 1, bytes_of(""))->capture_offset, 6u);
  EXPECT_EQ(contents(scratch.path() + "/c/write/1-1"), "123456");
  EXPECT_EQ(contents(scratch.path() + "/c/write/1-2"), "abcd");
  EXPECT_FALSE(std::filesystem::exists(scratch.path() + "/c/write/1-3"));
}

TEST(WriteCaptureStore, PlantedSymlinkIsNotFollowed) {
  ScratchDir scratch("tracer-write-capture");
  Result<WriteCaptureStore> store = WriteCaptureStore::open(scratch.path() + "/c", limits_of(9, 9));
  ASSERT_TRUE(store);
  const std::string target = scratch.path() + "/target";
  std::ofstream(target) << "keep";
  ASSERT_EQ(::symlink(target.c_str(), (store->directory() + "/5-6").c_str()), 0);
  EXPECT_FALSE(store->append(5, 6, bytes_of("evil")));
  EXPECT_EQ(contents(target), "keep");
}

std::string arg_text(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  return arg && std::holds_alternative<std::string_view>(arg->value)
             ? std::string(std::get<std::string_view>(arg->value))
             : "(none)";
}

TEST(WriteCapture, SavesMatchingRecordsAndDropsTheOthers) {
  ScratchDir scratch("tracer-write-capture");
  Result<WriteCaptureStore> store = WriteCaptureStore::open(scratch.path() + "/c", limits_of(100, 4));
  ASSERT_TRUE(store);
  WriteCapture capture({"/srv/*.log"}, std::move(*store));
  const std::string name = write_capture_file_name(user_dev_from_kernel((8ull << 20) | 3), 99);

  Event saved;
  EXPECT_TRUE(capture.annotate(saved, testing::build_write_capture_record("/srv/a.log", "abc")));
  EXPECT_EQ(arg_text(saved, "capture"), scratch.path() + "/c/write/" + name);
  ASSERT_NE(saved.args.find("capture_offset"), nullptr);

  Event outside;
  EXPECT_FALSE(capture.annotate(
      outside, testing::build_write_capture_record("/srv/a.txt", "abc")));  // the prefix matched, not the glob

  Event over;
  EXPECT_TRUE(capture.annotate(over, testing::build_write_capture_record("/srv/a.log", "de")));
  EXPECT_EQ(arg_text(over, "capture_error"), "file_limit");

  Event kernel_limit;
  EXPECT_TRUE(capture.annotate(
      kernel_limit, testing::build_write_capture_record("/srv/a.log", "", TRACER_WRITE_CAPTURE_FILE_LIMIT, 1000)));
  EXPECT_EQ(arg_text(kernel_limit, "capture_error"), "file_limit");
  Event unread;
  EXPECT_TRUE(capture.annotate(
      unread, testing::build_write_capture_record("/srv/a.log", "", TRACER_WRITE_CAPTURE_READ_FAILED, 8)));
  EXPECT_EQ(arg_text(unread, "capture_error"), "read_failed");

  EXPECT_EQ(capture.counters().chunks_saved, 1u);
  EXPECT_EQ(capture.counters().bytes_saved, 3u);
  EXPECT_EQ(capture.counters().chunks_not_saved, 3u);
  EXPECT_EQ(capture.counters().bytes_not_saved, 2u + 1000u + 8u);
  EXPECT_EQ(contents(scratch.path() + "/c/write/" + name), "abc");
}

}  // namespace
}  // namespace tracer
