// Ring-buffer records of every kind (exec, fork, exit, syscall, user
// function) as a hostile or buggy kernel side could send them: decode()
// must reject or decode each, and what it decodes must format as one valid
// JSON line and one terminal-safe table line, each string argument of which
// comes back byte for byte (from its <name>_b64 when it was not valid
// UTF-8), and pass through the argument filters.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "fuzz_support.hpp"
#include "tracer/core/base64.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/output/format.hpp"

namespace tracer::fuzz {
namespace {

const FilterSpec& argument_filters() {
  static const FilterSpec spec = [] {
    Result<FilterSpec> parsed = parse_filters({"event=execve,openat,connect,accept4,every_kind", "execve.argv=*a*",
                                               "openat.pathname!=/tmp*", "connect.port=80,443", "every_kind.text=x*"},
                                              fuzz_user_functions());
    require(parsed.ok(), "the fuzz filters parse", parsed.ok() ? "" : parsed.error().message);
    return *parsed;
  }();
  return spec;
}

// The bytes of args[key]: its _b64 twin when it has one.
std::string exact_bytes(const nlohmann::json& twin, const nlohmann::json& readable) {
  if (twin.is_null()) return readable.get<std::string>();
  std::optional<std::string> bytes = decode_base64(twin.get<std::string>());
  require(bytes.has_value(), "a _b64 field is base64", twin.dump());
  require(!is_utf8(*bytes), "only a string that is not valid UTF-8 has a _b64 field", twin.dump());
  return *bytes;
}

void check_exact_bytes(const Event& event, const std::string& line) {
  const nlohmann::json args = nlohmann::json::parse(line)["args"];
  for (const Arg& arg : event.args) {
    const std::string name(arg.name);
    const nlohmann::json twin = args.value(name + "_b64", nlohmann::json());
    if (const auto* text = std::get_if<std::string_view>(&arg.value)) {
      require(exact_bytes(twin, args[name]) == *text, "a string argument comes back byte for byte", line);
    } else if (const auto* list = std::get_if<StringList>(&arg.value)) {
      size_t index = 0;
      list->for_each([&](std::string_view item) {
        const std::string key = std::to_string(index);
        const nlohmann::json item_twin = twin.is_object() ? twin.value(key, nlohmann::json()) : nlohmann::json();
        require(exact_bytes(item_twin, args[name][index]) == item, "a list entry comes back byte for byte", line);
        ++index;
      });
    }
  }
}

void check_formats(const Event& event) {
  static const BootToWallClock clock(1'795'408'230'000'000'000);
  static JsonFormatter json(clock, JsonOptions{.ancestors = true});
  std::string line;
  json.append(line, event);
  require(line.find('\n') == line.size() - 1, "a JSON record is one line", line);
  require(nlohmann::json::accept(line), "a JSON record is valid JSON", line);
  require(is_utf8(line), "a JSON record is UTF-8", line);
  check_exact_bytes(event, line);

  std::string row;
  TableFormatter(clock).append(row, event);
  require_one_safe_line(row, "a table row is one terminal-safe line");
  (void)passes_argument_filters(argument_filters(), event);
}

}  // namespace
}  // namespace tracer::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tracer;
  // Copied: the ring buffer hands decode() 8-byte aligned records.
  std::vector<std::byte> record(reinterpret_cast<const std::byte*>(data),
                                reinterpret_cast<const std::byte*>(data) + size);
  for (const uint32_t max_args : {128u, 2u}) {
    DecodeOptions options;
    options.max_args = max_args;
    options.syscalls = &fuzz::fuzz_signatures();
    options.user_functions = &fuzz::fuzz_user_functions();
    Result<Event> event = decode(std::span<const std::byte>(record), options);
    if (event) fuzz::check_formats(*event);
  }
  return 0;
}
