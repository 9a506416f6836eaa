#pragma once
// The one walk over an argument's Value, shared by the JSON and table
// formatters and the argument filters: each supplies a visitor with what it
// does differently per kind. The visitor is a template argument, so a value
// costs one std::visit, no virtual call and no allocation. Its members:
//   number(int64_t) and number(uint64_t)   boolean(bool)   text(string_view)
//   list_item(string_view item, bool first): each string of a StringList,
//     between list_begin() and list_end() for a visitor that has them
//   symbolic(const SymbolicValue&)
//   address(const SocketAddressFields&): a sockaddr, decoded
//   bytes(string_view): a ByteArray's bytes
//   null(): a NULL pointer where a string or bytes were expected

#include <string_view>
#include <type_traits>
#include <variant>

#include "tracer/decode/event.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {

template <typename Visitor>
void visit_value(const Value& value, Visitor& visitor) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          visitor.boolean(v);
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          visitor.text(v);
        } else if constexpr (std::is_same_v<T, StringList>) {
          if constexpr (requires { visitor.list_begin(); }) visitor.list_begin();
          bool first = true;
          v.for_each([&](std::string_view item) {
            visitor.list_item(item, first);
            first = false;
          });
          if constexpr (requires { visitor.list_end(); }) visitor.list_end();
        } else if constexpr (std::is_same_v<T, SymbolicValue>) {
          visitor.symbolic(v);
        } else if constexpr (std::is_same_v<T, SocketAddress>) {
          visitor.address(describe_socket_address(v.bytes));
        } else if constexpr (std::is_same_v<T, ByteArray>) {
          visitor.bytes(v.bytes);
        } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
          visitor.null();
        } else {
          static_assert(std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>, "a Value kind without a visit");
          visitor.number(v);
        }
      },
      value);
}

}  // namespace tracer
