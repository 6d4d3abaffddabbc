// RTP packet view, RFC 8285 extension walking and the RTP header builder.
#include "mixer/rtp/RtpPacket.hpp"

#include <algorithm>

#include "mixer/rtp/ByteOrder.hpp"

namespace confab::rtp {

namespace {

struct Layout {
  RtpError error = RtpError::kOk;
  size_t headerSize = 0;
  size_t payloadSize = 0;
  size_t paddingSize = 0;
};

Layout layoutOf(std::span<const uint8_t> b) {
  Layout l;
  if (b.size() < kRtpFixedHeaderSize) {
    l.error = RtpError::kTooShort;
    return l;
  }
  if ((b[0] >> 6) != 2) {
    l.error = RtpError::kBadVersion;
    return l;
  }
  size_t header = kRtpFixedHeaderSize + size_t{4} * (b[0] & 0x0FU);
  if (header > b.size()) {
    l.error = RtpError::kCsrcBeyondEnd;
    return l;
  }
  if ((b[0] & 0x10U) != 0) {
    // RFC 3550 §5.3.1: 16-bit profile field, then the length in 32-bit words excluding the
    // four-octet extension header itself.
    if (header + 4 > b.size()) {
      l.error = RtpError::kExtensionBeyondEnd;
      return l;
    }
    header += 4 + size_t{4} * readU16(b, header + 2);
    if (header > b.size()) {
      l.error = RtpError::kExtensionBeyondEnd;
      return l;
    }
  }
  size_t padding = 0;
  if ((b[0] & 0x20U) != 0) {
    // RFC 3550 §5.1: the last octet counts the padding, itself included, so it is at least 1
    // and cannot reach into the header.
    padding = b.back();
    if (padding == 0 || padding > b.size() - header) {
      l.error = RtpError::kBadPadding;
      return l;
    }
  }
  l.headerSize = header;
  l.paddingSize = padding;
  l.payloadSize = b.size() - header - padding;
  return l;
}

}  // namespace

HeaderExtensionIterator::HeaderExtensionIterator(ExtensionForm form, std::span<uint8_t> block)
    : form_(form), rest_(block), done_(false) {
  if (form_ != ExtensionForm::kOneByte && form_ != ExtensionForm::kTwoByte) {
    done_ = true;
    return;
  }
  advance();
}

void HeaderExtensionIterator::advance() {
  // Id 0 where an element would start is a padding octet in both forms (RFC 8285 §4.2, §4.3);
  // in the one-byte form its length nibble is ignored.
  const uint8_t idMask = form_ == ExtensionForm::kOneByte ? 0xF0U : 0xFFU;
  while (!rest_.empty() && (rest_[0] & idMask) == 0) {
    rest_ = rest_.subspan(1);
  }
  if (rest_.empty()) {
    done_ = true;
    return;
  }
  uint8_t id = 0;
  size_t size = 0;
  size_t headerSize = 0;
  if (form_ == ExtensionForm::kOneByte) {
    id = static_cast<uint8_t>(rest_[0] >> 4);
    size = (rest_[0] & 0x0FU) + 1U;
    headerSize = 1;
    // RFC 8285 §4.2: id 15 stops processing; what came before it still counts.
    if (id == 15) {
      done_ = true;
      return;
    }
  } else {
    if (rest_.size() < 2) {
      done_ = true;
      return;
    }
    id = rest_[0];
    size = rest_[1];
    headerSize = 2;
  }
  if (headerSize + size > rest_.size()) {
    done_ = true;
    return;
  }
  current_.id = id;
  current_.data = rest_.subspan(headerSize, size);
  rest_ = rest_.subspan(headerSize + size);
}

RtpError RtpPacket::validate(std::span<const uint8_t> bytes) {
  return layoutOf(bytes).error;
}

std::optional<RtpPacket> RtpPacket::parse(std::span<uint8_t> bytes) {
  const Layout l = layoutOf(bytes);
  if (l.error != RtpError::kOk) {
    return std::nullopt;
  }
  return RtpPacket(bytes, l.headerSize, l.payloadSize, l.paddingSize);
}

uint16_t RtpPacket::sequenceNumber() const {
  return readU16(bytes_, 2);
}

uint32_t RtpPacket::timestamp() const {
  return readU32(bytes_, 4);
}

uint32_t RtpPacket::ssrc() const {
  return readU32(bytes_, 8);
}

uint32_t RtpPacket::csrc(size_t i) const {
  return readU32(bytes_, kRtpFixedHeaderSize + 4 * i);
}

uint16_t RtpPacket::extensionProfile() const {
  if (!hasExtension()) {
    return 0;
  }
  return readU16(bytes_, kRtpFixedHeaderSize + 4 * csrcCount());
}

ExtensionForm RtpPacket::extensionForm() const {
  if (!hasExtension()) {
    return ExtensionForm::kNone;
  }
  const uint16_t profile = extensionProfile();
  if (profile == kOneByteExtensionProfile) {
    return ExtensionForm::kOneByte;
  }
  if ((profile & 0xFFF0U) == kTwoByteExtensionProfile) {
    return ExtensionForm::kTwoByte;
  }
  return ExtensionForm::kOther;
}

std::span<uint8_t> RtpPacket::extensionBlock() const {
  if (!hasExtension()) {
    return {};
  }
  const size_t start = kRtpFixedHeaderSize + 4 * csrcCount() + 4;
  return bytes_.subspan(start, headerSize_ - start);
}

std::optional<std::span<uint8_t>> RtpPacket::findExtension(uint8_t id) const {
  for (const HeaderExtension& e : extensions()) {
    if (e.id == id) {
      return e.data;
    }
  }
  return std::nullopt;
}

std::optional<AudioLevel> RtpPacket::audioLevel(uint8_t id) const {
  const auto data = findExtension(id);
  if (!data || data->empty()) {
    return std::nullopt;
  }
  // RFC 6464 §3: one octet; any further octets (the two-byte form may pad) are ignored.
  const uint8_t octet = (*data)[0];
  return AudioLevel{(octet & 0x80U) != 0, static_cast<uint8_t>(octet & 0x7FU)};
}

void RtpPacket::setMarker(bool marker) {
  bytes_[1] = static_cast<uint8_t>((bytes_[1] & 0x7FU) | (marker ? 0x80U : 0U));
}

void RtpPacket::setPayloadType(uint8_t payloadType) {
  bytes_[1] = static_cast<uint8_t>((bytes_[1] & 0x80U) | (payloadType & 0x7FU));
}

void RtpPacket::setSequenceNumber(uint16_t sequenceNumber) {
  writeU16(bytes_, 2, sequenceNumber);
}

void RtpPacket::setTimestamp(uint32_t timestamp) {
  writeU32(bytes_, 4, timestamp);
}

void RtpPacket::setSsrc(uint32_t ssrc) {
  writeU32(bytes_, 8, ssrc);
}

size_t writeRtpHeader(std::span<uint8_t> out, const RtpHeader& h) {
  if (h.payloadType > 0x7F || h.csrcs.size() > kMaxCsrcs || h.audioLevelId > 14 ||
      h.csrcLevelsId > 14 || h.audioLevel.level > 127) {
    return 0;
  }
  if (h.csrcLevelsId != 0 && (h.csrcLevels.size() != h.csrcs.size() || h.csrcLevels.empty())) {
    return 0;
  }
  size_t elements = 0;
  if (h.audioLevelId != 0) {
    elements += 2;
  }
  if (h.csrcLevelsId != 0) {
    elements += 1 + h.csrcLevels.size();
  }
  const size_t extensionWords = (elements + 3) / 4;
  const size_t headerSize =
      kRtpFixedHeaderSize + 4 * h.csrcs.size() + (elements != 0 ? 4 + 4 * extensionWords : 0);
  if (out.size() < headerSize) {
    return 0;
  }
  out[0] = static_cast<uint8_t>(0x80U | (elements != 0 ? 0x10U : 0U) | h.csrcs.size());
  out[1] = static_cast<uint8_t>((h.marker ? 0x80U : 0U) | h.payloadType);
  writeU16(out, 2, h.sequenceNumber);
  writeU32(out, 4, h.timestamp);
  writeU32(out, 8, h.ssrc);
  size_t at = kRtpFixedHeaderSize;
  for (const uint32_t csrc : h.csrcs) {
    writeU32(out, at, csrc);
    at += 4;
  }
  if (elements != 0) {
    writeU16(out, at, kOneByteExtensionProfile);
    writeU16(out, at + 2, static_cast<uint16_t>(extensionWords));
    at += 4;
    if (h.audioLevelId != 0) {
      // L is the size minus one (RFC 8285 §4.2).
      out[at++] = static_cast<uint8_t>(h.audioLevelId << 4);
      out[at++] =
          static_cast<uint8_t>((h.audioLevel.voiceActivity ? 0x80U : 0U) | h.audioLevel.level);
    }
    if (h.csrcLevelsId != 0) {
      out[at++] = static_cast<uint8_t>((size_t{h.csrcLevelsId} << 4) | (h.csrcLevels.size() - 1));
      for (const uint8_t level : h.csrcLevels) {
        // RFC 6465 §3: the top bit is reserved and sent as zero.
        out[at++] = static_cast<uint8_t>(level & 0x7FU);
      }
    }
    // Pad the block to whole words with zero octets, which RFC 8285 §4.2 makes padding.
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(at),
              out.begin() + static_cast<std::ptrdiff_t>(headerSize), uint8_t{0});
  }
  return headerSize;
}

size_t writeRtpPacket(std::span<uint8_t> out,
                      const RtpHeader& header,
                      std::span<const uint8_t> payload) {
  const size_t headerSize = writeRtpHeader(out, header);
  if (headerSize == 0 || out.size() - headerSize < payload.size()) {
    return 0;
  }
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(headerSize));
  return headerSize + payload.size();
}

PacketKind classifyPacket(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return PacketKind::kUnknown;
  }
  // RFC 7983 §7: the first octet splits STUN, ZRTP, DTLS, TURN channels and RTP/RTCP.
  const uint8_t b = bytes[0];
  if (b <= 3) {
    return PacketKind::kStun;
  }
  if (b >= 16 && b <= 19) {
    return PacketKind::kZrtp;
  }
  if (b >= 20 && b <= 63) {
    return PacketKind::kDtls;
  }
  if (b >= 64 && b <= 79) {
    return PacketKind::kTurnChannel;
  }
  if (b >= 128 && b <= 191) {
    if (bytes.size() < 2) {
      return PacketKind::kUnknown;
    }
    return looksLikeRtcp(bytes) ? PacketKind::kRtcp : PacketKind::kRtp;
  }
  return PacketKind::kUnknown;
}

bool looksLikeRtcp(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) {
    return false;
  }
  const unsigned maskedType = bytes[1] & 0x7FU;
  return maskedType >= 64 && maskedType <= 95;
}

}  // namespace confab::rtp
