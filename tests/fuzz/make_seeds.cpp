// Writes the seed corpora of the fuzz targets into DIR (tests/fuzz): valid
// inputs of each kind, built as the tracer's own code builds them, so that
// fuzzing starts from deep inside each format. Run by hand after a layout
// change: build/fuzz/fuzz_make_seeds tests/fuzz
//
// The ELF seeds are compiled from seed-sources/ (kept small: no libc, no
// build id, text and data in one segment):
//   gcc -Os -nostdlib -static -fno-asynchronous-unwind-tables -fno-pie -no-pie -Wl,--build-id=none
//       -Wl,-z,noseparate-code -o elf/static_bash seed-sources/bash_like.c   (and -m32: elf/static_32bit)
//   gcc -Os -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-z,noseparate-code
//       -o elf/dynamic seed-sources/dynamic.c
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tracer/audit/audit_chain.hpp"

namespace tracer::fuzz {
namespace {

void write_seed(const std::filesystem::path& directory, const std::string& name, std::string_view bytes) {
  std::filesystem::create_directories(directory);
  std::ofstream(directory / name, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

template <typename Address>
std::string bytes_of(const Address& address) {
  return std::string(reinterpret_cast<const char*>(&address), sizeof(address));
}

void syscall_arg_seeds(const std::filesystem::path& directory) {
  sockaddr_in inet{};
  inet.sin_family = AF_INET;
  inet.sin_port = htons(443);
  inet_pton(AF_INET, "192.0.2.7", &inet.sin_addr);
  write_seed(directory, "inet", bytes_of(inet));
  sockaddr_in6 inet6{};
  inet6.sin6_family = AF_INET6;
  inet6.sin6_port = htons(8080);
  inet_pton(AF_INET6, "2001:db8::1", &inet6.sin6_addr);
  write_seed(directory, "inet6", bytes_of(inet6));
  sockaddr_un unix_path{};
  unix_path.sun_family = AF_UNIX;
  std::snprintf(unix_path.sun_path, sizeof(unix_path.sun_path), "/run/dbus/system_bus_socket");
  write_seed(directory, "unix", std::string(bytes_of(unix_path), 0, 2 + 28));
  write_seed(directory, "unix_abstract", std::string("\x01\x00\x00tracer\x1b[31m", 14));
  write_seed(directory, "format_openat",
             syscall_format_text("openat", {"int dfd", "const char * filename", "int flags", "umode_t mode"}));
  write_seed(directory, "format_accept4",
             syscall_format_text("accept4",
                                 {"int fd", "struct sockaddr * upeer_sockaddr", "int * upeer_addrlen", "int flags"}));
}

void escape_seeds(const std::filesystem::path& directory) {
  write_seed(directory, "plain", "/usr/bin/ls -la");
  write_seed(directory, "controls", std::string("a\tb\nc\rd\x1b[2Je\x7f\\f\0g", 20));
  write_seed(directory, "invalid_utf8", "\xff\xfe\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82");
  write_seed(directory, "c1_bidi",
             "\xc2\x9b"
             "31m\xe2\x80\xae"
             "txt.exe\xe2\x81\xa6"
             "\xc3\xa9\xf0\x9f\x98\x80");
}

void filter_seeds(const std::filesystem::path& directory) {
  write_seed(directory, "context", "uid>=1000\ncomm=bash,sh\n!comm=*ssh*\nexe=/usr/bin/*\npid=new\nfollow");
  write_seed(directory, "events", "event=execve,@net,openat,every_kind\n!container\ncgroup=42");
  write_seed(directory, "arguments",
             "event=openat,connect,execve,every_kind\nopenat.pathname=/etc/*\nopenat.flags!=O_RDONLY\n"
             "connect.port=80,443\nconnect.address=10.*\nexecve.argv=*--password*\nevery_kind.text=x*");
  write_seed(directory, "containers", "container=new\ncontainer=0123abcd,ffee\nmntns=4026531841\nppid!=1");
}

void config_seeds(const std::filesystem::path& directory) {
  write_seed(directory, "documented", R"({
  "trace": ["uid>=1000"],
  "output": ["json", "out-file:/var/log/tracer.jsonl"],
  "max_args": 64,
  "user_tracers": [
    {"table_name": "bash_events", "path": "/usr/bin/bash", "function_name": "readline",
     "parameter_list": [{"name": "prompt", "type": "String", "mode": "In"},
                        {"name": "EXIT_CODE", "type": "String", "mode": "Out"}]}
  ]
})");
  write_seed(directory, "every_key",
             R"({"trace": "event=execve", "output": "table", "max_args": 16, "ring_buffer_kib": 256,
"syscall_hook": "raw", "verbose": true, "stats": false, "stats_interval": 5, "stats_top": 3,
"audit_sync": "always", "metrics": "127.0.0.1:9100", "user_tracers": )" +
                 std::string(kFuzzUserTracers) + "}");
}

void audit_seeds(const std::filesystem::path& directory) {
  AuditChain chain;
  std::string log;
  for (const char* event : {R"({"event":"execve","pid":1,"args":{"argv":["ls"]}})",
                            R"({"event":"openat","pid":2,"args":{"pathname":"/etc/passwd"}})",
                            R"({"event":"sched_process_exit","pid":1,"args":{"exit_code":0}})"})
    chain.seal(event, log);
  write_seed(directory, "sealed", log);
  write_seed(directory, "torn_tail", log.substr(0, log.size() - 20));
  AuditChain keyed(SealingKey{SecretBytes(std::string(32, 'k')), 0});
  std::string keyed_log;
  keyed.seal(R"({"event":"execve","pid":3})", keyed_log);
  write_seed(directory, "keyed", keyed_log);
}

}  // namespace
}  // namespace tracer::fuzz

int main(int argc, char** argv) {
  using namespace tracer::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR (tests/fuzz)\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  for (const auto& [name, bytes] : sample_records())
    write_seed(root / "decode", name, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  syscall_arg_seeds(root / "syscall_args");
  escape_seeds(root / "escape");
  filter_seeds(root / "filter");
  config_seeds(root / "config");
  audit_seeds(root / "audit_verify");
  return 0;
}
