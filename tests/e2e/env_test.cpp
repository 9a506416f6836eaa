// End-to-end: --output option:env, the environment a successful exec
// installed, read from the new image, picked by name and redacted.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

std::vector<std::string> env_of(const Json& record) { return record["args"]["env"].get<std::vector<std::string>>(); }

// The raw stdout line of a record (escaping included): what a secret must not be in.
std::string line_holding(TracerProcess& tracer, const std::string& marker) {
  for (const std::string& line : tracer.out().lines())
    if (line.find(marker) != std::string::npos) return line;
  return {};
}

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
};

TEST_F(EnvTest, EnvironmentIsReportedWithSecretsRedacted) {
  auto tracer =
      start_tracer({"--output", "json", "--output", "option:env", "--trace", "event=execve,sched_process_exec"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("env");
  // Two secrets of different lengths: their entries must come out the same.
  const std::string secret = "s3cr3t-" + unique_marker("token") + "-tail";
  const std::string short_secret = "x1";
  const std::vector<std::string> env{"TRACER_E2E_MARK=" + marker, "MY_API_TOKEN=" + secret,
                                     "db_password=" + short_secret, "PATH=/usr/bin:/bin", "QUOTED=a\"b\\c\td"};
  run_execve_with_env("/bin/true", {"/bin/true", marker}, env);

  const auto of_event = [&](const char* event) {
    return [&marker, event](const Json& record) { return record["event"] == event && has_marker(marker)(record); };
  };
  const Json execve = expect_record(*tracer, of_event("execve"), "execve of " + marker);
  const Json exec = expect_record(*tracer, of_event("sched_process_exec"), "sched_process_exec of " + marker);
  ASSERT_FALSE(execve.empty());
  ASSERT_FALSE(exec.empty());
  const std::vector<std::string> expected{"TRACER_E2E_MARK=" + marker, "MY_API_TOKEN=[redacted]",
                                          "db_password=[redacted]", "PATH=/usr/bin:/bin", "QUOTED=a\"b\\c\td"};
  EXPECT_EQ(env_of(execve), expected);
  EXPECT_EQ(execve["args"]["env_truncated"], false);
  EXPECT_EQ(execve["flags"], Json::array());
  // The pathname follows the environment in the record: still whole.
  EXPECT_EQ(execve["args"]["pathname"], "/bin/true");
  EXPECT_EQ(execve["args"]["argv"], Json({"/bin/true", marker}));
  EXPECT_EQ(env_of(exec), expected);
  for (const Json* record : {&execve, &exec}) {
    const std::string dumped = record->dump();
    EXPECT_EQ(dumped.find(secret), std::string::npos) << dumped;
    EXPECT_EQ(dumped.find("s3cr3t"), std::string::npos) << dumped;
  }
  const std::string line = line_holding(*tracer, marker);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find("s3cr3t"), std::string::npos) << line;
}

TEST_F(EnvTest, AllowAndDenyGlobsPickNamesFromCommandLineAndConfig) {
  TempDir dir;
  const std::string config = dir.write_file("tracer.json", R"({"env_deny": ["*_DROP", "OTHER"]})", 0644);
  auto tracer = start_tracer({"--output", "json", "--output", "option:env", "--env-allow", "TRACER_E2E_*",
                              "--env-allow", "OTHER", "--config", config});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("envglob");
  run_execve_with_env("/bin/true", {"/bin/true", marker},
                      {"TRACER_E2E_KEEP=" + marker, "TRACER_E2E_DROP=no", "OTHER=no", "HOME=/root"});
  const Json record = expect_record(*tracer, has_marker(marker), marker);
  ASSERT_FALSE(record.empty());
  EXPECT_EQ(env_of(record), std::vector<std::string>{"TRACER_E2E_KEEP=" + marker});
}

TEST_F(EnvTest, WithoutOptionEnvNoEnvironmentAndNoGlobs) {
  const Completed completed = run_tracer_to_completion({"--env-deny", "X*"});
  EXPECT_TRUE(WIFEXITED(completed.status) && WEXITSTATUS(completed.status) == 2) << completed.status;
  EXPECT_NE(completed.err.find("--env-deny needs --output option:env"), std::string::npos) << completed.err;

  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("noenv");
  const std::string value = unique_marker("noenv-value");
  run_execve_with_env("/bin/true", {"/bin/true", marker}, {"TRACER_E2E_MARK=" + value});
  const Json record = expect_record(*tracer, has_marker(marker), marker);
  ASSERT_FALSE(record.empty());
  EXPECT_FALSE(record["args"].contains("env"));
  EXPECT_FALSE(record["args"].contains("env_truncated"));
  EXPECT_EQ(line_holding(*tracer, value), "");
}

TEST_F(EnvTest, FailedExecHasNoEnvironment) {
  auto tracer = start_tracer({"--output", "json", "--output", "option:env"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("envfail");
  run_execve_with_env("/nonexistent/tracer-e2e", {"x", marker}, {"TRACER_E2E_MARK=" + marker});
  const Json record = expect_record(*tracer, has_marker(marker), marker);
  ASSERT_FALSE(record.empty());
  EXPECT_EQ(record["ret"], -ENOENT);
  EXPECT_FALSE(record["args"].contains("env"));
}

}  // namespace
}  // namespace tracer::e2e
