// --capture's directory and the exec hasher, on real files and this test's own
// process (no BPF, no root).
#include "tracer/capture/capture_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scratch_dir.hpp"
#include "tracer/capture/exec_hasher.hpp"
#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {
namespace {

using testing::ScratchDir;

UniqueFd open_read(const std::string& path) { return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); }

mode_t mode_of(const std::string& path) {
  struct stat status {};
  ::lstat(path.c_str(), &status);
  return status.st_mode & 07777;
}

TEST(CaptureStore, SavesEachContentOncePrivately) {
  ScratchDir scratch("tracer-capture");
  const std::string directory = scratch.path() + "/new/capture";
  Result<CaptureStore> store = CaptureStore::open(directory, 1 << 20);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(mode_of(directory), 0700u);
  EXPECT_EQ(mode_of(directory + "/exec"), 0700u);

  const std::string first = scratch.write("a", "abc");
  Result<DigestedFile> saved = store->digest(open_read(first).get(), true);
  ASSERT_TRUE(saved) << saved.error().message;
  const std::string name = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(sha256_hex(saved->digest), name);
  EXPECT_EQ(saved->size, 3u);
  EXPECT_EQ(saved->capture, CaptureState::saved);
  EXPECT_EQ(mode_of(directory + "/exec/" + name), 0600u);

  const std::string copy = scratch.write("b", "abc");
  Result<DigestedFile> again = store->digest(open_read(copy).get(), true);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->capture, CaptureState::present);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory + "/exec")) ++entries;
  EXPECT_EQ(entries, 1u);  // no temporary left behind
  EXPECT_EQ(store->saved_bytes(), 3u);
}

TEST(CaptureStore, StopsSavingAtTheLimit) {
  ScratchDir scratch("tracer-capture");
  Result<CaptureStore> store = CaptureStore::open(scratch.path() + "/capture", 4);
  ASSERT_TRUE(store);
  ASSERT_EQ(store->digest(open_read(scratch.write("a", "abc")).get(), true)->capture, CaptureState::saved);
  Result<DigestedFile> over = store->digest(open_read(scratch.write("b", "de")).get(), true);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->capture, CaptureState::over_limit);
  // Once reached, reached: even what would still fit is not saved.
  EXPECT_EQ(store->digest(open_read(scratch.write("c", "f")).get(), true)->capture, CaptureState::over_limit);
}

TEST(CaptureStore, RefusesASymlinkedDirectory) {
  ScratchDir scratch("tracer-capture");
  std::filesystem::create_directory(scratch.path() + "/elsewhere");
  std::filesystem::create_directory_symlink(scratch.path() + "/elsewhere", scratch.path() + "/link");
  EXPECT_FALSE(CaptureStore::open(scratch.path() + "/link", 1 << 20));
}

// An exec record of this very process: its /proc/self/exe is the file that ran.
struct OwnExec {
  Event event;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe");
  OwnExec() {
    struct stat status {};
    ::stat("/proc/self/exe", &status);
    event.definition = event_by_id(TRACER_EVENT_EXECVE);
    event.task.pid = static_cast<uint32_t>(::getpid());
    event.task.comm = "unit";
    event.ret = 0;
    event.args.add("exe", std::string_view(exe));
    event.args.add("dev", static_cast<uint64_t>(status.st_dev));
    event.args.add("inode", static_cast<uint64_t>(status.st_ino));
  }
};

std::vector<std::string> finished(ExecHasher& hasher) {
  hasher.finish(std::chrono::steady_clock::now() + std::chrono::seconds(20));
  std::vector<std::string> lines;
  const Status status = hasher.emit_finished([&lines](const Event& event) {
    std::string line(event.definition->name);
    for (const Arg& arg : event.args)
      if (const auto* text = std::get_if<std::string_view>(&arg.value)) line += " " + std::string(*text);
    lines.push_back(line);
    return ok_status();
  });
  EXPECT_TRUE(status);
  return lines;
}

TEST(ExecHasher, FirstExecIsPendingThenFollowedTheNextIsFromTheCache) {
  ExecHasher hasher({}, std::nullopt);
  OwnExec first;
  hasher.annotate(first.event);
  ASSERT_NE(first.event.args.find("sha256_pending"), nullptr);
  EXPECT_EQ(first.event.args.find("sha256"), nullptr);
  const std::vector<std::string> lines = finished(hasher);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("exec_hash " + first.exe + " exe ")) << lines[0];
  const std::string digest = lines[0].substr(lines[0].size() - 64 - 4, 64);

  OwnExec second;
  hasher.annotate(second.event);
  const Arg* sha256 = second.event.args.find("sha256");
  ASSERT_NE(sha256, nullptr);
  EXPECT_EQ(std::get<std::string_view>(sha256->value), digest);
  EXPECT_EQ(std::get<std::string_view>(second.event.args.find("sha256_source")->value), "exe");
  EXPECT_TRUE(finished(hasher).empty());
  EXPECT_EQ(hasher.counters().execs_not_hashed, 0u);
}

TEST(ExecHasher, AFileThatIsNotTheOneThatRanIsNotHashed) {
  ExecHasher hasher({}, std::nullopt);
  OwnExec exec;
  exec.event.args = {};
  exec.event.args.add("exe", std::string_view("/bin/true"));
  exec.event.args.add("dev", uint64_t{1});
  exec.event.args.add("inode", uint64_t{1});
  hasher.annotate(exec.event);
  ASSERT_NE(exec.event.args.find("sha256_error"), nullptr);
  EXPECT_EQ(std::get<std::string_view>(exec.event.args.find("sha256_error")->value), "gone");
  EXPECT_EQ(hasher.counters().execs_not_hashed, 1u);
}

TEST(ExecHasher, FailedExecsAreLeftAlone) {
  ExecHasher hasher({}, std::nullopt);
  OwnExec exec;
  exec.event.ret = -2;
  const size_t before = exec.event.args.size();
  hasher.annotate(exec.event);
  EXPECT_EQ(exec.event.args.size(), before);
}

}  // namespace
}  // namespace tracer
