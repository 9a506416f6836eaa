// Userspace hot path: decode + JSON (or table) format of one record, per
// record: an execve with 10 arguments, a getppid (no arguments) and an
// openat with a path and flags.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include <string>
#include <vector>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/output/format.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_signature.hpp"

namespace {

std::vector<std::byte> execve_record_with_ten_args() {
  tracer::testing::ExecRecordSpec spec;
  spec.task.comm = "make";
  spec.pathname = spec.filename = "/usr/bin/gcc";
  spec.argv = tracer::testing::nul_joined(
      {"gcc", "-O2", "-g", "-Wall", "-c", "main.c", "-o", "main.o", "-I/usr/include", "-DNDEBUG"});
  return tracer::testing::build_exec_record(spec);
}

std::vector<std::byte> getppid_record() {
  tracer::testing::SyscallRecordSpec spec;
  spec.task.comm = "call_storm";
  spec.number = __NR_getppid;
  spec.ret = 4200;
  return tracer::testing::build_syscall_record(spec);
}

std::vector<std::byte> openat_record() {
  tracer::testing::SyscallRecordSpec spec;
  spec.task.comm = "cat";
  spec.args = {static_cast<uint32_t>(AT_FDCWD), 0x7ffd0000, O_RDONLY | O_CLOEXEC, 0};
  spec.captures[1] = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  return tracer::testing::build_syscall_record(spec);
}

// As the kernel's events/syscalls/sys_enter_<name>/format describes them.
tracer::SyscallSignature signature(const std::string& name, const std::vector<std::string>& fields) {
  std::string text =
      "name: sys_enter_" + name + "\nID: 1\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n";
  int offset = 8;
  for (const std::string& field : fields)
    text += "\tfield:" + field + ";\toffset:" + std::to_string(offset += 8) + ";\tsize:8;\tsigned:0;\n";
  auto parsed = tracer::parse_syscall_format(name, *tracer::syscall_number(name), text + "\nprint fmt: \"\"\n");
  return parsed ? *parsed : tracer::generic_syscall_signature(name, *tracer::syscall_number(name));
}

const tracer::SyscallSignatures& signatures() {
  static const tracer::SyscallSignatures all = [] {
    tracer::SyscallSignatures made;
    made.add(signature("getppid", {}));
    made.add(signature("openat", {"int dfd", "const char * filename", "int flags", "umode_t mode"}));
    return made;
  }();
  return all;
}

template <typename Formatter>
void decode_and_format(benchmark::State& state, const std::vector<std::byte>& record) {
  const tracer::BootToWallClock clock = tracer::BootToWallClock::calibrate();
  tracer::DecodeOptions options;
  options.syscalls = &signatures();
  Formatter formatter(clock);
  std::string out;
  for (auto _ : state) {
    out.clear();
    auto event = tracer::decode(record, options);
    formatter.append(out, *event);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

template <typename Formatter>
void BM_Exec(benchmark::State& state) {
  decode_and_format<Formatter>(state, execve_record_with_ten_args());
}
template <typename Formatter>
void BM_Getppid(benchmark::State& state) {
  decode_and_format<Formatter>(state, getppid_record());
}
template <typename Formatter>
void BM_Openat(benchmark::State& state) {
  decode_and_format<Formatter>(state, openat_record());
}

// Decode alone: the share of the path before the formatter.
void BM_DecodeOnlyGetppid(benchmark::State& state) {
  const auto record = getppid_record();
  tracer::DecodeOptions options;
  options.syscalls = &signatures();
  for (auto _ : state) {
    auto event = tracer::decode(record, options);
    benchmark::DoNotOptimize(event);
  }
}
BENCHMARK(BM_DecodeOnlyGetppid);

BENCHMARK(BM_Exec<tracer::JsonFormatter>)->Name("BM_DecodeAndFormatJson");
BENCHMARK(BM_Exec<tracer::TableFormatter>)->Name("BM_DecodeAndFormatTable");
BENCHMARK(BM_Getppid<tracer::JsonFormatter>)->Name("BM_GetppidJson");
BENCHMARK(BM_Getppid<tracer::TableFormatter>)->Name("BM_GetppidTable");
BENCHMARK(BM_Openat<tracer::JsonFormatter>)->Name("BM_OpenatJson");
BENCHMARK(BM_Openat<tracer::TableFormatter>)->Name("BM_OpenatTable");

}  // namespace

BENCHMARK_MAIN();
