// ELF files as a user tracer's path or a bash copy may name them: any bytes
// are parsed, and what parses is asked for symbols, file offsets, its
// libraries and whether it is bash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fuzz_support.hpp"
#include "tracer/user_functions/elf_symbols.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tracer;
  Result<ElfImage> elf = ElfImage::parse(std::as_bytes(std::span(data, size)));
  if (!elf) return 0;
  for (const char* name : {"main", "readline", "_start", "readline@@READLINE_8.0", ""}) {
    for (const SymbolKind kind : {SymbolKind::function, SymbolKind::any}) {
      if (std::optional<uint64_t> address = elf->symbol_address(name, kind)) (void)elf->file_offset(*address);
    }
    (void)function_offset(*elf, name, "fuzz-input");
  }
  for (const uint64_t address : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x401000}, ~uint64_t{0}})
    (void)elf->file_offset(address);
  for (const std::string& library : elf->needed()) (void)library.size();
  (void)is_bash(*elf);
  return 0;
}
