// --output nats: targets, the --nats-* options, message ids and the spool's
// record framing.
#include "tracer/output/nats_target.hpp"

#include <gtest/gtest.h>

#include "tracer/app/options.hpp"

namespace tracer {
namespace {

TEST(NatsTarget, OneServerWithASubject) {
  Result<NatsSettings> settings = parse_nats_target("nats://127.0.0.1:4222/tracer.exec");
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->servers, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(settings->subject, "tracer.exec");
}

TEST(NatsTarget, AClusterWithoutSchemesTakesTheDefaultSubject) {
  Result<NatsSettings> settings = parse_nats_target("n1:4222,tls://n2:4222,n3");
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->servers, (std::vector<std::string>{"nats://n1:4222", "tls://n2:4222", "nats://n3"}));
  EXPECT_EQ(settings->subject, "tracer.records");
}

TEST(NatsTarget, BadTargetsAreUsageErrors) {
  for (const char* target : {"", "/tracer", "http://h:4222", "nats://h:4222/a..b", "nats://h:4222/a.*",
                             "nats://h:4222/a b", "nats://h 1:4222", "nats://a,,nats://b"}) {
    Result<NatsSettings> settings = parse_nats_target(target);
    ASSERT_FALSE(settings) << target;
    EXPECT_EQ(settings.error().kind, ExitKind::usage) << target;
  }
}

TEST(NatsTarget, FlagsApplyToANatsOutputOnly) {
  NatsFlags flags;
  flags.stream = "AUDIT";
  flags.replicas = 3;
  flags.spool_dir = "/var/spool/tracer";
  std::optional<NatsSettings> none;
  EXPECT_EQ(apply_nats_flags(flags, none).error().kind, ExitKind::usage);
  std::optional<NatsSettings> settings = NatsSettings{};
  ASSERT_TRUE(apply_nats_flags(flags, settings));
  EXPECT_EQ(settings->stream, "AUDIT");
  EXPECT_EQ(settings->replicas, 3);
  EXPECT_EQ(settings->spool_dir, "/var/spool/tracer");
  EXPECT_EQ(settings->spool_bytes, kDefaultNatsSpoolBytes);
  flags.stream = "no.dots";
  EXPECT_FALSE(apply_nats_flags(flags, settings));
  flags.stream.clear();
  flags.connection.tls_cert_file = "client.pem";
  EXPECT_FALSE(apply_nats_flags(flags, settings));
}

TEST(NatsTarget, MessageIdsCarryTheRecordNumberOfTheirRun) {
  const std::string id = nats_message_id("0123abcd-17-42", 9);
  EXPECT_EQ(id, "0123abcd-17-42-9");
  EXPECT_EQ(nats_message_number("0123abcd-17-42", id), 9u);
  EXPECT_EQ(nats_message_number("0123abcd-17-43", id), std::nullopt);
  EXPECT_EQ(nats_message_number("0123abcd-17-42", "0123abcd-17-42-"), std::nullopt);
  EXPECT_EQ(nats_message_number("0123abcd-17-42", "0123abcd-17-42-9x"), std::nullopt);
}

TEST(NatsTarget, SpooledRecordsReadBackWholeAndATornTailIsIgnored) {
  std::string spool;
  append_spooled_record(spool, "r-1", "{\"a\":1}\n");
  append_spooled_record(spool, "r-2", "{\"b\":\"x\\ty\"}");
  const std::string whole = spool;
  spool += "r-3\t{\"c\"";
  const std::vector<SpooledRecord> records = parse_spooled_records(spool);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].id, "r-1");
  EXPECT_EQ(records[0].body, "{\"a\":1}");
  EXPECT_EQ(records[1].id, "r-2");
  EXPECT_EQ(records[1].body, "{\"b\":\"x\\ty\"}");
  EXPECT_EQ(parse_spooled_records(whole).size(), 2u);
  EXPECT_TRUE(parse_spooled_records("").empty());
}

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tracer");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(NatsTarget, TheCommandLineTakesOneNatsOutputWithItsOptions) {
  Result<Options> options = parse({"--output", "none", "--output", "nats:n1:4222,n2:4222/tracer.exec", "--nats-spool",
                                   "/var/spool/tracer", "--nats-replicas", "3"});
  ASSERT_TRUE(options) << options.error().message;
  ASSERT_TRUE(options->nats);
  EXPECT_EQ(options->nats->servers, (std::vector<std::string>{"nats://n1:4222", "nats://n2:4222"}));
  EXPECT_EQ(options->nats->subject, "tracer.exec");
  EXPECT_EQ(options->nats->replicas, 3);
  EXPECT_EQ(options->nats->spool_dir, "/var/spool/tracer");
  EXPECT_TRUE(options->outputs.empty());
  EXPECT_EQ(parse({"--output", "nats:a", "--output", "nats:b"}).error().kind, ExitKind::usage);
  EXPECT_EQ(parse({"--nats-spool", "/var/spool/tracer"}).error().kind, ExitKind::usage);
  EXPECT_EQ(parse({"--output", "nats:a", "--nats-spool-size", "1000000"}).error().kind, ExitKind::usage);
}

TEST(NatsTargetTest, AStreamToVerifyIsTheServersAndAStreamNameTracerByDefault) {
  Result<NatsStreamSource> source = parse_nats_stream_source("nats://a:4222,nats://b:4222/FLEET");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->stream, "FLEET");
  EXPECT_EQ(source->settings.servers, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  source = parse_nats_stream_source("tls://a:4222");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->stream, "TRACER");
  EXPECT_EQ(source->settings.servers, std::vector<std::string>{"tls://a:4222"});
  EXPECT_FALSE(parse_nats_stream_source("nats://a:4222/tracer.exec"));
  EXPECT_FALSE(parse_nats_stream_source("nats:///TRACER"));
}

}  // namespace
}  // namespace tracer
