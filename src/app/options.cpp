#include "tracer/app/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tracer/core/abi.hpp"
#include "tracer/core/bounded_file.hpp"
#include "tracer/user_functions/user_function.hpp"
#include "tracer/views/json_record.hpp"

namespace tracer {

namespace {

// "PREFIX:PATH" into slot, given once.
Status take_path_once(const std::string& spec, std::string_view prefix, std::optional<std::string>& slot) {
  const std::string name(prefix.substr(0, prefix.size() - 1));
  std::string path = spec.substr(prefix.size());
  if (path.empty()) return usage_error("--output '" + spec + "': " + name + " needs a path");
  if (slot) return usage_error("--output '" + spec + "': only one " + name + " may be given");
  slot = std::move(path);
  return ok_status();
}

// "nats:URL[/SUBJECT]", given once.
Status take_nats_target(const std::string& spec, std::optional<NatsSettings>& slot) {
  if (slot) return usage_error("--output '" + spec + "': only one nats output may be given");
  Result<NatsSettings> settings = parse_nats_target(std::string_view(spec).substr(5));
  if (!settings) return settings.take_error();
  slot = std::move(*settings);
  return ok_status();
}

// The --output specs as given, before they are checked against each other.
struct OutputRequest {
  std::vector<OutputSpec> formats;  // table, json, table:PATH, json:PATH
  bool none = false;
  std::optional<std::string> out_file;
  std::optional<std::string> audit_log;
  std::vector<SyslogTarget> syslog;
  std::optional<NatsSettings> nats;
};

std::optional<OutputFormat> format_named(std::string_view name) {
  if (name == "table") return OutputFormat::table;
  if (name == "json") return OutputFormat::json;
  return std::nullopt;
}

// syslog:tcp://HOST:PORT, syslog:unix:/PATH, option:syslog-facility=NAME.
Status apply_syslog_spec(std::string_view spec, OutputRequest& request, Options& options) {
  constexpr std::string_view kFacilityPrefix = "option:syslog-facility=";
  if (spec.starts_with(kFacilityPrefix)) {
    const std::optional<uint8_t> facility = syslog_facility_named(spec.substr(kFacilityPrefix.size()));
    if (!facility)
      return usage_error("--output '" + std::string(spec) +
                         "': expected a facility name: user, daemon, auth, authpriv, local0 ... local7, "
                         "mail, syslog, lpr, news, uucp, cron or ftp");
    options.syslog_facility = *facility;
    return ok_status();
  }
  Result<SyslogTarget> target = parse_syslog_target(spec.substr(spec.find(':') + 1));
  if (!target) return usage_error("--output " + target.error().message);
  if (std::find(request.syslog.begin(), request.syslog.end(), *target) != request.syslog.end())
    return usage_error("--output " + std::string(spec) + " is given twice");
  request.syslog.push_back(std::move(*target));
  return ok_status();
}

// One --output SPEC into the request (formats, paths) or options (lineage).
Status apply_output_spec(const std::string& spec, OutputRequest& request, Options& options) {
  constexpr std::string_view kFilePrefix = "out-file:";
  constexpr std::string_view kAuditPrefix = "audit-log:";
  if (spec.starts_with(kAuditPrefix)) return take_path_once(spec, kAuditPrefix, request.audit_log);
  if (spec.starts_with(kFilePrefix)) return take_path_once(spec, kFilePrefix, request.out_file);
  if (spec.starts_with("syslog:") || spec.starts_with("option:syslog-facility="))
    return apply_syslog_spec(spec, request, options);
  if (spec.starts_with("nats:")) return take_nats_target(spec, request.nats);
  const size_t colon = spec.find(':');
  const std::optional<OutputFormat> format = format_named(std::string_view(spec).substr(0, colon));
  if (format && colon == std::string::npos) {
    request.formats.push_back({*format, std::nullopt});
  } else if (format) {
    if (colon + 1 == spec.size()) return usage_error("--output '" + spec + "': needs a path after the colon");
    request.formats.push_back({*format, spec.substr(colon + 1)});
  } else if (spec == "none") {
    request.none = true;
  } else if (spec == "option:parent") {
    options.lineage = std::max(options.lineage, Lineage::parent);
  } else if (spec == "option:ancestors") {
    options.lineage = Lineage::ancestors;
  } else if (spec == "option:env") {
    options.env.enabled = true;
  } else {
    return usage_error("--output '" + spec +
                       "': expected table, json, none, table:PATH, json:PATH, out-file:PATH, audit-log:PATH, "
                       "syslog:tcp://HOST:PORT, syslog:unix:PATH, nats:URL, option:parent, option:ancestors "
                       "or option:env (--output help)");
  }
  return ok_status();
}

// out-file:PATH sends the one format given (table when none is) to PATH.
Status apply_out_file(OutputRequest& request) {
  if (!request.out_file) return ok_status();
  const std::string spec = "--output out-file:" + *request.out_file;
  if (request.none) return usage_error(spec + ": none writes nothing to send to a file");
  if (request.formats.size() > 1)
    return usage_error(spec + ": with several formats give each its own path (json:PATH, table:PATH)");
  if (request.formats.empty()) request.formats.push_back({});
  if (request.formats.front().path)
    return usage_error(spec + ": the output already goes to " + *request.formats.front().path);
  request.formats.front().path = request.out_file;
  return ok_status();
}

const char* format_name(OutputFormat format) {
  switch (format) {
    case OutputFormat::table: return "table";
    case OutputFormat::json: return "json";
    case OutputFormat::none: break;
  }
  return "none";
}

// At most one output on stdout, and no file written by two outputs.
Status check_destinations(const OutputRequest& request) {
  const OutputSpec* on_stdout = nullptr;
  std::vector<std::string> paths;
  if (request.audit_log) paths.push_back(std::filesystem::path(*request.audit_log).lexically_normal());
  for (const OutputSpec& output : request.formats) {
    if (!output.path) {
      if (on_stdout)
        return usage_error(std::string("--output ") + format_name(on_stdout->format) + " and " +
                           format_name(output.format) +
                           ": only one output may go to stdout; give the other a "
                           "path (" +
                           format_name(output.format) + ":PATH)");
      on_stdout = &output;
      continue;
    }
    std::string path = std::filesystem::path(*output.path).lexically_normal();
    if (std::find(paths.begin(), paths.end(), path) != paths.end())
      return usage_error("--output: " + *output.path + " is given to two outputs");
    paths.push_back(std::move(path));
  }
  return ok_status();
}

// --output help: every spec with an example.
constexpr const char* kOutputHelp =
    R"(--output FORMAT[:PATH], repeatable: several outputs at once, each with its own format and
destination. Without a PATH a format goes to stdout; a PATH is created 0640, appended to and
reopened on SIGHUP.

  table              the aligned table on stdout (the default)
  json               JSON lines on stdout, one event per line (docs/json-schema.md)
  table:PATH         the table to a file            --output table:/var/log/tracer/exec.txt
  json:PATH          JSON lines to a file           --output json:/var/log/tracer/exec.json
  audit-log:PATH     a hash-chained audit log       --output audit-log:/var/log/tracer/audit.log
  syslog:tcp://HOST:PORT   each JSON record as one RFC 5424 message, octet-counted (RFC 6587),
                     to a syslog server over TCP   --output syslog:tcp://127.0.0.1:514
  syslog:unix:PATH   the same to a unix stream socket (not a datagram socket such as /dev/log:
                     a record may not fit a datagram) --output syslog:unix:/run/tracer-syslog.sock
  option:syslog-facility=NAME  the messages' facility (default user; severity info; APP-NAME
                     tracer; MSGID the event name): --output option:syslog-facility=local0
  nats:URL[/SUBJECT] JSON lines published to a NATS JetStream stream (default subject tracer.records);
                     several URLs, comma-separated, for a cluster: --output nats:nats://n1:4222,nats://n2:4222/tracer.exec
                     --nats-spool DIR keeps records while no server answers (docs/fleet.md)
  none               no table or JSON (events are counted; an audit log, syslog or NATS may still be written)
  out-file:PATH      the one format given (table if none is) to PATH: --output json --output out-file:x.json
  option:parent      JSON records carry the parent process: --output json --output option:parent
  option:ancestors   JSON records carry the whole chain up to pid 1
  option:env         a successful exec's records carry its environment (args.env, "NAME=value" strings;
                     16 KiB, 256 variables); values of secret-looking names (TOKEN, PASSWORD, KEY, ...)
                     become [redacted]. --env-allow GLOB / --env-deny GLOB pick names (repeatable)

Example: the table on the terminal, JSON lines and the audit log in files:
  tracer --output table --output json:/var/log/tracer/exec.json --output audit-log:/var/log/tracer/audit.log
JSON records to the local rsyslog (imtcp on port 514) and nothing on stdout:
  tracer --output none --output syslog:tcp://127.0.0.1:514

A syslog server that is down or goes away is said once on stderr; its records are counted
lost (output unreachable) while the tracer reconnects (every 0.5 s, backing off to 30 s).

Refused (usage error, exit status 2): two outputs on stdout, one path given to two outputs,
out-file:PATH with several formats or with a format that has its own path, none with table or json.
)";

Status apply_output_specs(const std::vector<std::string>& specs, Options& options) {
  OutputRequest request;
  if (std::find(specs.begin(), specs.end(), "help") != specs.end()) return Error{kOutputHelp, ExitKind::answered};
  for (const std::string& spec : specs)
    if (Status status = apply_output_spec(spec, request, options); !status) return status;
  if (request.none && !request.formats.empty())
    return usage_error(std::string("--output none writes nothing; it cannot be combined with ") +
                       format_name(request.formats.front().format));
  if (Status status = apply_out_file(request); !status) return status;
  if (request.formats.empty() && !request.none) request.formats.push_back({});
  if (Status status = check_destinations(request); !status) return status;
  options.outputs = std::move(request.formats);
  options.format = options.outputs.empty() ? OutputFormat::none : options.outputs.front().format;
  options.output_file = options.outputs.empty() ? std::nullopt : options.outputs.front().path;
  options.audit_log = std::move(request.audit_log);
  options.syslog_outputs = std::move(request.syslog);
  options.nats = std::move(request.nats);
  return ok_status();
}

// --stats counts syscalls in the kernel: no per-event output to combine with.
Status check_stats_options(const Options& options) {
  if (!options.stats) {
    if (options.stats_interval_s) return usage_error("--stats-interval needs --stats");
    return ok_status();
  }
  if (options.audit_log) return usage_error("--stats counts syscalls; it cannot write an audit log of events");
  if (!options.syslog_outputs.empty()) return usage_error("--stats counts syscalls; it sends no events to syslog");
  if (options.outputs.size() > 1) return usage_error("--stats prints one report: give it one --output");
  if (!options.filters.argument_filters.empty())
    return usage_error("--stats counts in the kernel: argument filters (" +
                       options.filters.argument_filters.front().expression + ") need each event decoded");
  if (options.lineage != Lineage::none)
    return usage_error("--stats prints counts: option:parent/ancestors do not apply");
  if (options.env.enabled) return usage_error("--stats prints counts: option:env does not apply");
  const uint64_t exec_syscalls = (uint64_t{1} << TRACER_EVENT_EXECVE) | (uint64_t{1} << TRACER_EVENT_EXECVEAT);
  if (options.filters.events_given && (options.filters.wanted_events & ~exec_syscalls))
    return usage_error("--stats counts syscalls: event= may name syscalls and @groups only");
  return ok_status();
}

// --trace help: every filter field with its operators and an example.
constexpr const char* kTraceHelp =
    R"(--trace EXPR, repeatable. Expressions on different fields are ANDed; the values of a list in
one expression are ORed (uid=1000,1001). All but argument filters run in the kernel.

  field            operators                example
  uid, gid         = != > >= < <=           --trace uid>=1000       real uid/gid of the calling task
  euid             = != > >= < <=           --trace euid=0          effective uid (setuid programs)
  auid             = != > >= < <=, unset    --trace auid=1000       audit login uid (who logged in)
  pid, tid, ppid   = != > >= < <=           --trace ppid=1
  tty              = != (pts/N ttyN none)   --trace tty=pts/3       the controlling terminal
  pid=new                                   --trace pid=new         processes started after the tracer
  comm             = != (* prefix/suffix)   --trace comm=bash,zsh   the CALLING task's name (see below)
  exe              = != (* prefix/suffix)   --trace exe=/usr/bin/*  the calling process's executable
  mntns, pidns     = !=                     --trace mntns=4026531841
  cgroup           = !=                     --trace cgroup=1234     cgroup v2 id
  container        (alone) !container       --trace container       tasks in / not in a container
  container=       new, ID prefix           --trace container=new   --trace container=3f2a9c81d4e5
  follow           (alone)                  --trace comm=sshd --trace follow   also every descendant
  event            = !=                     --trace event=execve,openat   --trace event=@net
  EVENT.ARG        = != (* prefix/suffix)   --trace execve.pathname=/usr/bin/*

comm is the name of the task that calls exec, as it was before the exec: --trace comm=id
matches what a program named id runs, not runs of id. To match the program being executed:
  --trace execve.pathname=/usr/bin/id     the path it was asked to run (also */id)
  --trace event=sched_process_exec --trace comm=id   the task after the exec, with its new name
exe= is the executable of the calling process (for a successful exec, the one it ran before).

Events: tracer --list. Details and examples: docs/usage.md, docs/syscalls.md.
)";

// The options a --config file sets, where the command line did not set them:
// a flag on the command line wins over the file.
class ConfigFile {
 public:
  ConfigFile(std::string path, nlohmann::json document, const CLI::App& app)
      : path_(std::move(path)), document_(std::move(document)), app_(app) {}

  Error fail(const std::string& what) const { return usage_error("--config " + path_ + ": " + what); }

  // Unknown keys are errors: a typo must not silently change what is traced.
  Status check_keys() const {
    static constexpr std::string_view kKeys[] = {
        "trace",          "output",         "max_args",    "ring_buffer_kib", "syscall_hook",  "verbose",
        "stats",          "stats_interval", "stats_top",   "audit_key",       "audit_sync",    "audit_epoch",
        "metrics",        "user_tracers",   "exec_hash",   "capture",         "capture_limit", "capture_file_limit",
        "env_allow",      "env_deny",       "nats_stream", "nats_replicas",   "nats_creds",    "nats_user",
        "nats_password",  "nats_token",     "nats_tls_ca", "nats_tls_cert",   "nats_tls_key",  "nats_spool",
        "nats_spool_size"};
    for (const auto& [key, value] : document_.items())
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
        return fail("unknown key \"" + key +
                    "\" (expected trace, output, max_args, ring_buffer_kib, syscall_hook, verbose, stats, "
                    "stats_interval, stats_top, audit_key, audit_sync, audit_epoch, metrics, user_tracers, exec_hash, "
                    "capture, capture_limit, capture_file_limit, env_allow, env_deny, nats_stream, nats_replicas, "
                    "nats_creds, nats_user, nats_password, nats_token, nats_tls_ca, nats_tls_cert, nats_tls_key, "
                    "nats_spool, nats_spool_size)");
    return ok_status();
  }

  // Whether the file sets key and the command line does not set option.
  bool applies(const char* key, const char* option) const { return document_.contains(key) && app_.count(option) == 0; }

  Status strings(const char* key, const char* option, std::vector<std::string>& out) const {
    if (!applies(key, option)) return ok_status();
    const nlohmann::json& value = document_[key];
    out.clear();
    if (value.is_string()) {
      out.push_back(value.get<std::string>());
      return ok_status();
    }
    if (!value.is_array()) return fail(std::string("\"") + key + "\" must be a string or an array of strings");
    for (const nlohmann::json& item : value) {
      if (!item.is_string()) return fail(std::string("\"") + key + "\" must be a string or an array of strings");
      out.push_back(item.get<std::string>());
    }
    return ok_status();
  }

  template <typename Number>
  Status number(const char* key, const char* option, uint64_t min, uint64_t max, Number& out) const {
    if (!applies(key, option)) return ok_status();
    const nlohmann::json& value = document_[key];
    if (!value.is_number_unsigned() || value.get<uint64_t>() < min || value.get<uint64_t>() > max)
      return fail(std::string("\"") + key + "\" must be a number from " + std::to_string(min) + " to " +
                  std::to_string(max));
    out = static_cast<Number>(value.get<uint64_t>());
    return ok_status();
  }

  Status flag(const char* key, const char* option, bool& out) const {
    if (!applies(key, option)) return ok_status();
    if (!document_[key].is_boolean()) return fail(std::string("\"") + key + "\" must be true or false");
    out = document_[key].get<bool>();
    return ok_status();
  }

  Status text(const char* key, const char* option, std::string& out) const {
    if (!applies(key, option)) return ok_status();
    const nlohmann::json& value = document_[key];
    if (value.is_number_unsigned()) {
      out = std::to_string(value.get<uint64_t>());
      return ok_status();
    }
    if (!value.is_string()) return fail(std::string("\"") + key + "\" must be a string");
    out = value.get<std::string>();
    return ok_status();
  }

  Result<std::vector<UserFunction>> user_tracers() const {
    if (!document_.contains("user_tracers")) return std::vector<UserFunction>{};
    Result<std::vector<UserFunction>> tracers = parse_user_functions(document_["user_tracers"]);
    if (!tracers) return fail(tracers.error().message);
    for (UserFunction& tracer : *tracers) tracer.origin = "--config " + path_ + ": " + tracer.origin;
    return tracers;
  }

 private:
  std::string path_;
  nlohmann::json document_;
  const CLI::App& app_;
};

// A config is a few KiB: anything near this is a mistake (or /dev/zero).
constexpr size_t kMaxConfigBytes = size_t{1} << 20;

Result<ConfigFile> read_config_file(const std::string& path, const CLI::App& app) {
  Result<std::string> text = read_bounded_file(path, kMaxConfigBytes);
  if (!text) return usage_error("--config " + path + ": " + text.error().message);
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& error) {
    // parse_error, or out_of_range for a number too large for a double. The
    // parser's own message says where (line and column).
    std::string message = error.what();
    if (const size_t bracket = message.find("] ");
        message.starts_with("[json.exception") && bracket != std::string::npos)
      message.erase(0, bracket + 2);
    return usage_error("--config " + path + ": not valid JSON: " + message);
  }
  if (!document.is_object()) return usage_error("--config " + path + ": must hold a JSON object");
  ConfigFile config(path, std::move(document), app);
  if (Status status = config.check_keys(); !status) return status.take_error();
  return config;
}

// What the command line holds beside Options' own fields.
struct CommandLineExtras {
  std::vector<std::string> outputs;  // applied after --config, which may add to them
  bool list = false;
  bool check = false;
  std::string audit_sync;  // always|MS
  std::string metrics;     // ADDR:PORT
  NatsFlags nats;
  std::vector<std::string> captures;  // --capture SPEC
  std::string capture_limit;          // --capture-limit BYTES
  std::string capture_file_limit;     // --capture-file-limit BYTES
};

// The --nats-* options by their long names (nats_spool_size: a number).
Status apply_nats_config(const ConfigFile& config, NatsFlags& nats) {
  NatsConnectionFlags& connection = nats.connection;
  Status status = config.text("nats_stream", "--nats-stream", nats.stream);
  if (status) status = config.number("nats_replicas", "--nats-replicas", 1, kMaxNatsReplicas, nats.replicas);
  if (status) status = config.text("nats_creds", "--nats-creds", connection.creds_file);
  if (status) status = config.text("nats_user", "--nats-user", connection.user);
  if (status) status = config.text("nats_password", "--nats-password", connection.password);
  if (status) status = config.text("nats_token", "--nats-token", connection.token);
  if (status) status = config.text("nats_tls_ca", "--nats-tls-ca", connection.tls_ca_file);
  if (status) status = config.text("nats_tls_cert", "--nats-tls-cert", connection.tls_cert_file);
  if (status) status = config.text("nats_tls_key", "--nats-tls-key", connection.tls_key_file);
  if (status) status = config.text("nats_spool", "--nats-spool", nats.spool_dir);
  if (status)
    status =
        config.number("nats_spool_size", "--nats-spool-size", kMinNatsSpoolBytes, kMaxNatsSpoolBytes, nats.spool_bytes);
  return status;
}

Status apply_config_file(const ConfigFile& config, Options& options, CommandLineExtras& extras,
                         std::string& audit_key) {
  Status status = config.strings("trace", "--trace", options.trace_expressions);
  if (status) status = config.strings("output", "--output", extras.outputs);
  if (status) status = config.number("max_args", "--max-args", 1, TRACER_MAX_ARGS_LIMIT, options.max_args);
  if (status) status = config.number("ring_buffer_kib", "--ring-buffer-kib", 64, 1 << 20, options.ring_buffer_kib);
  if (status) status = config.text("syscall_hook", "--syscall-hook", options.syscall_hook);
  if (status && options.syscall_hook != "auto" && options.syscall_hook != "tracepoint" && options.syscall_hook != "raw")
    status = config.fail("\"syscall_hook\" must be auto, tracepoint or raw");
  if (status) status = config.flag("verbose", "--verbose", options.verbose);
  if (status) status = config.flag("stats", "--stats", options.stats);
  if (status) status = config.number("stats_interval", "--stats-interval", 1, 86400, options.stats_interval_s);
  if (status) status = config.number("stats_top", "--stats-top", 1, 100000, options.stats_top);
  if (status) status = config.text("audit_key", "--audit-key", audit_key);
  if (status) status = config.text("audit_sync", "--audit-sync", extras.audit_sync);
  if (status) status = config.number("audit_epoch", "--audit-epoch", 1, 86400 * 365, options.audit_epoch_s);
  if (status) status = config.text("metrics", "--metrics", extras.metrics);
  if (status) status = config.flag("exec_hash", "--exec-hash", options.capture.exec_hash);
  if (status) status = config.strings("capture", "--capture", extras.captures);
  if (status) status = config.text("capture_limit", "--capture-limit", extras.capture_limit);
  if (status) status = config.text("capture_file_limit", "--capture-file-limit", extras.capture_file_limit);
  if (status) status = config.strings("env_allow", "--env-allow", options.env.allow);
  if (status) status = config.strings("env_deny", "--env-deny", options.env.deny);
  if (status) status = apply_nats_config(config, extras.nats);
  if (!status) return status;
  Result<std::vector<UserFunction>> tracers = config.user_tracers();
  if (!tracers) return tracers.take_error();
  options.user_functions = std::make_shared<const UserFunctions>(std::move(*tracers));
  return ok_status();
}

// --config FILE: what it sets where the command line did not.
Status read_and_apply_config(const CLI::App& app, Options& options, CommandLineExtras& extras) {
  if (!options.config_file) return ok_status();
  Result<ConfigFile> config = read_config_file(*options.config_file, app);
  if (!config) return config.take_error();
  std::string audit_key = options.audit_key_file.value_or("");
  if (Status status = apply_config_file(*config, options, extras, audit_key); !status) return status;
  if (!audit_key.empty()) options.audit_key_file = audit_key;
  return ok_status();
}

void add_trace_options(CLI::App& app, Options& options, CommandLineExtras& extras) {
  app.add_option("--trace", options.trace_expressions,
                 "Filter expression, e.g. uid=1000 (repeatable, ANDed; --trace help lists the fields)")
      ->type_name("EXPR");
  app.add_option("--output", extras.outputs,
                 "FORMAT[:PATH]: table (default), json, table:PATH, json:PATH, audit-log:PATH, none; out-file:PATH, "
                 "option:parent, option:ancestors, option:env (repeatable: several outputs at once; --output help)")
      ->type_name("SPEC");
  app.add_option("--env-allow", options.env.allow,
                 "With --output option:env: only variables whose name matches GLOB (repeatable)")
      ->type_name("GLOB");
  app.add_option("--env-deny", options.env.deny,
                 "With --output option:env: never variables whose name matches GLOB (repeatable; wins over allow)")
      ->type_name("GLOB");
  app.add_option("--config", options.config_file,
                 "JSON configuration file: any option by its long name (_ for -), and user_tracers (user-space "
                 "functions as events; docs/user-tracers.md). The command line wins")
      ->type_name("FILE");
  app.add_option("--max-args", options.max_args, "Arguments kept per argv (default 128)")
      ->type_name("N")
      ->check(CLI::Range(1, TRACER_MAX_ARGS_LIMIT));
  app.add_option("--ring-buffer-kib", options.ring_buffer_kib, "Ring buffer size in KiB, a power of two (default 4096)")
      ->type_name("KIB")
      ->check(CLI::Range(64, 1 << 20));
  app.add_option("--syscall-hook", options.syscall_hook,
                 "How syscalls (the execs, and those event= names) are hooked: auto (default), tracepoint (each "
                 "one's own tracepoints, found through tracefs) or raw (raw sys_enter/sys_exit: every syscall runs a "
                 "program; sees 32-bit execs)")
      ->type_name("HOOK")
      ->check(CLI::IsMember({"auto", "tracepoint", "raw"}));
  app.add_flag("--stats", options.stats,
               "Count syscalls in the kernel (per syscall and per process) instead of printing events; the summary "
               "is printed at exit (all syscalls unless event= selects some)");
  app.add_option("--stats-interval", options.stats_interval_s, "With --stats: also print the counts every SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 86400));
  app.add_option("--stats-top", options.stats_top, "With --stats: rows per table (default 20)")
      ->type_name("N")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--list", extras.list, "List the events and whether this kernel supports them");
  app.add_flag("--check", extras.check, "Report the kernel features the tracer uses");
  app.add_flag("-v,--verbose", options.verbose, "Explain hook choices and libbpf diagnostics on stderr");
  app.add_option("--audit-key", options.audit_key_file, "HMAC-SHA-256 key file for the audit log (and verify)")
      ->type_name("FILE");
  app.add_option("--audit-sync", extras.audit_sync,
                 "Audit log fdatasync: always, or every MS milliseconds (default 100)")
      ->type_name("always|MS");
  app.add_option("--audit-epoch", options.audit_epoch_s,
                 "A new audit sealing key every SECONDS (default 900); the old one is erased")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 86400 * 365));
  app.add_option("--metrics", extras.metrics,
                 "Serve Prometheus metrics on http://ADDR:PORT/metrics and /healthz (off by default; port 0 picks a "
                 "free one)")
      ->type_name("ADDR:PORT");
  add_nats_options(app, extras.nats);
}

void add_capture_options(CLI::App& app, Options& options, CommandLineExtras& extras) {
  app.add_flag("--exec-hash", options.capture.exec_hash,
               "sha256 of the file each successful exec ran, on its record (or in an exec_hash record after it)");
  app.add_option("--capture", extras.captures,
                 "exec: save each executed binary once per content as DIR/exec/<sha256> (implies --exec-hash); "
                 "write=GLOB: bytes written to files matching GLOB, as DIR/write/<dev>-<inode>; "
                 "mem: memory made executable after being writable, once per content as DIR/mem/<sha256>; "
                 "exec:DIR, dir:DIR: the directory (default " +
                     std::string(kDefaultCaptureDirectory) + ")")
      ->type_name("SPEC");
  app.add_option("--capture-limit", extras.capture_limit,
                 "Bytes saved by --capture in all (default 1G; exec, write and mem captures each); then none")
      ->type_name("BYTES");
  app.add_option("--capture-file-limit", extras.capture_file_limit,
                 "Bytes saved by --capture write per file (default 16M); then none of that file")
      ->type_name("BYTES");
}

Status apply_capture_options(const CommandLineExtras& extras, Options& options) {
  if (Status status = apply_capture_specs(extras.captures, options.capture); !status) return status;
  const auto apply_limit = [](const std::string& text, const char* option, uint64_t& out) -> Status {
    if (text.empty()) return ok_status();
    Result<uint64_t> limit = parse_byte_count(text, option);
    if (!limit) return limit.take_error();
    out = *limit;
    return ok_status();
  };
  if (Status status = apply_limit(extras.capture_limit, "--capture-limit", options.capture.limit_bytes); !status)
    return status;
  return apply_limit(extras.capture_file_limit, "--capture-file-limit", options.capture.file_limit_bytes);
}

CLI::App* add_verify_command(CLI::App& app, Options& options, CommandLineExtras& extras) {
  CLI::App* verify = app.add_subcommand("verify", "Verify an audit log's hash chain");
  verify
      ->add_option("path", options.verify_path, "The audit log, or nats://URL[/STREAM]: every host's chain in a stream")
      ->required();
  verify->add_flag("--nats-export", options.verify_nats_export,
                   "PATH is a dump of a stream's message bodies, one a line (every host's chain in it)");
  verify->add_option("--audit-key", options.audit_key_file, "Key file, for an HMAC-authenticated log")
      ->type_name("FILE");
  verify->add_option("--from-state", options.from_state, "Prove the log only grew since this saved state")
      ->type_name("FILE");
  verify->add_option("--save-state", options.save_state, "Save seq and head of the verified log")->type_name("FILE");
  add_nats_connection_options(*verify, extras.nats.connection, "With nats://URL:");
  return verify;
}

// The subcommands that read a saved JSON log (docs/views.md).
struct ViewCommands {
  CLI::App* replay = nullptr;
  CLI::App* tree = nullptr;
  std::string since;
  std::string until;
};

void add_replay_command(CLI::App& app, Options& options, CommandLineExtras& extras, ViewCommands& views) {
  views.replay = app.add_subcommand(
      "replay", "Read a saved JSON log (tracer --output json) through --trace filters into --output outputs");
  views.replay->add_option("log", options.view_input, "The JSON lines log; - for stdin")->required();
  views.replay->add_option("--trace", options.trace_expressions, "Filter expression, as when tracing (repeatable)")
      ->type_name("EXPR");
  views.replay->add_option("--output", extras.outputs, "FORMAT[:PATH], as when tracing (repeatable)")
      ->type_name("SPEC");
  views.replay->add_option("--audit-key", options.audit_key_file, "HMAC-SHA-256 key file for an audit-log output")
      ->type_name("FILE");
}

void add_tree_command(CLI::App& app, Options& options, ViewCommands& views) {
  views.tree = app.add_subcommand("tree", "Draw the process tree of a saved JSON log: execs, exits, typed bash lines");
  TreeOptions& tree = options.tree;
  views.tree->add_option("log", options.view_input, "The JSON lines log; - (the default) for stdin");
  views.tree->add_option("--since", views.since, "Records from this time on (RFC 3339, UTC: 2026-12-03T17:20:00Z)")
      ->type_name("TIME");
  views.tree->add_option("--until", views.until, "Records up to this time (RFC 3339, UTC)")->type_name("TIME");
  views.tree->add_option("--pid", tree.pid, "Only the processes of this pid and what they started")->type_name("PID");
  views.tree->add_option("--exec-id", tree.exec_id, "Root the tree at this process image")->type_name("EXEC_ID");
  views.tree->add_option("--session", tree.session, "Only the records of this tty, sid or auid")->type_name("ID");
  views.tree->add_option("--width", tree.width, "Cut lines to N columns (default: the terminal's, none in a pipe)")
      ->type_name("N")
      ->check(CLI::Range(20, 100000));
  views.tree->add_option("--html", tree.html, "Write one self-contained HTML page to PATH instead of text")
      ->type_name("PATH");
}

// "2026-12-03T17:20:00Z", with or without a fraction of a second.
Result<std::optional<int64_t>> parse_time_bound(const std::string& text, const char* option) {
  if (text.empty()) return std::optional<int64_t>();
  std::string normalized = text;
  if (normalized.size() == 20 && normalized.back() == 'Z') normalized.insert(19, ".");
  const size_t dot = normalized.find('.');
  if (dot != std::string::npos && normalized.back() == 'Z' && normalized.size() - dot - 2 < 9)
    normalized.insert(normalized.size() - 1, std::string(9 - (normalized.size() - dot - 2), '0'));
  const std::optional<int64_t> ns = parse_rfc3339(normalized);
  if (!ns) return usage_error(std::string(option) + " '" + text + "': expected a UTC time as YYYY-MM-DDTHH:MM:SS[.F]Z");
  return std::optional<int64_t>(ns);
}

// replay: outputs and filters as when tracing, with the built-in user
// tracer events (bash_readline) named.
Status complete_view_options(Options& options, CommandLineExtras& extras, const ViewCommands& views) {
  options.user_functions = std::make_shared<const UserFunctions>(std::vector<UserFunction>{});
  if (views.tree->parsed()) {
    options.command = Command::tree;
    Result<std::optional<int64_t>> since = parse_time_bound(views.since, "--since");
    if (!since) return since.take_error();
    Result<std::optional<int64_t>> until = parse_time_bound(views.until, "--until");
    if (!until) return until.take_error();
    options.tree.since_ns = *since;
    options.tree.until_ns = *until;
    return ok_status();
  }
  options.command = Command::replay;
  if (std::find(options.trace_expressions.begin(), options.trace_expressions.end(), "help") !=
      options.trace_expressions.end())
    return Error{kTraceHelp, ExitKind::answered};
  if (Status status = apply_output_specs(extras.outputs, options); !status) return status;
  if (options.audit_key_file && !options.audit_log) return usage_error("--audit-key needs --output audit-log:PATH");
  Result<FilterSpec> filters = parse_filters(options.trace_expressions, *options.user_functions);
  if (!filters) return filters.take_error();
  options.filters = std::move(*filters);
  return ok_status();
}

// tracer verify nats://URL[/STREAM]: the servers and stream, and how to
// connect to them.
Status complete_verify_options(Options& options, const CommandLineExtras& extras) {
  options.command = Command::verify;
  if (Status status = apply_output_specs(extras.outputs, options); !status) return status;
  const std::string& path = options.verify_path;
  const bool from_nats = !options.verify_nats_export && (path.starts_with("nats://") || path.starts_with("tls://"));
  if (!from_nats)
    return extras.nats.connection.given() ? usage_error("tracer verify: --nats-* options are for a nats://URL")
                                          : ok_status();
  Result<NatsStreamSource> source = parse_nats_stream_source(path);
  if (!source) return source.take_error();
  if (Status status = apply_nats_connection_flags(extras.nats.connection, source->settings); !status) return status;
  options.verify_stream = std::move(*source);
  return ok_status();
}

// --help and --version are answers (stdout, exit 0), not errors.
Status parse_arguments(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Error{app.help(), ExitKind::answered};
  } catch (const CLI::CallForVersion&) {
    return Error{std::string("tracer ") + TRACER_VERSION + "\n", ExitKind::answered};
  } catch (const CLI::ParseError& error) {
    return usage_error(error.what());
  }
  return ok_status();
}

Status apply_audit_sync(const std::string& audit_sync, Options& options) {
  if (audit_sync.empty()) return ok_status();
  if (audit_sync == "always") {
    options.audit_sync_interval_ms = 0;
    return ok_status();
  }
  int milliseconds = 0;
  const auto [end, error] = std::from_chars(audit_sync.data(), audit_sync.data() + audit_sync.size(), milliseconds);
  if (error != std::errc() || end != audit_sync.data() + audit_sync.size() || milliseconds < 1)
    return usage_error("--audit-sync '" + audit_sync + "': expected always or a number of milliseconds");
  options.audit_sync_interval_ms = milliseconds;
  return ok_status();
}

Status apply_metrics_address(const std::string& text, Options& options) {
  if (text.empty()) return ok_status();
  options.metrics = parse_metrics_address(text);
  if (!options.metrics)
    return usage_error("--metrics " + text +
                       ": expected ADDR:PORT, an IP address and a port (127.0.0.1:9464, [::1]:9464; port 0: any free "
                       "one)");
  if (options.stats) return usage_error("--metrics serves the counters of event tracing, not of --stats");
  return ok_status();
}

// Tracing (or --list, --check): --config applied, then every value checked
// and combined.
Status complete_trace_options(const CLI::App& app, Options& options, CommandLineExtras& extras) {
  if (Status status = read_and_apply_config(app, options, extras); !status) return status;
  const std::vector<std::string>& expressions = options.trace_expressions;
  if (std::find(expressions.begin(), expressions.end(), "help") != expressions.end())
    return Error{kTraceHelp, ExitKind::answered};
  if (!options.user_functions)
    options.user_functions = std::make_shared<const UserFunctions>(std::vector<UserFunction>{});
  if (Status status = apply_output_specs(extras.outputs, options); !status) return status;
  if (Status status = apply_audit_sync(extras.audit_sync, options); !status) return status;
  if (Status status = apply_metrics_address(extras.metrics, options); !status) return status;
  if (Status status = apply_nats_flags(extras.nats, options.nats); !status) return status;
  if (Status status = apply_capture_options(extras, options); !status) return status;
  if (options.audit_key_file && !options.audit_log) return usage_error("--audit-key needs --output audit-log:PATH");
  if (!options.env.enabled && (!options.env.allow.empty() || !options.env.deny.empty()))
    return usage_error(std::string(options.env.allow.empty() ? "--env-deny" : "--env-allow") +
                       " needs --output option:env");
  if (extras.list && extras.check) return usage_error("--list and --check cannot be combined");
  if (extras.list) options.command = Command::list;
  if (extras.check) options.command = Command::check;
  const uint32_t kib = options.ring_buffer_kib;
  if ((kib & (kib - 1)) != 0)
    return usage_error("--ring-buffer-kib " + std::to_string(kib) + ": must be a power of two");
  Result<FilterSpec> filters = parse_filters(options.trace_expressions, *options.user_functions);
  if (!filters) return filters.take_error();
  options.filters = std::move(*filters);
  return check_stats_options(options);
}

}  // namespace

Result<Options> parse_command_line(int argc, const char* const* argv) {
  Options options;
  CommandLineExtras extras;
  CLI::App app{"tracer: exec and syscall tracer (CO-RE eBPF)", "tracer"};
  app.set_version_flag("--version", std::string("tracer ") + TRACER_VERSION);
  add_trace_options(app, options, extras);
  add_capture_options(app, options, extras);
  CLI::App* verify = add_verify_command(app, options, extras);
  ViewCommands views;
  add_replay_command(app, options, extras, views);
  add_tree_command(app, options, views);
  if (Status status = parse_arguments(app, argc, argv); !status) return status.take_error();
  if (views.replay->parsed() || views.tree->parsed()) {
    if (Status status = complete_view_options(options, extras, views); !status) return status.take_error();
    return options;
  }
  if (verify->parsed()) {
    if (Status status = complete_verify_options(options, extras); !status) return status.take_error();
    return options;
  }
  if (Status status = complete_trace_options(app, options, extras); !status) return status.take_error();
  return options;
}

}  // namespace tracer
