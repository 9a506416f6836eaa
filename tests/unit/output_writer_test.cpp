// Outputs under faults, with real files and no root: the files an output
// refuses or repairs (a symlink, a FIFO with no reader, a wrong mode, a torn
// last line), a full disk, a reader that never reads, a failed reopen.
#include "tracer/output/output_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace tracer {
namespace {

using Clock = std::chrono::steady_clock;

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/tracer-output-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string read(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  static mode_t mode_of(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
  }

  std::string dir_;
};

TEST_F(OutputFileTest, ASymbolicLinkIsRefusedAndItsTargetLeftAlone) {
  const std::string target = dir_ + "/target", link = dir_ + "/link";
  std::ofstream(target) << "untouched";
  ASSERT_EQ(chmod(target.c_str(), 0666), 0);
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  const Result<OutputWriter> writer = OutputWriter::open_file(link);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().message, "cannot open output file " + link + ": it is a symbolic link (refused)");
  EXPECT_EQ(read(target), "untouched");
  EXPECT_EQ(mode_of(target), 0666u);
  const std::string dangling = dir_ + "/dangling";
  ASSERT_EQ(symlink((dir_ + "/nowhere").c_str(), dangling.c_str()), 0);
  EXPECT_FALSE(OutputWriter::open_file(dangling));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/nowhere"));
}

TEST_F(OutputFileTest, AFileIsCreatedAndKept0640WhateverTheUmaskOrItsModeBefore) {
  const mode_t old_umask = umask(077);
  const std::string fresh = dir_ + "/fresh.json";
  EXPECT_TRUE(OutputWriter::open_file(fresh));
  umask(old_umask);
  EXPECT_EQ(mode_of(fresh), 0640u);

  const std::string open_to_all = dir_ + "/open.json";
  std::ofstream(open_to_all) << "previous\n";
  ASSERT_EQ(chmod(open_to_all.c_str(), 0666), 0);
  EXPECT_TRUE(OutputWriter::open_file(open_to_all));
  EXPECT_EQ(mode_of(open_to_all), 0640u);
  EXPECT_EQ(read(open_to_all), "previous\n");
}

TEST_F(OutputFileTest, AFileOfAnotherOwnerIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  const std::string theirs = dir_ + "/theirs.json";
  std::ofstream(theirs) << "";
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  const Result<OutputWriter> writer = OutputWriter::open_file(theirs);
  ASSERT_FALSE(writer);
  EXPECT_NE(writer.error().message.find("belongs to uid 65534"), std::string::npos) << writer.error().message;
}

TEST_F(OutputFileTest, AFileEndingInsideALineGetsItsNextRecordOnAFreshLine) {
  const std::string path = dir_ + "/torn.json";
  std::ofstream(path) << "{\"cut\":";
  {
    Result<OutputWriter> writer = OutputWriter::open_file(path);
    ASSERT_TRUE(writer);
    writer->append_record("{\"whole\":1}\n");
    EXPECT_TRUE(writer->flush());
    EXPECT_EQ(writer->counters().records_written, 1u);
  }
  EXPECT_EQ(read(path), "{\"cut\":\n{\"whole\":1}\n");
  {
    Result<OutputWriter> writer = OutputWriter::open_file(path);  // ends with '\n' now: nothing added
    ASSERT_TRUE(writer);
    writer->append_record("{\"next\":2}\n");
    EXPECT_TRUE(writer->flush());
  }
  EXPECT_EQ(read(path), "{\"cut\":\n{\"whole\":1}\n{\"next\":2}\n");
}

TEST_F(OutputFileTest, AFullDiskCostsRecordsCountedAndNeverFailsTheRun) {
  Result<OutputWriter> writer = OutputWriter::open_file("/dev/full");
  ASSERT_TRUE(writer);
  for (int i = 0; i < 3; ++i) writer->append_record("{\"n\":1}\n");
  EXPECT_TRUE(writer->end_of_batch());  // a device: handed over at once
  writer->append_record("{\"n\":2}\n");
  EXPECT_TRUE(writer->flush());
  const OutputMetrics counters = writer->counters();
  EXPECT_EQ(counters.records_written, 0u);
  EXPECT_EQ(counters.records_lost, 4u);
  EXPECT_GE(counters.write_errors, 1u);
  EXPECT_EQ(counters.records_stalled, 0u);
}

TEST_F(OutputFileTest, DevNullIsWrittenAndItsModeUntouched) {
  const mode_t before = mode_of("/dev/null");
  Result<OutputWriter> writer = OutputWriter::open_file("/dev/null");
  ASSERT_TRUE(writer);
  writer->append_record("x\n");
  EXPECT_TRUE(writer->flush());
  EXPECT_EQ(writer->counters().records_written, 1u);
  EXPECT_EQ(mode_of("/dev/null"), before);
}

TEST_F(OutputFileTest, AFifoWithNoReaderIsRefusedAtOnce) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const Result<OutputWriter> writer = OutputWriter::open_file(fifo);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().message,
            "cannot open output file " + fifo + ": a FIFO with no reader (start its reader first)");
}

TEST_F(OutputFileTest, AReaderThatNeverReadsCostsRecordsAndAStopTakesBoundedTime) {
  std::signal(SIGPIPE, SIG_IGN);  // the reader closes at the end, under a writer thread
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  constexpr uint64_t kRecords = 4000;
  const std::string record = std::string(1023, 'r') + "\n";
  OutputMetrics counters;
  {
    Result<OutputWriter> writer = OutputWriter::open_file(fifo);
    ASSERT_TRUE(writer);
    const auto started = Clock::now();
    for (uint64_t i = 0; i < kRecords; ++i) {
      writer->append_record(record);
      if (i % 16 == 15) {
        EXPECT_TRUE(writer->end_of_batch());
      }
    }
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(2)) << "appending blocked on the stalled reader";
    const auto stopping = Clock::now();
    EXPECT_TRUE(writer->flush(Clock::now() + std::chrono::milliseconds(300)));
    counters = writer->counters();
    EXPECT_LT(Clock::now() - stopping, std::chrono::seconds(1));
  }  // the writer thread, stuck in write(), is left behind
  close(reader);
  EXPECT_GT(counters.records_stalled, 0u);
  EXPECT_EQ(counters.records_written + counters.records_lost + counters.records_stalled, kRecords)
      << counters.records_written << " written, " << counters.records_lost << " lost, " << counters.records_stalled
      << " stalled";
}

// A reader slower than the records come, but reading (a slow disk, a busy
// shipper): the queue fills, and the records wait for room instead of being
// dropped while the writer is working.
TEST_F(OutputFileTest, AReaderThatReadsSlowlyLosesNothing) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(fcntl(reader, F_SETFL, 0), 0);  // blocking reads from here on
  constexpr uint64_t kRecords = 4096;       // 4 MiB: four times the queue
  const std::string record = std::string(1023, 'r') + "\n";
  OutputMetrics counters;
  uint64_t read_bytes = 0;
  std::thread slow_reader;
  {
    Result<OutputWriter> writer = OutputWriter::open_file(fifo);
    ASSERT_TRUE(writer);
    // Reading from here on: a read with no writer yet would see the end.
    slow_reader = std::thread([&] {
      // A reader busy for a moment (well below the writer's 100 ms "stuck"):
      // the queue fills behind a writer blocked in its first write.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::vector<char> chunk(64 * 1024);
      for (;;) {
        const ssize_t got = ::read(reader, chunk.data(), chunk.size());
        if (got <= 0) return;
        read_bytes += static_cast<uint64_t>(got);
      }
    });
    for (uint64_t i = 0; i < kRecords; ++i) {
      writer->append_record(record);
      if (i % 16 == 15) {
        EXPECT_TRUE(writer->end_of_batch());
      }
    }
    EXPECT_TRUE(writer->flush(Clock::now() + std::chrono::seconds(30)));
    counters = writer->counters();
  }  // the writer's end closes the FIFO: the reader sees its end
  slow_reader.join();
  close(reader);
  EXPECT_EQ(counters.records_stalled, 0u);
  EXPECT_EQ(counters.records_written, kRecords);
  EXPECT_EQ(read_bytes, kRecords * record.size());
}

TEST_F(OutputFileTest, AFailedReopenKeepsWritingToTheFileItHad) {
  const std::string logs = dir_ + "/logs", path = logs + "/exec.json";
  std::filesystem::create_directory(logs);
  Result<OutputWriter> writer = OutputWriter::open_file(path);
  ASSERT_TRUE(writer);
  writer->append_record("before\n");
  std::filesystem::rename(logs, dir_ + "/moved");  // the log directory is gone
  EXPECT_TRUE(writer->reopen());
  writer->append_record("after\n");
  EXPECT_TRUE(writer->flush());
  EXPECT_EQ(read(dir_ + "/moved/exec.json"), "before\nafter\n");
  EXPECT_EQ(writer->counters().records_written, 2u);
}

}  // namespace
}  // namespace tracer
