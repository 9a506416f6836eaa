#include "tracer/core/bounded_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tracer/app/options.hpp"

namespace tracer {
namespace {

class BoundedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tracer-bounded-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(BoundedFileTest, ReadsARegularFileWithinTheLimit) {
  Result<std::string> read = read_bounded_file(write("small", "{\"trace\":[]}\n"), 4096);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, "{\"trace\":[]}\n");
  Result<std::string> exact = read_bounded_file(write("exact", std::string(4096, 'x')), 4096);
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_EQ(exact->size(), 4096u);
  Result<std::string> empty = read_bounded_file(write("empty", ""), 4096);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
}

TEST_F(BoundedFileTest, RefusesAFileOverTheLimit) {
  const Result<std::string> read = read_bounded_file(write("big", std::string(4097, 'x')), 4096);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "larger than 4 KiB");
}

TEST_F(BoundedFileTest, RefusesDevicesDirectoriesAndFifosWithoutReadingOrWaiting) {
  // /dev/zero never ends: read whole, it would exhaust memory.
  const Result<std::string> zero = read_bounded_file("/dev/zero", 1 << 20);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message, "not a regular file (a character device)");
  const Result<std::string> directory = read_bounded_file(dir_, 1 << 20);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message, "not a regular file (a directory)");

  // A FIFO with no writer: a blocking open would wait forever.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  const Result<std::string> from_fifo = read_bounded_file(fifo, 1 << 20);
  ASSERT_FALSE(from_fifo);
  EXPECT_EQ(from_fifo.error().message, "not a regular file (a FIFO)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(BoundedFileTest, MissingFileSaysWhy) {
  const Result<std::string> read = read_bounded_file(dir_ + "/absent", 1024);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "cannot read: No such file or directory");
}

// --config reads through the bounded reader: a usage error, at once.
TEST_F(BoundedFileTest, ConfigMustBeASmallRegularFile) {
  const auto config_error = [](const std::string& path) {
    const char* argv[] = {"tracer", "--config", path.c_str()};
    Result<Options> parsed = parse_command_line(3, argv);
    return parsed ? std::string("parsed") : parsed.error().message;
  };
  EXPECT_EQ(config_error("/dev/zero"), "--config /dev/zero: not a regular file (a character device)");
  const std::string fifo = dir_ + "/config.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(config_error(fifo), "--config " + fifo + ": not a regular file (a FIFO)");
  const std::string big = write("big.json", "{\"trace\":[\"" + std::string(1 << 20, 'x') + "\"]}");
  EXPECT_EQ(config_error(big), "--config " + big + ": larger than 1 MiB");
  // A number too large for a double is the parser's out_of_range, not a
  // parse_error (found by fuzz.config): a usage error too, never a crash.
  const std::string huge = write("huge.json", "{\"max_args\": 64e222222}");
  EXPECT_EQ(config_error(huge).rfind("--config " + huge + ": not valid JSON: number overflow", 0), 0u)
      << config_error(huge);
}

TEST(DescribeSize, NamesTheUnit) {
  EXPECT_EQ(describe_size(1 << 20), "1 MiB");
  EXPECT_EQ(describe_size(4096), "4 KiB");
  EXPECT_EQ(describe_size(100), "100 bytes");
}

}  // namespace
}  // namespace tracer
