#pragma once
// --output nats:URL[,URL...][/SUBJECT] and the --nats-* options: where the
// records are published, how the stream is found or made, and the spool
// that keeps them while no server answers. Pure: parsing, message ids and
// the spool's record framing, unit-tested without a server.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace CLI {
class App;
}

namespace tracer {

constexpr uint64_t kDefaultNatsSpoolBytes = 256ull << 20;

struct NatsSettings {
  std::vector<std::string> servers;  // nats://host:port or tls://host:port, tried as a cluster
  std::string subject = "tracer.records";
  std::string stream = "TRACER";  // made (with `replicas`) only when no stream covers subject
  int replicas = 1;
  std::optional<std::string> creds_file;  // --nats-creds: a NATS .creds file (JWT and NKey seed)
  std::optional<std::string> user;        // --nats-user, with --nats-password
  std::optional<std::string> password;
  std::optional<std::string> token;  // --nats-token
  std::optional<std::string> tls_ca_file;
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;
  std::optional<std::string> spool_dir;  // unset: records published while no server answers are lost, counted
  uint64_t spool_bytes = kDefaultNatsSpoolBytes;
  bool operator==(const NatsSettings&) const = default;
};

// The part after "nats:": "nats://a:4222,nats://b:4222/tracer.exec". A URL
// without a scheme gets nats://; the subject (after the last URL's first
// '/') is plain tokens ([A-Za-z0-9_-] joined by '.'), no wildcard.
Result<NatsSettings> parse_nats_target(std::string_view target);

// Who the client is and how it trusts the servers, as the nats CLI's
// --creds, --user/--password, --token, --tlsca, --tlscert/--tlskey: taken
// by --output nats: and by `tracer verify nats://` alike (empty: not given).
struct NatsConnectionFlags {
  std::string creds_file;
  std::string user;
  std::string password;
  std::string token;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool given() const;
};
// `whose`: what the options serve, for their help ("--output nats:").
void add_nats_connection_options(CLI::App& app, NatsConnectionFlags& flags, const std::string& whose);
// Checked (one way to authenticate; a certificate with its key) and set.
Status apply_nats_connection_flags(const NatsConnectionFlags& flags, NatsSettings& settings);

// The --nats-* options of --output nats: as given (empty: not given).
struct NatsFlags {
  std::string stream;
  int replicas = 0;
  NatsConnectionFlags connection;
  std::string spool_dir;
  uint64_t spool_bytes = 0;
};
constexpr int kMaxNatsReplicas = 5;
constexpr uint64_t kMinNatsSpoolBytes = uint64_t{1} << 16;
constexpr uint64_t kMaxNatsSpoolBytes = uint64_t{1} << 40;
void add_nats_options(CLI::App& app, NatsFlags& flags);
// Into the settings of --output nats: (refused without one).
Status apply_nats_flags(const NatsFlags& flags, std::optional<NatsSettings>& settings);

// `tracer verify nats://a:4222[,nats://b:4222][/STREAM]` (the URLs as
// --output nats takes them): the servers, and the stream (TRACER when not
// given).
struct NatsStreamSource {
  NatsSettings settings;
  std::string stream;
};
Result<NatsStreamSource> parse_nats_stream_source(std::string_view source);

// A stream name JetStream accepts: 1-64 of [A-Za-z0-9_-].
bool is_nats_stream_name(std::string_view name);
bool is_nats_subject(std::string_view subject);

// The Nats-Msg-Id of a record: the run's prefix (boot tag, start time, pid:
// unique per run) and the record's number in the run, so a record resent
// after a lost ack, or after a restart from the spool, keeps its id and
// JetStream's duplicate window drops the copy.
std::string nats_message_id(std::string_view run_prefix, uint64_t number);
// The number back from an id of ours with this prefix; nothing for another.
std::optional<uint64_t> nats_message_number(std::string_view run_prefix, std::string_view id);

// A spooled record: "<id>\t<JSON line>\n" (a JSON line holds no raw tab or
// newline). Parsing keeps the whole records and ignores a torn tail (the
// tracer killed mid-append).
struct SpooledRecord {
  std::string id;
  std::string body;  // the JSON line, without its '\n'
};
void append_spooled_record(std::string& out, std::string_view id, std::string_view line);
std::vector<SpooledRecord> parse_spooled_records(std::string_view bytes);

}  // namespace tracer
