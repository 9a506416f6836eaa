#include "tracer/user_functions/elf_symbols.hpp"

#include <elf.h>

#include <bit>
#include <cstring>

#include "user_accept_abi.h"

namespace tracer {
namespace {

// One class's types (ELF32 or ELF64); every field is widened to 64 bits
// when read.
template <typename HeaderType, typename SectionType, typename SegmentType, typename SymbolType, typename DynamicType>
struct ElfClass {
  using Header = HeaderType;
  using SectionHeader = SectionType;
  using ProgramHeader = SegmentType;
  using Symbol = SymbolType;
  using Dynamic = DynamicType;
};
using Elf32 = ElfClass<Elf32_Ehdr, Elf32_Shdr, Elf32_Phdr, Elf32_Sym, Elf32_Dyn>;
using Elf64 = ElfClass<Elf64_Ehdr, Elf64_Shdr, Elf64_Phdr, Elf64_Sym, Elf64_Dyn>;

// A T at offset, when it lies inside bytes (no alignment assumed).
template <typename T>
std::optional<T> read_at(std::span<const std::byte> bytes, uint64_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Whether a table of count entries of entry_size bytes at offset lies inside
// bytes.
bool table_fits(std::span<const std::byte> bytes, uint64_t offset, uint64_t count, uint64_t entry_size) {
  if (offset > bytes.size()) return false;
  return entry_size == 0 || count <= (bytes.size() - offset) / entry_size;
}

template <typename Class>
Status read_tables(std::span<const std::byte> bytes, std::vector<ElfImage::Section>& sections,
                   std::vector<ElfImage::CodeSegment>& code_segments) {
  const std::optional<typename Class::Header> header = read_at<typename Class::Header>(bytes, 0);
  if (!header) return runtime_error("truncated ELF header");
  uint64_t section_count = header->e_shnum;
  uint64_t segment_count = header->e_phnum;
  if (header->e_shoff != 0 && header->e_shentsize < sizeof(typename Class::SectionHeader))
    return runtime_error("section header entries too small");
  // More sections (or segments) than the header's 16 bits hold: the real
  // count is in section 0.
  if (header->e_shoff != 0 && (section_count == 0 || segment_count == PN_XNUM)) {
    const auto first = read_at<typename Class::SectionHeader>(bytes, header->e_shoff);
    if (!first) return runtime_error("section headers lie outside the file");
    if (section_count == 0) section_count = first->sh_size;
    if (segment_count == PN_XNUM) segment_count = first->sh_info;
  }
  if (header->e_shoff != 0) {
    if (!table_fits(bytes, header->e_shoff, section_count, header->e_shentsize))
      return runtime_error("section headers lie outside the file");
    for (uint64_t i = 0; i < section_count; ++i) {
      const auto raw = *read_at<typename Class::SectionHeader>(bytes, header->e_shoff + i * header->e_shentsize);
      sections.push_back({raw.sh_type, raw.sh_link, raw.sh_offset, raw.sh_size, raw.sh_entsize});
    }
  }
  if (header->e_phoff != 0 && segment_count != 0) {
    if (header->e_phentsize < sizeof(typename Class::ProgramHeader))
      return runtime_error("program header entries too small");
    if (!table_fits(bytes, header->e_phoff, segment_count, header->e_phentsize))
      return runtime_error("program headers lie outside the file");
    for (uint64_t i = 0; i < segment_count; ++i) {
      const auto raw = *read_at<typename Class::ProgramHeader>(bytes, header->e_phoff + i * header->e_phentsize);
      if (raw.p_type == PT_LOAD && (raw.p_flags & PF_X))
        code_segments.push_back({raw.p_vaddr, raw.p_memsz, raw.p_offset});
    }
  }
  return ok_status();
}

// The entries of a section as Entry values: none when it lies outside the
// file or its entries are smaller than Entry.
template <typename Entry, typename Fn>
void for_each_entry(std::span<const std::byte> bytes, const ElfImage::Section& section, Fn&& fn) {
  if (section.entry_size < sizeof(Entry) || section.offset > bytes.size() ||
      section.size > bytes.size() - section.offset)
    return;
  for (uint64_t at = 0; at + section.entry_size <= section.size; at += section.entry_size)
    if (fn(*read_at<Entry>(bytes, section.offset + at))) return;
}

bool name_matches(std::string_view found, std::string_view name) {
  return found == name || (found.starts_with(name) && found.size() > name.size() && found[name.size()] == '@');
}

template <typename Class>
std::optional<uint64_t> find_symbol(std::span<const std::byte> bytes, const ElfImage::Section& table,
                                    std::string_view name, SymbolKind kind, auto&& string_at) {
  std::optional<uint64_t> address;
  for_each_entry<typename Class::Symbol>(bytes, table, [&](const typename Class::Symbol& symbol) {
    if (symbol.st_shndx == SHN_UNDEF) return false;
    if (kind == SymbolKind::function && ELF64_ST_TYPE(symbol.st_info) != STT_FUNC) return false;
    const std::optional<std::string_view> found = string_at(table.link, symbol.st_name);
    if (!found || !name_matches(*found, name)) return false;
    address = symbol.st_value;
    return true;
  });
  return address;
}

template <typename Class>
void collect_needed(std::span<const std::byte> bytes, const ElfImage::Section& table, std::vector<std::string>& names,
                    auto&& string_at) {
  for_each_entry<typename Class::Dynamic>(bytes, table, [&](const typename Class::Dynamic& entry) {
    if (entry.d_tag == DT_NULL) return true;
    if (entry.d_tag == DT_NEEDED)
      if (const std::optional<std::string_view> name = string_at(table.link, entry.d_un.d_val))
        names.emplace_back(*name);
    return false;
  });
}

}  // namespace

Result<ElfImage> ElfImage::parse(std::span<const std::byte> bytes) {
  if (bytes.size() < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    return runtime_error("not an ELF file");
  const auto elf_class = static_cast<unsigned char>(bytes[EI_CLASS]);
  const auto data = static_cast<unsigned char>(bytes[EI_DATA]);
  if (elf_class != ELFCLASS32 && elf_class != ELFCLASS64) return runtime_error("not an ELF file (unknown class)");
  constexpr unsigned char kNativeData = std::endian::native == std::endian::little ? ELFDATA2LSB : ELFDATA2MSB;
  if (data != kNativeData) return runtime_error("an ELF file of another byte order");
  ElfImage image(bytes, elf_class == ELFCLASS64);
  Status tables = image.is_64_ ? read_tables<Elf64>(bytes, image.sections_, image.code_segments_)
                               : read_tables<Elf32>(bytes, image.sections_, image.code_segments_);
  if (!tables) return tables.take_error();
  return image;
}

std::optional<std::string_view> ElfImage::string_at(uint32_t section, uint64_t offset) const {
  if (section >= sections_.size()) return std::nullopt;
  const Section& strings = sections_[section];
  if (strings.offset > bytes_.size() || strings.size > bytes_.size() - strings.offset || offset >= strings.size)
    return std::nullopt;
  const std::string_view table(reinterpret_cast<const char*>(bytes_.data()) + strings.offset, strings.size);
  const size_t end = table.find('\0', offset);
  if (end == std::string_view::npos) return std::nullopt;
  return table.substr(offset, end - offset);
}

std::optional<uint64_t> ElfImage::symbol_address(std::string_view name, SymbolKind kind) const {
  const auto strings = [this](uint32_t section, uint64_t offset) { return string_at(section, offset); };
  for (const Section& section : sections_) {
    if (section.type != SHT_SYMTAB && section.type != SHT_DYNSYM) continue;
    const std::optional<uint64_t> address = is_64_ ? find_symbol<Elf64>(bytes_, section, name, kind, strings)
                                                   : find_symbol<Elf32>(bytes_, section, name, kind, strings);
    if (address) return address;
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfImage::file_offset(uint64_t address) const {
  for (const CodeSegment& segment : code_segments_) {
    if (address >= segment.address && address - segment.address < segment.memory_size)
      return address - segment.address + segment.offset;
  }
  return std::nullopt;
}

std::vector<std::string> ElfImage::needed() const {
  const auto strings = [this](uint32_t section, uint64_t offset) { return string_at(section, offset); };
  std::vector<std::string> names;
  for (const Section& section : sections_) {
    if (section.type != SHT_DYNAMIC) continue;
    if (is_64_)
      collect_needed<Elf64>(bytes_, section, names, strings);
    else
      collect_needed<Elf32>(bytes_, section, names, strings);
  }
  return names;
}

Result<uint64_t> function_offset(const ElfImage& elf, const std::string& function, const std::string& path) {
  const std::optional<uint64_t> address = elf.symbol_address(function);
  if (!address) return runtime_error("no function '" + function + "' in " + path + " (.symtab and .dynsym)");
  const std::optional<uint64_t> offset = elf.file_offset(*address);
  if (!offset) return runtime_error("function '" + function + "' in " + path + " is in no executable segment");
  return *offset;
}

std::optional<AcceptSite> accept_site(const ElfImage& elf) {
  const std::optional<uint64_t> newline = elf.symbol_address("rl_newline");
  const std::optional<uint64_t> line = elf.symbol_address("rl_line_buffer", SymbolKind::any);
  const std::optional<uint64_t> prompt = elf.symbol_address("rl_prompt", SymbolKind::any);
  if (!newline || !line || !prompt) return std::nullopt;
  const std::optional<uint64_t> offset = elf.file_offset(*newline);
  if (!offset) return std::nullopt;
  return AcceptSite{*offset, static_cast<int64_t>(*line - *newline), static_cast<int64_t>(*prompt - *newline)};
}

std::optional<uint64_t> accept_cookie(uint32_t slot, const AcceptSite& site) {
  constexpr int kBits = TRACER_USER_ACCEPT_PROMPT_SHIFT - TRACER_USER_ACCEPT_LINE_SHIFT;
  static_assert(64 - TRACER_USER_ACCEPT_PROMPT_SHIFT == kBits);
  constexpr int64_t kLimit = int64_t{1} << (kBits - 1);
  const auto fits = [](int64_t delta) { return delta >= -kLimit && delta < kLimit; };
  if (slot > TRACER_USER_ACCEPT_SLOT_MASK || !fits(site.line_delta) || !fits(site.prompt_delta) ||
      (site.line_delta == 0 && site.prompt_delta == 0))
    return std::nullopt;
  const uint64_t field_mask = (uint64_t{1} << kBits) - 1;
  return uint64_t{slot} | (static_cast<uint64_t>(site.line_delta) & field_mask) << TRACER_USER_ACCEPT_LINE_SHIFT |
         (static_cast<uint64_t>(site.prompt_delta) & field_mask) << TRACER_USER_ACCEPT_PROMPT_SHIFT;
}

bool is_bash(const ElfImage& elf) {
  return elf.symbol_address("shell_version_string") && elf.symbol_address("dist_version", SymbolKind::any);
}

}  // namespace tracer
