// The pure side of --exec-hash and --capture: SHA-256, the digest cache, the
// options, the loss report's userspace causes.
#include <gtest/gtest.h>

#include <cstring>

#include "tracer/capture/capture_options.hpp"
#include "tracer/capture/file_digest.hpp"
#include "tracer/output/drop_report.hpp"

namespace tracer {
namespace {

std::string hash_of(std::string_view text) {
  Sha256 hash;
  hash.update({reinterpret_cast<const std::byte*>(text.data()), text.size()});
  return sha256_hex(hash.finish());
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, ChunksHashAsOneStream) {
  Sha256 hash;
  for (std::string_view part : {"a", "b", "c"}) hash.update({reinterpret_cast<const std::byte*>(part.data()), 1});
  EXPECT_EQ(sha256_hex(hash.finish()), hash_of("abc"));
}

TEST(FileKey, EveryStatFieldCounts) {
  struct stat status {};
  status.st_dev = 1;
  status.st_ino = 2;
  status.st_size = 3;
  status.st_mtim = {4, 5};
  status.st_ctim = {6, 7};
  const FileKey key = file_key_of(status);
  EXPECT_EQ(key, (FileKey{1, 2, 3, 4'000'000'005, 6'000'000'007}));
  FileKey rewritten = key;
  rewritten.ctime_ns += 1;
  EXPECT_NE(FileKeyHash{}(key), FileKeyHash{}(rewritten));
}

TEST(DigestCache, FindsWhatItHoldsAndDropsTheOldestBeyondCapacity) {
  DigestCache cache(2);
  const Sha256Digest a{1}, b{2}, c{3};
  cache.insert({.inode = 1}, a);
  cache.insert({.inode = 2}, b);
  cache.insert({.inode = 2}, c);  // already there: kept as it was
  ASSERT_NE(cache.find({.inode = 1}), nullptr);
  EXPECT_EQ(*cache.find({.inode = 2}), b);
  cache.insert({.inode = 3}, c);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find({.inode = 1}), nullptr);
  EXPECT_EQ(*cache.find({.inode = 3}), c);
  EXPECT_EQ(cache.find({.inode = 3, .size = 1}), nullptr);  // a rewritten file is a new key
}

TEST(CaptureOptions, SpecsSetKindAndDirectory) {
  CaptureOptions options;
  ASSERT_TRUE(apply_capture_specs({}, options));
  EXPECT_EQ(options, CaptureOptions{});
  EXPECT_EQ(options.directory, "/var/lib/tracer/capture");
  ASSERT_TRUE(apply_capture_specs({"exec"}, options));
  EXPECT_TRUE(options.capture_exec);
  EXPECT_TRUE(options.exec_hash);  // a capture is named by its hash
  CaptureOptions shorthand;
  ASSERT_TRUE(apply_capture_specs({"exec:/srv/cap"}, shorthand));
  EXPECT_TRUE(shorthand.capture_exec);
  EXPECT_EQ(shorthand.directory, "/srv/cap");
  CaptureOptions directory_only;
  ASSERT_TRUE(apply_capture_specs({"dir:/srv/x"}, directory_only));
  EXPECT_FALSE(directory_only.capture_exec);
  EXPECT_EQ(directory_only.directory, "/srv/x");
}

TEST(CaptureOptions, RefusesWhatItDoesNotDo) {
  for (const char* spec : {"bogus", "exec:", "dir:", "write=tmp/*", "mem:", "memory"}) {
    CaptureOptions options;
    const Status status = apply_capture_specs({spec}, options);
    ASSERT_FALSE(status) << spec;
    EXPECT_EQ(status.error().kind, ExitKind::usage) << spec;
  }
}

TEST(CaptureOptions, ByteCounts) {
  EXPECT_EQ(*parse_byte_count("1000", "--capture-limit"), 1000u);
  EXPECT_EQ(*parse_byte_count("512K", "--capture-limit"), 512u << 10);
  EXPECT_EQ(*parse_byte_count("100M", "--capture-limit"), 100u << 20);
  EXPECT_EQ(*parse_byte_count("2G", "--capture-limit"), uint64_t{2} << 30);
  for (const char* bad : {"", "M", "1T", "-1", "99999999999999999999", "17179869184G"})
    EXPECT_FALSE(parse_byte_count(bad, "--capture-limit")) << bad;
}

TEST(DropReport, NamesHashAndCaptureLosses) {
  LossCounts counts;
  counts.execs_not_hashed = 2;
  counts.captures_over_limit = 3;
  EXPECT_EQ(describe_losses(counts), "exec not hashed: 2; capture limit reached: 3");
  EXPECT_EQ(counts.records_lost(), 0u);
  LossCounts fresh;
  fresh.keep_userspace_counts(counts);
  EXPECT_EQ(fresh, counts);
}

}  // namespace
}  // namespace tracer
