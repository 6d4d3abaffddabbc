// RFC 9110 §14: which bytes of a representation a Range header asks for. A pure function, so
// that the grammar is unit-tested apart from files and sockets.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

namespace confab::api {

// 'length' bytes from 'first' (RFC 9110 §14.1.2: last-pos past the end is the end).
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
// RFC 9110 §15.5.17: 416, with "Content-Range: bytes */SIZE".
struct Unsatisfiable {};
// The whole representation, as a 200: no Range, another unit, several ranges (one file is all a
// download resumes from; §14.2 lets a server answer those whole) or a malformed one (§14.2: "MAY
// ignore").
struct WholeRepresentation {};

using RangeAnswer = std::variant<WholeRepresentation, ByteRange, Unsatisfiable>;

RangeAnswer requestedRange(std::string_view header, uint64_t size);

}  // namespace confab::api
