#pragma once
// A library loaded only by the runs that use it (dlopen). libmicrohttpd
// (--metrics) and libsystemd (under systemd) pull in gnutls, p11-kit,
// libgcrypt and a dozen more: linked, they cost every run about 4 MiB of
// resident memory and 18 more libraries to relocate at start-up; loaded on
// demand, only the runs that serve metrics or talk to systemd pay for them.

#include <dlfcn.h>

#include <string>
#include <utility>

#include "tracer/core/result.hpp"

namespace tracer {

class SharedLibrary {
 public:
  // soname: the runtime name, e.g. "libmicrohttpd.so.12" (the package that
  // provides it, not the -dev one, is what a user installs).
  static Result<SharedLibrary> open(const char* soname) {
    void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return runtime_error(std::string("cannot load ") + soname + ": " + dlerror_text());
    return SharedLibrary(handle);
  }

  SharedLibrary(SharedLibrary&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  SharedLibrary& operator=(SharedLibrary&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;
  ~SharedLibrary() {
    if (handle_) dlclose(handle_);
  }

  // Sets `function` to the library's symbol `name`, typed as declared by
  // the library's header (decltype of the real declaration); false when the
  // library has no such symbol.
  template <typename Function>
  bool bind(const char* name, Function*& function) const {
    function = reinterpret_cast<Function*>(dlsym(handle_, name));
    return function != nullptr;
  }

 private:
  explicit SharedLibrary(void* handle) : handle_(handle) {}
  static std::string dlerror_text() {
    const char* text = dlerror();
    return text ? text : "unknown error";
  }

  void* handle_ = nullptr;
};

}  // namespace tracer
