#pragma once
// While the BPF object loads, libbpf reads the kernel's BTF (/sys/kernel/btf/
// vmlinux, 5-6 MiB) into memory twice over and indexes it: some 12 MiB of
// fresh memory, touched once. Where every 4 KiB page fault is expensive (a
// paravirtualised guest: ~15 us each, so ~50 ms for those pages alone),
// backing that memory with transparent huge pages halves the time to load.
//
// For its lifetime, a HugePageLoadHeap makes large allocations come from the
// brk heap rather than from their own mappings, and advises the kernel to back
// with huge pages the part of the heap the caller says will be written (for
// the BPF load: twice the kernel BTF's size, libbpf's two copies). On
// destruction the advice is withdrawn, glibc's defaults come back and the
// memory is returned. Everything here is a hint: where THP is off or an advice
// fails, loading is as before.

#include <cstddef>
#include <cstdint>

namespace tracer {

class HugePageLoadHeap {
 public:
  // written_bytes: how much of the heap the work in scope is certain to
  // write; 0 (or 64 MiB and more) tunes nothing.
  explicit HugePageLoadHeap(size_t written_bytes);
  ~HugePageLoadHeap();
  HugePageLoadHeap(const HugePageLoadHeap&) = delete;
  HugePageLoadHeap& operator=(const HugePageLoadHeap&) = delete;

 private:
  bool tuned_ = false;
  uintptr_t advised_begin_ = 0;
  uintptr_t advised_end_ = 0;
};

}  // namespace tracer
