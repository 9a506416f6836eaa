#pragma once
// The command line, parsed into plain values. Parsing never touches the
// kernel: a usage error is reported before anything is loaded.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tracer/capture/capture_options.hpp"
#include "tracer/core/result.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/output/metrics.hpp"
#include "tracer/output/nats_target.hpp"
#include "tracer/output/syslog_format.hpp"
#include "tracer/process/env_select.hpp"

namespace tracer {

class UserFunctions;

enum class Command { trace, list, check, verify, replay, tree };
enum class OutputFormat { table, json, none };
// One --output FORMAT[:PATH]: a format and where it goes.
struct OutputSpec {
  OutputFormat format = OutputFormat::table;
  std::optional<std::string> path;  // nullopt: stdout
  bool operator==(const OutputSpec&) const = default;
};
// --output option:parent / option:ancestors: who started the process, from the
// process table.
enum class Lineage { none, parent, ancestors };

// tracer tree: which part of the log to draw, and how.
struct TreeOptions {
  std::optional<int64_t> since_ns;  // --since/--until: wall-clock ns since the epoch
  std::optional<int64_t> until_ns;
  std::optional<uint32_t> pid;         // the processes of this pid, and what they started
  std::optional<std::string> exec_id;  // the tree rooted at this image
  std::optional<std::string> session;  // a tty, sid or auid
  uint32_t width = 0;                  // 0: the terminal's; no limit in a pipe
  std::optional<std::string> html;     // --html OUT.html: the page instead of text
};

struct Options {
  Command command = Command::trace;
  std::vector<std::string> trace_expressions;
  FilterSpec filters;  // parsed from trace_expressions
  // Every table and JSON output (empty for --output none), at most one of
  // them on stdout, no path twice.
  std::vector<OutputSpec> outputs{OutputSpec{}};
  // The first output's format and file: what --stats prints (it takes one).
  OutputFormat format = OutputFormat::table;
  std::optional<std::string> output_file;
  Lineage lineage = Lineage::none;
  EnvOptions env;                          // --output option:env, --env-allow, --env-deny
  std::optional<std::string> config_file;  // --config: any option below, and user_tracers
  // bash_readline and the user tracers of --config (never null after parsing).
  std::shared_ptr<const UserFunctions> user_functions;
  uint32_t max_args = 128;
  uint32_t ring_buffer_kib = 4096;
  std::string syscall_hook = "auto";  // --syscall-hook auto|tracepoint|raw
  bool verbose = false;
  // --stats: count syscalls in the kernel; print every stats_interval_s (0:
  // at exit only) the stats_top busiest syscalls and processes.
  bool stats = false;
  uint32_t stats_interval_s = 0;
  uint32_t stats_top = 20;

  // --output audit-log:PATH, beside the outputs above.
  std::optional<std::string> audit_log;
  std::optional<std::string> audit_key_file;  // --audit-key
  int audit_sync_interval_ms = 100;           // --audit-sync always|MS
  uint32_t audit_epoch_s = 900;               // --audit-epoch SECONDS: a new sealing key this often
  std::optional<MetricsAddress> metrics;      // --metrics ADDR:PORT
  // --output syslog:tcp://HOST:PORT and syslog:unix:/PATH, beside the outputs
  // above: each record's JSON line as one RFC 5424 message.
  std::vector<SyslogTarget> syslog_outputs;
  uint8_t syslog_facility = kSyslogFacilityUser;  // --output option:syslog-facility=NAME
  std::optional<NatsSettings> nats;               // --output nats:URL[/SUBJECT] and --nats-*

  // tracer verify PATH [--audit-key FILE] [--from-state F] [--save-state F]
  std::string verify_path;          // a log, or nats://URL[/STREAM]
  bool verify_nats_export = false;  // verify_path is a dump of a stream's message bodies
  // verify_path as nats://URL[/STREAM], with --nats-creds, --nats-tls-*, ...
  std::optional<NatsStreamSource> verify_stream;
  std::optional<std::string> from_state;
  std::optional<std::string> save_state;

  // tracer replay FILE|- and tracer tree [FILE|-]: the saved JSON log.
  std::string view_input = "-";
  TreeOptions tree;
  // The exec_id boot tag the outputs write; unset: this boot's (replay sets
  // the log's).
  std::optional<std::string> boot_tag;
  // --exec-hash, --capture, --capture-limit.
  CaptureOptions capture;
};

// argv as main() received it. The Error's message is the one line to print;
// --help and --version come back as ExitKind::answered with their text.
Result<Options> parse_command_line(int argc, const char* const* argv);

}  // namespace tracer
