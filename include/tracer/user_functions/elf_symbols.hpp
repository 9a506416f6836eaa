#pragma once
// What resolving a user function needs from an ELF file, read from its bytes:
// a symbol's address (.symtab and .dynsym), the file offset of an address
// (through the executable segment that maps it), and the libraries it is
// linked with. Pure: the bytes are untrusted, every table is checked against
// them; the caller reads (maps) the file and keeps the bytes alive.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

enum class SymbolKind : uint8_t { function, any };

class ElfImage {
 public:
  // An error (one phrase, e.g. "not an ELF file") unless bytes are an ELF
  // file of this machine's byte order whose headers lie inside them.
  static Result<ElfImage> parse(std::span<const std::byte> bytes);

  // The virtual address of the defined symbol named name; a versioned name
  // (readline@@READLINE_8.0, in .symtab) matches too.
  std::optional<uint64_t> symbol_address(std::string_view name, SymbolKind kind = SymbolKind::function) const;
  std::optional<uint64_t> file_offset(uint64_t address) const;
  // DT_NEEDED: the libraries it is linked with, by soname.
  std::vector<std::string> needed() const;

  struct Section {
    uint32_t type = 0;
    uint32_t link = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t entry_size = 0;
  };
  // A loaded segment that executes: where it is mapped, from where in the file.
  struct CodeSegment {
    uint64_t address = 0;
    uint64_t memory_size = 0;
    uint64_t offset = 0;
  };

 private:
  ElfImage(std::span<const std::byte> bytes, bool is_64) : bytes_(bytes), is_64_(is_64) {}
  std::optional<std::string_view> string_at(uint32_t section, uint64_t offset) const;

  std::span<const std::byte> bytes_;
  bool is_64_ = true;
  std::vector<Section> sections_;
  std::vector<CodeSegment> code_segments_;
};

// The file offset of function, or why not (path names the file in messages).
Result<uint64_t> function_offset(const ElfImage& elf, const std::string& function, const std::string& path);

// Where bash_readline's accept probe goes in a file with readline: readline's
// rl_newline (accept-line), and the addresses of rl_line_buffer and rl_prompt
// relative to it, which the probe reads (see bpf/user_function.bpf.h).
struct AcceptSite {
  uint64_t offset = 0;  // file offset of rl_newline
  int64_t line_delta = 0;
  int64_t prompt_delta = 0;
};
std::optional<AcceptSite> accept_site(const ElfImage& elf);

// The attach cookie of an accept probe: the slot and the two distances
// (TRACER_USER_ACCEPT_*); none when a distance does not fit its 28 bits.
std::optional<uint64_t> accept_cookie(uint32_t slot, const AcceptSite& site);

// Whether the file is bash, whatever its name: it defines bash's own version
// string and function.
bool is_bash(const ElfImage& elf);

}  // namespace tracer
