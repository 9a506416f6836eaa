// --trace expressions as a user types them (one per input line): parsed with
// and without configured user tracers; what parses compiles for the kernel
// and judges a decoded event of each kind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/filter/filter_compile.hpp"

namespace tracer::fuzz {
namespace {

struct DecodedSamples {
  std::vector<std::vector<std::byte>> records;  // the events view them
  std::vector<Event> events;
};

const DecodedSamples& samples() {
  static const DecodedSamples decoded = [] {
    DecodedSamples all;
    DecodeOptions options;
    options.syscalls = &fuzz_signatures();
    options.user_functions = &fuzz_user_functions();
    for (auto& [name, bytes] : sample_records()) all.records.push_back(std::move(bytes));
    for (const std::vector<std::byte>& record : all.records) {
      Result<Event> event = decode(record, options);
      require(event.ok(), "the sample records decode", event.ok() ? "" : event.error().message);
      all.events.push_back(*event);
    }
    return all;
  }();
  return decoded;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

void check(const Result<FilterSpec>& spec) {
  if (!spec) {
    require(!spec.error().message.empty(), "a refused expression says why");
    return;
  }
  (void)compile_filter(spec.value(), 1'000'000);
  for (const Event& event : samples().events) (void)passes_argument_filters(spec.value(), event);
}

}  // namespace
}  // namespace tracer::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tracer;
  const std::vector<std::string> expressions = fuzz::lines_of(fuzz::text_of(data, size));
  fuzz::check(parse_filters(expressions));
  fuzz::check(parse_filters(expressions, fuzz::fuzz_user_functions()));
  return 0;
}
