#include "tracer/output/nats_target.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>

namespace tracer {
namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_host_port(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_token_char(c) || c == '.' || c == ':' || c == '[' || c == ']';
  });
}

// One server: scheme added when missing, host[:port] checked.
Result<std::string> server_url(std::string_view url) {
  std::string full(url);
  const size_t scheme = full.find("://");
  if (scheme == std::string::npos) full = "nats://" + full;
  const std::string_view rest = std::string_view(full).substr(full.find("://") + 3);
  const std::string_view scheme_name = std::string_view(full).substr(0, full.find("://"));
  if (scheme_name != "nats" && scheme_name != "tls")
    return usage_error("--output nats: '" + std::string(url) + "': the scheme must be nats:// or tls://");
  if (!is_host_port(rest)) return usage_error("--output nats: '" + std::string(url) + "': expected HOST[:PORT]");
  return full;
}

// Where the URLs end: the '/' after the last URL's host, if any.
size_t path_slash(std::string_view target) {
  const size_t last_comma = target.rfind(',');
  const size_t last_start = last_comma == std::string_view::npos ? 0 : last_comma + 1;
  const size_t scheme = target.find("://", last_start);
  return target.find('/', scheme == std::string_view::npos ? last_start : scheme + 3);
}

}  // namespace

bool is_nats_stream_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), is_token_char);
}

bool is_nats_subject(std::string_view subject) {
  if (subject.empty() || subject.size() > 255) return false;
  size_t start = 0;
  for (;;) {
    const size_t dot = subject.find('.', start);
    const std::string_view token = subject.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (token.empty() || !std::all_of(token.begin(), token.end(), is_token_char)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Result<NatsSettings> parse_nats_target(std::string_view target) {
  NatsSettings settings;
  std::string_view urls = target;
  const size_t slash = path_slash(target);
  if (slash != std::string_view::npos) {
    settings.subject = std::string(target.substr(slash + 1));
    urls = target.substr(0, slash);
    if (!is_nats_subject(settings.subject))
      return usage_error("--output nats: subject '" + settings.subject +
                         "': expected tokens of letters, digits, _ and - joined by dots (no wildcard)");
  }
  if (urls.empty()) return usage_error("--output nats: needs a server URL (--output nats:nats://HOST:4222[/SUBJECT])");
  size_t start = 0;
  for (;;) {
    const size_t comma = urls.find(',', start);
    Result<std::string> url = server_url(urls.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!url) return url.take_error();
    settings.servers.push_back(std::move(*url));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return settings;
}

Result<NatsStreamSource> parse_nats_stream_source(std::string_view source) {
  const size_t slash = path_slash(source);
  NatsStreamSource parsed{{}, slash == std::string_view::npos ? "TRACER" : std::string(source.substr(slash + 1))};
  if (!is_nats_stream_name(parsed.stream))
    return usage_error("tracer verify: stream '" + parsed.stream + "': expected 1-64 letters, digits, _ and -");
  Result<NatsSettings> settings = parse_nats_target(source.substr(0, slash));
  if (!settings) return settings.take_error();
  parsed.settings = std::move(*settings);
  return parsed;
}

bool NatsConnectionFlags::given() const {
  return !creds_file.empty() || !user.empty() || !password.empty() || !token.empty() || !tls_ca_file.empty() ||
         !tls_cert_file.empty() || !tls_key_file.empty();
}

void add_nats_connection_options(CLI::App& app, NatsConnectionFlags& flags, const std::string& whose) {
  app.add_option("--nats-creds", flags.creds_file, whose + " NATS credentials file (JWT and NKey seed)")
      ->type_name("FILE");
  app.add_option("--nats-user", flags.user, whose + " NATS user name, with --nats-password")->type_name("NAME");
  app.add_option("--nats-password", flags.password,
                 whose + " the NATS user's password (seen by ps: rather in a --config file, 0600)")
      ->type_name("PASSWORD");
  app.add_option("--nats-token", flags.token, whose + " NATS authentication token (seen by ps: rather in --config)")
      ->type_name("TOKEN");
  app.add_option("--nats-tls-ca", flags.tls_ca_file, whose + " CA certificates that sign the servers' (PEM)")
      ->type_name("FILE");
  app.add_option("--nats-tls-cert", flags.tls_cert_file, whose + " client certificate (PEM), with --nats-tls-key")
      ->type_name("FILE");
  app.add_option("--nats-tls-key", flags.tls_key_file, whose + " the client certificate's key (PEM)")
      ->type_name("FILE");
}

Status apply_nats_connection_flags(const NatsConnectionFlags& flags, NatsSettings& settings) {
  if (flags.tls_cert_file.empty() != flags.tls_key_file.empty())
    return usage_error("--nats-tls-cert and --nats-tls-key go together");
  if (!flags.password.empty() && flags.user.empty()) return usage_error("--nats-password needs --nats-user");
  if (int(!flags.creds_file.empty()) + int(!flags.user.empty()) + int(!flags.token.empty()) > 1)
    return usage_error(
        "NATS authentication: give one of --nats-creds, --nats-user (with --nats-password), --nats-token");
  auto set = [](const std::string& value, std::optional<std::string>& slot) {
    if (!value.empty()) slot = value;
  };
  set(flags.creds_file, settings.creds_file);
  set(flags.user, settings.user);
  set(flags.password, settings.password);
  set(flags.token, settings.token);
  set(flags.tls_ca_file, settings.tls_ca_file);
  set(flags.tls_cert_file, settings.tls_cert_file);
  set(flags.tls_key_file, settings.tls_key_file);
  return ok_status();
}

void add_nats_options(CLI::App& app, NatsFlags& flags) {
  app.add_option("--nats-stream", flags.stream,
                 "--output nats: the stream made when none covers the subject (default TRACER)")
      ->type_name("NAME");
  app.add_option("--nats-replicas", flags.replicas, "--output nats: replicas of a stream it makes (default 1)")
      ->type_name("N")
      ->check(CLI::Range(1, kMaxNatsReplicas));
  add_nats_connection_options(app, flags.connection, "--output nats:");
  app.add_option("--nats-spool", flags.spool_dir,
                 "--output nats: keep records in DIR (0700) while no server answers, send them once one does")
      ->type_name("DIR");
  app.add_option("--nats-spool-size", flags.spool_bytes,
                 "--output nats: the spool's bound (default 268435456, 256 MiB)")
      ->type_name("BYTES")
      ->check(CLI::Range(kMinNatsSpoolBytes, kMaxNatsSpoolBytes));
}

Status apply_nats_flags(const NatsFlags& flags, std::optional<NatsSettings>& settings) {
  const bool given = !flags.stream.empty() || flags.replicas || flags.connection.given() || !flags.spool_dir.empty() ||
                     flags.spool_bytes;
  if (!settings) return given ? usage_error("--nats-* options need --output nats:URL") : ok_status();
  if (!flags.stream.empty() && !is_nats_stream_name(flags.stream))
    return usage_error("--nats-stream '" + flags.stream + "': expected 1-64 letters, digits, _ or -");
  if (flags.spool_bytes && flags.spool_dir.empty()) return usage_error("--nats-spool-size needs --nats-spool DIR");
  if (Status status = apply_nats_connection_flags(flags.connection, *settings); !status) return status;
  if (!flags.stream.empty()) settings->stream = flags.stream;
  if (flags.replicas) settings->replicas = flags.replicas;
  if (!flags.spool_dir.empty()) settings->spool_dir = flags.spool_dir;
  if (flags.spool_bytes) settings->spool_bytes = flags.spool_bytes;
  return ok_status();
}

std::string nats_message_id(std::string_view run_prefix, uint64_t number) {
  std::string id(run_prefix);
  id += '-';
  id += std::to_string(number);
  return id;
}

std::optional<uint64_t> nats_message_number(std::string_view run_prefix, std::string_view id) {
  if (id.size() <= run_prefix.size() + 1 || !id.starts_with(run_prefix) || id[run_prefix.size()] != '-') return {};
  const std::string_view digits = id.substr(run_prefix.size() + 1);
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) return {};
  return number;
}

void append_spooled_record(std::string& out, std::string_view id, std::string_view line) {
  out += id;
  out += '\t';
  out += line;
  if (line.empty() || line.back() != '\n') out += '\n';
}

std::vector<SpooledRecord> parse_spooled_records(std::string_view bytes) {
  std::vector<SpooledRecord> records;
  size_t start = 0;
  for (;;) {
    const size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) break;  // a torn tail, or the end
    const std::string_view line = bytes.substr(start, end - start);
    const size_t tab = line.find('\t');
    if (tab != std::string_view::npos && tab > 0)
      records.push_back({std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))});
    start = end + 1;
  }
  return records;
}

}  // namespace tracer
