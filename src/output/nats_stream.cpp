#include "tracer/output/nats_stream.hpp"

#ifdef TRACER_HAVE_NATS
#include "tracer/output/nats_api.hpp"
#endif

namespace tracer {

#ifdef TRACER_HAVE_NATS

namespace {

// A stream that has messages left and sends none for this long is not read
// to its end: verify fails rather than report a partial stream as whole.
constexpr int64_t kNextMessageWaitMs = 10000;

// libnats objects destroyed through the loaded library.
template <typename T>
struct Owned {
  const NatsApi& api;
  T* object = nullptr;
  void (*destroy)(const NatsApi&, T*);
  ~Owned() {
    if (object) destroy(api, object);
  }
};

}  // namespace

Status set_nats_connection_options(const NatsApi& api, natsOptions* options, const NatsSettings& settings,
                                   const char* name) {
  std::vector<const char*> servers;
  bool secure = settings.tls_ca_file || settings.tls_cert_file;
  for (const std::string& server : settings.servers) {
    servers.push_back(server.c_str());
    secure = secure || server.starts_with("tls://");
  }
  natsStatus status = api.natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
  if (status == NATS_OK) status = api.natsOptions_SetName(options, name);
  if (status == NATS_OK && settings.creds_file)
    status = api.natsOptions_SetUserCredentialsFromFiles(options, settings.creds_file->c_str(), nullptr);
  if (status == NATS_OK && settings.user)
    status = api.natsOptions_SetUserInfo(options, settings.user->c_str(),
                                         settings.password ? settings.password->c_str() : nullptr);
  if (status == NATS_OK && settings.token) status = api.natsOptions_SetToken(options, settings.token->c_str());
  if (status == NATS_OK && secure) status = api.natsOptions_SetSecure(options, true);
  if (status == NATS_OK && settings.tls_ca_file)
    status = api.natsOptions_LoadCATrustedCertificates(options, settings.tls_ca_file->c_str());
  if (status == NATS_OK && settings.tls_cert_file)
    status = api.natsOptions_LoadCertificatesChain(options, settings.tls_cert_file->c_str(),
                                                   settings.tls_key_file ? settings.tls_key_file->c_str() : "");
  if (status != NATS_OK) return runtime_error("NATS: " + api.error_text(status));
  return ok_status();
}

namespace {

// From an ordered consumer (no acks, redelivered from where it broke by
// libnats itself), until a message says none is pending.
Status read_messages(const NatsApi& api, jsCtx* js, const std::string& stream, const std::string& filter,
                     const NatsMessageSink& each) {
  jsSubOptions options;
  api.jsSubOptions_Init(&options);
  options.Stream = stream.c_str();
  options.Ordered = true;
  jsErrCode code{};
  Owned<natsSubscription> subscription{api, nullptr, [](const NatsApi& a, natsSubscription* s) {
                                         a.natsSubscription_Unsubscribe(s);
                                         a.natsSubscription_Destroy(s);
                                       }};
  natsStatus status = api.js_SubscribeSync(&subscription.object, js, filter.c_str(), nullptr, &options, &code);
  if (status != NATS_OK) return runtime_error("stream " + stream + ": cannot consume it: " + api.error_text(status));
  for (;;) {
    Owned<natsMsg> message{api, nullptr, [](const NatsApi& a, natsMsg* m) { a.natsMsg_Destroy(m); }};
    status = api.natsSubscription_NextMsg(&message.object, subscription.object, kNextMessageWaitMs);
    if (status != NATS_OK)
      return runtime_error("stream " + stream + ": reading it stopped before its end: " + api.error_text(status));
    Owned<jsMsgMetaData> meta{api, nullptr, [](const NatsApi& a, jsMsgMetaData* m) { a.jsMsgMetaData_Destroy(m); }};
    if (api.natsMsg_GetMetaData(&meta.object, message.object) != NATS_OK)
      return runtime_error("stream " + stream + ": a message without JetStream metadata");
    const char* data = api.natsMsg_GetData(message.object);
    each(std::string_view(data ? data : "", static_cast<size_t>(api.natsMsg_GetDataLength(message.object))),
         meta.object->Sequence.Stream);
    if (meta.object->NumPending == 0) return ok_status();
  }
}

}  // namespace

Status read_nats_stream(const NatsStreamSource& source, const NatsMessageSink& each) {
  Result<const NatsApi*> loaded = NatsApi::load();
  if (!loaded) return runtime_error("NATS: " + loaded.error().message + " (install libnats3.4)");
  const NatsApi& api = **loaded;
  Owned<natsOptions> options{api, nullptr, [](const NatsApi& a, natsOptions* o) { a.natsOptions_Destroy(o); }};
  if (natsStatus status = api.natsOptions_Create(&options.object); status != NATS_OK)
    return runtime_error("NATS: " + api.error_text(status));
  if (Status set = set_nats_connection_options(api, options.object, source.settings, "tracer-verify"); !set) return set;
  Owned<natsConnection> connection{api, nullptr, [](const NatsApi& a, natsConnection* c) {
                                     a.natsConnection_Close(c);
                                     a.natsConnection_Destroy(c);
                                   }};
  if (natsStatus status = api.natsConnection_Connect(&connection.object, options.object); status != NATS_OK)
    return runtime_error("NATS: cannot connect to " + source.settings.servers.front() + ": " + api.error_text(status));
  Owned<jsCtx> js{api, nullptr, [](const NatsApi& a, jsCtx* j) { a.jsCtx_Destroy(j); }};
  if (natsStatus status = api.natsConnection_JetStream(&js.object, connection.object, nullptr); status != NATS_OK)
    return runtime_error("NATS: JetStream: " + api.error_text(status));
  Owned<jsStreamInfo> info{api, nullptr, [](const NatsApi& a, jsStreamInfo* i) { a.jsStreamInfo_Destroy(i); }};
  jsErrCode code{};
  if (natsStatus status = api.js_GetStreamInfo(&info.object, js.object, source.stream.c_str(), nullptr, &code);
      status != NATS_OK)
    return runtime_error("stream " + source.stream + ": " + api.error_text(status));
  if (info.object->State.Msgs == 0) return ok_status();
  // The stream's own subject (a server may refuse a filter wider than it),
  // or every subject of a stream that has several.
  const std::string filter =
      info.object->Config && info.object->Config->SubjectsLen == 1 ? info.object->Config->Subjects[0] : ">";
  return read_messages(api, js.object, source.stream, filter, each);
}

#else

Status read_nats_stream(const NatsStreamSource&, const NatsMessageSink&) {
  return runtime_error("tracer verify nats://: this tracer was built without libnats");
}

#endif

}  // namespace tracer
