// STUN on the SIP UDP port, as far as RFC 5626 §4.4.2 keep-alives need it: a bounds-checked view
// of a STUN message (RFC 8489 §5, §14) and the Binding success response whose
// XOR-MAPPED-ADDRESS tells the client the address and port its NAT binding has.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "focus/transport/Addressing.hpp"

namespace confab::transport {

inline constexpr std::size_t kStunHeaderSize = 20;
inline constexpr std::uint32_t kStunMagicCookie = 0x2112A442;
// RFC 8489 §18.2: method Binding in the request and success response classes.
inline constexpr std::uint16_t kStunBindingRequest = 0x0001;
inline constexpr std::uint16_t kStunBindingSuccess = 0x0101;
// RFC 8489 §18.3: comprehension-required attribute 0x0020.
inline constexpr std::uint16_t kStunXorMappedAddress = 0x0020;
// The largest response writeBindingSuccess() writes: the header and one XOR-MAPPED-ADDRESS of an
// IPv6 address (4 octets of attribute header, 4 of family and port, 16 of address).
inline constexpr std::size_t kStunBindingSuccessMaxSize = kStunHeaderSize + 4 + 4 + 16;

using StunTransactionId = std::array<std::uint8_t, 12>;

// Why a buffer is not a STUN message; anything but kOk is dropped without an answer.
enum class StunError : std::uint8_t {
  kOk,
  kTooShort,            // fewer than the 20 header octets
  kNotStun,             // RFC 8489 §5: the two most significant bits must be zero
  kBadCookie,           // RFC 8489 §5: not the magic cookie (an RFC 3489 peer, or not STUN)
  kBadLength,           // the length is not the octets after the header, or not a multiple of 4
  kAttributeBeyondEnd,  // RFC 8489 §14: an attribute (with its padding) runs past the message
};

// A STUN message as a view over the caller's buffer, which must outlive it.
class StunMessage {
 public:
  // Checks the header and that the attributes exactly fill the message (RFC 8489 §5, §14).
  static StunError validate(std::span<const std::uint8_t> bytes);
  // The message when validate() says kOk.
  static std::optional<StunMessage> parse(std::span<const std::uint8_t> bytes);

  // The 14-bit message type: method and class (RFC 8489 §5).
  [[nodiscard]] std::uint16_t type() const { return type_; }
  [[nodiscard]] const StunTransactionId& transactionId() const { return transactionId_; }
  // The value (padding excluded) of the first attribute of 'type', if there is one.
  [[nodiscard]] std::optional<std::span<const std::uint8_t>> attribute(std::uint16_t type) const;
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }

 private:
  explicit StunMessage(std::span<const std::uint8_t> bytes);

  std::span<const std::uint8_t> bytes_;
  std::uint16_t type_ = 0;
  StunTransactionId transactionId_{};
};

// RFC 8489 §14.2: the address and port a well-formed XOR-MAPPED-ADDRESS of 'message' carries.
std::optional<Endpoint> xorMappedAddress(const StunMessage& message);

// Writes the Binding success response (RFC 8489 §6.3.1.1) to a request with 'id': that id and
// one XOR-MAPPED-ADDRESS of 'mapped', the request's source. Returns the octets written, or 0 when
// 'out' is too small (kStunBindingSuccessMaxSize always suffices).
std::size_t writeBindingSuccess(std::span<std::uint8_t> out,
                                const StunTransactionId& id,
                                const Endpoint& mapped);

}  // namespace confab::transport
