// Userspace hot path: decode + JSON (or table) format of an execve record with
// 10 arguments, per record.
#include <benchmark/benchmark.h>

#include <vector>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/output/format.hpp"

namespace {

std::vector<std::byte> execve_record_with_ten_args() {
  tracer::testing::ExecRecordSpec spec;
  spec.task.comm = "make";
  spec.pathname = spec.filename = "/usr/bin/gcc";
  spec.argv = tracer::testing::nul_joined(
      {"gcc", "-O2", "-g", "-Wall", "-c", "main.c", "-o", "main.o", "-I/usr/include", "-DNDEBUG"});
  return tracer::testing::build_exec_record(spec);
}

template <typename Formatter>
void BM_DecodeAndFormat(benchmark::State& state) {
  const auto record = execve_record_with_ten_args();
  const tracer::BootToWallClock clock = tracer::BootToWallClock::calibrate();
  Formatter formatter(clock);
  std::string out;
  for (auto _ : state) {
    out.clear();
    auto event = tracer::decode(record, {});
    formatter.append(out, *event);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeAndFormat<tracer::JsonFormatter>)->Name("BM_DecodeAndFormatJson");
BENCHMARK(BM_DecodeAndFormat<tracer::TableFormatter>)->Name("BM_DecodeAndFormatTable");

}  // namespace

BENCHMARK_MAIN();
