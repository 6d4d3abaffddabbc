#include "focus/transport/Stun.hpp"

#include <algorithm>

namespace confab::transport {

namespace {

// RFC 8489 §14: type, length, then the value padded to a multiple of 4 octets.
constexpr std::size_t kAttributeHeaderSize = 4;
// RFC 8489 §14.1: the address family octet.
constexpr std::uint8_t kFamilyIpv4 = 0x01;
constexpr std::uint8_t kFamilyIpv6 = 0x02;

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
  return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

std::uint32_t read32(std::span<const std::uint8_t> bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
}

void write16(std::span<std::uint8_t> out, std::size_t at, std::uint16_t value) {
  out[at] = static_cast<std::uint8_t>(value >> 8);
  out[at + 1] = static_cast<std::uint8_t>(value);
}

void write32(std::span<std::uint8_t> out, std::size_t at, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) {
    out[at + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  }
}

constexpr std::size_t padded(std::size_t length) {
  return (length + 3) & ~std::size_t{3};
}

// RFC 8489 §14.2: the address is XORed with the magic cookie, then (IPv6) the transaction id.
std::array<std::uint8_t, 16> xorMask(const StunTransactionId& id) {
  std::array<std::uint8_t, 16> mask{};
  write32(mask, 0, kStunMagicCookie);
  std::copy(id.begin(), id.end(), mask.begin() + 4);
  return mask;
}

constexpr auto kCookiePortMask = static_cast<std::uint16_t>(kStunMagicCookie >> 16);

}  // namespace

StunError StunMessage::validate(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kStunHeaderSize) {
    return StunError::kTooShort;
  }
  if ((bytes[0] & 0xC0U) != 0) {
    return StunError::kNotStun;
  }
  if (read32(bytes, 4) != kStunMagicCookie) {
    return StunError::kBadCookie;
  }
  // RFC 8489 §5: the length counts the octets after the header, always a multiple of 4.
  const std::size_t length = read16(bytes, 2);
  if (length != bytes.size() - kStunHeaderSize || length % 4 != 0) {
    return StunError::kBadLength;
  }
  for (std::size_t at = kStunHeaderSize; at < bytes.size();) {
    if (bytes.size() - at < kAttributeHeaderSize) {
      return StunError::kAttributeBeyondEnd;
    }
    const std::size_t valueSize = padded(read16(bytes, at + 2));
    at += kAttributeHeaderSize;
    if (valueSize > bytes.size() - at) {
      return StunError::kAttributeBeyondEnd;
    }
    at += valueSize;
  }
  return StunError::kOk;
}

std::optional<StunMessage> StunMessage::parse(std::span<const std::uint8_t> bytes) {
  if (validate(bytes) != StunError::kOk) {
    return std::nullopt;
  }
  return StunMessage(bytes);
}

StunMessage::StunMessage(std::span<const std::uint8_t> bytes)
    : bytes_(bytes), type_(read16(bytes, 0)) {
  std::copy_n(bytes.begin() + 8, transactionId_.size(), transactionId_.begin());
}

std::optional<std::span<const std::uint8_t>> StunMessage::attribute(std::uint16_t type) const {
  // validate() has checked that every attribute, padding included, lies inside the message.
  for (std::size_t at = kStunHeaderSize; at < bytes_.size();) {
    const std::uint16_t found = read16(bytes_, at);
    const std::size_t length = read16(bytes_, at + 2);
    if (found == type) {
      return bytes_.subspan(at + kAttributeHeaderSize, length);
    }
    at += kAttributeHeaderSize + padded(length);
  }
  return std::nullopt;
}

std::optional<Endpoint> xorMappedAddress(const StunMessage& message) {
  const auto value = message.attribute(kStunXorMappedAddress);
  if (!value || value->size() < 4) {
    return std::nullopt;
  }
  const auto port = static_cast<std::uint16_t>(read16(*value, 2) ^ kCookiePortMask);
  const auto mask = xorMask(message.transactionId());
  if ((*value)[1] == kFamilyIpv4 && value->size() == 8) {
    boost::asio::ip::address_v4::bytes_type address{};
    for (std::size_t i = 0; i < address.size(); ++i) {
      address[i] = static_cast<std::uint8_t>((*value)[4 + i] ^ mask[i]);
    }
    return Endpoint{boost::asio::ip::address_v4(address), port};
  }
  if ((*value)[1] == kFamilyIpv6 && value->size() == 20) {
    boost::asio::ip::address_v6::bytes_type address{};
    for (std::size_t i = 0; i < address.size(); ++i) {
      address[i] = static_cast<std::uint8_t>((*value)[4 + i] ^ mask[i]);
    }
    return Endpoint{boost::asio::ip::address_v6(address), port};
  }
  return std::nullopt;
}

std::size_t writeBindingSuccess(std::span<std::uint8_t> out,
                                const StunTransactionId& id,
                                const Endpoint& mapped) {
  const bool ipv6 = mapped.address.is_v6();
  const std::size_t addressSize = ipv6 ? 16 : 4;
  const std::size_t attributeSize = 4 + addressSize;  // reserved, family, port, address
  const std::size_t size = kStunHeaderSize + kAttributeHeaderSize + attributeSize;
  if (out.size() < size) {
    return 0;
  }
  write16(out, 0, kStunBindingSuccess);
  write16(out, 2, static_cast<std::uint16_t>(size - kStunHeaderSize));
  write32(out, 4, kStunMagicCookie);
  std::copy(id.begin(), id.end(), out.begin() + 8);
  write16(out, kStunHeaderSize, kStunXorMappedAddress);
  write16(out, kStunHeaderSize + 2, static_cast<std::uint16_t>(attributeSize));
  const std::size_t value = kStunHeaderSize + kAttributeHeaderSize;
  out[value] = 0;
  out[value + 1] = ipv6 ? kFamilyIpv6 : kFamilyIpv4;
  write16(out, value + 2, static_cast<std::uint16_t>(mapped.port ^ kCookiePortMask));
  const auto mask = xorMask(id);
  if (ipv6) {
    const auto address = mapped.address.to_v6().to_bytes();
    for (std::size_t i = 0; i < address.size(); ++i) {
      out[value + 4 + i] = static_cast<std::uint8_t>(address[i] ^ mask[i]);
    }
  } else {
    const auto address = mapped.address.to_v4().to_bytes();
    for (std::size_t i = 0; i < address.size(); ++i) {
      out[value + 4 + i] = static_cast<std::uint8_t>(address[i] ^ mask[i]);
    }
  }
  return size;
}

}  // namespace confab::transport
