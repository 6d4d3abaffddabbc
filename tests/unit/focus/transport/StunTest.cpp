// The STUN view and Binding success writer against the RFC 5769 test vectors (golden bytes),
// every refusal reason, and a round trip through our own parser for both address families.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "focus/transport/Stun.hpp"

namespace confab::transport {
namespace {

std::vector<std::uint8_t> hex(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::uint8_t> out;
  unsigned octet = 0;
  while (in >> std::hex >> octet) {
    out.push_back(static_cast<std::uint8_t>(octet));
  }
  return out;
}

// RFC 5769 §2.1 Sample Request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
// MESSAGE-INTEGRITY, FINGERPRINT; padding octets are 0x20).
const std::vector<std::uint8_t> kRfc5769Request =
    hex("00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
        "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74 "
        "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36 "
        "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20 "
        "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2 "
        "80 28 00 04 e5 7a 3b cf");
// RFC 5769 §2.2 Sample IPv4 Response: mapped address 192.0.2.1 port 32853.
const std::vector<std::uint8_t> kRfc5769Ipv4Response =
    hex("01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
        "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 "
        "00 20 00 08 00 01 a1 47 e1 12 a6 43 "
        "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7 "
        "80 28 00 04 c0 7d 4c 96");
// RFC 5769 §2.3 Sample IPv6 Response: mapped address 2001:db8:1234:5678:11:2233:4455:6677
// port 32853.
const std::vector<std::uint8_t> kRfc5769Ipv6Response =
    hex("01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
        "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 "
        "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9 "
        "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41 "
        "80 28 00 04 c8 fb 0b 4c");

const StunTransactionId kVectorId{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

Endpoint endpoint(const char* address, std::uint16_t port) {
  return Endpoint{boost::asio::ip::make_address(address), port};
}

TEST(Stun, Rfc5769RequestIsABindingRequest) {
  auto message = StunMessage::parse(kRfc5769Request);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->type(), kStunBindingRequest);
  EXPECT_EQ(message->transactionId(), kVectorId);
  // USERNAME (0x0006) is 9 octets, padded to 12 on the wire.
  const auto username = message->attribute(0x0006);
  ASSERT_TRUE(username);
  EXPECT_EQ(std::string(username->begin(), username->end()), "evtj:h6vY");
  EXPECT_FALSE(message->attribute(kStunXorMappedAddress));
  EXPECT_FALSE(xorMappedAddress(*message));
}

TEST(Stun, Rfc5769ResponsesDecodeToTheirMappedAddresses) {
  auto v4 = StunMessage::parse(kRfc5769Ipv4Response);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->type(), kStunBindingSuccess);
  EXPECT_EQ(xorMappedAddress(*v4), endpoint("192.0.2.1", 32853));
  auto v6 = StunMessage::parse(kRfc5769Ipv6Response);
  ASSERT_TRUE(v6);
  EXPECT_EQ(xorMappedAddress(*v6), endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853));
}

TEST(Stun, WrittenSuccessMatchesTheRfc5769Attribute) {
  // Our response carries only XOR-MAPPED-ADDRESS; its octets are the vector's.
  std::array<std::uint8_t, kStunBindingSuccessMaxSize> out{};
  const std::size_t size = writeBindingSuccess(out, kVectorId, endpoint("192.0.2.1", 32853));
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size)),
            hex("01 01 00 0c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae "
                "00 20 00 08 00 01 a1 47 e1 12 a6 43"));
  const std::size_t size6 =
      writeBindingSuccess(out, kVectorId, endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853));
  EXPECT_EQ(size6, kStunBindingSuccessMaxSize);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin() + 20, out.end()),
            hex("00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"));
}

TEST(Stun, WriterRefusesAShortBuffer) {
  std::array<std::uint8_t, kStunBindingSuccessMaxSize - 1> small{};
  EXPECT_EQ(writeBindingSuccess(small, kVectorId, endpoint("::1", 5060)), 0U);
  EXPECT_EQ(writeBindingSuccess(std::span(small).first(31), kVectorId, endpoint("127.0.0.1", 5060)),
            0U);
  EXPECT_EQ(writeBindingSuccess(std::span(small).first(32), kVectorId, endpoint("127.0.0.1", 5060)),
            32U);
}

TEST(Stun, RefusalsNameTheirReason) {
  std::vector<std::uint8_t> plain =
      hex("00 01 00 00 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b 0c");
  EXPECT_EQ(StunMessage::validate(plain), StunError::kOk);
  EXPECT_EQ(StunMessage::validate(std::span(plain).first(19)), StunError::kTooShort);
  EXPECT_EQ(StunMessage::validate({}), StunError::kTooShort);

  auto changed = [&](std::size_t at, std::uint8_t value) {
    auto copy = plain;
    copy[at] = value;
    return copy;
  };
  EXPECT_EQ(StunMessage::validate(changed(0, 0x40)), StunError::kNotStun);
  EXPECT_EQ(StunMessage::validate(changed(0, 0x80)), StunError::kNotStun);
  // An RFC 3489 request has a random id where the cookie is.
  EXPECT_EQ(StunMessage::validate(changed(4, 0x22)), StunError::kBadCookie);
  EXPECT_EQ(StunMessage::validate(changed(3, 0x04)), StunError::kBadLength);

  // Length says 8 but only 4 octets follow; 2 octets more than the header is not a multiple of 4.
  auto longer = plain;
  longer.insert(longer.end(), {0x80, 0x22, 0x00, 0x00});
  longer[3] = 0x08;
  EXPECT_EQ(StunMessage::validate(longer), StunError::kBadLength);
  longer[3] = 0x04;
  EXPECT_EQ(StunMessage::validate(longer), StunError::kOk);  // an empty SOFTWARE
  auto odd = plain;
  odd.insert(odd.end(), {0x00, 0x00});
  odd[3] = 0x02;
  EXPECT_EQ(StunMessage::validate(odd), StunError::kBadLength);

  // An attribute whose value (5 octets, padded to 8) runs past the message.
  auto overrun = plain;
  overrun.insert(overrun.end(), {0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'});
  overrun[3] = 0x08;
  EXPECT_EQ(StunMessage::validate(overrun), StunError::kAttributeBeyondEnd);
  EXPECT_FALSE(StunMessage::parse(overrun));
  overrun[23] = 0x04;  // a 4-octet value fits exactly
  EXPECT_EQ(StunMessage::validate(overrun), StunError::kOk);
}

TEST(Stun, MalformedXorMappedAddressIsNotAnAddress) {
  // Family 3, and an IPv4 family with an IPv6-sized value.
  for (const char* attribute : {"00 20 00 08 00 03 a1 47 e1 12 a6 43",
                                "00 20 00 14 00 01 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 "
                                "be d2 b9 d9"}) {
    auto bytes = hex("01 01 00 00 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae");
    const auto value = hex(attribute);
    bytes.insert(bytes.end(), value.begin(), value.end());
    bytes[3] = static_cast<std::uint8_t>(value.size());
    auto message = StunMessage::parse(bytes);
    ASSERT_TRUE(message) << attribute;
    EXPECT_FALSE(xorMappedAddress(*message)) << attribute;
  }
}

TEST(Stun, SuccessRoundTripsForBothFamilies) {
  const StunTransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const Endpoint& mapped :
       {endpoint("203.0.113.7", 1), endpoint("::1", 65535), endpoint("2001:db8::42", 5060)}) {
    std::array<std::uint8_t, kStunBindingSuccessMaxSize> out{};
    const std::size_t size = writeBindingSuccess(out, id, mapped);
    auto message = StunMessage::parse(std::span(out).first(size));
    ASSERT_TRUE(message) << mapped.str();
    EXPECT_EQ(message->type(), kStunBindingSuccess);
    EXPECT_EQ(message->transactionId(), id);
    EXPECT_EQ(xorMappedAddress(*message), mapped);
  }
}

}  // namespace
}  // namespace confab::transport
