// libFuzzer target for the STUN view the SIP UDP port answers keep-alives with (RFC 5626
// §4.4.2): validate and parse agree, every attribute lies inside the buffer, a decoded
// XOR-MAPPED-ADDRESS writes back into a response that decodes to the same address, and a
// response to any transaction id and address (taken from the input) parses as one.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "focus/transport/Stun.hpp"

namespace {

using namespace confab::transport;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// Writes a Binding success for 'mapped' and checks it reads back whole.
void roundTrip(const StunTransactionId& id, const Endpoint& mapped) {
  std::array<std::uint8_t, kStunBindingSuccessMaxSize> out{};
  const std::size_t size = writeBindingSuccess(out, id, mapped);
  check(size != 0 && size <= out.size());
  check(writeBindingSuccess(std::span(out).first(size - 1), id, mapped) == 0);
  const auto response = StunMessage::parse(std::span(out).first(size));
  check(response.has_value());
  check(response->type() == kStunBindingSuccess && response->transactionId() == id);
  check(xorMappedAddress(*response) == mapped);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const StunError error = StunMessage::validate(input);
  const auto message = StunMessage::parse(input);
  check(message.has_value() == (error == StunError::kOk));
  if (message) {
    check(message->bytes().data() == data && message->bytes().size() == size);
    check(std::equal(message->transactionId().begin(), message->transactionId().end(),
                     input.begin() + 8));
    for (const std::uint16_t type : {kStunXorMappedAddress, std::uint16_t{0x8022},
                                     std::uint16_t{0x8028}, std::uint16_t{0x0006}}) {
      if (const auto value = message->attribute(type)) {
        check(value->data() >= data + kStunHeaderSize &&
              value->data() + value->size() <= data + size);
      }
    }
    if (const auto mapped = xorMappedAddress(*message)) {
      roundTrip(message->transactionId(), *mapped);
    }
  }
  // Whatever the bytes, a response built from them (id, port, IPv4 and IPv6 address) parses.
  std::array<std::uint8_t, 12 + 2 + 16> seed{};
  std::copy_n(input.begin(), std::min(input.size(), seed.size()), seed.begin());
  StunTransactionId id{};
  std::copy_n(seed.begin(), id.size(), id.begin());
  const auto port = static_cast<std::uint16_t>((seed[12] << 8) | seed[13]);
  boost::asio::ip::address_v6::bytes_type v6{};
  std::copy_n(seed.begin() + 14, v6.size(), v6.begin());
  boost::asio::ip::address_v4::bytes_type v4{};
  std::copy_n(seed.begin() + 14, v4.size(), v4.begin());
  roundTrip(id, Endpoint{boost::asio::ip::address_v6(v6), port});
  roundTrip(id, Endpoint{boost::asio::ip::address_v4(v4), port});
  return 0;
}
