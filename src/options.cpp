#include "tracer/options.hpp"

#include <CLI/CLI.hpp>

#include "tracer/abi.hpp"

namespace tracer {

Status apply_output_spec(const std::string& spec, Options& options) {
  constexpr std::string_view kFilePrefix = "out-file:";
  if (spec.starts_with(kFilePrefix)) {
    std::string path = spec.substr(kFilePrefix.size());
    if (path.empty()) return usage_error("--output '" + spec + "': out-file needs a path");
    if (options.output_file) return usage_error("--output '" + spec + "': only one out-file may be given");
    options.output_file = std::move(path);
    return ok_status();
  }
  if (spec == "table")
    options.format = OutputFormat::table;
  else if (spec == "json")
    options.format = OutputFormat::json;
  else if (spec == "none")
    options.format = OutputFormat::none;
  else
    return usage_error("--output '" + spec + "': expected table, json, none or out-file:PATH");
  return ok_status();
}

Result<Options> parse_command_line(int argc, const char* const* argv) {
  Options options;
  CLI::App app{"tracer: exec and syscall tracer (CO-RE eBPF)", "tracer"};
  app.set_version_flag("--version", std::string("tracer ") + TRACER_VERSION);
  std::vector<std::string> outputs;
  bool list = false;
  bool check = false;
  app.add_option("--trace", options.trace_expressions, "Filter expression, e.g. uid=1000 (repeatable, ANDed)")
      ->type_name("EXPR");
  app.add_option("--output", outputs, "table (default), json, none, out-file:PATH (repeatable)")->type_name("SPEC");
  app.add_option("--config", options.config_file, "JSON configuration file")->type_name("FILE");
  app.add_option("--max-args", options.max_args, "Arguments kept per argv (default 128)")
      ->type_name("N")
      ->check(CLI::Range(1, TRACER_MAX_ARGS_LIMIT));
  app.add_option("--ring-buffer-kib", options.ring_buffer_kib, "Ring buffer size in KiB, a power of two (default 8192)")
      ->type_name("KIB")
      ->check(CLI::Range(64, 1 << 20));
  app.add_flag("--list", list, "List the events and whether this kernel supports them");
  app.add_flag("--check", check, "Report the kernel features the tracer uses");
  app.add_flag("-v,--verbose", options.verbose, "Explain hook choices and libbpf diagnostics on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Error{app.help(), ExitKind::answered};
  } catch (const CLI::CallForVersion&) {
    return Error{std::string("tracer ") + TRACER_VERSION + "\n", ExitKind::answered};
  } catch (const CLI::ParseError& error) {
    return usage_error(error.what());
  }

  for (const std::string& spec : outputs) {
    if (Status status = apply_output_spec(spec, options); !status) return status.take_error();
  }
  if (list && check) return usage_error("--list and --check cannot be combined");
  if (list) options.command = Command::list;
  if (check) options.command = Command::check;
  const uint32_t kib = options.ring_buffer_kib;
  if ((kib & (kib - 1)) != 0)
    return usage_error("--ring-buffer-kib " + std::to_string(kib) + ": must be a power of two");
  if (options.config_file) return usage_error("--config: configuration files are not supported yet");
  Result<FilterSpec> filters = parse_filters(options.trace_expressions);
  if (!filters) return filters.take_error();
  options.filters = std::move(*filters);
  return options;
}

}  // namespace tracer
