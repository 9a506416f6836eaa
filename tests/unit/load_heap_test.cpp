#include "tracer/kernel/load_heap.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

// The sanitizers' allocator ignores glibc's malloc options: only the plain
// build can observe where glibc puts a block.
#if !defined(__SANITIZE_ADDRESS__)

namespace tracer {
namespace {

constexpr size_t kLargeBytes = size_t{8} << 20;

// glibc serves a block from the brk heap (below the program break) or from a
// mapping of its own (far above it).
bool in_brk_heap(const void* block) { return block < sbrk(0); }

// The VmFlags of the mapping that holds address, from /proc/self/smaps.
std::string vm_flags_at(uintptr_t address) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = address >= begin && address < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(HugePageLoadHeapTest, LargeBlocksComeFromTheHeapAdvisedForHugePagesWhileLoading) {
  uintptr_t middle = 0;
  {
    // Room for the block with a huge page's worth around its middle.
    const HugePageLoadHeap load_heap(2 * kLargeBytes);
    void* block = std::malloc(kLargeBytes);
    ASSERT_NE(block, nullptr);
    EXPECT_TRUE(in_brk_heap(block));
    // The middle of the block is inside the advised part of the heap.
    middle = reinterpret_cast<uintptr_t>(block) + kLargeBytes / 2;
    EXPECT_NE(vm_flags_at(middle).find(" hg"), std::string::npos) << vm_flags_at(middle);
    std::free(block);
  }
  EXPECT_EQ(vm_flags_at(middle).find(" hg"), std::string::npos) << "the advice is withdrawn";
  // Larger than any hole the scope left in the heap: glibc's default mmap
  // threshold is back, so it gets a mapping of its own.
  void* after = std::malloc(4 * kLargeBytes);
  ASSERT_NE(after, nullptr);
  EXPECT_FALSE(in_brk_heap(after));
  std::free(after);
}

TEST(HugePageLoadHeapTest, NothingToBeWrittenTunesNothing) {
  const HugePageLoadHeap load_heap(0);
  void* block = std::malloc(4 * kLargeBytes);
  ASSERT_NE(block, nullptr);
  EXPECT_FALSE(in_brk_heap(block));
  std::free(block);
}

}  // namespace
}  // namespace tracer

#endif
