#pragma once
// --output audit-log:PATH (the sink) and `tracer verify` (the checker): the
// file side of the hash chain in audit_chain.hpp.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tracer/core/clock.hpp"
#include "tracer/core/result.hpp"
#include "tracer/output/format.hpp"
#include "tracer/output/nats_output.hpp"
#include "tracer/output/nats_target.hpp"
#include "tracer/output/sinks.hpp"

namespace tracer {

struct AuditLogOptions {
  std::string path;
  std::optional<std::string> key_file;  // HMAC-SHA-256 instead of SHA-256
  int sync_interval_ms = 100;           // fdatasync at most this long after a write; 0: after every record
  JsonOptions json;                     // the records are the JSON lines of --output json
  uint32_t epoch_seconds = 900;         // a keyed log's key epoch (--audit-epoch)
  std::string run_options_json;         // the tracer-start record's "options" (audit_run_options)
};

// Opens the audit log (mode 0640, never through a symlink, locked against a
// second tracer). An existing file is continued only when it is a sealed log
// whose last record verifies; until then nothing in it is changed. Seals the
// tracer-start record, in a new key epoch when the log is continued.
// publisher (--output nats): every record, once on disk, is published with
// its chain, and the chain's head every kChainHeadInterval
// (audit_stream.hpp).
Result<std::unique_ptr<Sink>> open_audit_log(const AuditLogOptions& options, const BootToWallClock& clock,
                                             std::optional<NatsWriter> publisher = std::nullopt);
constexpr auto kChainHeadInterval = std::chrono::seconds(5);

// What the tracer-start record says about the run's options, as JSON.
std::string audit_run_options(const Options& options);

struct VerifyOptions {
  std::string path;  // a log; nats://URL[/STREAM]; with nats_export, a dump of a stream's message bodies
  bool nats_export = false;
  std::optional<std::string> key_file;
  std::optional<std::string> from_state;
  std::optional<std::string> save_state;
  std::optional<NatsStreamSource> stream;  // path as nats://URL[/STREAM], parsed, with credentials and TLS
};

// tracer verify: prints "OK: ..." (true) or "FAIL: ..." (false) on stdout.
Result<bool> verify_audit_log(const VerifyOptions& options);

}  // namespace tracer
