// The NATS spool on a real directory: order, bound, a restart, and a
// directory that is not the tracer's own.
#include "tracer/output/nats_spool.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace tracer {
namespace {

class NatsSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tracer-spool-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ + "/spool";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static std::vector<SpooledRecord> records(int first, int count) {
    std::vector<SpooledRecord> out;
    for (int i = first; i < first + count; ++i)
      out.push_back({"r-" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}"});
    return out;
  }

  std::string root_;
  std::string dir_;
};

TEST_F(NatsSpoolTest, RecordsComeBackInOrderAcrossARestart) {
  {
    Result<NatsSpool> spool = NatsSpool::open(dir_, 1 << 20);
    ASSERT_TRUE(spool) << spool.error().message;
    EXPECT_TRUE(spool->empty());
    EXPECT_EQ(spool->append(records(0, 3)).stored, 3u);
    EXPECT_EQ(spool->append(records(3, 2)).stored, 2u);
  }
  struct stat info {};
  ASSERT_EQ(stat(dir_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  Result<NatsSpool> spool = NatsSpool::open(dir_, 1 << 20);
  ASSERT_TRUE(spool) << spool.error().message;
  EXPECT_FALSE(spool->empty());
  EXPECT_EQ(spool->append(records(5, 1)).stored, 1u);  // a new segment, after the old one
  Result<std::vector<SpooledRecord>> oldest = spool->read_oldest();
  ASSERT_TRUE(oldest);
  ASSERT_EQ(oldest->size(), 5u);
  EXPECT_EQ(oldest->front().id, "r-0");
  EXPECT_EQ(oldest->back().body, "{\"n\":4}");
  ASSERT_TRUE(spool->remove_oldest());
  oldest = spool->read_oldest();
  ASSERT_TRUE(oldest);
  ASSERT_EQ(oldest->size(), 1u);
  EXPECT_EQ(oldest->front().id, "r-5");
  ASSERT_TRUE(spool->remove_oldest());
  EXPECT_TRUE(spool->empty());
  EXPECT_EQ(spool->bytes(), 0u);
}

TEST_F(NatsSpoolTest, AFullSpoolStoresWhatFitsAndNoMore) {
  Result<NatsSpool> spool = NatsSpool::open(dir_, 40);
  ASSERT_TRUE(spool) << spool.error().message;
  const NatsSpool::Appended appended = spool->append(records(0, 5));  // 13 bytes each
  EXPECT_EQ(appended.stored, 3u);
  EXPECT_EQ(appended.error, 0);
  EXPECT_EQ(spool->append(records(5, 1)).stored, 0u);
  ASSERT_TRUE(spool->remove_oldest());
  EXPECT_EQ(spool->append(records(5, 1)).stored, 1u);
}

TEST_F(NatsSpoolTest, ASymbolicLinkIsRefused) {
  ASSERT_EQ(mkdir((root_ + "/real").c_str(), 0700), 0);
  ASSERT_EQ(symlink((root_ + "/real").c_str(), dir_.c_str()), 0);
  Result<NatsSpool> spool = NatsSpool::open(dir_, 1 << 20);
  ASSERT_FALSE(spool);
  EXPECT_NE(spool.error().message.find("symbolic link"), std::string::npos) << spool.error().message;
}

TEST_F(NatsSpoolTest, AnOpenDirectoryIsMadePrivate) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0777), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  ASSERT_TRUE(NatsSpool::open(dir_, 1 << 20));
  struct stat info {};
  ASSERT_EQ(stat(dir_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace tracer
