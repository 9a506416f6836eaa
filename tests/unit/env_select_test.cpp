#include "tracer/process/env_select.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "record_builder.hpp"
#include "tracer/app/options.hpp"
#include "tracer/core/clock.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/output/format.hpp"

namespace tracer {
namespace {

using testing::build_exec_record;
using testing::ExecRecordSpec;
using testing::nul_joined;

std::vector<std::string> split(const std::string& nul_separated) {
  std::vector<std::string> items;
  StringList{nul_separated}.for_each([&](std::string_view item) { items.emplace_back(item); });
  return items;
}

struct Selected {
  std::vector<std::string> entries;
  bool truncated = false;
};

Selected select(const std::vector<std::string>& env, const EnvOptions& options = {}, bool cut = false) {
  std::string out;
  const bool truncated = select_env(nul_joined(env), cut, options, out);
  return {split(out), truncated};
}

TEST(EnvSelect, SecretNamesAnyCaseAnywhere) {
  for (const char* name :
       {"MY_API_TOKEN", "github_token", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "PASSWD", "SSH_PRIVATE",
        "Session_Cookie", "HTTP_AUTHORIZATION", "GPG_PASSPHRASE", "SENTRY_DSN", "CREDENTIALS_FILE", "api_key"})
    EXPECT_TRUE(env_name_is_secret(name)) << name;
  for (const char* name : {"PATH", "HOME", "LANG", "TERM", "PWD", "USER", "SHELL", ""})
    EXPECT_FALSE(env_name_is_secret(name)) << name;
}

TEST(EnvSelect, KeepsEveryNameAndRedactsSecretValues) {
  const Selected selected = select({"PATH=/usr/bin", "MY_API_TOKEN=hunter2-xyz", "EMPTY=", "K=v=w"});
  EXPECT_EQ(selected.entries,
            (std::vector<std::string>{"PATH=/usr/bin", "MY_API_TOKEN=[redacted]", "EMPTY=", "K=v=w"}));
  EXPECT_FALSE(selected.truncated);
}

TEST(EnvSelect, RedactedValuesOfAnyLengthLookTheSame) {
  const Selected short_value = select({"TOKEN=a"});
  const Selected long_value = select({"TOKEN=" + std::string(5000, 'x')});
  EXPECT_EQ(short_value.entries, long_value.entries);
  EXPECT_EQ(short_value.entries, std::vector<std::string>{"TOKEN=[redacted]"});
}

TEST(EnvSelect, AllowAndDenyGlobs) {
  const std::vector<std::string> env{"LC_ALL=C", "LC_TIME=en_GB", "LANG=C", "HOME=/root", "LC_SECRET_KEY=k"};
  EXPECT_EQ(select(env, {.enabled = true, .allow = {"LC_*"}, .deny = {}}).entries,
            (std::vector<std::string>{"LC_ALL=C", "LC_TIME=en_GB", "LC_SECRET_KEY=[redacted]"}));
  EXPECT_EQ(select(env, {.enabled = true, .allow = {"LC_*", "HOME"}, .deny = {"LC_T*", "*KEY"}}).entries,
            (std::vector<std::string>{"LC_ALL=C", "HOME=/root"}));
  EXPECT_EQ(select(env, {.enabled = true, .allow = {}, .deny = {"L*"}}).entries,
            (std::vector<std::string>{"HOME=/root"}));
  // A glob matches the name only, not the value.
  EXPECT_TRUE(select(env, {.enabled = true, .allow = {"*=C"}, .deny = {}}).entries.empty());
}

TEST(EnvSelect, EntriesWithoutValueOrEmptyAreKeptOrSkipped) {
  EXPECT_EQ(select({"JUSTANAME", "", "A=1"}).entries, (std::vector<std::string>{"JUSTANAME", "A=1"}));
}

TEST(EnvSelect, CutTailIsDroppedNotShown) {
  // The kernel cut inside "MY_API_TOK...": a name that could dodge redaction.
  std::string raw = nul_joined({"A=1", "B=2"}) + "MY_API_TOK";
  std::string out;
  EXPECT_TRUE(select_env(raw, true, {}, out));
  EXPECT_EQ(split(out), (std::vector<std::string>{"A=1", "B=2"}));
  // Cut at a NUL: nothing dropped here (the kernel's flag still says cut).
  out.clear();
  EXPECT_FALSE(select_env(nul_joined({"A=1"}), true, {}, out));
  EXPECT_EQ(split(out), std::vector<std::string>{"A=1"});
  // No NUL at all: nothing is whole.
  out.clear();
  EXPECT_TRUE(select_env("PARTIAL=x", true, {}, out));
  EXPECT_TRUE(out.empty());
}

TEST(EnvSelect, CountBound) {
  std::vector<std::string> env;
  for (size_t i = 0; i < kEnvMaxVariables + 3; ++i) env.push_back("V" + std::to_string(i) + "=x");
  Selected selected = select(env);
  EXPECT_EQ(selected.entries.size(), kEnvMaxVariables);
  EXPECT_TRUE(selected.truncated);
  env.resize(kEnvMaxVariables);
  selected = select(env);
  EXPECT_EQ(selected.entries.size(), kEnvMaxVariables);
  EXPECT_FALSE(selected.truncated);
}

// From the record to the JSON line: the secret's bytes and length appear
// nowhere; a record decoded without option:env has no env.
class EnvRecordTest : public ::testing::Test {
 protected:
  std::string json_line(const ExecRecordSpec& spec, bool env_on, const EnvOptions& options) {
    record_ = build_exec_record(spec);
    DecodeOptions decode_options;
    decode_options.env = env_on;
    Result<Event> event = decode(record_, decode_options);
    EXPECT_TRUE(event.ok());
    EnvSelector selector(options);
    selector.apply(*event);
    EXPECT_FALSE(event->raw_env);
    std::string out;
    JsonFormatter(clock_).append(out, *event);
    return out;
  }
  BootToWallClock clock_{0};
  std::vector<std::byte> record_;
};

TEST_F(EnvRecordTest, JsonCarriesSelectedRedactedEnv) {
  ExecRecordSpec spec;
  spec.env = nul_joined({"MARK=\"q\"\n", "MY_API_TOKEN=s3cr3t-value-77", "HOME=/root"});
  const std::string line = json_line(spec, true, {.enabled = true, .allow = {}, .deny = {"HOME"}});
  EXPECT_NE(line.find(R"("env":["MARK=\"q\"\n","MY_API_TOKEN=[redacted]"],"env_truncated":false)"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("s3cr3t"), std::string::npos);
  EXPECT_NE(line.find(R"("argv":["ls","-la"])"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("pathname":"/bin/ls")"), std::string::npos) << line;
}

TEST_F(EnvRecordTest, KernelCutIsAFlag) {
  ExecRecordSpec spec;
  spec.env = nul_joined({"A=1"}) + "B=par";
  spec.flags |= TRACER_EXEC_ENV_TRUNCATED;
  const std::string line = json_line(spec, true, {.enabled = true, .allow = {}, .deny = {}});
  EXPECT_NE(line.find(R"("flags":["env_truncated"])"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("env":["A=1"],"env_truncated":true)"), std::string::npos) << line;
}

TEST_F(EnvRecordTest, WithoutOptionNoEnvAndFailuresNeverHaveOne) {
  ExecRecordSpec spec;
  EXPECT_EQ(json_line(spec, false, {}).find("env"), std::string::npos);
  spec.flags = 0;  // a failed exec: no new image
  spec.ret = -2;
  EXPECT_EQ(json_line(spec, true, {.enabled = true, .allow = {}, .deny = {}}).find("\"env"), std::string::npos);
}

TEST_F(EnvRecordTest, EmptyEnvironmentIsAnEmptyList) {
  ExecRecordSpec spec;
  EXPECT_NE(json_line(spec, true, {.enabled = true, .allow = {}, .deny = {}}).find(R"("env":[],)"), std::string::npos);
}

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tracer");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(EnvOptions, OutputOptionAndGlobs) {
  EXPECT_FALSE(parse({})->env.enabled);
  Result<Options> options =
      parse({"--output", "option:env", "--env-allow", "LC_*", "--env-allow", "HOME", "--env-deny", "*KEY*"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->env.enabled);
  EXPECT_EQ(options->env.allow, (std::vector<std::string>{"LC_*", "HOME"}));
  EXPECT_EQ(options->env.deny, std::vector<std::string>{"*KEY*"});
  EXPECT_EQ(parse({"--env-allow", "X"}).error().message, "--env-allow needs --output option:env");
  EXPECT_EQ(parse({"--env-deny", "X"}).error().message, "--env-deny needs --output option:env");
  EXPECT_FALSE(parse({"--stats", "--output", "option:env"}).ok());
}

TEST(EnvOptions, ConfigKeysWhereTheCommandLineIsSilent) {
  char path[] = "/tmp/tracer-env-config-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << R"({"output": ["json", "option:env"], "env_allow": "A*", "env_deny": ["AB", "AC"]})";
  Result<Options> options = parse({"--config", path});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->env.allow, std::vector<std::string>{"A*"});
  EXPECT_EQ(options->env.deny, (std::vector<std::string>{"AB", "AC"}));
  options = parse({"--config", path, "--env-allow", "B*"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->env.allow, std::vector<std::string>{"B*"});
  std::remove(path);
}

}  // namespace
}  // namespace tracer
