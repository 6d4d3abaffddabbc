#include "mixer/codec/G722.hpp"

#include <new>

// SpanDSP's umbrella header pulls in libtiff for its fax modules; G.722 needs only these.
#include <spandsp/telephony.h>
// telephony.h first: g722.h uses its SPAN_DECLARE.
#include <spandsp/g722.h>

namespace confab::codec {

namespace {
constexpr int kBitRate = 64000;  // mode 1, the one RFC 3551 §4.5.2 and every phone use
}

void G722Encoder::Free::operator()(g722_encode_state_s* s) const {
  g722_encode_free(s);
}
void G722Decoder::Free::operator()(g722_decode_state_s* s) const {
  g722_decode_free(s);
}

G722Encoder::G722Encoder() : state_(g722_encode_init(nullptr, kBitRate, 0)) {
  if (!state_) {
    throw std::bad_alloc();
  }
}
G722Encoder::~G722Encoder() = default;
G722Encoder::G722Encoder(G722Encoder&&) noexcept = default;
G722Encoder& G722Encoder::operator=(G722Encoder&&) noexcept = default;

std::size_t G722Encoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  if (pcm.size() % 2 != 0 || out.size() < pcm.size() / 2) {
    return 0;
  }
  const int written =
      g722_encode(state_.get(), out.data(), pcm.data(), static_cast<int>(pcm.size()));
  return written > 0 ? static_cast<std::size_t>(written) : 0;
}

G722Decoder::G722Decoder() : state_(g722_decode_init(nullptr, kBitRate, 0)) {
  if (!state_) {
    throw std::bad_alloc();
  }
}
G722Decoder::~G722Decoder() = default;
G722Decoder::G722Decoder(G722Decoder&&) noexcept = default;
G722Decoder& G722Decoder::operator=(G722Decoder&&) noexcept = default;

std::size_t G722Decoder::decode(std::span<const uint8_t> codes, std::span<int16_t> out) {
  if (out.size() < codes.size() * 2) {
    return 0;
  }
  const int written =
      g722_decode(state_.get(), out.data(), codes.data(), static_cast<int>(codes.size()));
  return written > 0 ? static_cast<std::size_t>(written) : 0;
}

void G722Decoder::reset() {
  // Re-initialising in place allocates nothing: SpanDSP clears the state it is given.
  g722_decode_init(state_.get(), kBitRate, 0);
}

}  // namespace confab::codec
