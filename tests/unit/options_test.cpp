#include "tracer/app/options.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace tracer {
namespace {

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tracer");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(Options, Defaults) {
  Result<Options> options = parse({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->command, Command::trace);
  EXPECT_EQ(options->format, OutputFormat::table);
  EXPECT_FALSE(options->output_file);
  EXPECT_EQ(options->max_args, 128u);
}

TEST(Options, OutputSpecs) {
  Result<Options> options = parse({"--output", "json", "--output", "out-file:/var/log/x.json"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->format, OutputFormat::json);
  EXPECT_EQ(options->output_file, "/var/log/x.json");
  EXPECT_EQ(parse({"--output", "none"})->format, OutputFormat::none);
  EXPECT_TRUE(parse({"--output", "none"})->outputs.empty());
}

TEST(Options, SyslogOutputsBesideTheOthers) {
  Result<Options> options = parse({"--output", "none", "--output", "syslog:tcp://127.0.0.1:514", "--output",
                                   "syslog:unix:/run/tracer.sock", "--output", "option:syslog-facility=local3"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->outputs.empty());
  const std::vector<SyslogTarget> expected = {{"127.0.0.1", 514, {}}, {{}, 0, "/run/tracer.sock"}};
  EXPECT_EQ(options->syslog_outputs, expected);
  EXPECT_EQ(options->syslog_facility, 19);
  EXPECT_EQ(parse({"--output", "syslog:tcp://h:1"})->syslog_facility, kSyslogFacilityUser);
  for (const std::vector<const char*>& refused : {std::vector<const char*>{"--output", "syslog:udp://h:514"},
                                                  {"--output", "syslog:tcp://h"},
                                                  {"--output", "syslog:tcp://h:514", "--output", "syslog:tcp://h:514"},
                                                  {"--output", "option:syslog-facility=kern"},
                                                  {"--stats", "--output", "syslog:tcp://h:514"}}) {
    const Result<Options> result = parse(refused);
    ASSERT_FALSE(result.ok()) << refused.back();
    EXPECT_EQ(result.error().kind, ExitKind::usage) << result.error().message;
  }
}

TEST(Options, SeveralOutputsEachWithItsFormatAndDestination) {
  Result<Options> options = parse({"--output", "table", "--output", "json:/var/log/tracer/exec.json", "--output",
                                   "audit-log:/var/log/tracer/audit.log", "--output", "option:parent"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  const std::vector<OutputSpec> expected = {{OutputFormat::table, std::nullopt},
                                            {OutputFormat::json, "/var/log/tracer/exec.json"}};
  EXPECT_EQ(options->outputs, expected);
  EXPECT_EQ(options->audit_log, "/var/log/tracer/audit.log");
  EXPECT_EQ(options->lineage, Lineage::parent);
  // The same format to two files, and table:PATH.
  options = parse({"--output", "json:/a.json", "--output", "json:/b.json", "--output", "table:/c.txt"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->outputs.size(), 3u);
}

TEST(Options, OutFileSendsTheOneFormatToItsPath) {
  Result<Options> options = parse({"--output", "out-file:/x.txt"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{OutputFormat::table, "/x.txt"}}));
  options = parse({"--output", "out-file:/x.json", "--output", "json"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{OutputFormat::json, "/x.json"}}));
  // none beside the audit log: only the audit log is written.
  options = parse({"--output", "none", "--output", "audit-log:/a.log"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->outputs.empty());
  EXPECT_EQ(options->audit_log, "/a.log");
  // Only the audit log: the table still goes to stdout, as before.
  options = parse({"--output", "audit-log:/a.log"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{}}));
}

TEST(Options, OutputCombinationsThatCannotWorkAreUsageErrors) {
  const auto refused = [](std::vector<const char*> args, std::string_view needle) {
    Result<Options> result = parse(std::move(args));
    ASSERT_FALSE(result.ok()) << needle;
    EXPECT_EQ(result.error().kind, ExitKind::usage);
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
  };
  refused({"--output", "table", "--output", "json"}, "only one output may go to stdout");
  refused({"--output", "json", "--output", "json"}, "only one output may go to stdout");
  refused({"--output", "json:/a", "--output", "table:/a"}, "/a is given to two outputs");
  refused({"--output", "json:/var/log/a", "--output", "audit-log:/var/log/./a"}, "given to two outputs");
  refused({"--output", "table", "--output", "json", "--output", "out-file:/x"}, "several formats");
  refused({"--output", "json:/a", "--output", "out-file:/x"}, "already goes to /a");
  refused({"--output", "none", "--output", "out-file:/x"}, "none writes nothing");
  refused({"--output", "none", "--output", "table"}, "cannot be combined with table");
  refused({"--output", "json:"}, "needs a path");
  refused({"--output", "xml:/x"}, "'xml:/x'");
  refused({"--stats", "--output", "table", "--output", "json:/x"}, "one --output");
}

TEST(Options, UsageErrorsNameTheProblem) {
  const auto expect_usage = [](Result<Options> result, std::string_view needle) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ExitKind::usage);
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
  };
  expect_usage(parse({"--output", "xml"}), "'xml'");
  expect_usage(parse({"--output", "out-file:"}), "needs a path");
  expect_usage(parse({"--output", "out-file:/a", "--output", "out-file:/b"}), "only one");
  expect_usage(parse({"--max-args", "0"}), "max-args");
  expect_usage(parse({"--max-args", "abc"}), "max-args");
  expect_usage(parse({"--bogus"}), "bogus");
  expect_usage(parse({"--list", "--check"}), "cannot be combined");
  expect_usage(parse({"--ring-buffer-kib", "100"}), "power of two");
}

// A --config file holding `json`, removed with the test.
class ConfigFileFixture {
 public:
  explicit ConfigFileFixture(const std::string& json) {
    const int fd = mkstemp(path_);
    if (fd >= 0) ::close(fd);
    std::ofstream(path_) << json;
  }
  ~ConfigFileFixture() { std::remove(path_); }
  ConfigFileFixture(const ConfigFileFixture&) = delete;
  ConfigFileFixture& operator=(const ConfigFileFixture&) = delete;
  const char* path() const { return path_; }

 private:
  char path_[64] = "/tmp/tracer-options-config-XXXXXX";
};

TEST(Options, ConfigSetsEveryNatsOptionOfTheOutput) {
  const ConfigFileFixture config(R"({"output": ["none", "nats:nats://n1:4222,nats://n2:4222/tracer.web1"],
      "nats_stream": "FLEET", "nats_replicas": 3, "nats_user": "tracer", "nats_password": "s3cret",
      "nats_tls_ca": "/etc/tracer/ca.pem", "nats_tls_cert": "/etc/tracer/client.pem",
      "nats_tls_key": "/etc/tracer/client.key", "nats_spool": "/var/lib/tracer/spool",
      "nats_spool_size": 1073741824})");
  Result<Options> options = parse({"--config", config.path()});
  ASSERT_TRUE(options.ok()) << options.error().message;
  ASSERT_TRUE(options->nats);
  const NatsSettings& nats = *options->nats;
  EXPECT_EQ(nats.servers, (std::vector<std::string>{"nats://n1:4222", "nats://n2:4222"}));
  EXPECT_EQ(nats.subject, "tracer.web1");
  EXPECT_EQ(nats.stream, "FLEET");
  EXPECT_EQ(nats.replicas, 3);
  EXPECT_EQ(nats.user, "tracer");
  EXPECT_EQ(nats.password, "s3cret");
  EXPECT_FALSE(nats.creds_file);
  EXPECT_FALSE(nats.token);
  EXPECT_EQ(nats.tls_ca_file, "/etc/tracer/ca.pem");
  EXPECT_EQ(nats.tls_cert_file, "/etc/tracer/client.pem");
  EXPECT_EQ(nats.tls_key_file, "/etc/tracer/client.key");
  EXPECT_EQ(nats.spool_dir, "/var/lib/tracer/spool");
  EXPECT_EQ(nats.spool_bytes, uint64_t{1} << 30);

  // The command line wins, key by key.
  options = parse({"--config", config.path(), "--nats-stream", "OTHER", "--nats-spool-size", "65536"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->nats->stream, "OTHER");
  EXPECT_EQ(options->nats->spool_bytes, 65536u);
  EXPECT_EQ(options->nats->replicas, 3);
}

TEST(Options, ConfigNatsCredentialsAndTokens) {
  const ConfigFileFixture creds(R"({"output": "nats:n1", "nats_creds": "/etc/tracer/tracer.creds"})");
  Result<Options> options = parse({"--config", creds.path()});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->nats->creds_file, "/etc/tracer/tracer.creds");
  const ConfigFileFixture token(R"({"output": "nats:n1", "nats_token": "t0k3n"})");
  options = parse({"--config", token.path()});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->nats->token, "t0k3n");
}

TEST(Options, ConfigNatsKeysAreCheckedAsTheirOptions) {
  const auto refused = [](const std::string& json, std::string_view needle) {
    const ConfigFileFixture config(json);
    const Result<Options> result = parse({"--config", config.path()});
    ASSERT_FALSE(result.ok()) << json;
    EXPECT_EQ(result.error().kind, ExitKind::usage) << json;
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
  };
  refused(R"({"nats_stream": "FLEET"})", "need --output nats:URL");
  refused(R"({"output": "nats:n1", "nats_replicas": 6})", "\"nats_replicas\" must be a number from 1 to 5");
  refused(R"({"output": "nats:n1", "nats_replicas": "3"})", "\"nats_replicas\" must be a number");
  refused(R"({"output": "nats:n1", "nats_spool": "/s", "nats_spool_size": 1024})",
          "\"nats_spool_size\" must be a number from 65536");
  refused(R"({"output": "nats:n1", "nats_spool_size": 1048576})", "--nats-spool-size needs --nats-spool");
  refused(R"({"output": "nats:n1", "nats_stream": "a.b"})", "--nats-stream 'a.b'");
  refused(R"({"output": "nats:n1", "nats_tls_cert": "/c.pem"})", "go together");
  refused(R"({"output": "nats:n1", "nats_password": "p"})", "--nats-password needs --nats-user");
  refused(R"({"output": "nats:n1", "nats_user": "u", "nats_token": "t"})", "give one of");
  refused(R"({"output": "nats:n1", "nats_creds": ["/a"]})", "\"nats_creds\" must be a string");
  refused(R"({"output": "nats:n1", "nats_passwd": "p"})", "unknown key \"nats_passwd\"");
}

TEST(Options, VerifyOverNatsTakesCredentialsAndTls) {
  Result<Options> options =
      parse({"verify", "tls://n1:4222,tls://n2:4222/AUDIT", "--nats-user", "auditor", "--nats-password", "pw",
             "--nats-tls-ca", "/ca.pem", "--nats-tls-cert", "/c.pem", "--nats-tls-key", "/c.key"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->command, Command::verify);
  ASSERT_TRUE(options->verify_stream);
  const NatsStreamSource& source = *options->verify_stream;
  EXPECT_EQ(source.stream, "AUDIT");
  EXPECT_EQ(source.settings.servers, (std::vector<std::string>{"tls://n1:4222", "tls://n2:4222"}));
  EXPECT_EQ(source.settings.user, "auditor");
  EXPECT_EQ(source.settings.password, "pw");
  EXPECT_EQ(source.settings.tls_ca_file, "/ca.pem");
  EXPECT_EQ(source.settings.tls_cert_file, "/c.pem");
  EXPECT_EQ(source.settings.tls_key_file, "/c.key");
  options = parse({"verify", "nats://n1:4222", "--nats-creds", "/a.creds"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->verify_stream->stream, "TRACER");
  EXPECT_EQ(options->verify_stream->settings.creds_file, "/a.creds");
  options = parse({"verify", "nats://n1:4222", "--nats-token", "t"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->verify_stream->settings.token, "t");
  // A log, or an export, is no stream.
  options = parse({"verify", "/var/log/tracer/audit.log"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_FALSE(options->verify_stream);
  for (const std::vector<const char*>& refused :
       {std::vector<const char*>{"verify", "/var/log/audit.log", "--nats-creds", "/a.creds"},
        {"verify", "--nats-export", "dump.jsonl", "--nats-token", "t"},
        {"verify", "nats://n1:4222", "--nats-tls-key", "/c.key"},
        {"verify", "nats://n1:4222", "--nats-creds", "/a.creds", "--nats-token", "t"},
        {"verify", "nats://n1:4222/a.b"}}) {
    const Result<Options> result = parse(refused);
    ASSERT_FALSE(result.ok()) << refused.back();
    EXPECT_EQ(result.error().kind, ExitKind::usage) << result.error().message;
  }
}

TEST(Options, ListCheckVersion) {
  EXPECT_EQ(parse({"--list"})->command, Command::list);
  EXPECT_EQ(parse({"--check"})->command, Command::check);
  Result<Options> version = parse({"--version"});
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().kind, ExitKind::answered);
  EXPECT_NE(version.error().message.find("tracer "), std::string::npos);
}

}  // namespace
}  // namespace tracer
