// The audit log when its writes fail, with real files and no root: a file
// size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands in for a full disk, and
// cuts a write short inside a record as a full disk does.
#include "tracer/audit/audit_log.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "record_builder.hpp"
#include "tracer/audit/audit_chain.hpp"
#include "tracer/decode/decode.hpp"

namespace tracer {
namespace {

class AuditLogFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/tracer-audit-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
    log_ = dir_ + "/audit.log";
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    record_ = testing::build_exec_record({});
    Result<Event> event = decode(record_, {});
    ASSERT_TRUE(event.ok());
    event_ = std::move(*event);
  }
  void TearDown() override {
    setrlimit(RLIMIT_FSIZE, &saved_limit_);
    std::signal(SIGXFSZ, saved_handler_);
    std::filesystem::remove_all(dir_);
  }

  // Writes past `bytes` fail (EFBIG), the one that crosses it short.
  void limit_file_size(uint64_t bytes) {
    rlimit limit = saved_limit_;
    limit.rlim_cur = bytes;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  void lift_limit() { ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved_limit_), 0); }
  uint64_t log_size() const { return std::filesystem::file_size(log_); }
  std::string log_text() const {
    std::ifstream file(log_);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  std::unique_ptr<Sink> open(const std::optional<std::string>& key_file = {}, uint32_t epoch_seconds = 900) {
    AuditLogOptions options;
    options.path = log_;
    options.key_file = key_file;
    options.epoch_seconds = epoch_seconds;
    options.run_options_json = "{}";
    Result<std::unique_ptr<Sink>> sink = open_audit_log(options, clock_);
    EXPECT_TRUE(sink.ok()) << (sink.ok() ? "" : sink.error().message);
    return sink.ok() ? std::move(*sink) : nullptr;
  }
  static OutputMetrics counters(const Sink& sink) {
    MetricsSnapshot snapshot;
    sink.add_metrics(snapshot);
    return snapshot.outputs.at(0);
  }

  std::string dir_, log_;
  rlimit saved_limit_{};
  void (*saved_handler_)(int) = SIG_DFL;
  BootToWallClock clock_{1'795'408'230'000'000'000};
  std::vector<std::byte> record_;
  Event event_;
};

TEST_F(AuditLogFaultTest, AFailedWriteCostsItsRecordsCountedAndALossRecordSealsTheGap) {
  std::unique_ptr<Sink> sink = open();
  ASSERT_TRUE(sink);
  const uint64_t started = log_size();
  ASSERT_TRUE(sink->write(event_));
  ASSERT_TRUE(sink->end_of_batch());
  const uint64_t record = log_size() - started;

  // Room for two more records and half of a third.
  limit_file_size(log_size() + 2 * record + record / 2);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sink->write(event_));
  EXPECT_TRUE(sink->end_of_batch());  // the run goes on
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(sink->write(event_));
  EXPECT_TRUE(sink->end_of_batch());
  // The torn third record is cut off: only whole records, and they verify.
  EXPECT_EQ(log_size(), started + 3 * record);
  EXPECT_EQ(verify_log(log_text(), std::nullopt, std::nullopt).summary().substr(0, 13), "OK: 4 records");
  OutputMetrics failing = counters(*sink);
  EXPECT_EQ(failing.records_written, 4u);  // tracer-start and three events
  EXPECT_EQ(failing.records_lost, 5u);
  EXPECT_GE(failing.write_errors, 1u);

  lift_limit();
  ASSERT_TRUE(sink->flush());
  ASSERT_TRUE(sink->write(event_));
  ASSERT_TRUE(sink->flush());
  const VerifyReport report = verify_log(log_text(), std::nullopt, std::nullopt);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.records, 6u);
  EXPECT_EQ(report.story.loss_records, 1u);
  EXPECT_EQ(report.story.records_lost, 5u);
  ASSERT_EQ(report.story.notes.size(), 2u);  // the loss, and a run not stopped
  EXPECT_TRUE(report.story.notes[0].starts_with("loss: 5 record(s) lost (output_write_error) between "))
      << report.story.notes[0];
  // Half a record at least (a try while the limit held may have cut one of its own too).
  const size_t torn_at = report.story.notes[0].find(" bytes of a torn record cut off");
  const size_t number_at = report.story.notes[0].rfind(", ", torn_at);
  ASSERT_NE(torn_at, std::string::npos) << report.story.notes[0];
  EXPECT_GE(std::stoull(report.story.notes[0].substr(number_at + 2, torn_at - number_at - 2)), record / 2)
      << report.story.notes[0];
  EXPECT_EQ(counters(*sink).records_lost, 5u);
}

// A new key epoch whose first record was not written: once the log can be
// written again that epoch begins with a tracer-epoch record anew, and the
// key file moves on only then.
TEST_F(AuditLogFaultTest, AnEpochBegunDuringAFailureBeginsAgainOnceWritesSucceed) {
  const std::string key_file = dir_ + "/key", initial = "initial key bytes";
  std::ofstream(key_file) << initial;
  std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::unique_ptr<Sink> sink = open(key_file, 0);  // a new epoch at every batch end
  ASSERT_TRUE(sink);
  limit_file_size(log_size());
  EXPECT_TRUE(sink->end_of_batch());
  EXPECT_EQ(counters(*sink).records_lost, 1u);  // the tracer-epoch record
  EXPECT_TRUE(sink->write(event_));
  lift_limit();
  ASSERT_TRUE(sink->flush());
  ASSERT_TRUE(sink->write(event_));
  ASSERT_TRUE(sink->flush());

  const VerifyReport report = verify_log(log_text(), SealingKey{SecretBytes(initial), 0}, std::nullopt);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.story.records_lost, 2u);
  EXPECT_EQ(report.story.last_epoch, 1u);  // after the start's, the epoch begun anew
  std::ifstream stored(key_file);
  std::string key_text((std::istreambuf_iterator<char>(stored)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(key_text.starts_with("tracer-sealing-key v1 epoch=1 ")) << key_text;
}

// The path is the operator's, but said on a terminal: a newline or an ESC in
// it must not forge a line nor drive the terminal.
TEST_F(AuditLogFaultTest, ItsLinesOnStderrShowThePathEscaped) {
  const std::string dir = dir_ + "/x\ntracer: 0 events emitted\x1b[2J";
  std::filesystem::create_directory(dir);
  log_ = dir + "/audit.log";
  std::unique_ptr<Sink> sink = open();
  ASSERT_TRUE(sink);
  limit_file_size(log_size());
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(sink->write(event_));
  EXPECT_TRUE(sink->end_of_batch());
  lift_limit();
  EXPECT_TRUE(sink->flush());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find('\x1b'), std::string::npos) << err;
  EXPECT_NE(err.find("x\\ntracer: 0 events emitted\\x1b[2J/audit.log: File too large; "), std::string::npos) << err;
  EXPECT_NE(err.find("x\\ntracer: 0 events emitted\\x1b[2J/audit.log works again\n"), std::string::npos) << err;
}

}  // namespace
}  // namespace tracer
