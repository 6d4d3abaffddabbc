// The mixer control protocol's lines: every message survives serialize -> parse -> serialize
// unchanged, the fields that matter arrive intact, and bad input is an error value naming the
// problem (and the request, when its id could be read).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mixer/remote/Protocol.hpp"

namespace confab::mixer::remote {
namespace {

using ::testing::HasSubstr;

sockaddr_storage v4(const char* address, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &in.sin_addr);
  sockaddr_storage out{};
  std::memcpy(&out, &in, sizeof(in));
  return out;
}

sockaddr_storage v6(const char* address, uint16_t port) {
  sockaddr_in6 in{};
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(port);
  ::inet_pton(AF_INET6, address, &in.sin6_addr);
  sockaddr_storage out{};
  std::memcpy(&out, &in, sizeof(in));
  return out;
}

// Everything unlike its default.
MediaParams fullMedia() {
  MediaParams m;
  m.participant.codec = Codec::kPcma;
  m.participant.payloadType = 8;
  m.participant.telephoneEventPayloadType = 101;
  m.participant.comfortNoisePayloadType = 13;
  m.participant.audioLevelId = 1;
  m.participant.csrcLevelsId = 2;
  m.participant.ssrc = 0xDEADBEEF;
  m.participant.controls = Controls{.muted = true, .deaf = true, .gain = 0.5F};
  m.participant.noiseSuppression = true;
  m.participant.automaticGain = true;
  m.endpoint.rtcpMux = true;
  SrtpKeys keys;
  keys.suite = srtp::Suite::kAeadAes128Gcm;
  for (uint8_t i = 0; i < 28; ++i) {
    keys.localKeySalt.push_back(i);
    keys.remoteKeySalt.push_back(static_cast<uint8_t>(0xFF - i));
  }
  m.endpoint.srtp = keys;
  m.endpoint.remoteRtp = v4("192.0.2.7", 4000);
  m.endpoint.remoteRtcp = v6("2001:db8::9", 4001);
  m.endpoint.latchSources = {v4("192.0.2.7", 0), v6("2001:db8::9", 0)};
  m.sending = false;
  m.receiving = false;
  return m;
}

// One of every message, with values unlike the defaults.
std::vector<Message> everyMessage() {
  RoomSettings room;
  room.maxTalkers = 3;
  room.opusBitrate = 24000;
  room.silentLevel = 50;
  room.talkerStickinessDb = 4.5F;
  room.talkerOpusComplexity = 3;
  room.listenerOpusComplexity = 7;
  room.talkerOpusCeltOnly = false;
  room.plainListenerOpusComplexity = 4;
  room.plainListenerOpusCeltOnly = false;
  room.quietListenerDbov = -60.0F;
  MediaStats media;
  media.packetsReceived = 1;
  media.packetsDropped = 2;
  media.framesDecoded = 3;
  media.framesConcealed = 4;
  media.packetsSent = 5;
  media.packetsLate = 21;
  media.packetsDuplicate = 22;
  media.packetsMalformed = 23;
  media.packetsUnauthenticated = 24;
  media.packetsRefused = 25;
  media.packetsNotMedia = 26;
  media.talking = true;
  media.quality = {6, 7, 8, -9, 10, 11};
  MixStats mix{12, 13, true, true};
  EngineThreadStats thread{14, 15.5, 16.25, 17.125, 0.5, 18};
  return {
      Hello{1, "192.0.2.1", std::string(64, 'a'), std::string(64, 'b')},
      Challenge{std::string(64, 'c')},
      Authenticate{std::string(64, 'd')},
      CreateMix{1, 7, room},
      DestroyMix{2, 7},
      Reserve{3},
      Join{4, 11, 7, fullMedia()},
      Update{5, 11, fullMedia()},
      Move{20, 11, 4},
      Release{6, 11},
      SetControls{7, 11, Controls{.muted = true, .deaf = true, .gain = 2.5F}},
      StartRecording{10, 7, "/var/rec/room 7.ogg", RecordingFormat::kOggOpus},
      StopRecording{11, 7},
      Play{12, 7, "/srv/hold \"music\".wav"},
      StopPlaying{13, 7},
      Ok{14},
      Reserved{15, 11, 20002},
      Failed{16, "no media ports free"},
      DtmfEvent{11, '#'},
      RtpTimeoutEvent{11},
      EndpointFailedEvent{11},
      TalkingEvent{11, true},
      SourceEvent{11, MediaSourceEvent{false, "[2001:db8::9]:4001", 27}},
      PlaybackEndedEvent{7, MediaFileEnd::kStopped},
      RecordingEndedEvent{7, MediaFileEnd::kError},
      MixStatsEvent{7, mix},
      EndpointStatsEvent{11, media},
      EngineStatsEvent{{thread, EngineThreadStats{}}},
  };
}

TEST(MixerProtocol, EveryMessageRoundTrips) {
  const auto messages = everyMessage();
  ASSERT_EQ(messages.size(), std::variant_size_v<Message>);
  for (const auto& message : messages) {
    const std::string line = serialize(message);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per message: " << line;
    auto parsed = parse(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(parsed) << line << ": " << parsed.error().message;
    EXPECT_EQ((*parsed).index(), message.index()) << line;
    EXPECT_EQ(serialize(*parsed), line);
    EXPECT_EQ(requestIdOf(*parsed), requestIdOf(message));
  }
}

TEST(MixerProtocol, JoinCarriesTheWholeNegotiation) {
  auto parsed = parse(serialize(Join{4, 11, 7, fullMedia()}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& join = std::get<Join>(*parsed);
  EXPECT_EQ(join.id, 4U);
  EXPECT_EQ(join.endpoint, 11U);
  EXPECT_EQ(join.mix, 7U);
  const auto& p = join.media.participant;
  EXPECT_EQ(p.codec, Codec::kPcma);
  EXPECT_EQ(p.payloadType, 8);
  EXPECT_EQ(p.telephoneEventPayloadType, std::optional<uint8_t>(101));
  EXPECT_EQ(p.comfortNoisePayloadType, std::optional<uint8_t>(13));
  EXPECT_EQ(p.ssrc, 0xDEADBEEFU);
  EXPECT_TRUE(p.noiseSuppression && p.automaticGain);
  EXPECT_EQ(p.controls, (Controls{.muted = true, .deaf = true, .gain = 0.5F}));
  const auto& e = join.media.endpoint;
  EXPECT_TRUE(e.rtcpMux);
  ASSERT_TRUE(e.srtp);
  EXPECT_EQ(e.srtp->suite, srtp::Suite::kAeadAes128Gcm);
  EXPECT_EQ(e.srtp->localKeySalt, fullMedia().endpoint.srtp->localKeySalt);
  EXPECT_EQ(e.srtp->remoteKeySalt, fullMedia().endpoint.srtp->remoteKeySalt);
  ASSERT_TRUE(e.remoteRtp && e.remoteRtcp);
  const MediaParams sent = fullMedia();
  EXPECT_EQ(std::memcmp(&*e.remoteRtp, &*sent.endpoint.remoteRtp, sizeof(sockaddr_in)), 0);
  EXPECT_EQ(std::memcmp(&*e.remoteRtcp, &*sent.endpoint.remoteRtcp, sizeof(sockaddr_in6)), 0);
  ASSERT_EQ(e.latchSources.size(), 2U);
  EXPECT_EQ(std::memcmp(&e.latchSources[0], &sent.endpoint.latchSources[0], sizeof(sockaddr_in)),
            0);
  EXPECT_EQ(std::memcmp(&e.latchSources[1], &sent.endpoint.latchSources[1], sizeof(sockaddr_in6)),
            0);
  EXPECT_FALSE(join.media.sending);
  EXPECT_FALSE(join.media.receiving);
}

TEST(MixerProtocol, PlainRtpAndNoAddressesAreNull) {
  MediaParams plain;
  const std::string line = serialize(Join{1, 2, 3, plain});
  EXPECT_THAT(line, HasSubstr("\"srtp\":null"));
  EXPECT_THAT(line, HasSubstr("\"remoteRtp\":null"));
  auto parsed = parse(line);
  ASSERT_TRUE(parsed);
  const auto& join = std::get<Join>(*parsed);
  EXPECT_FALSE(join.media.endpoint.srtp);
  EXPECT_FALSE(join.media.endpoint.remoteRtp);
  EXPECT_FALSE(join.media.participant.telephoneEventPayloadType);
}

TEST(MixerProtocol, AbsentSettingsTakeDefaultsAndUnknownFieldsAreIgnored) {
  // What a later version may send: fields this one does not know, fewer settings.
  auto parsed = parse(R"({"type":"join","id":9,"endpoint":1,"mix":2,"future":[1,2],)"
                      R"("media":{"participant":{"codec":"opus","payloadType":111},"endpoint":{}}})"
                      "\r");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& join = std::get<Join>(*parsed);
  EXPECT_EQ(join.media.participant.codec, Codec::kOpus);
  EXPECT_EQ(join.media.participant.controls, Controls{});
  EXPECT_TRUE(join.media.sending);
  auto mix = parse(R"({"type":"createMix","id":1,"mix":2})");
  ASSERT_TRUE(mix);
  EXPECT_EQ(std::get<CreateMix>(*mix).settings.maxTalkers, RoomSettings{}.maxTalkers);
}

TEST(MixerProtocol, SetControlsCarriesTheWholeStructAndAbsentFieldsTakeDefaults) {
  const std::string line = serialize(SetControls{3, 11, Controls{.muted = true, .gain = 0.25F}});
  EXPECT_THAT(line, HasSubstr(R"("controls":{"muted":true,"deaf":false,"gain":)"));
  auto parsed = parse(line);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& set = std::get<SetControls>(*parsed);
  EXPECT_EQ(set.endpoint, 11U);
  EXPECT_EQ(set.controls, (Controls{.muted = true, .gain = 0.25F}));
  // setControls replaces them all: what it leaves out is the default, not what was there.
  auto sparse = parse(R"({"type":"setControls","id":4,"endpoint":11,"controls":{"deaf":true}})");
  ASSERT_TRUE(sparse) << sparse.error().message;
  EXPECT_EQ(std::get<SetControls>(*sparse).controls, Controls{.deaf = true});
  // A join's participant settings carry the same object.
  MediaParams media;
  media.participant.controls.muted = true;
  EXPECT_THAT(serialize(Join{1, 2, 3, media}), HasSubstr(R"("controls":{"muted":true,)"));
}

struct Bad {
  std::string line;
  RequestId id;          // what the error names
  std::string contains;  // in its message
};

class MixerProtocolBad : public ::testing::TestWithParam<Bad> {};

TEST_P(MixerProtocolBad, IsAnErrorNamingTheProblem) {
  const Bad& bad = GetParam();
  auto parsed = parse(bad.line);
  ASSERT_FALSE(parsed) << bad.line << " parsed";
  EXPECT_EQ(parsed.error().id, bad.id) << bad.line;
  EXPECT_THAT(parsed.error().message, HasSubstr(bad.contains)) << bad.line;
}

INSTANTIATE_TEST_SUITE_P(
    Lines,
    MixerProtocolBad,
    ::testing::Values(
        Bad{"", 0, "not JSON"},
        Bad{"{\"type\":\"reserve\",\"id\":1", 0, "not JSON"},
        Bad{"[1,2,3]", 0, "not a JSON object"},
        Bad{"\"reserve\"", 0, "not a JSON object"},
        Bad{R"({"id":3})", 3, "'type'"},
        Bad{R"({"type":7,"id":3})", 3, "'type'"},
        Bad{R"({"type":"explode","id":4})", 4, "unknown message type \"explode\""},
        Bad{R"({"type":"reserve"})", 0, "'id': missing"},
        Bad{R"({"type":"reserve","id":0})", 0, "'id': must not be 0"},
        Bad{R"({"type":"reserve","id":-1})", 0, "'id': expected an unsigned integer"},
        Bad{R"({"type":"reserve","id":1.5})", 0, "'id': expected an unsigned integer"},
        Bad{R"({"type":"reserve","id":"1"})", 0, "'id'"},
        Bad{R"({"type":"hello"})", 0, "'version': missing"},
        Bad{R"({"type":"destroyMix","id":5})", 5, "'mix': missing"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":{"muted":"yes"}})", 5,
            "'controls.muted': expected true or false"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1})", 5, "'controls': missing"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":null})", 5, "'controls'"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":true})", 5,
            "'controls': expected an object"},
        Bad{R"({"type":"setControls","id":5,"controls":{}})", 5, "'endpoint': missing"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":{"gain":1000}})", 5,
            "'controls.gain'"},
        // The one gain range, mixer::kMaxGain (issue 10 item 12): above 4 is refused here too.
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":{"gain":4.5}})", 5,
            "'controls.gain': must be between"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":{"gain":-1}})", 5,
            "'controls.gain'"},
        Bad{R"({"type":"setControls","id":5,"endpoint":1,"controls":{"gain":"loud"}})", 5,
            "'controls.gain': expected a number"},
        // Version 1's requests are gone: a peer still sending them is refused, not half-obeyed.
        Bad{R"({"type":"setMuted","id":5,"endpoint":1,"muted":true})", 5,
            "unknown message type \"setMuted\""},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0,"controls":{"gain":9}},"endpoint":{}}})",
            6, "'media.participant.controls.gain'"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2})", 6, "'media': missing"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"endpoint":{}}})", 6,
            "'media.participant': missing"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"g729","payloadType":18},"endpoint":{}}})",
            6, "'media.participant.codec': unknown value \"g729\""},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":128},"endpoint":{}}})",
            6, "'media.participant.payloadType': above 127"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0},"endpoint":{"srtp":{"suite":)"
            R"("AES_CM_128_HMAC_SHA1_80","localKeySalt":"0g","remoteKeySalt":"00"}}}})",
            6, "'media.endpoint.srtp.localKeySalt': expected hexadecimal"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0},"endpoint":{"srtp":{"suite":"NULL",)"
            R"("localKeySalt":"00","remoteKeySalt":"00"}}}})",
            6, "'media.endpoint.srtp.suite'"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0},"endpoint":{"remoteRtp":"example.com:5004"}}})",
            6, "'media.endpoint.remoteRtp'"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0},"endpoint":{"remoteRtp":"192.0.2.1:70000"}}})",
            6, "'media.endpoint.remoteRtp'"},
        Bad{R"({"type":"join","id":6,"endpoint":1,"mix":2,"media":{"participant":)"
            R"({"codec":"pcmu","payloadType":0},"endpoint":{"remoteRtp":"[::1:5004"}}})",
            6, "'media.endpoint.remoteRtp'"},
        Bad{R"({"type":"createMix","id":8,"mix":1,"settings":{"opusBitrate":1}})", 8,
            "'settings.opusBitrate'"},
        Bad{R"({"type":"startRecording","id":9,"mix":1,"path":"/x","format":"mp3"})", 9,
            "'format'"},
        Bad{R"({"type":"play","id":9,"mix":1})", 9, "'path': missing"},
        Bad{R"({"type":"dtmf","endpoint":1,"digit":"X"})", 0, "'digit'"},
        Bad{R"({"type":"dtmf","endpoint":1,"digit":"12"})", 0, "'digit'"},
        Bad{R"({"type":"recordingEnded","mix":1,"how":"maybe"})", 0, "'how'"},
        Bad{R"({"type":"endpointStats","endpoint":1,"stats":{"quality":)"
            R"({"theirCumulativeLost":99999999}}})",
            0, "'stats.quality.theirCumulativeLost'"},
        Bad{R"({"type":"engineStats","threads":[1]})", 0, "'threads'"},
        Bad{R"({"type":"engineStats","threads":[{"cpuSeconds":-1}]})", 0,
            "'threads[0].cpuSeconds'"},
        Bad{R"({"type":"reserve","id":1,"x":[[[[[[[[[[1]]]]]]]]]]})", 0, "not JSON"}));

TEST(MixerProtocol, OverlongLineIsRefusedUnread) {
  std::string line = R"({"type":"failed","id":1,"message":")";
  line += std::string(kMaxLineBytes, 'x');
  line += "\"}";
  auto parsed = parse(line);
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("longer than"));
}

TEST(MixerProtocol, NonFiniteMeasurementsGoOutAsZero) {
  EngineThreadStats t;
  t.latenessP99Micros = std::numeric_limits<double>::quiet_NaN();
  t.cpuSeconds = std::numeric_limits<double>::infinity();
  auto parsed = parse(serialize(EngineStatsEvent{{t}}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(std::get<EngineStatsEvent>(*parsed).threads.at(0).latenessP99Micros, 0.0);
  EXPECT_EQ(std::get<EngineStatsEvent>(*parsed).threads.at(0).cpuSeconds, 0.0);
}

}  // namespace
}  // namespace confab::mixer::remote
