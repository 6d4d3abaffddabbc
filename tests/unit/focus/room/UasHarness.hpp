// A focus without sockets: a Wire that records what would be sent, manual time, real parser,
// real transaction layer, real rooms and real bound RTP ports.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "focus/room/Uas.hpp"
#include "focus/sip/Parser.hpp"
#include "focus/sip/Response.hpp"
#include "focus/timer/Timers.hpp"
#include "focus/txn/TransactionLayer.hpp"
#include "mixer/engine/InProcessMixer.hpp"

namespace confab::test {

class RecordingWire final : public txn::Wire {
 public:
  void sendResponse(const sip::Message& response, const transport::Source& to) override {
    responses.emplace_back(reparse(response), to);
  }
  void sendRequest(const sip::Message& request, const transport::Destination& to) override {
    requests.emplace_back(reparse(request), to);
  }
  [[nodiscard]] transport::SentBy sentBy(transport::Protocol) const override {
    return transport::SentBy{"UDP", "127.0.0.1", 5060};
  }
  // Everything we send must go through our own parser: the wire form is what peers see.
  static sip::Message reparse(const sip::Message& m) {
    auto parsed = sip::parseMessage(m.serialize(), true);
    if (auto* failure = std::get_if<sip::ParseFailure>(&parsed)) {
      ADD_FAILURE() << "we sent something we cannot parse: " << failure->error.reason << "\n"
                    << m.serialize();
      return m;
    }
    return std::get<sip::Message>(std::move(parsed));
  }
  std::vector<std::pair<sip::Message, transport::Source>> responses;
  std::vector<std::pair<sip::Message, transport::Destination>> requests;
};

// The real mixer, with the requests that change a leg's mix or controls noted on the way: what
// the focus asked of it is seen, not only what the mixer did with it.
class MixerTap final : public mixer::Control {
 public:
  explicit MixerTap(mixer::Control& mixer) : mixer_(mixer) {}
  mixer::MixId createMix(const mixer::RoomSettings& settings) override {
    return mixer_.createMix(settings);
  }
  mixer::MixId createMixBeside(const mixer::RoomSettings& settings, mixer::MixId near) override {
    return mixer_.createMixBeside(settings, near);
  }
  void destroyMix(mixer::MixId mix) override { mixer_.destroyMix(mix); }
  [[nodiscard]] bool canMove(mixer::EndpointId endpoint, mixer::MixId mix) const override {
    return mixer_.canMove(endpoint, mix);
  }
  std::optional<mixer::Reservation> reserve() override { return mixer_.reserve(); }
  std::optional<mixer::Reservation> relocate(mixer::EndpointId endpoint,
                                             mixer::MixId mix) override {
    return mixer_.relocate(endpoint, mix);
  }
  std::optional<mixer::Reservation> reserveFor(mixer::MixId mix) override {
    return mixer_.reserveFor(mix);
  }
  bool join(mixer::EndpointId endpoint,
            mixer::MixId mix,
            const mixer::MediaParams& params) override {
    return mixer_.join(endpoint, mix, params);
  }
  bool update(mixer::EndpointId endpoint, const mixer::MediaParams& params) override {
    return mixer_.update(endpoint, params);
  }
  bool move(mixer::EndpointId endpoint, mixer::MixId mix) override {
    requests.push_back({endpoint, mix, std::nullopt});
    return mixer_.move(endpoint, mix);
  }
  void release(mixer::EndpointId endpoint) override { mixer_.release(endpoint); }
  void setControls(mixer::EndpointId endpoint, const mixer::Controls& controls) override {
    requests.push_back({endpoint, 0, controls});
    mixer_.setControls(endpoint, controls);
  }
  bool startRecording(mixer::MixId mix,
                      const std::string& path,
                      mixer::RecordingFormat format) override {
    return mixer_.startRecording(mix, path, format);
  }
  void stopRecording(mixer::MixId mix) override { mixer_.stopRecording(mix); }
  bool play(mixer::MixId mix, const std::string& path) override { return mixer_.play(mix, path); }
  void stopPlaying(mixer::MixId mix) override { mixer_.stopPlaying(mix); }
  [[nodiscard]] std::optional<mixer::MixStats> mixStats(mixer::MixId mix) const override {
    return mixer_.mixStats(mix);
  }
  [[nodiscard]] std::optional<mixer::MediaStats> endpointStats(
      mixer::EndpointId endpoint) const override {
    return mixer_.endpointStats(endpoint);
  }
  [[nodiscard]] std::vector<mixer::EngineThreadStats> engineStats() const override {
    return mixer_.engineStats();
  }
  [[nodiscard]] bool ready() const override { return mixer_.ready(); }
  [[nodiscard]] int eventFd() const override { return mixer_.eventFd(); }
  void deliverEvents(mixer::MixerEvents& events) override { mixer_.deliverEvents(events); }

  // A move (to 'mix') or a setControls (with 'controls'), in the order asked.
  struct Request {
    mixer::EndpointId endpoint = 0;
    mixer::MixId mix = 0;
    std::optional<mixer::Controls> controls;
  };
  std::vector<Request> requests;

 private:
  mixer::Control& mixer_;
};

class UasHarness {
 public:
  explicit UasHarness(room::UasSettings settings = {},
                      transport::Protocol protocol = transport::Protocol::kUdp,
                      std::chrono::milliseconds rtpTimeout = std::chrono::seconds(60),
                      const policy::RoomSource* roomSource = nullptr)
      : mixer_(mixerSettings(rtpTimeout)),
        tap_(mixer_),
        layer_(wire, timers, txn::Settings{}, uas_),
        uas_(&layer_, timers, roomSource != nullptr ? *roomSource : rooms, tap_, settings) {
    uas_.attach(layer_);
    rooms.put(policy::Room{"1000", "Room 1000", 0});
    source.protocol = protocol;
    source.remote = {boost::asio::ip::make_address("127.0.0.1"), 5070};
    source.local = {boost::asio::ip::make_address("127.0.0.1"), 5060};
  }

  // Feeds raw bytes as one datagram, as the transport would: parse, answer parse failures.
  void receive(const std::string& bytes) {
    auto parsed = sip::parseMessage(bytes, true);
    if (auto* failure = std::get_if<sip::ParseFailure>(&parsed)) {
      if (failure->partial) {
        // Recorded as built: it echoes the peer's own (possibly malformed) headers.
        wire.responses.emplace_back(sip::errorResponse(*failure->partial, failure->error, "x"),
                                    source);
      }
      return;
    }
    auto& message = std::get<sip::Message>(parsed);
    if (message.isRequest()) {
      layer_.receiveRequest(std::move(message), source);
    } else {
      layer_.receiveResponse(std::move(message), source);
    }
  }

  // The status of the last response sent, or 0.
  int lastStatus() const { return wire.responses.empty() ? 0 : wire.responses.back().first.status; }
  const sip::Message& lastResponse() const { return wire.responses.back().first; }
  std::size_t countStatus(int status) const {
    std::size_t n = 0;
    for (const auto& [m, s] : wire.responses) {
      n += m.status == status ? 1 : 0;
    }
    return n;
  }

  txn::TransactionLayer& layer() { return layer_; }
  mixer::InProcessMixer& mixer() { return mixer_; }
  MixerTap& tap() { return tap_; }
  room::Uas& uas() { return uas_; }

  RecordingWire wire;
  timer::ManualTimers timers;
  policy::Directory rooms;
  transport::Source source;

 private:
  static mixer::MixerSettings mixerSettings(std::chrono::milliseconds rtpTimeout) {
    mixer::MixerSettings s;
    s.rtpTimeout = rtpTimeout;
    s.threads = 1;
    s.bindAddress = boost::asio::ip::make_address("127.0.0.1");
    s.ports = {41000, 41999};
    return s;
  }

  // The real mixer (one thread): calls reserve, join and release media in it.
  mixer::InProcessMixer mixer_;
  MixerTap tap_;
  // The layer outlives the UAS, as in Focus: calls point at transactions the layer owns.
  txn::TransactionLayer layer_;
  room::Uas uas_;
};

inline const char* kOfferPcmu =
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

// A request from the test peer at 127.0.0.1:5070. 'extra' is more header lines, each ending CRLF.
inline std::string request(const std::string& method,
                           const std::string& callId,
                           unsigned cseq,
                           const std::string& branch,
                           const std::string& toTag = {},
                           const std::string& extra = {},
                           const std::string& body = {},
                           const std::string& ruri = "sip:1000@127.0.0.1:5060") {
  std::string m = method + " " + ruri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK" + branch + ";rport\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: \"Tester\" <sip:tester@127.0.0.1:5070>;tag=peer-" + callId + "\r\n";
  m += "To: <sip:1000@127.0.0.1>" + (toTag.empty() ? std::string() : ";tag=" + toTag) + "\r\n";
  m += "Call-ID: " + callId + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " " + method + "\r\n";
  m += "Contact: <sip:tester@127.0.0.1:5070>\r\n";
  m += extra;
  if (!body.empty()) {
    m += "Content-Type: application/sdp\r\n";
  }
  m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return m;
}

// The peer's final answer to a request the focus sent it (a BYE, a NOTIFY): the request's Via,
// From, To, Call-ID and CSeq echoed (RFC 3261 §8.2.6.2).
inline std::string answerTo(const sip::Message& sent, int status) {
  std::string r = "SIP/2.0 " + std::to_string(status) + " Answer\r\n";
  for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    r += std::string(name) + ": " + *sent.header(name) + "\r\n";
  }
  return r + "Content-Length: 0\r\n\r\n";
}

// A call from the harness's peer into room 1000, answered and ACKed; returns our To tag.
inline std::string callIn(UasHarness& h, const std::string& callId) {
  h.receive(request("INVITE", callId, 1, "i" + callId, {}, {}, kOfferPcmu));
  EXPECT_EQ(h.lastStatus(), 200);
  const std::string tag = h.lastResponse().to()->tag();
  h.receive(request("ACK", callId, 1, "a" + callId, tag));
  return tag;
}

}  // namespace confab::test
