// The syslog output's socket with real sockets and no root: what a server
// receives, and a server gone, or a datagram socket, costing the records
// counted as unreachable without ever blocking.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tracer/core/fd.hpp"
#include "tracer/output/output_writer.hpp"

namespace tracer {
namespace {

// A TCP server on 127.0.0.1 that accepts one connection and reads it whole.
struct Listener {
  UniqueFd socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;

  Listener() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    EXPECT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(socket.get(), 4), 0);
    EXPECT_EQ(::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
    port = ntohs(address.sin_port);
  }
  // What the first connection carried until it was closed.
  std::string accept_and_read() const {
    const UniqueFd connection(::accept4(socket.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string bytes;
    char buffer[4096];
    for (ssize_t got; (got = ::read(connection.get(), buffer, sizeof(buffer))) > 0;) bytes.append(buffer, got);
    return bytes;
  }
};

TEST(SyslogConnection, TheServerReceivesEveryFrameAsAppended) {
  Listener listener;
  std::string received;
  std::thread server([&] { received = listener.accept_and_read(); });
  const std::string big(100 * 1024, 'x');
  {
    Result<OutputWriter> writer = OutputWriter::open_syslog({"127.0.0.1", listener.port, {}});
    ASSERT_TRUE(writer);
    EXPECT_EQ(writer->name(), "syslog:tcp://127.0.0.1:" + std::to_string(listener.port));
    writer->append_record("3 abc");
    writer->append_record(big);
    ASSERT_TRUE(writer->flush());
    const OutputMetrics counters = writer->counters();
    EXPECT_EQ(counters.records_written, 2u);
    EXPECT_EQ(counters.records_unreachable, 0u);
  }  // closed: the server reads to its end
  server.join();
  EXPECT_EQ(received, "3 abc" + big);
}

TEST(SyslogConnection, AServerThatIsNotThereCostsRecordsCountedNeverAWait) {
  uint16_t port = 0;
  {
    const Listener gone;  // a port that was free a moment ago, closed again
    port = gone.port;
  }
  Result<OutputWriter> writer = OutputWriter::open_syslog({"127.0.0.1", port, {}});
  ASSERT_TRUE(writer);
  for (int i = 0; i < 3; ++i) {
    writer->append_record("1 x");
    ASSERT_TRUE(writer->flush());
  }
  const OutputMetrics counters = writer->counters();
  EXPECT_EQ(counters.records_written, 0u);
  EXPECT_EQ(counters.records_unreachable, 3u);
  EXPECT_EQ(counters.records_stalled, 0u);
}

TEST(SyslogConnection, ADatagramSocketIsUnreachableNotACutRecord) {
  char name[] = "/tmp/tracer-syslog-XXXXXX";
  ASSERT_NE(mkdtemp(name), nullptr);
  const std::string path = std::string(name) + "/log";
  const UniqueFd datagram(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(datagram.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  Result<OutputWriter> writer = OutputWriter::open_syslog({{}, 0, path});
  ASSERT_TRUE(writer);
  writer->append_record("1 x");
  ASSERT_TRUE(writer->flush());
  EXPECT_EQ(writer->counters().records_unreachable, 1u);
  char byte = 0;
  EXPECT_LT(::recv(datagram.get(), &byte, 1, MSG_DONTWAIT), 0);  // nothing arrived
  std::filesystem::remove_all(name);
}

}  // namespace
}  // namespace tracer
