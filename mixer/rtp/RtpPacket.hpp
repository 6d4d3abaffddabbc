// RTP data packets (RFC 3550 §5.1) as a zero-copy view over a caller-owned receive buffer, with
// RFC 8285 header extensions, the RFC 6464/6465 audio levels, a builder that writes into a
// caller-provided span, and the first-byte demultiplexing of RFC 5761 §4 and RFC 7983.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>

namespace confab::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr size_t kMaxCsrcs = 15;
// RFC 8285 §4.2: the one-byte form carries ids 1..14 with 1..16 data octets.
inline constexpr uint8_t kMaxOneByteExtensionId = 14;
inline constexpr size_t kMaxOneByteExtensionSize = 16;
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
// RFC 8285 §4.3: 0x100 in the top 12 bits, the low 4 bits are "appbits" we ignore.
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;

// Why a buffer is not an RTP packet; the packet path bumps one counter per reason.
enum class RtpError : uint8_t {
  kOk,
  kTooShort,       // fewer than the 12 fixed octets
  kBadVersion,     // RFC 3550 §5.1: V must be 2
  kCsrcBeyondEnd,  // CC says more CSRCs than the buffer holds
  kExtensionBeyondEnd,
  kBadPadding,  // RFC 3550 §5.1: padding count zero, or more than the payload
};

// RFC 6464 §3: voice activity flag and level in -dBov, 0 (loudest) to 127 (silence).
struct AudioLevel {
  bool voiceActivity = false;
  uint8_t level = 127;
  friend bool operator==(const AudioLevel&, const AudioLevel&) = default;
};

enum class ExtensionForm : uint8_t { kNone, kOneByte, kTwoByte, kOther };

struct HeaderExtension {
  uint8_t id = 0;
  std::span<uint8_t> data;
};

// Iterates the elements of an RFC 8285 extension block. Padding octets (id 0) are skipped; an
// element running past the block, or the reserved one-byte id 15 (§4.2), ends the iteration.
class HeaderExtensionIterator {
 public:
  using value_type = HeaderExtension;
  using difference_type = std::ptrdiff_t;

  HeaderExtensionIterator() = default;
  HeaderExtensionIterator(ExtensionForm form, std::span<uint8_t> block);

  const HeaderExtension& operator*() const { return current_; }
  const HeaderExtension* operator->() const { return &current_; }
  HeaderExtensionIterator& operator++() {
    advance();
    return *this;
  }
  HeaderExtensionIterator operator++(int) {
    auto copy = *this;
    advance();
    return copy;
  }
  friend bool operator==(const HeaderExtensionIterator& it, std::default_sentinel_t) {
    return it.done_;
  }

 private:
  void advance();

  ExtensionForm form_ = ExtensionForm::kNone;
  std::span<uint8_t> rest_;
  HeaderExtension current_;
  bool done_ = true;
};

class HeaderExtensions {
 public:
  HeaderExtensions() = default;
  HeaderExtensions(ExtensionForm form, std::span<uint8_t> block) : form_(form), block_(block) {}
  [[nodiscard]] HeaderExtensionIterator begin() const { return {form_, block_}; }
  [[nodiscard]] std::default_sentinel_t end() const { return {}; }

 private:
  ExtensionForm form_ = ExtensionForm::kNone;
  std::span<uint8_t> block_;
};

class RtpPacket {
 public:
  // Checks the buffer per RFC 3550 §5.1 and Appendix A.1 (version, CSRC list, extension
  // length, padding) without touching it.
  static RtpError validate(std::span<const uint8_t> bytes);
  // A view over `bytes`, which must outlive it; nothing is copied.
  static std::optional<RtpPacket> parse(std::span<uint8_t> bytes);

  [[nodiscard]] bool marker() const { return (bytes_[1] & 0x80U) != 0; }
  [[nodiscard]] uint8_t payloadType() const { return bytes_[1] & 0x7FU; }
  [[nodiscard]] uint16_t sequenceNumber() const;
  [[nodiscard]] uint32_t timestamp() const;
  [[nodiscard]] uint32_t ssrc() const;
  [[nodiscard]] size_t csrcCount() const { return bytes_[0] & 0x0FU; }
  // i < csrcCount().
  [[nodiscard]] uint32_t csrc(size_t i) const;

  [[nodiscard]] bool hasExtension() const { return (bytes_[0] & 0x10U) != 0; }
  // The 16-bit "defined by profile" field; 0 when there is no extension.
  [[nodiscard]] uint16_t extensionProfile() const;
  [[nodiscard]] ExtensionForm extensionForm() const;
  // The extension data after its 4-octet header (empty when none).
  [[nodiscard]] std::span<uint8_t> extensionBlock() const;
  [[nodiscard]] HeaderExtensions extensions() const { return {extensionForm(), extensionBlock()}; }
  // The first element with this id, or nothing (also when the form is not RFC 8285's).
  [[nodiscard]] std::optional<std::span<uint8_t>> findExtension(uint8_t id) const;
  // RFC 6464 client-to-mixer level under the id negotiated in SDP (a=extmap).
  [[nodiscard]] std::optional<AudioLevel> audioLevel(uint8_t id) const;

  [[nodiscard]] bool hasPadding() const { return (bytes_[0] & 0x20U) != 0; }
  [[nodiscard]] size_t paddingSize() const { return paddingSize_; }
  [[nodiscard]] size_t headerSize() const { return headerSize_; }
  [[nodiscard]] std::span<uint8_t> payload() const {
    return bytes_.subspan(headerSize_, payloadSize_);
  }
  [[nodiscard]] std::span<uint8_t> bytes() const { return bytes_; }

  // In-place rewrites, for forwarding with our own numbering.
  void setMarker(bool marker);
  void setPayloadType(uint8_t payloadType);
  void setSequenceNumber(uint16_t sequenceNumber);
  void setTimestamp(uint32_t timestamp);
  void setSsrc(uint32_t ssrc);

 private:
  RtpPacket(std::span<uint8_t> bytes, size_t headerSize, size_t payloadSize, size_t paddingSize)
      : bytes_(bytes),
        headerSize_(headerSize),
        payloadSize_(payloadSize),
        paddingSize_(paddingSize) {}

  std::span<uint8_t> bytes_;
  size_t headerSize_;
  size_t payloadSize_;
  size_t paddingSize_;
};

// What the builder writes. Extensions use the one-byte form (RFC 8285 §4.2), which fits both
// levels we send; an id of 0 leaves that element out.
struct RtpHeader {
  bool marker = false;
  uint8_t payloadType = 0;
  uint16_t sequenceNumber = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;
  // RFC 6464 client-to-mixer level.
  uint8_t audioLevelId = 0;
  AudioLevel audioLevel;
  // RFC 6465 §3: one level (0..127 -dBov) per CSRC, in CSRC order; must match csrcs in size.
  uint8_t csrcLevelsId = 0;
  std::span<const uint8_t> csrcLevels;
};

// Writes the header (and extension block) at the start of `out`; returns its size, or 0 when it
// does not fit or the fields are out of range. The payload can then be encoded straight into
// out.subspan(size) with no copy.
size_t writeRtpHeader(std::span<uint8_t> out, const RtpHeader& header);
// Header followed by a copy of `payload`; returns the packet size, or 0 when it does not fit.
size_t writeRtpPacket(std::span<uint8_t> out,
                      const RtpHeader& header,
                      std::span<const uint8_t> payload);

// What arrived on a media port, from the first octets (RFC 7983 §7, RFC 5761 §4).
enum class PacketKind : uint8_t { kUnknown, kStun, kZrtp, kDtls, kTurnChannel, kRtp, kRtcp };
PacketKind classifyPacket(std::span<const uint8_t> bytes);
// RFC 5761 §4: with RTP and RTCP on one port, payload types 64-95 (after masking the marker)
// are RTCP, which is the second octet of every RTCP packet type in 192..223.
bool looksLikeRtcp(std::span<const uint8_t> bytes);

}  // namespace confab::rtp
