#pragma once
// Reading a JetStream stream back, for `tracer verify nats://URL[/STREAM]`:
// every message from the first, in order, through an ordered consumer, until
// none is pending. libnats is loaded as --output nats loads it.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tracer/core/result.hpp"
#include "tracer/output/nats_target.hpp"

namespace tracer {

// Each message's body and stream sequence, oldest first.
using NatsMessageSink = std::function<void(std::string_view body, uint64_t stream_seq)>;
Status read_nats_stream(const NatsStreamSource& source, const NatsMessageSink& each);

}  // namespace tracer
