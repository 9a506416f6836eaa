#include "tracer/kernel/load_heap.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace tracer {
namespace {

constexpr uintptr_t kHugePageBytes = uintptr_t{2} << 20;
// While loading, allocations up to this size come from the heap, and the
// heap is not trimmed.
constexpr int kLoadThresholdBytes = 64 << 20;
// glibc's documented defaults for M_MMAP_THRESHOLD and M_TRIM_THRESHOLD.
constexpr int kDefaultMmapThresholdBytes = 128 * 1024;
constexpr int kDefaultTrimThresholdBytes = 128 * 1024;

uintptr_t align_down(uintptr_t address) { return address & ~(kHugePageBytes - 1); }
uintptr_t align_up(uintptr_t address) { return align_down(address + kHugePageBytes - 1); }

}  // namespace

HugePageLoadHeap::HugePageLoadHeap(size_t written_bytes) {
  // Only memory certain to be written is advised, so huge pages there cost no
  // memory that 4 KiB pages would not (the ends, partly used, stay 4 KiB).
  if (written_bytes == 0 || written_bytes >= static_cast<size_t>(kLoadThresholdBytes)) return;
  if (mallopt(M_MMAP_THRESHOLD, kLoadThresholdBytes) != 1) return;
  tuned_ = true;
  if (mallopt(M_TRIM_THRESHOLD, kLoadThresholdBytes) != 1) return;
  // Grows the heap; freed, the block is the top of the heap again, where the
  // next allocations are carved from, in order.
  void* block = std::malloc(written_bytes);
  if (block == nullptr) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(block);
  advised_begin_ = align_up(start);
  advised_end_ = align_down(start + written_bytes);
  if (advised_end_ <= advised_begin_ ||
      madvise(reinterpret_cast<void*>(advised_begin_), advised_end_ - advised_begin_, MADV_HUGEPAGE) != 0)
    advised_begin_ = advised_end_ = 0;
  std::free(block);
}

HugePageLoadHeap::~HugePageLoadHeap() {
  if (!tuned_) return;
  // Later allocations there get 4 KiB pages again (THP's "madvise" mode).
  if (advised_end_ > advised_begin_)
    madvise(reinterpret_cast<void*>(advised_begin_), advised_end_ - advised_begin_, MADV_NOHUGEPAGE);
  mallopt(M_MMAP_THRESHOLD, kDefaultMmapThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kDefaultTrimThresholdBytes);
  malloc_trim(0);
}

}  // namespace tracer
