#pragma once
// libnats, loaded at run time (libnats.so.3.4) only by a run that publishes
// (--output nats) or reads a stream (tracer verify nats://): its functions,
// each bound by its own name, typed by its header. Only for builds with
// libnats' header (TRACER_HAVE_NATS).

#include <nats/nats.h>

#include <memory>
#include <mutex>
#include <string>

#include "tracer/core/result.hpp"
#include "tracer/core/shared_library.hpp"
#include "tracer/output/nats_target.hpp"

namespace tracer {

// clang-format off
#define TRACER_NATS_FUNCTIONS(X) \
  X(natsOptions_Create) \
  X(natsOptions_Destroy) \
  X(natsOptions_SetServers) \
  X(natsOptions_SetName) \
  X(natsOptions_SetMaxReconnect) \
  X(natsOptions_SetReconnectWait) \
  X(natsOptions_SetReconnectBufSize) \
  X(natsOptions_SetRetryOnFailedConnect) \
  X(natsOptions_SetDisconnectedCB) \
  X(natsOptions_SetReconnectedCB) \
  X(natsOptions_SetUserCredentialsFromFiles) \
  X(natsOptions_SetUserInfo) \
  X(natsOptions_SetToken) \
  X(natsOptions_SetSecure) \
  X(natsOptions_LoadCATrustedCertificates) \
  X(natsOptions_LoadCertificatesChain) \
  X(natsConnection_Connect) \
  X(natsConnection_Status) \
  X(natsConnection_Close) \
  X(natsConnection_Destroy) \
  X(natsConnection_JetStream) \
  X(jsCtx_Destroy) \
  X(jsOptions_Init) \
  X(jsPubOptions_Init) \
  X(js_PublishAsync) \
  X(js_PublishAsyncComplete) \
  X(js_PublishAsyncGetPendingList) \
  X(natsMsgList_Destroy) \
  X(js_StreamNames) \
  X(jsStreamNamesList_Destroy) \
  X(jsStreamConfig_Init) \
  X(js_AddStream) \
  X(jsStreamInfo_Destroy) \
  X(natsMsgHeader_Get) \
  X(natsMsg_Destroy) \
  X(natsMsg_GetData) \
  X(natsMsg_GetDataLength) \
  X(natsMsg_GetMetaData) \
  X(jsMsgMetaData_Destroy) \
  X(js_GetStreamInfo) \
  X(jsSubOptions_Init) \
  X(js_SubscribeSync) \
  X(natsSubscription_NextMsg) \
  X(natsSubscription_Unsubscribe) \
  X(natsSubscription_Destroy) \
  X(natsStatus_GetText) \
  X(nats_GetLastError)
// clang-format on

struct NatsApi {
  SharedLibrary library;
#define TRACER_NATS_DECLARE(name) decltype(&::name) name = nullptr;
  TRACER_NATS_FUNCTIONS(TRACER_NATS_DECLARE)
#undef TRACER_NATS_DECLARE

  // Loaded once and kept: libnats' own threads (timers, the connection's
  // reader) must never find their code unmapped.
  static Result<const NatsApi*> load() {
    static std::mutex mutex;
    static const NatsApi* loaded = nullptr;
    std::lock_guard lock(mutex);
    if (loaded) return loaded;
    constexpr const char* kSoname = "libnats.so.3.4";
    Result<SharedLibrary> library = SharedLibrary::open(kSoname);
    if (!library) return library.take_error();
    auto api = std::make_unique<NatsApi>(NatsApi{std::move(*library)});
    bool bound = true;
#define TRACER_NATS_BIND(name) bound = bound && api->library.bind(#name, api->name);
    TRACER_NATS_FUNCTIONS(TRACER_NATS_BIND)
#undef TRACER_NATS_BIND
    if (!bound) return runtime_error(std::string(kSoname) + " lacks a function --output nats uses");
    loaded = api.release();
    return loaded;
  }

  std::string error_text(natsStatus status) const {
    const char* last = nats_GetLastError(nullptr);
    return last && *last ? last : natsStatus_GetText(status);
  }
};

// The servers, the connection's name, and the credentials and TLS of the
// settings (--nats-creds, --nats-user/--nats-password, --nats-token,
// --nats-tls-*).
Status set_nats_connection_options(const NatsApi& api, natsOptions* options, const NatsSettings& settings,
                                   const char* name);

}  // namespace tracer
