// `tracer verify` on any file: a log with records modified, cut, reordered
// or not a log at all. The target hands the input over as a file by path,
// the way the command line does, so that it keeps up with verify's own
// reading (limits, streaming).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "tracer/audit/audit_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tracer;
  const fuzz::MemoryFile file(fuzz::text_of(data, size));
  VerifyOptions options;
  options.path = file.path();
  Result<bool> verified = verify_audit_log(options);
  if (!verified) fuzz::require(!verified.error().message.empty(), "a refused log says why");
  return 0;
}
