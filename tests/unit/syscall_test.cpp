// Syscall events without a kernel: signatures from tracepoint formats, the
// names numbers are shown by, socket addresses, decoding and output.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/output/format.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_decode.hpp"
#include "tracer/syscalls/syscall_signature.hpp"

namespace tracer {
namespace {

// As the kernel writes events/syscalls/sys_enter_<name>/format.
std::string format_text(const std::string& name, int id, const std::vector<std::string>& fields) {
  std::string text = "name: sys_enter_" + name + "\nID: " + std::to_string(id) +
                     "\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                     "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
                     "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n";
  int offset = 16;
  for (const std::string& field : fields)
    text += "\tfield:" + field + ";\toffset:" + std::to_string(offset += 8) + ";\tsize:8;\tsigned:0;\n";
  return text + "\nprint fmt: \"...\"\n";
}

SyscallSignature parsed(const std::string& name, const std::vector<std::string>& fields) {
  Result<SyscallSignature> signature = parse_syscall_format(name, *syscall_number(name), format_text(name, 77, fields));
  EXPECT_TRUE(signature) << (signature ? "" : signature.error().message);
  return signature ? *signature : SyscallSignature{};
}

SyscallSignature openat_signature() {
  return parsed("openat", {"int dfd", "const char * filename", "int flags", "umode_t mode"});
}

SyscallSignature connect_signature() {
  return parsed("connect", {"int fd", "struct sockaddr * uservaddr", "int addrlen"});
}

std::string bytes_of(const void* data, size_t size) { return std::string(static_cast<const char*>(data), size); }

std::string inet_address(const char* dotted, uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, dotted, &address.sin_addr);
  return bytes_of(&address, sizeof(address));
}

TEST(SyscallCatalog, KnowsNumbersAndGroups) {
  EXPECT_EQ(syscall_number("openat"), uint16_t{__NR_openat});
  EXPECT_EQ(syscall_number("getppid"), uint16_t{__NR_getppid});
  EXPECT_FALSE(syscall_number("no_such_call"));
  ASSERT_NE(find_event("connect"), nullptr);
  EXPECT_EQ(find_event("connect")->id, TRACER_EVENT_SYSCALL_BASE + __NR_connect);
  EXPECT_EQ(event_by_id(TRACER_EVENT_SYSCALL_BASE + __NR_connect)->name, "connect");
  // execve stays the exec event, with its own record.
  EXPECT_EQ(find_event("execve")->id, TRACER_EVENT_EXECVE);
  const auto net = syscall_group_numbers("@net");
  ASSERT_TRUE(net);
  EXPECT_NE(std::find(net->begin(), net->end(), __NR_connect), net->end());
  EXPECT_FALSE(syscall_group_numbers("@nothing"));
  const std::vector<std::string> closest = closest_event_names("opnat", 2);
  ASSERT_FALSE(closest.empty());
  EXPECT_EQ(closest.front(), "openat");
}

TEST(SyscallSignature, ParsesNamesTypesAndFormats) {
  const SyscallSignature openat = openat_signature();
  ASSERT_EQ(openat.args.size(), 4u);
  EXPECT_EQ(openat.args[0].name, "dirfd");     // dfd, as the man page says
  EXPECT_EQ(openat.args[1].name, "pathname");  // filename
  EXPECT_EQ(openat.args[1].type, "const char *");
  EXPECT_EQ(openat.args[1].format, ArgFormat::string);
  EXPECT_EQ(openat.args[2].format, ArgFormat::symbolic);
  EXPECT_EQ(openat.args[2].symbols, Symbols::open_flags);
  EXPECT_EQ(openat.args[3].symbols, Symbols::file_mode);
  EXPECT_EQ(format_tracepoint_id(format_text("openat", 782, {})), 782u);

  const tracer_syscall_capture_spec spec = openat.capture_spec();
  EXPECT_EQ(spec.kind[0], TRACER_CAPTURE_NONE);
  EXPECT_EQ(spec.kind[1], TRACER_CAPTURE_STRING);
  EXPECT_EQ(spec.emit_at_entry, 0);
}

TEST(SyscallSignature, SocketAddressLengths) {
  const SyscallSignature connect = connect_signature();
  EXPECT_EQ(connect.args[1].name, "addr");
  EXPECT_EQ(connect.capture_spec().kind[1], TRACER_CAPTURE_SOCKADDR);
  EXPECT_EQ(connect.capture_spec().length_arg[1], 2);
  const std::vector<std::string> names = connect.filterable_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "port"), names.end());

  const SyscallSignature accept4 =
      parsed("accept4", {"int fd", "struct sockaddr * upeer_sockaddr", "int * upeer_addrlen", "int flags"});
  EXPECT_EQ(accept4.args[2].name, "addrlen");
  EXPECT_EQ(accept4.capture_spec().kind[1], TRACER_CAPTURE_SOCKADDR_OUT);

  // write's buffer is bytes, not a string: never read as one.
  const SyscallSignature write = parsed("write", {"unsigned int fd", "const char * buf", "size_t count"});
  EXPECT_EQ(write.args[1].format, ArgFormat::pointer);
  EXPECT_EQ(write.capture_spec().kind[1], TRACER_CAPTURE_NONE);

  EXPECT_TRUE(parsed("exit_group", {"int error_code"}).capture_spec().emit_at_entry);
}

// One JSON type per argument name across every event: fds are signed ints
// whatever the register's declared type, and flags, modes and protections are
// text everywhere.
TEST(SyscallSignature, OneTypePerArgumentName) {
  const SyscallSignature mmap = parsed("mmap", {"unsigned long addr", "unsigned long len", "unsigned long prot",
                                                "unsigned long flags", "unsigned long fd", "unsigned long off"});
  EXPECT_EQ(mmap.args[2].symbols, Symbols::memory_protection);
  EXPECT_EQ(mmap.args[3].format, ArgFormat::symbolic);
  EXPECT_EQ(mmap.args[3].symbols, Symbols::mmap_flags);
  EXPECT_EQ(mmap.args[4].symbols, Symbols::fd);
  EXPECT_TRUE(mmap.args[4].is_signed);
  EXPECT_TRUE(mmap.args[4].is_32bit);
  EXPECT_EQ(parsed("unlinkat", {"int dfd", "const char * pathname", "int flag"}).args[2].symbols,
            Symbols::unlink_flags);
  EXPECT_EQ(
      parsed("newfstatat", {"int dfd", "const char * filename", "struct stat * statbuf", "int flag"}).args[3].symbols,
      Symbols::at_flags);
  EXPECT_EQ(parsed("pipe2", {"int * fildes", "int flags"}).args[1].symbols, Symbols::hex);
  EXPECT_EQ(parsed("fallocate", {"int fd", "int mode", "loff_t offset", "loff_t len"}).args[1].symbols, Symbols::hex);
}

TEST(SyscallSignature, RejectsAFormatWithoutSyscallNumber) {
  EXPECT_FALSE(parse_syscall_format("openat", 257, "name: x\nID: 1\nformat:\n\tfield:int dfd;\toffset:16;\n"));
}

TEST(SymbolicText, NamesFlagsModesSignalsAndSockets) {
  EXPECT_EQ(symbolic_text({O_RDONLY | O_CLOEXEC, Symbols::open_flags}), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(symbolic_text({O_WRONLY | O_CREAT | O_TRUNC, Symbols::open_flags}), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(symbolic_text({O_RDWR | O_SYNC, Symbols::open_flags}), "O_RDWR|O_SYNC");
  EXPECT_EQ(symbolic_text({O_RDWR | O_TMPFILE, Symbols::open_flags}), "O_RDWR|O_TMPFILE");
  EXPECT_EQ(symbolic_text({0644, Symbols::file_mode}), "0644");
  EXPECT_EQ(symbolic_text({15, Symbols::signal}), "SIGTERM");
  EXPECT_EQ(symbolic_text({9, Symbols::signal}), "SIGKILL");
  EXPECT_EQ(symbolic_text({CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, Symbols::clone_flags}),
            "CLONE_NEWNS|CLONE_NEWPID|SIGCHLD");
  EXPECT_EQ(symbolic_text({AF_INET6, Symbols::socket_family}), "AF_INET6");
  EXPECT_EQ(symbolic_text({SOCK_STREAM | SOCK_CLOEXEC, Symbols::socket_type}), "SOCK_STREAM|SOCK_CLOEXEC");
  EXPECT_EQ(symbolic_text({5, Symbols::access_mode}), "R_OK|X_OK");
  EXPECT_EQ(symbolic_text({0, Symbols::access_mode}), "F_OK");
  EXPECT_EQ(symbolic_text({7, Symbols::memory_protection}), "PROT_READ|PROT_WRITE|PROT_EXEC");
  EXPECT_EQ(symbolic_text({AT_FDCWD, Symbols::fd}), "AT_FDCWD");
  EXPECT_EQ(symbolic_text({0x10000000000, Symbols::memory_protection}), "0x10000000000");
  EXPECT_EQ(symbolic_text({MAP_PRIVATE | MAP_ANONYMOUS, Symbols::mmap_flags}), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(symbolic_text({MAP_SHARED_VALIDATE | MAP_SYNC, Symbols::mmap_flags}), "MAP_SHARED_VALIDATE|MAP_SYNC");
  EXPECT_EQ(symbolic_text({AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, Symbols::at_flags}),
            "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH");
  EXPECT_EQ(symbolic_text({0, Symbols::at_flags}), "0");
  EXPECT_EQ(symbolic_text({AT_REMOVEDIR, Symbols::unlink_flags}), "AT_REMOVEDIR");
  EXPECT_EQ(symbolic_text({0x80800, Symbols::hex}), "0x80800");
  EXPECT_EQ(symbolic_text({0, Symbols::hex}), "0");
  EXPECT_EQ(errno_name_of_return(-2), "ENOENT");
  EXPECT_EQ(errno_name_of_return(-111), "ECONNREFUSED");
  EXPECT_FALSE(errno_name_of_return(3));
  EXPECT_FALSE(errno_name_of_return(-100000));
}

TEST(SocketAddress, InetInet6UnixAbstractAndShort) {
  SocketAddressFields inet = describe_socket_address(inet_address("127.0.0.1", 443));
  EXPECT_EQ(inet.family, "AF_INET");
  EXPECT_EQ(inet.address, "127.0.0.1");
  EXPECT_EQ(inet.port, 443);

  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  six.sin6_port = htons(8080);
  inet_pton(AF_INET6, "::1", &six.sin6_addr);
  SocketAddressFields inet6 = describe_socket_address(bytes_of(&six, sizeof(six)));
  EXPECT_EQ(inet6.address, "::1");
  EXPECT_EQ(inet6.port, 8080);

  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  std::strcpy(unix_address.sun_path, "/run/x.sock");
  const std::string unix_bytes =
      bytes_of(&unix_address, offsetof(sockaddr_un, sun_path) + std::strlen(unix_address.sun_path) + 1);
  EXPECT_EQ(describe_socket_address(unix_bytes).path, "/run/x.sock");

  std::string abstract = unix_bytes.substr(0, offsetof(sockaddr_un, sun_path)) + std::string("\0name", 5);
  SocketAddressFields named = describe_socket_address(abstract);
  EXPECT_TRUE(named.abstract);
  EXPECT_EQ(named.path, "name");

  // Cut short (a hostile addrlen): no address, no read past the bytes.
  EXPECT_FALSE(describe_socket_address(inet_address("10.0.0.1", 1).substr(0, 6)).port);
  EXPECT_EQ(describe_socket_address("").family, "AF_UNSPEC");
}

class SyscallDecodeTest : public ::testing::Test {
 protected:
  Event decoded(const testing::SyscallRecordSpec& spec) {
    bytes_ = testing::build_syscall_record(spec);
    DecodeOptions options;
    options.syscalls = &signatures_;
    Result<Event> event = decode(bytes_, options);
    EXPECT_TRUE(event) << (event ? "" : event.error().message);
    return event ? *event : Event{};
  }
  std::string json_of(const Event& event) {
    std::string out;
    JsonFormatter(clock_).append(out, event);
    return out;
  }
  void SetUp() override {
    signatures_.add(openat_signature());
    signatures_.add(connect_signature());
  }

  SyscallSignatures signatures_;
  std::vector<std::byte> bytes_;
  BootToWallClock clock_{1'795'408'230'000'000'000 - 1'000'000'000};
};

TEST_F(SyscallDecodeTest, OpenatJsonKeepsRawAndDecoded) {
  testing::SyscallRecordSpec spec;
  spec.ret = -2;
  spec.args = {static_cast<uint32_t>(-100), 0x7ffd0000, O_WRONLY | O_CREAT | O_CLOEXEC, 0640};
  spec.captures[1] = "/etc/tracer-test";
  const Event event = decoded(spec);
  ASSERT_EQ(event.definition->name, "openat");
  const auto json = nlohmann::json::parse(json_of(event));
  EXPECT_EQ(json["ret"], -2);
  EXPECT_EQ(json["errno"], "ENOENT");
  EXPECT_EQ(json["args"],
            nlohmann::json::parse(R"({"dirfd":-100,"pathname":"/etc/tracer-test","flags":"O_WRONLY|O_CREAT|O_CLOEXEC",)"
                                  R"("mode":"0640"})"));
  EXPECT_EQ(json["syscall"], nlohmann::json::parse(R"({"nr":)" + std::to_string(__NR_openat) +
                                                   R"(,"raw_args":[-100,2147287040,524353,416],)"
                                                   R"("duration_ns":1500})"));
  EXPECT_EQ(json["flags"], nlohmann::json::array());

  std::string table;
  TableFormatter(clock_).append(table, event);
  EXPECT_NE(table.find(" ENOENT "), std::string::npos) << table;
  EXPECT_NE(table.find("dirfd=AT_FDCWD pathname=/etc/tracer-test flags=O_WRONLY|O_CREAT|O_CLOEXEC mode=0640"),
            std::string::npos)
      << table;
}

// The whole line, byte for byte: what the formatter writes without a
// string of its own per value (numbers at their extremes, escapes between
// plain runs).
TEST_F(SyscallDecodeTest, JsonAndTableLinesExactly) {
  testing::SyscallRecordSpec spec;
  spec.ret = -13;
  spec.args = {static_cast<uint32_t>(-100), 0x7ffd0000, O_RDONLY | O_CLOEXEC, 0};
  // quote, backslash, C0 control, DEL, C1 control (U+009B), bidi override (U+202E), emoji
  spec.captures[1] = "/tmp/q\"b\\s\x01\x7f\xc2\x9b\xe2\x80\xae\xf0\x9f\x98\x80.txt";
  const Event event = decoded(spec);
  const std::string common =
      R"({"timestamp":"2026-11-23T04:30:30.000000123Z","event":"openat","pid":4242,"tid":4243,"ppid":4200,)"
      R"("ns_pid":7,"uid":1000,"gid":1001,"comm":"bash","cgroup_id":99,"mntns":4026531841,)"
      R"("pidns":4026531836,"container_id":null,"euid":0,"egid":1001,"auid":1000,"sessionid":3,"sid":4100,)"
      R"("tty":null,"host":null,"exec_id":"0000000000000000-4242-500000000-3",)"
      R"("parent_exec_id":"0000000000000000-4200-400000000-2",)";
  EXPECT_EQ(json_of(event), common + R"("ret":-13,"errno":"EACCES","syscall":{"nr":)" + std::to_string(__NR_openat) +
                                R"(,"raw_args":[-100,2147287040,524288,0],"duration_ns":1500},"flags":[],)"
                                R"("args":{"dirfd":-100,)"
                                R"("pathname":"/tmp/q\"b\\s\u0001\u007f\u009b\u202e)"
                                "\xf0\x9f\x98\x80"
                                R"(.txt","flags":"O_RDONLY|O_CLOEXEC","mode":"0000"}})"
                                "\n");
  std::string table;
  TableFormatter(clock_).append(table, event);
  ASSERT_GT(table.size(), 16u);
  EXPECT_EQ(
      table.substr(16),  // after the local time of day
      R"(1000  bash            4242    4243    EACCES openat        dirfd=AT_FDCWD )"
      R"(pathname='/tmp/q"b\\s\x01\x7f\xc2\x9b\xe2\x80\xae\xf0\x9f\x98\x80.txt' flags=O_RDONLY|O_CLOEXEC mode=0000)"
      "\n");

  // Numbers at their extremes; a pointer whose string could not be read.
  spec.ret = std::numeric_limits<int64_t>::min();
  spec.args[1] = std::numeric_limits<uint64_t>::max();
  spec.capture_failed = 1u << 1;
  spec.duration_ns = 0;
  EXPECT_EQ(json_of(decoded(spec)),
            common + R"("ret":-9223372036854775808,"syscall":{"nr":)" + std::to_string(__NR_openat) +
                R"(,"raw_args":[-100,18446744073709551615,524288,0],"duration_ns":0},)"
                R"("flags":["argument_read_failed"],"args":{"dirfd":-100,"pathname":18446744073709551615,)"
                R"("flags":"O_RDONLY|O_CLOEXEC","mode":"0000"}})"
                "\n");
}

TEST_F(SyscallDecodeTest, ConnectAddressAndArgumentFilters) {
  testing::SyscallRecordSpec spec;
  spec.number = __NR_connect;
  spec.ret = 0;
  spec.args = {3, 0x7ffd0000, sizeof(sockaddr_in)};
  spec.captures[1] = inet_address("127.0.0.1", 443);
  const Event event = decoded(spec);
  const auto json = nlohmann::json::parse(json_of(event));
  EXPECT_EQ(json["args"]["addr"], nlohmann::json::parse(R"({"family":"AF_INET","address":"127.0.0.1","port":443})"));

  Result<FilterSpec> port = parse_filters({"event=connect", "connect.port=443"});
  ASSERT_TRUE(port);
  EXPECT_TRUE(passes_argument_filters(*port, event));
  Result<FilterSpec> other_port = parse_filters({"event=connect", "connect.port=80"});
  EXPECT_FALSE(passes_argument_filters(*other_port, event));
  Result<FilterSpec> address = parse_filters({"event=connect", "connect.address=127.*"});
  EXPECT_TRUE(passes_argument_filters(*address, event));
}

TEST_F(SyscallDecodeTest, FailedReadAndNoReturnAndGenericArguments) {
  testing::SyscallRecordSpec spec;
  spec.args = {static_cast<uint32_t>(-100), 0x1000, O_RDONLY, 0};
  spec.capture_failed = 1u << 1;
  Event event = decoded(spec);
  EXPECT_TRUE(event.has(EventFlag::argument_read_failed));
  const Arg* pathname = event.args.find("pathname");
  ASSERT_NE(pathname, nullptr);
  EXPECT_EQ(std::get<uint64_t>(pathname->value), 0x1000u);  // the pointer, since its string is unknown

  testing::SyscallRecordSpec exit_group;
  exit_group.number = __NR_exit_group;
  exit_group.flags = TRACER_SYSCALL_NO_RETURN;
  exit_group.args = {3};
  event = decoded(exit_group);  // no signature: generic arg0..arg5
  EXPECT_FALSE(event.ret);
  const auto json = nlohmann::json::parse(json_of(event));
  EXPECT_FALSE(json.contains("ret"));
  EXPECT_EQ(json["args"]["arg0"], 3);
  EXPECT_FALSE(json["syscall"].contains("duration_ns"));
}

TEST_F(SyscallDecodeTest, RejectsLengthsOverrunningTheRecord) {
  testing::SyscallRecordSpec spec;
  spec.captures[1] = "/x";
  std::vector<std::byte> bytes = testing::build_syscall_record(spec);
  ASSERT_GT(bytes.size(), sizeof(tracer_record_header));
  bytes.pop_back();  // not resize(size - 1): gcc 12 -O3 sees a huge memset there (-Wstringop-overflow)
  tracer_record_header header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  header.size = static_cast<uint32_t>(bytes.size());
  std::memcpy(bytes.data(), &header, sizeof(header));
  EXPECT_FALSE(decode(bytes, DecodeOptions{}));
}

TEST(SyscallFilters, EventSelectionByNameGroupAndExclusion) {
  Result<FilterSpec> spec = parse_filters({"event=openat,@net", "event!=accept"});
  ASSERT_TRUE(spec);
  EXPECT_TRUE(spec->wanted_syscalls.test(__NR_openat));
  EXPECT_TRUE(spec->wanted_syscalls.test(__NR_connect));
  EXPECT_FALSE(spec->wanted_syscalls.test(__NR_accept));
  EXPECT_FALSE(spec->wants(TRACER_EVENT_EXECVE));
  EXPECT_TRUE(spec->wants(TRACER_EVENT_SYSCALL_BASE + __NR_openat));

  // @proc's execve is the exec event, not a second syscall record.
  Result<FilterSpec> proc = parse_filters({"event=@proc"});
  ASSERT_TRUE(proc);
  EXPECT_TRUE(proc->wants(TRACER_EVENT_EXECVE));
  EXPECT_FALSE(proc->wanted_syscalls.test(__NR_execve));
  EXPECT_TRUE(proc->wanted_syscalls.test(__NR_kill));

  Result<FilterSpec> unknown = parse_filters({"event=opnat"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "--trace 'event=opnat': unknown event 'opnat' (did you mean openat, openat2?); tracer --list shows the "
            "events");
}

}  // namespace
}  // namespace tracer
