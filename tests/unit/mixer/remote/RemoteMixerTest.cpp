// RemoteMixer and ControlServer over real loopback TCP, with a real InProcessMixer behind the
// server: reservations come from the stock at once, a phone's DTMF and the stats pushes come
// back, a server that goes away fails the joined calls, a client that goes away frees its
// ports, and the server refuses a client that skips hello or speaks another version.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/media/WavFile.hpp"
#include "mixer/remote/ControlServer.hpp"
#include "mixer/remote/Handshake.hpp"
#include "mixer/remote/Protocol.hpp"
#include "mixer/remote/RemoteMixer.hpp"
#include "tests/unit/mixer/remote/MixerServer.hpp"
#include "tests/unit/mixer/AudioTestSupport.hpp"
#include "tests/unit/mixer/engine/LoopbackPhone.hpp"
#include "tests/unit/mixer/media/TempDir.hpp"

namespace confab::mixer::remote {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using test::LoopbackPhone;
using test::pumpUntil;
using test::RecordingEvents;
using test::MixerServer;
using test::clientSettings;

// 30 frames of 20 ms in real time, the 21st to 26th carrying RFC 4733 event 'digit'.
void sendFramesWithDigit(LoopbackPhone& phone, uint8_t digit) {
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    phone.sendFrame();
    if (i >= 20 && i < 26) {
      phone.sendDigit(digit, i - 20);
    }
    next += 20ms;
    std::this_thread::sleep_until(next);
  }
}

// What a PCMU caller that can press keys (RFC 4733) negotiates.
MediaParams pcmu() {
  return test::mediaParams(Codec::kPcmu, 0, 42);
}

TEST(MixerRemote, ReserveJoinDtmfAndStatsOverTcp) {
  MixerServer server({44000, 44099});
  ASSERT_FALSE(server.startError()) << server.startError().message();
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(mixer.waitUntilReady(5s, 4));
  EXPECT_TRUE(mixer.connected());
  EXPECT_TRUE(static_cast<const Control&>(mixer).ready()) << "what /readyz asks";

  const MixId mix = mixer.createMix(RoomSettings{});
  auto reservation = mixer.reserve();
  ASSERT_TRUE(reservation);
  EXPECT_GE(reservation->rtpPort, 44000);
  EXPECT_LE(reservation->rtpPort, 44099);
  EXPECT_EQ(reservation->address, "127.0.0.1");  // the server's media address
  ASSERT_TRUE(mixer.join(reservation->id, mix, pcmu()));
  EXPECT_FALSE(mixer.join(reservation->id, mix, pcmu())) << "joined twice";
  EXPECT_TRUE(mixer.endpointStats(reservation->id)) << "a joined endpoint has stats at once";

  LoopbackPhone phone(Codec::kPcmu, 0, 0, reservation->rtpPort);  // sends silence
  RecordingEvents events;
  sendFramesWithDigit(phone, 7);
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.digits.empty(); }));
  EXPECT_EQ(events.digits.front(), std::make_pair(reservation->id, '7'));

  // Stats pushes fill the caches the const calls answer from.
  ASSERT_TRUE(pumpUntil(mixer, events, [&] {
    auto media = mixer.endpointStats(reservation->id);
    auto room = mixer.mixStats(mix);
    return media && media->packetsReceived >= 30 && room && room->participants == 1 &&
           !mixer.engineStats().empty();
  }));
  EXPECT_EQ(mixer.engineStats().size(), 1U);
  EXPECT_FALSE(mixer.mixStats(mix + 100));
  EXPECT_TRUE(events.failed.empty());

  mixer.release(reservation->id);
  EXPECT_FALSE(mixer.endpointStats(reservation->id));
  mixer.destroyMix(mix);
  EXPECT_FALSE(mixer.mixStats(mix));
}

// Controls set through the client reach the room behind the server: A muted is not heard, B deaf
// hears nothing, and each setControls replaces the whole struct (unmuting A as it deafens B).
TEST(MixerRemote, SetControlsMutesAndDeafensOverTcp) {
  MixerServer server({44420, 44439});
  ASSERT_FALSE(server.startError()) << server.startError().message();
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(mixer.waitUntilReady(5s, 2));
  const MixId mix = mixer.createMix(RoomSettings{});
  auto ra = mixer.reserve(), rb = mixer.reserve();
  ASSERT_TRUE(ra && rb);
  LoopbackPhone a(Codec::kPcmu, 0, 1000, ra->rtpPort), b(Codec::kPcmu, 0, 1500, rb->rtpPort);
  ASSERT_TRUE(mixer.join(ra->id, mix, test::mediaParams(Codec::kPcmu, 0, 1)));
  ASSERT_TRUE(mixer.join(rb->id, mix, test::mediaParams(Codec::kPcmu, 0, 2)));
  RecordingEvents events;
  auto next = std::chrono::steady_clock::now();
  // 'frames' of real-time calling, both phones sending their tones and hearing the mix.
  auto talk = [&](int frames) {
    for (int i = 0; i < frames; ++i) {
      a.sendFrame();
      b.sendFrame();
      next += 20ms;
      std::this_thread::sleep_until(next);
      a.receiveAll();
      b.receiveAll();
      if (pollfd p{mixer.eventFd(), POLLIN, 0}; ::poll(&p, 1, 0) == 1) {
        mixer.deliverEvents(events);
      }
    }
  };
  talk(60);
  ASSERT_TRUE(test::hasTone(b.recent(30), 1000, 8000, -6)) << "B hears A";
  ASSERT_TRUE(test::hasTone(a.recent(30), 1500, 8000, -6)) << "A hears B";

  mixer.setControls(ra->id, Controls{.muted = true});
  talk(60);
  EXPECT_LT(test::toneDbov(b.recent(30), 1000, 8000), -45.0) << "B hears A, muted";
  EXPECT_TRUE(test::hasTone(a.recent(30), 1500, 8000, -6)) << "A, muted, still hears B";

  // The whole struct each time: unmuting A and deafening B are one request each.
  mixer.setControls(ra->id, Controls{});
  mixer.setControls(rb->id, Controls{.deaf = true});
  talk(60);
  EXPECT_LT(test::rmsDbov(b.recent(30)), -50.0) << "B, deaf, hears A";
  EXPECT_TRUE(test::hasTone(a.recent(30), 1500, 8000, -6)) << "A hears B, deaf";

  mixer.setControls(rb->id, Controls{});
  talk(60);
  EXPECT_TRUE(test::hasTone(b.recent(30), 1000, 8000, -6)) << "B hears A again";
  EXPECT_TRUE(events.failed.empty());
  mixer.release(ra->id);
  mixer.release(rb->id);
  mixer.destroyMix(mix);
}

TEST(MixerRemote, RefusedJoinComesBackAsEndpointFailed) {
  MixerServer server({44100, 44199});
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(mixer.waitUntilReady(5s, 2));
  const MixId mix = mixer.createMix(RoomSettings{});
  auto good = mixer.reserve();
  auto bad = mixer.reserve();
  ASSERT_TRUE(good && bad);
  MediaParams badKeys = pcmu();
  badKeys.endpoint.srtp = SrtpKeys{srtp::Suite::kAesCm128HmacSha1_80, {1, 2, 3}, {4, 5, 6}};
  ASSERT_TRUE(mixer.join(good->id, mix, pcmu()));
  ASSERT_TRUE(mixer.join(bad->id, mix, badKeys)) << "sent; the refusal comes later";
  RecordingEvents events;
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.failed.empty(); }));
  EXPECT_EQ(events.failed, std::vector<EndpointId>{bad->id});
  EXPECT_FALSE(mixer.update(bad->id, pcmu())) << "a failed endpoint takes no updates";
  EXPECT_TRUE(mixer.update(good->id, pcmu()));

  // A recording the mixer cannot write ends with an error, whether refused or failed later.
  ASSERT_TRUE(mixer.startRecording(mix, "/nonexistent-dir/confab/rec.wav", RecordingFormat::kWav));
  EXPECT_FALSE(mixer.startRecording(mix, "/tmp/x.wav", RecordingFormat::kWav)) << "recording";
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.recordings.empty(); }));
  EXPECT_EQ(events.recordings.front().what(), std::make_pair(mix, MediaFileEnd::kError));
  EXPECT_FALSE(mixer.startRecording(mix + 100, "/tmp/x.wav", RecordingFormat::kWav));
  EXPECT_FALSE(mixer.join(good->id + 1000, mix, pcmu())) << "never reserved";
}

TEST(MixerRemote, ServerGoneFailsJoinedCallsAndReconnectRestoresMixes) {
  auto server = std::make_unique<MixerServer>(PortRange{44200, 44299});
  const uint16_t controlPort = server->port();
  RemoteMixer mixer(clientSettings(server->endpoint()));
  ASSERT_TRUE(mixer.waitUntilReady(5s, 4));
  const MixId mix = mixer.createMix(RoomSettings{});
  auto joined = mixer.reserve();
  auto waiting = mixer.reserve();  // reserved, never joined
  ASSERT_TRUE(joined && waiting);
  ASSERT_TRUE(mixer.join(joined->id, mix, pcmu()));
  RecordingEvents events;
  // The join is through before the server goes (its stats arrive).
  ASSERT_TRUE(pumpUntil(mixer, events, [&] {
    auto stats = mixer.mixStats(mix);
    return stats && stats->participants == 1;
  }));

  server.reset();
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.failed.empty(); }));
  EXPECT_EQ(events.failed, std::vector<EndpointId>{joined->id}) << "only calls with media fail";
  EXPECT_FALSE(mixer.connected());
  EXPECT_FALSE(static_cast<const Control&>(mixer).ready()) << "/readyz says 503 now";
  EXPECT_FALSE(mixer.reserve()) << "no stock from a server that is gone";
  EXPECT_FALSE(mixer.join(waiting->id, mix, pcmu())) << "reserved on the old connection";
  mixer.release(joined->id);
  mixer.release(waiting->id);

  // A mixer back on the same port: the client reconnects and re-creates the mix in use.
  server = std::make_unique<MixerServer>(PortRange{44200, 44299}, controlPort);
  ASSERT_FALSE(server->startError()) << server->startError().message();
  ASSERT_TRUE(mixer.waitUntilReady(5s, 4));
  auto again = mixer.reserve();
  ASSERT_TRUE(again);
  ASSERT_TRUE(mixer.join(again->id, mix, pcmu()));
  ASSERT_TRUE(pumpUntil(mixer, events, [&] {
    auto stats = mixer.mixStats(mix);
    return stats && stats->participants == 1;
  }));
  EXPECT_EQ(events.failed.size(), 1U);
}

TEST(MixerRemote, ClientGoneFreesItsPorts) {
  // Room for two endpoints only.
  MixerServer server({44300, 44303});
  {
    RemoteMixer first(clientSettings(server.endpoint(), 2));
    ASSERT_TRUE(first.waitUntilReady(5s, 2));
    const MixId mix = first.createMix(RoomSettings{});
    auto r = first.reserve();
    ASSERT_TRUE(r);
    ASSERT_TRUE(first.join(r->id, mix, pcmu()));
    EXPECT_FALSE(first.waitUntilReady(300ms, 2)) << "the pool is empty";
  }
  // The server releases everything the first client held when its connection closes.
  RemoteMixer second(clientSettings(server.endpoint(), 2));
  EXPECT_TRUE(second.waitUntilReady(5s, 2));
  EXPECT_EQ(server.connections(), 1U);
}

TEST(MixerRemote, NoServerMeansNoReservations) {
  // A port nobody listens on: take one from the kernel and close it.
  uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  RemoteMixer mixer(clientSettings({asio::ip::make_address_v4("127.0.0.1"), port}));
  EXPECT_FALSE(mixer.waitUntilReady(200ms));
  EXPECT_FALSE(mixer.connected());
  EXPECT_FALSE(mixer.reserve());
  const MixId mix = mixer.createMix(RoomSettings{});
  EXPECT_TRUE(mixer.mixStats(mix));
  EXPECT_FALSE(mixer.join(1, mix, pcmu()));
  RecordingEvents events;
  ASSERT_TRUE(mixer.play(mix, "/tmp/hold.wav")) << "sent when it can be";
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.playbacks.empty(); }));
  EXPECT_EQ(events.playbacks.front().what(), std::make_pair(mix, MediaFileEnd::kError));
}

TEST(MixerRemote, EndsOfReplacedOrStoppedFilesDoNotClearWhatRunsNow) {
  MixerServer server({44500, 44599});
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(mixer.waitUntilReady(5s, 1));
  const MixId mix = mixer.createMix(RoomSettings{});
  test::TempDir dir;
  const std::string tone = dir.file("tone.wav");
  {
    auto writer = WavWriter::create(tone, 16000);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(test::sine(440, 8000, 16000, 16000 * 10)));  // 10 s
    ASSERT_TRUE(writer->finish());
  }
  RecordingEvents events;
  // A second file replaces the first: the first one's end (stopped) comes later, and must not
  // make the room look silent while the second plays.
  ASSERT_TRUE(mixer.play(mix, tone));
  ASSERT_TRUE(mixer.play(mix, tone));
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.playbacks.empty(); }));
  EXPECT_EQ(events.playbacks.front().what(), std::make_pair(mix, MediaFileEnd::kStopped));
  EXPECT_TRUE(mixer.mixStats(mix)->playing);
  mixer.stopPlaying(mix);
  EXPECT_FALSE(mixer.mixStats(mix)->playing) << "stopped at once, as in-process";
  ASSERT_TRUE(mixer.play(mix, tone));
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return events.playbacks.size() >= 2; }));
  EXPECT_TRUE(mixer.mixStats(mix)->playing) << "the stopped one's end is not the new one's";

  // The same for a recording stopped and started again at once.
  ASSERT_TRUE(mixer.startRecording(mix, dir.file("a.wav"), RecordingFormat::kWav));
  mixer.stopRecording(mix);
  ASSERT_TRUE(mixer.startRecording(mix, dir.file("b.wav"), RecordingFormat::kWav));
  ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.recordings.empty(); }));
  EXPECT_EQ(events.recordings.front().what(), std::make_pair(mix, MediaFileEnd::kStopped));
  EXPECT_TRUE(mixer.mixStats(mix)->recording);
  mixer.stopRecording(mix);
  mixer.stopPlaying(mix);
  ASSERT_TRUE(pumpUntil(mixer, events, [&] {
    return events.recordings.size() >= 2 && events.playbacks.size() >= 3;
  }));
  EXPECT_FALSE(mixer.mixStats(mix)->recording);
  EXPECT_FALSE(mixer.mixStats(mix)->playing);
}

// A raw client speaking the protocol by hand.
class RawClient {
 public:
  explicit RawClient(const tcp::endpoint& server) : socket_(io_) { socket_.connect(server); }
  void send(const std::string& line) { asio::write(socket_, asio::buffer(line)); }
  // The next line, or "" when the server closed.
  std::string receive() {
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(socket_, input_, '\n', ec);
    if (ec) {
      return {};
    }
    std::string line(asio::buffers_begin(input_.data()),
                     asio::buffers_begin(input_.data()) + static_cast<std::ptrdiff_t>(n - 1));
    input_.consume(n);
    return line;
  }
  // Skips stats pushes.
  std::string receiveAnswer() {
    for (;;) {
      std::string line = receive();
      if (line.find("Stats\"") == std::string::npos) {
        return line;
      }
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  asio::streambuf input_;
};

// A mixer that says hello and then hangs with its connection open (SIGSTOP, a stuck machine):
// it reads what comes and never answers, until the client closes.
class HangingServer {
 public:
  explicit HangingServer(int64_t heartbeatMs)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {
    thread_ = std::thread([this, heartbeatMs] {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) {
        return;
      }
      asio::streambuf in;
      asio::read_until(socket, in, '\n', ec);
      Hello hello;
      hello.mediaAddress = "127.0.0.1";
      hello.heartbeatMs = heartbeatMs;
      asio::write(socket, asio::buffer(serialize(hello)), ec);
      std::array<char, 4096> ignored{};
      while (!ec) {
        socket.read_some(asio::buffer(ignored), ec);
      }
    });
  }
  ~HangingServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // ends an accept() still waiting
    thread_.join();
  }
  HangingServer(const HangingServer&) = delete;
  HangingServer& operator=(const HangingServer&) = delete;
  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The heartbeat in hello: three beats missed and 100 ms, and the client knows the mixer is hung
// (its rooms then move, MixerSet); not the 3.5 s it keeps for a server from before heartbeats.
TEST(MixerRemote, AHungMixerIsKnownByItsMissingHeartbeats) {
  HangingServer server(100);
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(waitFor([&] { return mixer.connected(); }, 5s));
  const auto greeted = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return !mixer.connected(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - greeted;
  EXPECT_GE(took, 300ms) << "dropped before three beats were missed";
  EXPECT_LT(took, 2s) << "the beat in hello was not used";
}

TEST(MixerRemote, AServerWithoutHeartbeatsGetsTheLongerTimeout) {
  HangingServer server(0);
  RemoteMixer mixer(clientSettings(server.endpoint()));
  ASSERT_TRUE(waitFor([&] { return mixer.connected(); }, 5s));
  const auto greeted = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return !mixer.connected(); }, 6s));
  EXPECT_GE(std::chrono::steady_clock::now() - greeted, 3s);
}

TEST(MixerRemote, ServerWantsHelloWithItsVersionFirst) {
  MixerServer server({44400, 44409});
  {
    RawClient client(server.endpoint());
    client.send(R"({"type":"reserve","id":1})"
                "\n");
    EXPECT_THAT(client.receive(), ::testing::HasSubstr("say hello first"));
    EXPECT_EQ(client.receive(), "") << "closed";
  }
  {
    RawClient client(server.endpoint());
    // Version 2 (before authentication) is refused: a secret's challenge would be unknown to it.
    client.send(R"({"type":"hello","version":2})"
                "\n");
    EXPECT_THAT(client.receive(), ::testing::HasSubstr("version 2 not supported"));
    EXPECT_EQ(client.receive(), "");
  }
  {
    RawClient client(server.endpoint());
    client.send(serialize(Hello{}));
    EXPECT_EQ(client.receive(),
              R"({"type":"hello","version":3,"mediaAddress":"127.0.0.1","heartbeatMs":500})");
    // A bad line is answered and the connection stays usable.
    client.send("this is not json\n");
    EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"("type":"failed","id":0)"));
    client.send(R"({"type":"explode","id":5})"
                "\n");
    EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"("id":5,"message":"field 'type')"));
    client.send(R"({"type":"release","id":6,"endpoint":999})"
                "\n");
    EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"("id":6,"message":"no endpoint)"));
    client.send(R"({"type":"reserve","id":7})"
                "\n");
    EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"({"type":"reserved","id":7,)"));
    // setControls needs its nested object, and an endpoint that is joined.
    client.send(R"({"type":"setControls","id":8,"endpoint":1})"
                "\n");
    EXPECT_THAT(client.receiveAnswer(),
                ::testing::HasSubstr(R"("id":8,"message":"field 'controls': missing)"));
    client.send(R"({"type":"setControls","id":9,"endpoint":1,"controls":{"gain":5}})"
                "\n");
    EXPECT_THAT(
        client.receiveAnswer(),
        ::testing::HasSubstr(R"("id":9,"message":"field 'controls.gain': must be between)"));
    client.send(R"({"type":"setControls","id":10,"endpoint":999,"controls":{"muted":true}})"
                "\n");
    EXPECT_THAT(client.receiveAnswer(),
                ::testing::HasSubstr(R"("id":10,"message":"no joined endpoint 999)"));
    // Over-long lines end the connection.
    client.send(std::string(kMaxLineBytes + 10, 'x'));
    std::string line;
    do {
      line = client.receive();
    } while (!line.empty());
  }
  // Every refused or closed connection is gone from the server's books.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.connections() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server.connections(), 0U);
}

// With a secret (docs/mixer-protocol.md, "Authentication"): a client with it gets the same
// service; one without it, with another one, or skipping a step gets nothing, not even the
// server's proof; a client with a secret refuses a server that cannot prove it.
TEST(MixerRemote, OnlyClientsThatProveTheSecretAreServed) {
  const std::string secret = "0123456789abcdef0123456789abcdef-mixers";
  MixerServer server({44420, 44429}, 0, secret);
  ASSERT_FALSE(server.startError()) << server.startError().message();
  {
    auto settings = clientSettings(server.endpoint());
    settings.secret = secret;
    RemoteMixer mixer(settings);
    ASSERT_TRUE(mixer.waitUntilReady(5s, 4)) << mixer.refusal();
    EXPECT_EQ(mixer.refusal(), "");
    const MixId mix = mixer.createMix(RoomSettings{});
    auto reservation = mixer.reserve();
    ASSERT_TRUE(reservation);
    EXPECT_TRUE(mixer.join(reservation->id, mix, pcmu()));
    mixer.release(reservation->id);
  }
  // Without the secret, with another one: never ready, and the reason is kept for the log.
  for (const auto& [theirs, why] :
       {std::pair{std::string(), "mixer wants authentication: give confab the shared secret"},
        std::pair{std::string("another secret, long enough to be accepted"),
                  "the mixer refused us: authentication failed"}}) {
    auto settings = clientSettings(server.endpoint());
    settings.secret = theirs;
    RemoteMixer mixer(settings);
    EXPECT_FALSE(mixer.waitUntilReady(500ms)) << "secret '" << theirs << "'";
    EXPECT_THAT(mixer.refusal(), ::testing::HasSubstr(why));
    EXPECT_FALSE(mixer.reserve());
  }
  // By hand: a hello without a nonce, a request in place of the proof, a wrong proof, a proof
  // made for another challenge (a replay): each refused and closed, with no server proof sent.
  {
    RawClient client(server.endpoint());
    client.send(serialize(Hello{}));
    EXPECT_THAT(client.receive(), ::testing::HasSubstr("wants authentication"));
    EXPECT_EQ(client.receive(), "");
  }
  const std::string nonce = makeNonce();
  auto challenged = [&](RawClient& client) {
    Hello hello;
    hello.nonce = nonce;
    client.send(serialize(hello));
    auto challenge = parse(client.receive());
    EXPECT_TRUE(challenge && std::holds_alternative<Challenge>(*challenge));
    return challenge ? std::get<Challenge>(*challenge).nonce : std::string();
  };
  {
    RawClient client(server.endpoint());
    challenged(client);
    client.send(serialize(Reserve{1}));
    EXPECT_THAT(client.receive(), ::testing::HasSubstr("authenticate first"));
    EXPECT_EQ(client.receive(), "");
  }
  std::string recorded;
  std::string recordedChallenge;
  {
    RawClient client(server.endpoint());
    recordedChallenge = challenged(client);
    recorded = handshakeProof(secret, HandshakeSide::kClient, nonce, recordedChallenge);
    client.send(serialize(Authenticate{recorded}));
    auto hello = parse(client.receive());
    ASSERT_TRUE(hello && std::holds_alternative<Hello>(*hello));
    EXPECT_TRUE(verifyHandshakeProof(secret, HandshakeSide::kServer, nonce, recordedChallenge,
                                     std::get<Hello>(*hello).proof))
        << "the server proves the secret back";
  }
  for (const std::string& proof :
       {std::string(64, '0'), recorded,
        handshakeProof(secret, HandshakeSide::kServer, nonce, recordedChallenge)}) {
    RawClient client(server.endpoint());
    EXPECT_NE(challenged(client), recordedChallenge) << "a fresh challenge every time";
    client.send(serialize(Authenticate{proof}));
    const std::string answer = client.receive();
    EXPECT_THAT(answer, ::testing::HasSubstr("authentication failed"));
    EXPECT_THAT(answer, ::testing::Not(::testing::HasSubstr("proof")));
    EXPECT_EQ(client.receive(), "");
  }
  // A client with a secret does not take a server without one (it could not prove it).
  MixerServer open({44430, 44439});
  auto settings = clientSettings(open.endpoint());
  settings.secret = secret;
  RemoteMixer mixer(settings);
  EXPECT_FALSE(mixer.waitUntilReady(500ms));
  EXPECT_THAT(mixer.refusal(), ::testing::HasSubstr("did not prove"));
}

// TLS on the control connection (mixer/remote/ControlTls.hpp): a client with TLS and the secret
// is served as over plain TCP, DTMF and stats included; a plain client gets nothing from a TLS
// server (not even a line), and a TLS client says why a plain server will not do.
TEST(MixerRemote, TlsCarriesTheProtocolAndPlainPeersAreRefused) {
  const std::string secret = "0123456789abcdef0123456789abcdef-over-tls";
  MixerServer server({44440, 44449}, 0, secret, true);
  ASSERT_FALSE(server.startError()) << server.startError().message();
  auto settings = clientSettings(server.endpoint());
  settings.secret = secret;
  settings.tls = true;
  {
    RemoteMixer mixer(settings);
    ASSERT_TRUE(mixer.waitUntilReady(5s, 4)) << mixer.refusal();
    const MixId mix = mixer.createMix(RoomSettings{});
    auto reservation = mixer.reserve();
    ASSERT_TRUE(reservation);
    ASSERT_TRUE(mixer.join(reservation->id, mix, pcmu()));
    LoopbackPhone phone(Codec::kPcmu, 0, 0, reservation->rtpPort);
    RecordingEvents events;
    sendFramesWithDigit(phone, 5);
    ASSERT_TRUE(pumpUntil(mixer, events, [&] { return !events.digits.empty(); }));
    EXPECT_EQ(events.digits.front(), std::make_pair(reservation->id, '5'));
    ASSERT_TRUE(pumpUntil(mixer, events, [&] {
      auto media = mixer.endpointStats(reservation->id);
      return media && media->packetsReceived >= 30;
    }));
  }
  {
    RawClient plain(server.endpoint());
    plain.send(serialize(Hello{}));
    EXPECT_EQ(plain.receive(), "") << "no protocol line in clear";
  }
  auto plainSettings = settings;
  plainSettings.tls = false;
  RemoteMixer plainClient(plainSettings);
  EXPECT_FALSE(plainClient.waitUntilReady(500ms));

  MixerServer plainServer({44450, 44459}, 0, secret, false);
  auto tlsToPlain = settings;
  tlsToPlain.server = plainServer.endpoint();
  RemoteMixer tlsClient(tlsToPlain);
  EXPECT_FALSE(tlsClient.waitUntilReady(500ms));
  EXPECT_THAT(tlsClient.refusal(), ::testing::HasSubstr("no TLS with the mixer"));
}

TEST(MixerRemote, LinesSplitAtEveryByteArriveWhole) {
  MixerServer server({44410, 44419});
  RawClient client(server.endpoint());
  // One write per byte: the server must reassemble lines from whatever TCP hands it.
  const std::string bytes = serialize(Hello{}) + serialize(Reserve{3}) + serialize(Reserve{4});
  for (char c : bytes) {
    client.send(std::string(1, c));
  }
  EXPECT_THAT(client.receive(), ::testing::HasSubstr(R"("type":"hello")"));
  EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"({"type":"reserved","id":3,)"));
  EXPECT_THAT(client.receiveAnswer(), ::testing::HasSubstr(R"({"type":"reserved","id":4,)"));
}

}  // namespace
}  // namespace confab::mixer::remote
