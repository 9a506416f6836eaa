// End-to-end: --exec-hash and --capture exec. The sha256 on exec records (or
// in the exec_hash record that follows one), the files saved once per
// content, fileless execs, the limit, and a binary replaced after its exec.
// Then --capture write and --capture mem.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// Only what the test's own children run: other work on the machine adds
// nothing to hash.
const std::vector<std::string> kOwnChildren = {"--output", "json", "--trace", "comm=tracer_e2e_te*"};

std::string sha256sum(const std::string& path) {
  std::string command = "sha256sum '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {};
  char line[256] = {};
  const bool read = std::fgets(line, sizeof(line), pipe) != nullptr;
  pclose(pipe);
  return read ? std::string(line, 64) : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string copy_binary(TempDir& dir, const std::string& from, const std::string& name) {
  return dir.write_file(name, read_file(from), 0755);
}

// The sha256 the tracer gave the exec of this record: on the record itself,
// or in the exec_hash record with its exec_id. Sets source. file: "exe", or
// "script" for a #! script's own bytes (fields prefixed script_).
std::string exec_sha256(TracerProcess& tracer, const Json& exec, std::string& source, const std::string& file = "exe") {
  const std::string prefix = file == "exe" ? "" : "script_";
  if (exec["args"].contains(prefix + "sha256")) {
    source = exec["args"].value(prefix + "sha256_source", "");
    return exec["args"][prefix + "sha256"];
  }
  EXPECT_EQ(exec["args"].value(prefix + "sha256_pending", false), true) << exec.dump();
  const Json hash = expect_record(
      tracer,
      [&](const Json& record) {
        return record["event"] == "exec_hash" && record["exec_id"] == exec["exec_id"] && record["args"]["file"] == file;
      },
      "the exec_hash record of " + exec["exec_id"].get<std::string>());
  source = hash["args"].value("sha256_source", "");
  return hash["args"].value("sha256", "");
}

std::function<bool(const Json&)> capture_of(const std::string& sha256) {
  return
      [sha256](const Json& record) { return record["event"] == "exec_capture" && record["args"]["sha256"] == sha256; };
}

// A child that runs `sh -c 'echo ready; read line'` (or that file as a memfd,
// or a copy) and stays until released: its /proc/PID/exe stays open to read.
class LiveShell {
 public:
  // exec_fd >= 0: execveat(exec_fd, "", AT_EMPTY_PATH); else execve(path).
  LiveShell(const std::string& path, int exec_fd, const std::string& marker) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], STDIN_FILENO);
      dup2(from_child[1], STDOUT_FILENO);
      const char* argv[] = {"sh", "-c", "echo ready; read line", marker.c_str(), nullptr};
      if (exec_fd >= 0)
        syscall(SYS_execveat, exec_fd, "", argv, environ, AT_EMPTY_PATH);
      else
        execv(path.c_str(), const_cast<char**>(argv));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    release_fd_ = to_child[1];
    char ready[6] = {};
    ready_ = read(from_child[0], ready, sizeof(ready)) == 6;
    close(from_child[0]);
  }
  ~LiveShell() {
    if (release_fd_ >= 0) close(release_fd_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  int release_fd_ = -1;
  bool ready_ = false;
};

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
  std::string capture_dir() const { return dir_.path() + "/capture"; }
  void start(std::vector<std::string> extra) {
    std::vector<std::string> args = kOwnChildren;
    args.insert(args.end(), extra.begin(), extra.end());
    tracer_ = start_tracer(args);
    ASSERT_TRUE(tracer_);
  }
  Json exec_record(const std::string& marker) {
    return expect_record(*tracer_, has_marker(marker), "the exec with " + marker);
  }
  TempDir dir_;
  std::unique_ptr<TracerProcess> tracer_;
};

TEST_F(CaptureTest, CopiedBinaryIsCapturedOnceWithTheSha256OfItsBytes) {
  const std::string binary = copy_binary(dir_, "/bin/true", "copied-true");
  const std::string expected = sha256sum(binary);
  ASSERT_EQ(expected.size(), 64u);
  start({"--capture", "exec:" + capture_dir()});
  const std::string marker = unique_marker("capture");
  run_execve(binary, {binary, marker});
  const Json exec = exec_record(marker);
  std::string source;
  EXPECT_EQ(exec_sha256(*tracer_, exec, source), expected);
  EXPECT_TRUE(source == "exe" || source == "path") << source;

  const Json capture = expect_record(*tracer_, capture_of(expected), "the exec_capture record");
  EXPECT_EQ(capture["exec_id"], exec["exec_id"]);
  EXPECT_EQ(capture["args"]["path"], binary);
  EXPECT_EQ(capture["args"]["size"], std::filesystem::file_size(binary));
  EXPECT_EQ(capture["args"]["existing"], false);
  const std::string saved = capture_dir() + "/exec/" + expected;
  EXPECT_EQ(capture["args"]["capture"], saved);
  EXPECT_EQ(sha256sum(saved), expected);
  struct stat file {
  }, directory{};
  ASSERT_EQ(stat(saved.c_str(), &file), 0);
  ASSERT_EQ(stat(capture_dir().c_str(), &directory), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  EXPECT_EQ(directory.st_mode & 0777, 0700u);
}

TEST_F(CaptureTest, HundredRunsOfOneBinaryGiveOneCaptureAndOneHash) {
  const std::string binary = copy_binary(dir_, "/bin/true", "hot-true");
  const std::string expected = sha256sum(binary);
  start({"--capture", "exec:" + capture_dir()});
  std::vector<std::string> markers;
  for (int run = 0; run < 100; ++run) {
    markers.push_back(unique_marker("hot"));
    run_execve(binary, {binary, markers.back()});
  }
  ASSERT_TRUE(tracer_->wait_for_json(has_marker(markers.back())));
  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  size_t captures = 0, hashed = 0;
  for (const Json& record : tracer_->json_lines()) {
    if (capture_of(expected)(record)) ++captures;
    if (record["args"].value("sha256", "") == expected && record["event"] != "exec_capture") ++hashed;
  }
  EXPECT_EQ(captures, 1u);
  // Each exec carries the hash, or is followed by it.
  EXPECT_EQ(hashed, 100u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(capture_dir() + "/exec"))
    if (entry.path().filename() == expected) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(CaptureTest, MemfdExecIsCapturedFromProcExe) {
  start({"--capture", "exec:" + capture_dir()});
  const int memory_file = memfd_create("tracer-e2e-capture", MFD_CLOEXEC);
  ASSERT_GE(memory_file, 0);
  const std::string content = read_file("/bin/sh");
  ASSERT_EQ(write(memory_file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  const std::string expected = sha256sum("/bin/sh");
  const std::string marker = unique_marker("memfd-capture");
  LiveShell shell("", memory_file, marker);
  ASSERT_TRUE(shell.ready());
  const Json exec = exec_record(marker);
  EXPECT_NE(exec["flags"].dump().find("fileless"), std::string::npos) << exec.dump();
  std::string source;
  EXPECT_EQ(exec_sha256(*tracer_, exec, source), expected);
  EXPECT_EQ(source, "exe");
  const Json capture = expect_record(*tracer_, capture_of(expected), "the memfd's exec_capture record");
  EXPECT_EQ(read_file(capture_dir() + "/exec/" + expected), content);
  close(memory_file);
}

TEST_F(CaptureTest, BinaryReplacedAfterItsExecIsHashedAsTheBytesThatRan) {
  const std::string binary = copy_binary(dir_, "/bin/sh", "replaced-sh");
  const std::string expected = sha256sum(binary);
  start({"--exec-hash"});
  const std::string marker = unique_marker("replaced");
  LiveShell shell(binary, -1, marker);
  ASSERT_TRUE(shell.ready());
  // The path now holds other bytes; the process still runs the old ones.
  const std::string replacement = dir_.write_file("replacement", "#!/bin/sh\nexit 3\n", 0755);
  ASSERT_EQ(rename(replacement.c_str(), binary.c_str()), 0);
  const Json exec = exec_record(marker);
  std::string source;
  EXPECT_EQ(exec_sha256(*tracer_, exec, source), expected);
  EXPECT_EQ(source, "exe");
}

TEST_F(CaptureTest, ScriptIsHashedBesideItsInterpreter) {
  const std::string script = dir_.write_file("hashed.sh", "#!/bin/sh\n# " + unique_marker("body") + "\nexit 0\n", 0755);
  start({"--exec-hash"});
  const std::string marker = unique_marker("script-hash");
  run_execve(script, {script, marker});
  const Json exec = exec_record(marker);
  std::string source;
  EXPECT_EQ(exec_sha256(*tracer_, exec, source, "script"), sha256sum(script));
  EXPECT_EQ(source, "path");
  EXPECT_EQ(exec_sha256(*tracer_, exec, source), sha256sum(std::filesystem::canonical("/bin/sh")));
}

TEST_F(CaptureTest, CaptureLimitStopsSavingButNotTracing) {
  const std::string binary = copy_binary(dir_, "/bin/true", "limited-true");
  const std::string expected = sha256sum(binary);
  start({"--capture", "exec", "--capture", "dir:" + capture_dir(), "--capture-limit", "1000"});
  const std::string marker = unique_marker("limit");
  run_execve(binary, {binary, marker});
  const Json exec = exec_record(marker);
  std::string source;
  EXPECT_EQ(exec_sha256(*tracer_, exec, source), expected);
  EXPECT_TRUE(tracer_->err().wait_for(
      [](const std::string& line) {
        return line == "tracer: capture limit of 1000 bytes reached: executables are no longer saved (tracing goes on)";
      },
      20s));
  // Tracing goes on.
  const std::string after = unique_marker("after-limit");
  run_execve("/bin/true", {"/bin/true", after});
  exec_record(after);
  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  for (const Json& record : tracer_->json_lines()) EXPECT_NE(record["event"], "exec_capture") << record.dump();
  EXPECT_FALSE(std::filesystem::exists(capture_dir() + "/exec/" + expected));
  // Every file read after the limit (the copy, /bin/true, and whatever else
  // the test's children ran) is counted.
  std::set<std::string> read_files;  // one count per file read, however many execs waited for it
  for (const Json& record : tracer_->json_lines())
    if (record["event"] == "exec_hash" && record["args"].contains("sha256")) read_files.insert(record["args"]["path"]);
  const size_t not_saved = read_files.size();
  EXPECT_GE(not_saved, 2u);
  EXPECT_NE(tracer_->err().text().find("capture limit reached: " + std::to_string(not_saved)), std::string::npos)
      << tracer_->err().text();
}

TEST_F(CaptureTest, UnknownCaptureKindIsAUsageError) {
  const Completed run = run_tracer_to_completion({"--capture", "bogus"});
  EXPECT_EQ(WEXITSTATUS(run.status), 2) << run.err;
  EXPECT_NE(run.err.find("--capture bogus: expected exec, exec:DIR, dir:DIR, write=GLOB or mem"), std::string::npos)
      << run.err;
}

// A file descriptor closed with its scope.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

// --capture write=GLOB: the test process's own writes (its comm passes the
// --trace filter) to files in a test directory.
class WriteCaptureTest : public CaptureTest {
 protected:
  std::string files() const { return dir_.path() + "/files"; }
  void SetUp() override {
    CaptureTest::SetUp();
    std::filesystem::create_directories(files() + "/sub");
  }
  OwnedFd create(const std::string& name) {
    return OwnedFd(::open((files() + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  }
  Json write_record(const std::string& name, const std::string& call, uint64_t offset) {
    const std::string path = files() + "/" + name;
    return expect_record(
        *tracer_,
        [&](const Json& record) {
          return record["event"] == "write_capture" && record["args"]["path"] == path &&
                 record["args"]["call"] == call && record["args"]["file_offset"] == offset;
        },
        call + " of " + name + " at " + std::to_string(offset));
  }
  static mode_t mode_of(const std::string& path) {
    struct stat status {};
    return ::lstat(path.c_str(), &status) == 0 ? status.st_mode & 07777 : 0;
  }
  // The bytes the record says were saved, read back from the capture.
  static std::string saved_bytes(const Json& record) {
    const std::string all = read_file(record["args"]["capture"]);
    const size_t at = record["args"]["capture_offset"];
    const size_t length = record["args"]["length"];
    return at + length <= all.size() ? all.substr(at, length) : "(short capture)";
  }
};

TEST_F(WriteCaptureTest, WritePwriteAndWritevAreSavedWithTheirOffsets) {
  start({"--capture", "write=" + files() + "/*.dat", "--capture", "dir:" + capture_dir()});
  const std::string first = unique_marker("write");
  const std::string second = unique_marker("pwrite");
  std::string third_a = unique_marker("writev-a"), third_b = unique_marker("writev-b");
  {
    OwnedFd file = create("sub/data.dat");  // * also matches /
    OwnedFd outside = create("data.txt");   // under the prefix, not the glob
    ASSERT_TRUE(file && outside);
    ASSERT_EQ(::write(file.get(), first.data(), first.size()), ssize_t(first.size()));
    ASSERT_EQ(::pwrite(file.get(), second.data(), second.size(), 100000), ssize_t(second.size()));
    iovec parts[] = {{third_a.data(), third_a.size()}, {third_b.data(), third_b.size()}};
    ASSERT_EQ(::writev(file.get(), parts, 2), ssize_t(third_a.size() + third_b.size()));
    ASSERT_EQ(::write(outside.get(), first.data(), first.size()), ssize_t(first.size()));
  }
  const Json written = write_record("sub/data.dat", "write", 0);
  EXPECT_EQ(written["args"]["length"], first.size());
  EXPECT_EQ(written["ret"], first.size());
  EXPECT_EQ(saved_bytes(written), first);
  // pwrite64 at its own offset; f_pos stays after the first write.
  const Json positioned = write_record("sub/data.dat", "pwrite64", 100000);
  EXPECT_EQ(saved_bytes(positioned), second);
  const Json vector = write_record("sub/data.dat", "writev", first.size());
  EXPECT_EQ(vector["args"]["length"], third_a.size() + third_b.size());
  EXPECT_EQ(saved_bytes(vector), third_a + third_b);
  struct stat status {};
  ASSERT_EQ(::stat((files() + "/sub/data.dat").c_str(), &status), 0);
  EXPECT_EQ(vector["args"]["inode"], status.st_ino);
  EXPECT_EQ(written["args"]["capture"],
            capture_dir() + "/write/" + std::to_string(status.st_dev) + "-" + std::to_string(status.st_ino));
  EXPECT_EQ(mode_of(written["args"]["capture"]), 0600u);
  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  for (const Json& record : tracer_->json_lines())
    if (record["event"] == "write_capture") {
      EXPECT_EQ(record["args"]["path"], files() + "/sub/data.dat");
    }
}

TEST_F(WriteCaptureTest, PerFileLimitIsCountedAndKeepsTheFirstBytes) {
  start({"--capture", "write=" + files() + "/*", "--capture", "dir:" + capture_dir(), "--capture-file-limit", "10"});
  {
    OwnedFd file = create("limited");
    ASSERT_TRUE(file);
    for (const char* part : {"01234567", "89abcdef", "ghij"})
      ASSERT_EQ(::write(file.get(), part, std::strlen(part)), ssize_t(std::strlen(part)));
  }
  const Json kept = write_record("limited", "write", 8);  // the 2 bytes below the limit
  EXPECT_EQ(kept["args"]["length"], 2);
  EXPECT_EQ(saved_bytes(kept), "89");
  const Json over = write_record("limited", "write", 10);  // that call's rest
  EXPECT_EQ(over["args"]["length"], 6);
  EXPECT_EQ(over["args"]["capture_error"], "file_limit");
  EXPECT_FALSE(over["args"].contains("capture"));
  const Json last = write_record("limited", "write", 16);
  EXPECT_EQ(last["args"]["length"], 4);
  EXPECT_EQ(last["args"]["capture_error"], "file_limit");
  EXPECT_EQ(read_file(kept["args"]["capture"]), "0123456789");
  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  EXPECT_NE(tracer_->err().text().find("write capture not saved: 2"), std::string::npos) << tracer_->err().text();
}

// --capture mem: tests/e2e/programs/mem_unpacker writes code into pages
// mapped read-write, makes them read-execute and calls them.
struct UnpackerRun {
  pid_t pid = -1;
  int status = -1;
  std::vector<std::pair<std::string, uint64_t>> executable;  // address ("0x..."), length
  std::pair<std::string, uint64_t> readonly;
};

UnpackerRun run_unpacker(uint32_t value, int count, int pages) {
  UnpackerRun run;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return run;
  const std::string value_text = std::to_string(value), count_text = std::to_string(count),
                    pages_text = std::to_string(pages);
  run.pid = fork();
  if (run.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    execl(TRACER_MEM_UNPACKER, "mem_unpacker", value_text.c_str(), count_text.c_str(), pages_text.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[512];
  for (ssize_t got; (got = read(out[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, size_t(got));
  close(out[0]);
  waitpid(run.pid, &run.status, 0);
  std::istringstream lines(text);
  std::string kind, address;
  uint64_t length = 0;
  while (lines >> kind >> address >> length) {
    if (kind == "exec") run.executable.emplace_back(address, length);
    if (kind == "readonly") run.readonly = {address, length};
  }
  return run;
}

// The bytes mem_unpacker wrote into its region number `index`.
std::string unpacker_bytes(uint32_t value, int index, uint64_t length) {
  const uint32_t returned = value + uint32_t(index);
  std::string bytes(length, '\0');
  bytes[0] = char(0xb8);
  std::memcpy(&bytes[1], &returned, sizeof(returned));
  bytes[5] = char(0xc3);
  for (uint64_t k = 6; k < length; ++k) bytes[k] = char(uint8_t(k * 31 + returned));
  return bytes;
}

// A value unique to this test run (the code returns it).
uint32_t unique_value() {
  static uint32_t serial = 0;
  return (uint32_t(getpid()) << 8 | ++serial) & 0x7fffffff;
}

class MemCaptureTest : public CaptureTest {
 protected:
  void start_mem(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--output",  "json", "--trace",   "comm=mem_unpacker",
                                     "--capture", "mem",  "--capture", "dir:" + capture_dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    tracer_ = start_tracer(args);
    ASSERT_TRUE(tracer_);
  }
  Json mem_record(pid_t pid, const std::string& address) {
    return expect_record(
        *tracer_,
        [&](const Json& record) {
          return record["event"] == "mem_capture" && record["pid"] == pid && record["args"]["address"] == address;
        },
        "the mem_capture of " + address + " in " + std::to_string(pid));
  }
  // This run's mem_capture records of pid (after the stop).
  size_t mem_records_of(pid_t pid) const {
    size_t count = 0;
    for (const Json& record : tracer_->json_lines())
      if (record["event"] == "mem_capture" && record["pid"] == pid) ++count;
    return count;
  }
  std::string saved_sha256(const std::string& bytes) {
    return sha256sum(dir_.write_file("expected-" + std::to_string(++files_), bytes, 0600));
  }
  int files_ = 0;
};

TEST_F(MemCaptureTest, CodeMadeExecutableIsSavedWithItsAddressAndBytes) {
  start_mem({});
  const uint32_t value = unique_value();
  const UnpackerRun run = run_unpacker(value, 1, 1);
  ASSERT_EQ(run.status, 0) << "the unpacker's code returned another value";
  ASSERT_EQ(run.executable.size(), 1u);
  const auto& [address, length] = run.executable[0];
  const std::string expected = unpacker_bytes(value, 0, length);
  const Json record = mem_record(run.pid, address);
  EXPECT_EQ(record["args"]["length"], length);
  EXPECT_EQ(record["args"]["prot"], "PROT_READ|PROT_EXEC");
  EXPECT_EQ(record["args"]["call"], "mprotect");
  EXPECT_EQ(record["args"]["was_writable"], true);
  EXPECT_EQ(record["args"]["anonymous"], true);
  EXPECT_EQ(record["args"]["size"], length);
  EXPECT_FALSE(record["args"].contains("truncated"));
  EXPECT_EQ(record["args"]["existing"], false);
  const std::string sha256 = saved_sha256(expected);
  ASSERT_EQ(sha256.size(), 64u);
  EXPECT_EQ(record["args"]["sha256"], sha256);
  const std::string saved = capture_dir() + "/mem/" + sha256;
  EXPECT_EQ(record["args"]["capture"], saved);
  EXPECT_EQ(read_file(saved), expected);
  struct stat file {
  }, directory{};
  ASSERT_EQ(lstat(saved.c_str(), &file), 0);
  ASSERT_EQ(lstat((capture_dir() + "/mem").c_str(), &directory), 0);
  EXPECT_EQ(file.st_mode & 07777, 0600u);
  EXPECT_EQ(directory.st_mode & 07777, 0700u);

  // A region of many chunks (40 pages: 160 KiB), and the first region's
  // bytes again: saved once, the second record says so.
  const UnpackerRun large = run_unpacker(value + 1000, 1, 40);
  ASSERT_EQ(large.status, 0);
  ASSERT_EQ(large.executable.size(), 1u);
  const std::string large_expected = unpacker_bytes(value + 1000, 0, large.executable[0].second);
  const Json large_record = mem_record(large.pid, large.executable[0].first);
  EXPECT_EQ(large_record["args"]["size"], 40 * length);
  EXPECT_EQ(large_record["args"]["sha256"], saved_sha256(large_expected));
  EXPECT_EQ(read_file(large_record["args"]["capture"]), large_expected);
  const UnpackerRun again = run_unpacker(value, 1, 1);
  ASSERT_EQ(again.status, 0);
  const Json again_record = mem_record(again.pid, again.executable.at(0).first);
  EXPECT_EQ(again_record["args"]["sha256"], sha256);
  EXPECT_EQ(again_record["args"]["existing"], true);
  EXPECT_EQ(again_record["args"]["capture"], saved);

  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  // One record per region made executable; none for the page made
  // read-only (no exec added).
  EXPECT_EQ(mem_records_of(run.pid), 1u);
  EXPECT_EQ(mem_records_of(large.pid), 1u);
  EXPECT_EQ(mem_records_of(again.pid), 1u);
  for (const Json& line : tracer_->json_lines())
    if (line["event"] == "mem_capture") {
      EXPECT_NE(line["args"]["address"], run.readonly.first) << line.dump();
    }
  size_t files = 0, temporaries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(capture_dir() + "/mem"))
    ++(entry.path().filename().string().starts_with(".") ? temporaries : files);
  EXPECT_EQ(files, 2u);
  EXPECT_EQ(temporaries, 0u);
}

TEST_F(MemCaptureTest, CaptureLimitStopsSavingRegionsButNotTracing) {
  // Two 4 KiB regions fit in 10000 bytes, the third does not.
  start_mem({"--capture-limit", "10000"});
  const uint32_t value = unique_value();
  const UnpackerRun run = run_unpacker(value, 4, 1);
  ASSERT_EQ(run.status, 0);
  ASSERT_EQ(run.executable.size(), 4u);
  for (int index = 0; index < 4; ++index) {
    const auto& [address, length] = run.executable[size_t(index)];
    const Json record = mem_record(run.pid, address);
    const std::string sha256 = saved_sha256(unpacker_bytes(value, index, length));
    EXPECT_EQ(record["args"]["sha256"], sha256);
    const std::string saved = capture_dir() + "/mem/" + sha256;
    if (index < 2) {
      EXPECT_EQ(record["args"]["capture"], saved);
      EXPECT_TRUE(std::filesystem::exists(saved));
    } else {
      EXPECT_EQ(record["args"]["capture_error"], "total_limit") << record.dump();
      EXPECT_FALSE(record["args"].contains("capture"));
      EXPECT_FALSE(std::filesystem::exists(saved));
    }
  }
  EXPECT_TRUE(tracer_->err().wait_for(
      [](const std::string& line) {
        return line == "tracer: memory capture limit reached: executable regions are no longer saved (tracing goes on)";
      },
      20s))
      << tracer_->err().text();
  // Tracing goes on.
  const UnpackerRun after = run_unpacker(value + 100, 1, 1);
  ASSERT_EQ(after.status, 0);
  EXPECT_EQ(mem_record(after.pid, after.executable.at(0).first)["args"]["capture_error"], "total_limit");
  EXPECT_EQ(tracer_->stop(SIGINT), 0);
  EXPECT_NE(tracer_->err().text().find("mem capture not saved: 3"), std::string::npos) << tracer_->err().text();
}

}  // namespace
}  // namespace tracer::e2e
