// Test helpers for the mixer over real loopback UDP: a phone that sends a tone (or silence) as RTP,
// presses keys, can speak SRTP, and decodes what the mixer sends back; a recorder of every mixer
// event; and the settings and media parameters the tests give the mixer.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mixer/engine/Control.hpp"
#include "mixer/codec/OpusPacket.hpp"
#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/room/AudioCodec.hpp"
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "mixer/rtp/TelephoneEvent.hpp"
#include "mixer/srtp/Session.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"

namespace confab::test {

// A phone on 127.0.0.1 sending one 20 ms frame of its tone (toneHz 0: silence) per sendFrame() to
// the mixer's port, and decoding what comes back into 'heard'. RTCP it receives is kept whole.
class LoopbackPhone {
 public:
  LoopbackPhone(mixer::Codec codec, uint8_t payloadType, double toneHz, uint16_t mixerPort)
      : codec_(codec),
        pt_(payloadType),
        encoder_(codec),
        decoder_(codec),
        tone_(toneHz, toneHz > 0 ? 8000.0 : 0.0, mixer::pcmRate(codec)),
        fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);
    mixer_.sin_family = AF_INET;
    mixer_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mixer_.sin_port = htons(mixerPort);
  }
  ~LoopbackPhone() { ::close(fd_); }
  LoopbackPhone(const LoopbackPhone&) = delete;
  LoopbackPhone& operator=(const LoopbackPhone&) = delete;

  // SDES keys: we protect with 'mine', the mixer protects what it sends us with 'theirs'.
  void useSrtp(std::span<const uint8_t> mine, std::span<const uint8_t> theirs) {
    out_ =
        srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80, srtp::Direction::kOutbound, mine);
    in_ =
        srtp::Session::create(srtp::Suite::kAesCm128HmacSha1_80, srtp::Direction::kInbound, theirs);
  }
  // Sends to another port of the mixer from now on (a re-INVITE moved the call's media).
  void retarget(uint16_t mixerPort) { mixer_.sin_port = htons(mixerPort); }
  // Sends the last packet again, byte for byte (a replay).
  void replayLast() {
    ::sendto(fd_, last_.data(), last_.size(), 0, reinterpret_cast<sockaddr*>(&mixer_),
             sizeof(mixer_));
  }

  void sendFrame() {
    std::vector<int16_t> pcm(mixer::frameSamples(codec_));
    tone_.fill(pcm);
    std::vector<uint8_t> payload(mixer::kMaxEncodedBytes);
    payload.resize(encoder_.encode(pcm, payload));
    rtp::RtpHeader h;
    h.payloadType = pt_;
    h.sequenceNumber = seq_++;
    h.timestamp = ts_;
    h.ssrc = ssrc();
    ts_ += mixer::frameTicks(codec_);
    sendPacket(h, payload);
  }
  // The phone starts a new RTP source, as phones do on resume, transfer or restart (RFC 3550
  // §8.2): another SSRC, its own random-looking sequence number and timestamp, and a new tone.
  void newSource(double toneHz) {
    ssrcOffset_ += 0x01000000u;
    seq_ = static_cast<uint16_t>(seq_ + 20000);
    ts_ += 3'000'000u;
    tone_ = SineGenerator(toneHz, toneHz > 0 ? 8000.0 : 0.0, mixer::pcmRate(codec_));
  }
  // One packet of an RFC 4733 key press: index 0 starts it, 3 and later mark its end. Stamped
  // with the event's start, on the audio's clock (RFC 4733 §2.3.4).
  void sendDigit(uint8_t digit, int index) {
    if (index == 0) {
      eventTs_ = ts_;
    }
    rtp::TelephoneEvent event{digit, index >= 3, 10, static_cast<uint16_t>(160 * (index + 1))};
    std::array<uint8_t, 4> payload{};
    rtp::writeTelephoneEvent(payload, event);
    rtp::RtpHeader h;
    h.payloadType = 101;
    h.marker = index == 0;
    h.sequenceNumber = seq_++;
    h.timestamp = eventTs_;
    h.ssrc = ssrc();
    sendPacket(h, payload);
  }
  // An RTCP receiver report (RFC 3550 §6.4.2) on what the mixer sends from 'mixerSsrc': this
  // fraction lost (8-bit fixed point), everything else zero. Plain RTCP: not for SRTP calls.
  void sendReceiverReport(uint32_t mixerSsrc, uint8_t fractionLost) {
    rtp::ReportBlock block;
    block.ssrc = mixerSsrc;
    block.fractionLost = fractionLost;
    std::vector<uint8_t> packet(1500);
    const std::size_t length = rtp::writeReceiverReportCompound(
        packet, ssrc(), std::span<const rtp::ReportBlock>(&block, 1), "phone@127.0.0.1");
    ::sendto(fd_, packet.data(), length, 0, reinterpret_cast<sockaddr*>(&mixer_), sizeof(mixer_));
  }
  // Takes everything that has arrived, without waiting.
  void receiveAll() {
    std::vector<uint8_t> buffer(1500);
    for (;;) {
      const auto n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) {
        return;
      }
      std::size_t length = static_cast<std::size_t>(n);
      if (rtp::classifyPacket(std::span<const uint8_t>(buffer).first(length)) ==
          rtp::PacketKind::kRtcp) {
        rtcp.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(length));
        continue;
      }
      if (in_ && !in_->unprotectRtp(buffer, length)) {
        ++undecryptable;
        continue;
      }
      auto packet = rtp::RtpPacket::parse(std::span<uint8_t>(buffer).first(length));
      if (!packet) {
        continue;
      }
      Arrival arrival{packet->ssrc(), packet->sequenceNumber(), packet->timestamp()};
      if (codec_ == mixer::Codec::kOpus && !packet->payload().empty()) {
        arrival.opusCelt =
            codec::parseToc(packet->payload()[0]).mode() == codec::OpusMode::Celt;
        arrival.opusLbrr = codec::opusHasLbrr(packet->payload());
      }
      arrived.push_back(arrival);
      if (packet->payloadType() != pt_) {
        continue;
      }
      std::vector<int16_t> pcm(mixer::frameSamples(codec_));
      if (decoder_.decode(packet->payload(), pcm)) {
        heard.insert(heard.end(), pcm.begin(), pcm.end());
      }
    }
  }
  // The last 'frames' frames heard.
  [[nodiscard]] std::span<const int16_t> recent(std::size_t frames) const {
    const std::size_t n = std::min(heard.size(), frames * mixer::frameSamples(codec_));
    return std::span<const int16_t>(heard).last(n);
  }

  [[nodiscard]] uint32_t ssrc() const {
    return 0xC0FFEE00u + pt_ + static_cast<uint32_t>(fd_) + ssrcOffset_;
  }
  // What the phone's SDP would tell the mixer: where it sends from, the only address allowed to
  // latch (so the mixer latches at its first packet).
  void describe(mixer::MediaParams& params) const {
    sockaddr_storage self{};
    socklen_t length = sizeof(self);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&self), &length);
    params.endpoint.remoteRtp = self;
    reinterpret_cast<sockaddr_in&>(self).sin_port = 0;
    params.endpoint.latchSources = {self};
  }
  [[nodiscard]] uint8_t payloadType() const { return pt_; }
  [[nodiscard]] int rate() const { return mixer::pcmRate(codec_); }
  [[nodiscard]] mixer::Codec codec() const { return codec_; }

  std::vector<int16_t> heard;
  // Every RTP packet that arrived (and, with SRTP, authenticated), in order.
  struct Arrival {
    uint32_t ssrc;
    uint16_t sequence;
    uint32_t timestamp;
    bool opusCelt = false;  // Opus only: the packet's mode, and whether it carries in-band FEC
    bool opusLbrr = false;
  };
  std::vector<Arrival> arrived;
  std::vector<std::vector<uint8_t>> rtcp;
  int undecryptable = 0;

 private:
  void sendPacket(const rtp::RtpHeader& h, std::span<const uint8_t> payload) {
    std::vector<uint8_t> packet(1500);
    std::size_t length = rtp::writeRtpPacket(packet, h, payload);
    if (out_) {
      out_->protectRtp(packet, length);
    }
    packet.resize(length);
    last_ = packet;
    ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&mixer_),
             sizeof(mixer_));
  }

  mixer::Codec codec_;
  uint8_t pt_;
  mixer::AudioEncoder encoder_;
  mixer::AudioDecoder decoder_;
  SineGenerator tone_;
  int fd_;
  sockaddr_in mixer_{};
  uint16_t seq_ = 1;
  uint32_t ts_ = 1000;
  uint32_t eventTs_ = 0;
  uint32_t ssrcOffset_ = 0;
  std::optional<srtp::Session> out_;
  std::optional<srtp::Session> in_;
  std::vector<uint8_t> last_;
};

// Every event the mixer delivers, in order of arrival.
struct RecordingEvents final : mixer::MixerEvents {
  using Clock = std::chrono::steady_clock;
  struct Ended {
    mixer::MixId mix;
    mixer::MediaFileEnd how;
    Clock::time_point when;
    [[nodiscard]] std::pair<mixer::MixId, mixer::MediaFileEnd> what() const { return {mix, how}; }
  };

  void onDtmf(mixer::EndpointId endpoint, char digit) override {
    digits.emplace_back(endpoint, digit);
  }
  void onRtpTimeout(mixer::EndpointId endpoint) override { timeouts.push_back(endpoint); }
  void onEndpointFailed(mixer::EndpointId endpoint) override { failed.push_back(endpoint); }
  void onEndpointRelocated(mixer::EndpointId endpoint, const mixer::Reservation& where) override {
    relocated.push_back(where);
    relocated.back().id = endpoint;
  }
  void onTalking(mixer::EndpointId endpoint, bool talking) override {
    talkingChanges.emplace_back(endpoint, talking);
  }
  void onPlaybackEnded(mixer::MixId mix, mixer::MediaFileEnd how) override {
    playbacks.push_back({mix, how, Clock::now()});
  }
  void onRecordingEnded(mixer::MixId mix, mixer::MediaFileEnd how) override {
    recordings.push_back({mix, how, Clock::now()});
  }
  void onMixerFault(mixer::EndpointId endpoint,
                    mixer::MixId /*mix*/,
                    const std::string& what) override {
    faults.emplace_back(endpoint, what);
  }

  std::vector<std::pair<mixer::EndpointId, char>> digits;
  std::vector<mixer::EndpointId> timeouts;
  std::vector<mixer::EndpointId> failed;
  std::vector<mixer::Reservation> relocated;  // under the endpoint's id, with its new ports
  std::vector<std::pair<mixer::EndpointId, bool>> talkingChanges;
  std::vector<Ended> playbacks;
  std::vector<Ended> recordings;
  std::vector<std::pair<mixer::EndpointId, std::string>> faults;
};

// Delivers a mixer's events as the focus would (when its descriptor is readable) until 'done' or
// the timeout; true when 'done' came.
inline bool pumpUntil(mixer::Control& mixer,
                      RecordingEvents& events,
                      const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    pollfd p{mixer.eventFd(), POLLIN, 0};
    if (::poll(&p, 1, 20) == 1) {
      mixer.deliverEvents(events);
    }
  }
  return true;
}

// A mixer on 127.0.0.1 with its own port range, so tests running side by side do not meet.
inline mixer::MixerSettings loopbackMixer(mixer::PortRange ports, unsigned threads = 1) {
  mixer::MixerSettings settings;
  settings.threads = threads;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  settings.ports = ports;
  return settings;
}

// What negotiation would give a participant sending 'codec' as 'payloadType'; 'ssrc' is the SSRC
// the mixer sends them.
inline mixer::MediaParams mediaParams(mixer::Codec codec,
                                      uint8_t payloadType,
                                      uint32_t ssrc,
                                      std::optional<uint8_t> telephoneEvents = 101) {
  mixer::MediaParams params;
  params.participant.codec = codec;
  params.participant.payloadType = payloadType;
  params.participant.ssrc = ssrc;
  params.participant.telephoneEventPayloadType = telephoneEvents;
  return params;
}

}  // namespace confab::test
