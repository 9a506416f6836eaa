// --config files: any bytes as the file a run is started with (options by
// their long names, user_tracers), through the command line parser as
// `tracer --config FILE` reads it, and the user_tracers array on its own.
// Whatever is refused is refused with a message, never a crash.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "tracer/app/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tracer;
  const std::string_view input = fuzz::text_of(data, size);
  const fuzz::MemoryFile file(input);
  const std::string path = file.path();
  for (const char* command : {"--list", "--check"}) {
    const char* argv[] = {"tracer", "--config", path.c_str(), command};
    Result<Options> options = parse_command_line(4, argv);
    if (!options) fuzz::require(!options.error().message.empty(), "a refused config says why");
  }
  const nlohmann::json document = nlohmann::json::parse(input, nullptr, false);
  if (!document.is_discarded() && document.is_object() && document.contains("user_tracers")) {
    Result<std::vector<UserFunction>> functions = parse_user_functions(document["user_tracers"]);
    if (functions) {
      const UserFunctions all(std::move(*functions));
      for (const UserFunction& function : all.all()) (void)capture_spec(function);
    }
  }
  return 0;
}
