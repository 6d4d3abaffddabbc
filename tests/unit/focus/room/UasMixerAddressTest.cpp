// A mixer that knows where its ports are reachable (a confab-mixer on another machine says so in
// Reservation::address) decides the SDP c= line; a mixer that does not leaves it to the focus.
#include <gtest/gtest.h>

#include "tests/unit/focus/room/UasHarness.hpp"

namespace confab::test {
namespace {

// The real in-process mixer, reporting 'address' with every reservation as a remote one would.
class AddressedMixer final : public mixer::Control {
 public:
  AddressedMixer(mixer::Control& inner, std::string address)
      : inner_(inner), address_(std::move(address)) {}
  mixer::MixId createMix(const mixer::RoomSettings& s) override { return inner_.createMix(s); }
  void destroyMix(mixer::MixId mix) override { inner_.destroyMix(mix); }
  std::optional<mixer::Reservation> reserve() override {
    auto r = inner_.reserve();
    if (r) {
      r->address = address_;
    }
    return r;
  }
  bool join(mixer::EndpointId e, mixer::MixId mix, const mixer::MediaParams& p) override {
    return inner_.join(e, mix, p);
  }
  bool update(mixer::EndpointId e, const mixer::MediaParams& p) override {
    return inner_.update(e, p);
  }
  bool move(mixer::EndpointId e, mixer::MixId m) override { return inner_.move(e, m); }
  void release(mixer::EndpointId e) override { inner_.release(e); }
  void setControls(mixer::EndpointId e, const mixer::Controls& c) override {
    inner_.setControls(e, c);
  }
  bool startRecording(mixer::MixId mix,
                      const std::string& path,
                      mixer::RecordingFormat format) override {
    return inner_.startRecording(mix, path, format);
  }
  void stopRecording(mixer::MixId mix) override { inner_.stopRecording(mix); }
  bool play(mixer::MixId mix, const std::string& path) override { return inner_.play(mix, path); }
  void stopPlaying(mixer::MixId mix) override { inner_.stopPlaying(mix); }
  [[nodiscard]] std::optional<mixer::MixStats> mixStats(mixer::MixId mix) const override {
    return inner_.mixStats(mix);
  }
  [[nodiscard]] std::optional<mixer::MediaStats> endpointStats(mixer::EndpointId e) const override {
    return inner_.endpointStats(e);
  }
  [[nodiscard]] std::vector<mixer::EngineThreadStats> engineStats() const override {
    return inner_.engineStats();
  }
  [[nodiscard]] int eventFd() const override { return inner_.eventFd(); }
  void deliverEvents(mixer::MixerEvents& events) override { inner_.deliverEvents(events); }

 private:
  mixer::Control& inner_;
  std::string address_;
};

// UasHarness's pieces around an AddressedMixer.
class AddressedFocus {
 public:
  AddressedFocus(std::string mixerAddress, room::UasSettings settings = {})
      : mixer_(mixerSettings()),
        addressed_(mixer_, std::move(mixerAddress)),
        layer_(wire, timers, txn::Settings{}, uas_),
        uas_(&layer_, timers, rooms, addressed_, std::move(settings)) {
    uas_.attach(layer_);
    rooms.put(policy::Room{"1000", "Room 1000", 0});
    source.protocol = transport::Protocol::kUdp;
    source.remote = {boost::asio::ip::make_address("127.0.0.1"), 5070};
    source.local = {boost::asio::ip::make_address("127.0.0.1"), 5060};
  }
  std::string answerTo(const std::string& invite) {
    auto parsed = sip::parseMessage(invite, true);
    layer_.receiveRequest(std::get<sip::Message>(std::move(parsed)), source);
    if (wire.responses.empty() || wire.responses.back().first.status != 200) {
      ADD_FAILURE() << "no 200";
      return {};
    }
    return wire.responses.back().first.body;
  }

  RecordingWire wire;
  timer::ManualTimers timers;
  policy::Directory rooms;
  transport::Source source;

 private:
  static mixer::MixerSettings mixerSettings() {
    mixer::MixerSettings s;
    s.threads = 1;
    s.bindAddress = boost::asio::ip::make_address("127.0.0.1");
    s.ports = {41600, 41699};
    return s;
  }
  mixer::InProcessMixer mixer_;
  AddressedMixer addressed_;
  txn::TransactionLayer layer_;
  room::Uas uas_;
};

TEST(UasAddresses, RemoteMixerAddressWinsForMedia) {
  room::UasSettings settings;
  settings.mediaAddress = "198.51.100.7";  // ours; the mixer's ports are elsewhere
  AddressedFocus focus("203.0.113.9", settings);
  const std::string body = focus.answerTo(request("INVITE", "ra1", 1, "ra1", {}, {}, kOfferPcmu));
  EXPECT_NE(body.find("c=IN IP4 203.0.113.9"), std::string::npos) << body;
}

TEST(UasAddresses, MixerWithoutAddressLeavesItToTheFocus) {
  AddressedFocus focus("");
  const std::string body = focus.answerTo(request("INVITE", "ra2", 1, "ra2", {}, {}, kOfferPcmu));
  EXPECT_NE(body.find("c=IN IP4 127.0.0.1"), std::string::npos) << body;
}

}  // namespace
}  // namespace confab::test
