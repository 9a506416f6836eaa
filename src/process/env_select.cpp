#include "tracer/process/env_select.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace tracer {
namespace {

// Upper case; a name is matched against these as a substring.
constexpr std::array<std::string_view, 12> kSecretWords{"TOKEN",      "SECRET",  "PASSWORD",   "PASSWD",
                                                        "PASSPHRASE", "KEY",     "CREDENTIAL", "AUTH",
                                                        "COOKIE",     "SESSION", "PRIVATE",    "DSN"};

bool contains_upper(std::string_view haystack, std::string_view upper_needle) {
  return std::search(haystack.begin(), haystack.end(), upper_needle.begin(), upper_needle.end(),
                     [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }) != haystack.end();
}

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&name](const std::string& glob) { return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0; });
}

}  // namespace

bool env_name_is_secret(std::string_view name) {
  return std::any_of(kSecretWords.begin(), kSecretWords.end(),
                     [name](std::string_view word) { return contains_upper(name, word); });
}

bool env_name_selected(std::string_view name, const EnvOptions& options) {
  if (options.allow.empty() && options.deny.empty()) return true;
  // fnmatch wants a C string; a NUL inside cannot occur (NUL separates entries).
  const std::string text(name);
  if (!options.allow.empty() && !matches_any(options.allow, text)) return false;
  return !matches_any(options.deny, text);
}

bool select_env(std::string_view nul_separated, bool cut, const EnvOptions& options, std::string& out) {
  bool truncated = false;
  if (cut) {
    // The kernel's copy ends at a NUL unless it was cut inside a string.
    const size_t last_end = nul_separated.rfind('\0');
    truncated = last_end + 1 != nul_separated.size();
    nul_separated = last_end == std::string_view::npos ? std::string_view() : nul_separated.substr(0, last_end + 1);
  }
  size_t kept = 0;
  StringList{nul_separated}.for_each([&](std::string_view entry) {
    if (entry.empty()) return;
    const size_t equals = entry.find('=');
    const std::string_view name = entry.substr(0, equals);
    if (!env_name_selected(name, options)) return;
    if (kept == kEnvMaxVariables) {
      truncated = true;
      return;
    }
    ++kept;
    if (equals != std::string_view::npos && env_name_is_secret(name)) {
      out.append(entry.substr(0, equals + 1));
      out.append(kEnvRedacted);
    } else {
      out.append(entry);
    }
    out.push_back('\0');
  });
  return truncated;
}

void EnvSelector::apply(Event& event) {
  if (!event.raw_env) return;
  selected_.clear();
  const bool truncated = select_env(event.raw_env->nul_separated, event.raw_env->cut, options_, selected_);
  event.raw_env.reset();
  if (truncated) event.set(EventFlag::env_truncated);
  event.args.add("env", StringList{selected_});
  event.args.add("env_truncated", event.has(EventFlag::env_truncated));
}

}  // namespace tracer
