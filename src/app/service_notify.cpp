#include "tracer/app/service_notify.hpp"

#include <cstdlib>
#include <optional>
#include <string>

#ifdef TRACER_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

#include "tracer/core/shared_library.hpp"
#endif

namespace tracer {

#ifdef TRACER_HAVE_SYSTEMD
namespace {

// libsystemd's sd_notify, loaded the first time it is needed and only when
// systemd gave a socket to notify: a run in a terminal never loads it.
class Notifier {
 public:
  static const Notifier* get() {
    static const std::optional<Notifier> notifier = load();
    return notifier ? &*notifier : nullptr;
  }
  void send(const char* message) const { notify_(0, message); }

 private:
  Notifier(SharedLibrary library, decltype(&sd_notify) notify) : library_(std::move(library)), notify_(notify) {}
  static std::optional<Notifier> load() {
    if (!std::getenv("NOTIFY_SOCKET")) return std::nullopt;
    Result<SharedLibrary> library = SharedLibrary::open("libsystemd.so.0");
    decltype(&sd_notify) notify = nullptr;
    if (!library || !library->bind("sd_notify", notify)) return std::nullopt;
    return Notifier(std::move(*library), notify);
  }

  SharedLibrary library_;
  decltype(&sd_notify) notify_;
};

}  // namespace
#endif

void notify_ready([[maybe_unused]] std::string_view status) {
#ifdef TRACER_HAVE_SYSTEMD
  if (const Notifier* notifier = Notifier::get()) notifier->send(("READY=1\nSTATUS=" + std::string(status)).c_str());
#endif
}

void notify_stopping() {
#ifdef TRACER_HAVE_SYSTEMD
  if (const Notifier* notifier = Notifier::get()) notifier->send("STOPPING=1");
#endif
}

}  // namespace tracer
