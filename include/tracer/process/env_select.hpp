#pragma once
// The environment at exec (--output option:env): which variables a record
// shows (--env-allow/--env-deny globs on names) and whose values it hides
// (secret-looking names). The kernel copies the new image's environment
// whole; everything here is pure and runs in userspace.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracer/decode/event.hpp"

namespace tracer {

struct EnvOptions {
  bool enabled = false;            // --output option:env
  std::vector<std::string> allow;  // --env-allow GLOB: only these names; empty: every name
  std::vector<std::string> deny;   // --env-deny GLOB: never these, whatever allow says
};

// Variables kept per record; beyond, env_truncated.
inline constexpr size_t kEnvMaxVariables = 256;
// What a redacted value becomes: the same whatever the value, so that neither
// its bytes nor its length show.
inline constexpr std::string_view kEnvRedacted = "[redacted]";

// Whether a name looks like it holds a secret (TOKEN, PASSWORD, KEY, ...
// anywhere in it, in any case).
bool env_name_is_secret(std::string_view name);

// Whether --env-allow/--env-deny keep a variable of this name.
bool env_name_selected(std::string_view name, const EnvOptions& options);

// The selected variables of a NUL-separated environment, as NUL-separated
// NAME=value entries (secret values redacted) appended to out. Returns true
// when some were left out for the count bound, or the last one was cut (it
// is dropped: a cut name could dodge both the globs and the redaction).
bool select_env(std::string_view nul_separated, bool cut, const EnvOptions& options, std::string& out);

// Turns a decoded exec's raw environment into its "env" and "env_truncated"
// arguments; the raw bytes leave the Event. Owns what "env" points to, until
// the next record.
class EnvSelector {
 public:
  explicit EnvSelector(EnvOptions options) : options_(std::move(options)) {}
  void apply(Event& event);

 private:
  EnvOptions options_;
  std::string selected_;
};

}  // namespace tracer
