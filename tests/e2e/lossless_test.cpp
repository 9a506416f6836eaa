// End-to-end: a string that is not valid UTF-8 comes back byte for byte from
// its JSON record, through the <key>_b64 field beside it: argv, the path of
// an executed file and the working directory, a line typed at bash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "exec_helpers.hpp"
#include "pty_program.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// Written here, not taken from the tracer: the test must not trust the code
// it checks.
std::string from_base64(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const size_t value = alphabet.find(c);
    if (value == std::string::npos) ADD_FAILURE() << "not base64: " << text;
    bits = bits << 6 | static_cast<uint32_t>(value & 0x3f);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// The original bytes of object[key]: its _b64 twin when it has one.
std::string exact_string(const Json& object, const std::string& key) {
  if (object.contains(key + "_b64")) return from_base64(object[key + "_b64"].get<std::string>());
  return object.at(key).get<std::string>();
}

std::vector<std::string> exact_list(const Json& object, const std::string& key) {
  auto items = object.at(key).get<std::vector<std::string>>();
  if (object.contains(key + "_b64"))
    for (const auto& [index, bytes] : object[key + "_b64"].items())
      items.at(std::stoul(index)) = from_base64(bytes.get<std::string>());
  return items;
}

// Bytes from..to (inclusive) but '/', in order.
std::string byte_range(int from, int to) {
  std::string out;
  for (int byte = from; byte <= to; ++byte)
    if (byte != '/') out += static_cast<char>(byte);
  return out;
}

// Not valid UTF-8: lone continuation bytes, overlong forms, a surrogate,
// beyond U+10FFFF, bytes no UTF-8 has, a sequence cut short.
const std::vector<std::string> kInvalid = {"\xe9",
                                           "\x80",
                                           "\xbf\x80",
                                           "\xc0\xaf",
                                           "\xc1\xbf",
                                           "\xe0\x80\xaf",
                                           "\xf0\x80\x80\xaf",
                                           "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80",
                                           "\xf5\xf8\xfc\xfe\xff",
                                           "\xe2\x82",
                                           "caf\xe9 ok",
                                           "\xc3\xa9\xe9"};

class LosslessTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
  TempDir dir_;
};

TEST_F(LosslessTest, ArgvExecutedPathAndCwdComeBackByteForByte) {
  // Names of 254 bytes (at most 255): every byte but NUL and '/', a byte
  // that is not valid UTF-8 first, each in another order.
  const std::string base = std::filesystem::canonical(dir_.path()).string();
  const std::string cwd = base + "/" + byte_range(0x80, 0xff) + byte_range(1, 0x7f);
  ASSERT_EQ(mkdir(cwd.c_str(), 0755), 0);
  const std::string program = cwd + "/" + byte_range(0xc0, 0xff) + byte_range(1, 0xbf);
  ASSERT_TRUE(std::filesystem::copy_file("/bin/true", program));
  ASSERT_EQ(chmod(program.c_str(), 0755), 0);

  auto tracer = start_tracer({"--output", "json", "--trace", "event=execve"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("lossless");
  std::vector<std::string> argv = {"true", marker, byte_range(1, 0xff), "caf\xc3\xa9", "\xf0\x9f\x99\x82"};
  argv.insert(argv.end(), kInvalid.begin(), kInvalid.end());
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(program.c_str(), args.data(), environ);
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(status, 0);

  const std::string line = tracer->wait_for_line_containing(marker);
  ASSERT_FALSE(line.empty()) << tracer->err().text();
  for (char c : line.substr(0, line.size() - 1)) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << line;
  const Json record = Json::parse(line);  // throws on a byte that is not valid UTF-8
  const Json& exec = record["args"];
  EXPECT_EQ(exact_list(exec, "argv"), argv);
  EXPECT_EQ(exact_string(exec, "pathname"), program);
  EXPECT_EQ(exact_string(exec, "filename"), program);
  EXPECT_EQ(exact_string(exec, "exe"), program);
  EXPECT_EQ(exact_string(record, "cwd"), cwd);
  // Only the entries that were not valid UTF-8 have their bytes beside them;
  // the readable field keeps the escapes.
  Json invalid_entries = Json::object();
  for (size_t i = 2; i < argv.size(); ++i)
    if (i == 2 || i >= 5) invalid_entries[std::to_string(i)] = true;
  ASSERT_TRUE(exec.contains("argv_b64")) << line;
  EXPECT_EQ(exec["argv_b64"].size(), invalid_entries.size()) << line;
  for (const auto& [index, bytes] : exec["argv_b64"].items()) EXPECT_TRUE(invalid_entries.contains(index)) << index;
  EXPECT_EQ(exec["argv"][5], "\u00e9");
  EXPECT_TRUE(has_flag(record, "invalid_utf8"));
}

TEST_F(LosslessTest, TypedLineComesBackByteForByte) {
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);
  // 8-bit input in the C locale: readline inserts each byte as it comes. The
  // control bytes are left out: the terminal and readline act on them (argv
  // above carries them).
  const std::string inputrc = dir_.write_file("inputrc", "set input-meta on\nset convert-meta off\n", 0644);
  constexpr const char* kPrompt = "tracer-e2e-lossless$ ";
  std::string why;
  auto shell = PtyProgram::start(
      "/usr/bin/bash", {"bash", "--norc", "--noprofile", "-i"},
      {std::string("PS1=") + kPrompt, "HOME=/tmp", "TERM=dumb", "PATH=/usr/bin:/bin", "LC_ALL=C", "INPUTRC=" + inputrc},
      0, why);
  ASSERT_TRUE(shell) << why;
  size_t at = shell->wait_for_output(kPrompt, 20s);
  ASSERT_NE(at, std::string::npos) << shell->output();

  const std::string marker = unique_marker("typed");
  std::string typed = "# " + marker + " " + byte_range(0x20, 0x7e) + byte_range(0x80, 0xff);
  for (const std::string& bytes : kInvalid) typed += " " + bytes;
  typed += " end";
  ASSERT_TRUE(shell->type_line(typed));
  ASSERT_NE(shell->wait_for_output(kPrompt, 20s, at), std::string::npos) << shell->output();
  ASSERT_TRUE(shell->type_line("exit"));
  EXPECT_TRUE(shell->wait_exit(20s));

  const Json record = expect_record(
      *tracer,
      [&](const Json& line) {
        return line["event"] == "bash_readline" && line["args"].contains("line") &&
               line["args"]["line"].get<std::string>().starts_with("# " + marker + " ");
      },
      "the typed line");
  EXPECT_EQ(exact_string(record["args"], "line"), typed);
  EXPECT_TRUE(record["args"].contains("line_b64"));
  EXPECT_FALSE(record["args"].contains("prompt_b64"));
}

}  // namespace
}  // namespace tracer::e2e
