// Publish throughput into a JetStream stream the way --output nats:
// publishes (src/output/nats_output.cpp): asynchronous, a message id per
// record, at most 4096 awaiting their acknowledgement; records of a typical
// exec record's size. Prints records/s from the first publish to the last
// acknowledgement.
// usage: nats_publish URLS SUBJECT RECORDS REPLICAS [BYTES]
// (a stream BENCH of SUBJECT with REPLICAS is made when missing)
#include <nats/nats.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s URLS SUBJECT RECORDS REPLICAS [BYTES]\n", argv[0]);
    return 2;
  }
  const long records = std::atol(argv[3]);
  const size_t bytes = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 600;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.MaxPending = 4096;
  if (natsConnection_ConnectTo(&connection, argv[1]) != NATS_OK ||
      natsConnection_JetStream(&js, connection, &options) != NATS_OK) {
    std::fprintf(stderr, "cannot connect to %s: %s\n", argv[1], nats_GetLastError(nullptr));
    return 1;
  }
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  const char* subjects[] = {argv[2]};
  config.Name = "BENCH";
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Replicas = std::atol(argv[4]);
  jsStreamInfo* info = nullptr;
  if (js_GetStreamInfo(&info, js, "BENCH", nullptr, nullptr) != NATS_OK &&
      js_AddStream(&info, js, &config, nullptr, nullptr) != NATS_OK) {
    std::fprintf(stderr, "cannot make stream BENCH: %s\n", nats_GetLastError(nullptr));
    return 1;
  }
  jsStreamInfo_Destroy(info);
  std::string body = R"({"time":"2026-12-03T22:00:00.000000000Z","event":"execve","args":{"argv":[")";
  body.resize(bytes - 3, 'x');
  body += "\"]}";
  const std::string prefix = "bench-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < records; ++i) {
    const std::string id = prefix + "-" + std::to_string(i);
    jsPubOptions publish;
    jsPubOptions_Init(&publish);
    publish.MsgId = id.c_str();
    natsStatus status = NATS_OK;
    // Stalled (4096 awaiting acknowledgement): the tracer waits for room too.
    for (int tries = 0; tries < 300; ++tries)
      if ((status = js_PublishAsync(js, argv[2], body.data(), static_cast<int>(body.size()), &publish)) != NATS_TIMEOUT)
        break;
    if (status != NATS_OK) {
      std::fprintf(stderr, "publish failed: %s\n", nats_GetLastError(nullptr));
      return 1;
    }
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 60000;
  const natsStatus done = js_PublishAsyncComplete(js, &wait);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%ld records of %zu bytes in %.2f s: %.0f records/s%s\n", records, body.size(), seconds,
              double(records) / seconds, done == NATS_OK ? "" : " (not all acknowledged)");
  jsCtx_Destroy(js);
  natsConnection_Destroy(connection);
  return done == NATS_OK ? 0 : 1;
}
