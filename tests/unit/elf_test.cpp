#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tracer/user_functions/elf_symbols.hpp"
#include "user_accept_abi.h"

// Looked up in this test's own executable: its bytes in the file must be the
// bytes the process runs.
extern "C" __attribute__((noinline, used)) int tracer_elf_test_marker(int value) { return value * 7 + 3; }

namespace tracer {
namespace {

std::vector<std::byte> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// A minimal ELF file of either class, laid out by hand so that every address
// and offset is known: one executable segment (file offset 0x1000 at address
// 0x401000), one read-only segment, a symbol table and a .dynamic.
template <typename Ehdr, typename Phdr, typename Shdr, typename Sym, typename Dyn>
std::vector<std::byte> handmade_elf(unsigned char elf_class) {
  static constexpr char kStrings[] = "\0main\0readline@@READLINE_8.0\0data_object\0undefined_function\0libfoo.so.1";
  const std::string strings(kStrings, sizeof(kStrings));
  const auto name = [&](std::string_view text) { return static_cast<uint32_t>(strings.find(text)); };
  std::vector<Sym> symbols(1);  // entry 0 is the null symbol
  const auto add_symbol = [&](std::string_view symbol_name, int type, uint16_t section, uint64_t value) {
    Sym symbol{};
    symbol.st_name = name(symbol_name);
    symbol.st_info = static_cast<unsigned char>((STB_GLOBAL << 4) | type);
    symbol.st_shndx = section;
    symbol.st_value = value;
    symbols.push_back(symbol);
  };
  add_symbol("main", STT_FUNC, 1, 0x401010);
  add_symbol("readline@@", STT_FUNC, 1, 0x401200);
  add_symbol("data_object", STT_OBJECT, 2, 0x402000);
  add_symbol("undefined_function", STT_FUNC, SHN_UNDEF, 0);
  std::vector<Dyn> dynamic(2);
  dynamic[0].d_tag = DT_NEEDED;
  dynamic[0].d_un.d_val = name("libfoo.so.1");

  const size_t phoff = sizeof(Ehdr), symoff = 0x200, stroff = 0x400, dynoff = 0x600, shoff = 0x800;
  std::vector<std::byte> bytes(0x1300);
  Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = elf_class;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_phoff = phoff;
  header.e_phentsize = sizeof(Phdr);
  header.e_phnum = 2;
  header.e_shoff = shoff;
  header.e_shentsize = sizeof(Shdr);
  header.e_shnum = 4;
  std::memcpy(bytes.data(), &header, sizeof(header));
  Phdr segments[2]{};
  segments[0].p_type = PT_LOAD;
  segments[0].p_flags = PF_R;
  segments[0].p_offset = 0x0;
  segments[0].p_vaddr = 0x400000;
  segments[0].p_memsz = 0x1000;
  segments[1].p_type = PT_LOAD;
  segments[1].p_flags = PF_R | PF_X;
  segments[1].p_offset = 0x1000;
  segments[1].p_vaddr = 0x401000;
  segments[1].p_memsz = 0x300;
  std::memcpy(bytes.data() + phoff, segments, sizeof(segments));
  std::memcpy(bytes.data() + symoff, symbols.data(), symbols.size() * sizeof(Sym));
  std::memcpy(bytes.data() + stroff, strings.data(), strings.size());
  std::memcpy(bytes.data() + dynoff, dynamic.data(), dynamic.size() * sizeof(Dyn));
  Shdr sections[4]{};
  sections[1].sh_type = SHT_SYMTAB;
  sections[1].sh_offset = symoff;
  sections[1].sh_size = symbols.size() * sizeof(Sym);
  sections[1].sh_entsize = sizeof(Sym);
  sections[1].sh_link = 2;
  sections[2].sh_type = SHT_STRTAB;
  sections[2].sh_offset = stroff;
  sections[2].sh_size = strings.size();
  sections[3].sh_type = SHT_DYNAMIC;
  sections[3].sh_offset = dynoff;
  sections[3].sh_size = dynamic.size() * sizeof(Dyn);
  sections[3].sh_entsize = sizeof(Dyn);
  sections[3].sh_link = 2;
  std::memcpy(bytes.data() + shoff, sections, sizeof(sections));
  return bytes;
}

std::vector<std::byte> handmade_elf64() {
  return handmade_elf<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr, Elf64_Sym, Elf64_Dyn>(ELFCLASS64);
}
std::vector<std::byte> handmade_elf32() {
  return handmade_elf<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr, Elf32_Sym, Elf32_Dyn>(ELFCLASS32);
}

template <typename T>
void write_at(std::vector<std::byte>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

TEST(ElfImage, HandmadeFilesOfBothClasses) {
  for (const auto& bytes : {handmade_elf64(), handmade_elf32()}) {
    Result<ElfImage> elf = ElfImage::parse(bytes);
    ASSERT_TRUE(elf.ok()) << elf.error().message;
    EXPECT_EQ(elf->symbol_address("main"), 0x401010u);
    EXPECT_EQ(elf->file_offset(0x401010), 0x1010u);
    EXPECT_EQ(elf->symbol_address("readline"), 0x401200u) << "a versioned name matches";
    EXPECT_EQ(elf->symbol_address("readline@@READLINE_8.0"), 0x401200u);
    EXPECT_FALSE(elf->symbol_address("readlin")) << "a prefix is not a name";
    EXPECT_FALSE(elf->symbol_address("data_object")) << "not a function";
    EXPECT_EQ(elf->symbol_address("data_object", SymbolKind::any), 0x402000u);
    EXPECT_FALSE(elf->symbol_address("undefined_function", SymbolKind::any)) << "undefined here";
    EXPECT_FALSE(elf->file_offset(0x400100)) << "a segment that does not execute";
    EXPECT_FALSE(elf->file_offset(0x401300)) << "one past the executable segment";
    EXPECT_EQ(elf->needed(), std::vector<std::string>{"libfoo.so.1"});
    EXPECT_FALSE(is_bash(*elf));
    Result<uint64_t> offset = function_offset(*elf, "readline", "/x");
    ASSERT_TRUE(offset.ok());
    EXPECT_EQ(*offset, 0x1200u);
  }
}

TEST(ElfImage, MissingOrUnmappedFunctionIsAClearError) {
  const auto bytes = handmade_elf64();
  Result<ElfImage> elf = ElfImage::parse(bytes);
  ASSERT_TRUE(elf.ok());
  Result<uint64_t> missing = function_offset(*elf, "no_such_function", "/opt/x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "no function 'no_such_function' in /opt/x (.symtab and .dynsym)");

  auto moved = bytes;  // main's address outside every executable segment
  write_at<uint64_t>(moved, 0x200 + sizeof(Elf64_Sym) + offsetof(Elf64_Sym, st_value), 0x500000);
  Result<ElfImage> moved_elf = ElfImage::parse(moved);
  ASSERT_TRUE(moved_elf.ok());
  Result<uint64_t> unmapped = function_offset(*moved_elf, "main", "/opt/x");
  ASSERT_FALSE(unmapped.ok());
  EXPECT_EQ(unmapped.error().message, "function 'main' in /opt/x is in no executable segment");
}

TEST(ElfImage, RejectsWhatIsNoElfFile) {
  EXPECT_EQ(ElfImage::parse({}).error().message, "not an ELF file");
  EXPECT_EQ(ElfImage::parse(bytes_of("#!/bin/sh\necho hello\n")).error().message, "not an ELF file");
  auto bytes = handmade_elf64();
  bytes[EI_CLASS] = std::byte{7};
  EXPECT_FALSE(ElfImage::parse(bytes).ok());
  bytes = handmade_elf64();
  bytes[EI_DATA] = std::byte{ELFDATA2MSB};
  EXPECT_EQ(ElfImage::parse(bytes).error().message, "an ELF file of another byte order");
}

TEST(ElfImage, RejectsHeadersOutsideTheFile) {
  auto bytes = handmade_elf64();
  EXPECT_EQ(ElfImage::parse(std::span(bytes).first(40)).error().message, "truncated ELF header");
  EXPECT_EQ(ElfImage::parse(std::span(bytes).first(0x810)).error().message, "section headers lie outside the file");
  write_at<uint64_t>(bytes, offsetof(Elf64_Ehdr, e_phoff), bytes.size() - 8);
  EXPECT_EQ(ElfImage::parse(bytes).error().message, "program headers lie outside the file");
  bytes = handmade_elf64();
  write_at<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shentsize), 4);
  EXPECT_EQ(ElfImage::parse(bytes).error().message, "section header entries too small");
  bytes = handmade_elf64();
  write_at<uint64_t>(bytes, offsetof(Elf64_Ehdr, e_shoff), ~uint64_t{0} - 16);
  EXPECT_FALSE(ElfImage::parse(bytes).ok()) << "an offset that wraps around";
}

TEST(ElfImage, TablesOutsideTheFileAreNotRead) {
  // Sections whose contents lie (partly) outside the file: nothing found,
  // nothing read out of bounds (ASan watches in the sanitized run).
  const size_t symtab = 0x800 + sizeof(Elf64_Shdr);
  const size_t strtab = 0x800 + 2 * sizeof(Elf64_Shdr);
  auto bytes = handmade_elf64();
  write_at<uint64_t>(bytes, symtab + offsetof(Elf64_Shdr, sh_size), 0x100000);
  EXPECT_FALSE(ElfImage::parse(bytes)->symbol_address("main"));
  bytes = handmade_elf64();
  write_at<uint64_t>(bytes, strtab + offsetof(Elf64_Shdr, sh_offset), bytes.size() - 4);
  EXPECT_FALSE(ElfImage::parse(bytes)->symbol_address("main"));
  EXPECT_TRUE(ElfImage::parse(bytes)->needed().empty());
  bytes = handmade_elf64();
  write_at<uint32_t>(bytes, symtab + offsetof(Elf64_Shdr, sh_link), 99);
  EXPECT_FALSE(ElfImage::parse(bytes)->symbol_address("main")) << "a string table that does not exist";
  bytes = handmade_elf64();
  write_at<uint64_t>(bytes, symtab + offsetof(Elf64_Shdr, sh_entsize), 3);
  EXPECT_FALSE(ElfImage::parse(bytes)->symbol_address("main")) << "entries smaller than a symbol";
  bytes = handmade_elf64();  // a name without its NUL: the string table ends inside it
  write_at<uint64_t>(bytes, strtab + offsetof(Elf64_Shdr, sh_size), 3);
  EXPECT_FALSE(ElfImage::parse(bytes)->symbol_address("main"));
}

TEST(ElfImage, EveryTruncationOfARealExecutableIsSafe) {
  const auto bytes = file_bytes("/proc/self/exe");
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t size = 0; size < bytes.size(); size += 1 + size / 8) {
    Result<ElfImage> elf = ElfImage::parse(std::span(bytes).first(size));
    if (!elf) continue;
    if (std::optional<uint64_t> address = elf->symbol_address("tracer_elf_test_marker")) elf->file_offset(*address);
    elf->needed();
  }
}

// This test's own executable, built by the compiler: the function's bytes at
// the file offset found are the bytes this process runs.
TEST(ElfImage, FindsAFunctionInThisTestExecutable) {
  const auto bytes = file_bytes("/proc/self/exe");
  Result<ElfImage> elf = ElfImage::parse(bytes);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  Result<uint64_t> offset = function_offset(*elf, "tracer_elf_test_marker", "/proc/self/exe");
  ASSERT_TRUE(offset.ok()) << offset.error().message;
  ASSERT_LT(*offset + 16, bytes.size());
  EXPECT_EQ(std::memcmp(bytes.data() + *offset, reinterpret_cast<const void*>(&tracer_elf_test_marker), 16), 0);
  const std::vector<std::string> needed = elf->needed();
  EXPECT_NE(std::find(needed.begin(), needed.end(), "libc.so.6"), needed.end());
  EXPECT_FALSE(is_bash(*elf));
}

TEST(ElfImage, BashIsKnownByItsSymbols) {
  const auto bytes = file_bytes("/bin/bash");
  if (bytes.empty()) GTEST_SKIP() << "no /bin/bash";
  Result<ElfImage> elf = ElfImage::parse(bytes);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  EXPECT_TRUE(is_bash(*elf));
  // readline: in bash itself or in the libreadline it is linked with.
  const std::vector<std::string> needed = elf->needed();
  const bool shared_readline = std::any_of(needed.begin(), needed.end(),
                                           [](const std::string& soname) { return soname.starts_with("libreadline"); });
  if (!shared_readline) {
    Result<uint64_t> offset = function_offset(*elf, "readline", "/bin/bash");
    ASSERT_TRUE(offset.ok()) << offset.error().message;
    EXPECT_LT(*offset, bytes.size());
  }
}

// The accept probe's cookie: the slot and two signed 28-bit distances, as
// bpf/user_function.bpf.h takes them apart.
TEST(AcceptCookie, CarriesTheSlotAndBothDistances) {
  const auto line_of = [](uint64_t cookie) {
    return static_cast<int64_t>(cookie << (64 - TRACER_USER_ACCEPT_PROMPT_SHIFT)) >>
           (64 - TRACER_USER_ACCEPT_PROMPT_SHIFT + TRACER_USER_ACCEPT_LINE_SHIFT);
  };
  const auto prompt_of = [](uint64_t cookie) {
    return static_cast<int64_t>(cookie) >> TRACER_USER_ACCEPT_PROMPT_SHIFT;
  };
  const std::optional<uint64_t> cookie = accept_cookie(5, AcceptSite{0x1000, 0x57870, -0x1234});
  ASSERT_TRUE(cookie);
  EXPECT_EQ(*cookie & TRACER_USER_ACCEPT_SLOT_MASK, 5u);
  EXPECT_GT(*cookie, TRACER_USER_ACCEPT_SLOT_MASK);  // told apart from an entry probe's cookie
  EXPECT_EQ(line_of(*cookie), 0x57870);
  EXPECT_EQ(prompt_of(*cookie), -0x1234);
  const int64_t limit = int64_t{1} << 27;
  const std::optional<uint64_t> edges = accept_cookie(63, AcceptSite{0, limit - 1, -limit});
  ASSERT_TRUE(edges);
  EXPECT_EQ(line_of(*edges), limit - 1);
  EXPECT_EQ(prompt_of(*edges), -limit);
  EXPECT_FALSE(accept_cookie(0, AcceptSite{0, limit, 0}));
  EXPECT_FALSE(accept_cookie(0, AcceptSite{0, 8, -limit - 1}));
  EXPECT_FALSE(accept_cookie(256, AcceptSite{0, 8, 8}));
}

TEST(AcceptCookie, BashHasItsAcceptSite) {
  const auto bytes = file_bytes("/bin/bash");
  if (bytes.empty()) GTEST_SKIP() << "no /bin/bash";
  Result<ElfImage> elf = ElfImage::parse(bytes);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  const std::optional<AcceptSite> site = accept_site(*elf);
  ASSERT_TRUE(site);  // Debian's bash carries readline, its variables exported
  EXPECT_LT(site->offset, bytes.size());
  EXPECT_NE(site->line_delta, site->prompt_delta);
  EXPECT_TRUE(accept_cookie(0, *site));
}

}  // namespace
}  // namespace tracer
