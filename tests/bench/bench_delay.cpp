// The delay the mixer adds, end to end over loopback UDP: in each of several two-person rooms a
// talker A sends 20 ms RTP frames in real time, low noise most of the time and once a second a
// marked burst (a loud tone whose pitch says which of A's frames it came from); the listener B
// decodes every mixed packet as it arrives and notes the first one that carries the burst. The
// delay is B's arrival time of that packet (the kernel's receive timestamp) minus the moment A's
// first burst frame was complete (its send time; with --jitter-ms, the time it would have left
// without the network's added delay). Against an InProcessMixer in this process, or with --mixer
// against a confab-mixer driven through RemoteMixer. Run by tests/bench/delay.sh.
//   bench_delay [--codecs pcmu,opus] [--rooms R] [--bursts N] [--warmup-bursts W]
//               [--jitter-ms J] [--seed S] [--ports LO-HI] [--sched fifo|normal]
//               [--mixer HOST:PORT [--secret-file PATH] [--tls]] [--verbose]
// Prints a human summary and one "result key=value ..." line per codec for the script.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <numbers>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "mixer/codec/Opus.hpp"
#include "mixer/dsp/Level.hpp"
#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/remote/Handshake.hpp"
#include "mixer/remote/RemoteMixer.hpp"
#include "mixer/room/AudioCodec.hpp"
#include "mixer/rtp/RtpPacket.hpp"

namespace {

using confab::mixer::Codec;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t kTickNs = 20'000'000;
// One burst every 51 frames (1.02 s): an odd spacing, so that successive bursts of a room start
// on ticks of alternating parity. The room decodes a quiet participant every other tick only
// (RoomSettings::quietListenerDbov), so whether the burst's first frame is decoded depends on
// that parity; an even spacing would give every burst of a room the same luck.
constexpr std::size_t kCycleFrames = 51;
// 200 ms of tone, then 820 ms of noise: the VAD's 300 ms hangover ends well before the next.
constexpr std::size_t kBurstFrames = 10;
constexpr double kBurstDbov = -10.0;
// A quiet room's background, below the VAD's -40 dBov start and the room's -50 dBov quiet
// listener level, as a real phone's microphone sends between words.
constexpr double kNoiseDbov = -60.0;
// A packet at B at or above this carries the burst: 20 dB under it, 30 dB over the noise.
constexpr float kLoudDbov = -30.0F;
// Burst frame k is a tone at kToneBaseHz + k * kToneStepHz (continuous phase), so B can tell
// which of A's frames the mixer mixed first (below 4 kHz: PCMU carries them all).
constexpr double kToneBaseHz = 500.0;
constexpr double kToneStepHz = 250.0;
// How long after a burst's start its detection may come before it counts as missed.
constexpr int64_t kDetectWindowNs = 600'000'000;
constexpr std::size_t kSlot = 1500;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "bench_delay: %s\n", why.c_str());
  std::exit(1);
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

int64_t clockNs(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

struct Options {
  std::vector<Codec> codecs{Codec::kPcmu, Codec::kOpus};
  std::size_t rooms = 8;         // per codec
  std::size_t bursts = 20;       // measured, per room
  std::size_t warmupBursts = 5;  // not measured: the jitter buffer settles (40 ms to 0: 4 s)
  double jitterMs = 0;
  uint32_t seed = 1;
  uint16_t portLow = 26000;
  uint16_t portHigh = 26999;
  bool realtime = true;
  std::string mixer;  // HOST:PORT of a confab-mixer; empty: an InProcessMixer here
  std::string secretFile;
  bool tls = false;
  bool verbose = false;  // one line per burst on stderr
};

const char* codecName(Codec codec) {
  return codec == Codec::kOpus ? "opus" : "pcmu";
}

uint8_t payloadTypeOf(Codec codec) {
  return codec == Codec::kOpus ? 111 : 0;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fail("missing value after " + std::string(arg));
      }
      return argv[++i];
    };
    if (arg == "--codecs") {
      o.codecs.clear();
      const std::string list = value();
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        const std::string name = list.substr(at, comma - at);
        if (name == "pcmu") {
          o.codecs.push_back(Codec::kPcmu);
        } else if (name == "opus") {
          o.codecs.push_back(Codec::kOpus);
        } else {
          fail("--codecs takes pcmu, opus or both, comma-separated");
        }
        at = comma + 1;
      }
    } else if (arg == "--rooms") {
      o.rooms = std::strtoul(value().c_str(), nullptr, 10);
    } else if (arg == "--bursts") {
      o.bursts = std::strtoul(value().c_str(), nullptr, 10);
    } else if (arg == "--warmup-bursts") {
      o.warmupBursts = std::strtoul(value().c_str(), nullptr, 10);
    } else if (arg == "--jitter-ms") {
      o.jitterMs = std::strtod(value().c_str(), nullptr);
    } else if (arg == "--seed") {
      o.seed = static_cast<uint32_t>(std::strtoul(value().c_str(), nullptr, 10));
    } else if (arg == "--ports") {
      const std::string range = value();
      const auto dash = range.find('-');
      if (dash == std::string::npos) {
        fail("--ports takes LO-HI");
      }
      o.portLow = static_cast<uint16_t>(std::strtoul(range.substr(0, dash).c_str(), nullptr, 10));
      o.portHigh = static_cast<uint16_t>(std::strtoul(range.substr(dash + 1).c_str(), nullptr, 10));
    } else if (arg == "--sched") {
      const std::string v = value();
      if (v != "fifo" && v != "normal") {
        fail("--sched takes fifo or normal");
      }
      o.realtime = v == "fifo";
    } else if (arg == "--mixer") {
      o.mixer = value();
    } else if (arg == "--secret-file") {
      o.secretFile = value();
    } else if (arg == "--tls") {
      o.tls = true;
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else {
      fail("unknown option " + std::string(arg));
    }
  }
  if (o.codecs.empty() || o.rooms == 0 || o.bursts == 0 || o.jitterMs < 0 ||
      o.portHigh < o.portLow) {
    fail("need codecs, rooms > 0, bursts > 0, jitter >= 0 and a port range");
  }
  return o;
}

// --- What A says: one cycle of a burst and noise, encoded once per codec. ---------------------

// The tone's amplitude for kBurstDbov RMS (dBov: RMS relative to 32767, RFC 6464 §4).
double toneAmplitude() {
  return 32767.0 * std::pow(10.0, kBurstDbov / 20.0) * std::numbers::sqrt2;
}

double toneHz(std::size_t frame) {
  return kToneBaseHz + kToneStepHz * static_cast<double>(frame);
}

// kCycleFrames encoded payloads: frames 0 to kBurstFrames - 1 the tones, the rest noise. Two
// cycles are encoded and the second kept, so the codec's state at the start of the cycle is the
// one it has when the cycle repeats (Opus carries its look-ahead from frame to frame).
std::vector<std::vector<uint8_t>> encodeCycle(Codec codec, uint32_t seed) {
  const int rate = confab::mixer::pcmRate(codec);
  const std::size_t frame = confab::mixer::frameSamples(codec);
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, 32767.0 * std::pow(10.0, kNoiseDbov / 20.0));
  confab::mixer::AudioEncoder encoder(codec, 32000);
  std::vector<std::vector<uint8_t>> cycle;
  std::vector<int16_t> pcm(frame);
  double phase = 0;
  std::array<uint8_t, confab::mixer::kMaxEncodedBytes> payload{};
  for (std::size_t f = 0; f < 2 * kCycleFrames; ++f) {
    const std::size_t k = f % kCycleFrames;
    for (auto& sample : pcm) {
      double v = 0;
      if (k < kBurstFrames) {
        v = toneAmplitude() * std::sin(phase);
        phase += 2.0 * std::numbers::pi * toneHz(k) / rate;
      } else {
        v = noise(random);
      }
      sample = static_cast<int16_t>(std::clamp(std::round(v), -32767.0, 32767.0));
    }
    const std::size_t length = encoder.encode(pcm, payload);
    if (length == 0) {
      fail("encoding A's cycle failed");
    }
    if (f >= kCycleFrames) {
      cycle.emplace_back(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(length));
    }
  }
  return cycle;
}

// Which burst tone is strongest in a decoded packet (Goertzel at each).
std::size_t strongestTone(std::span<const int16_t> pcm, int rate) {
  std::size_t best = 0;
  double bestPower = -1;
  for (std::size_t k = 0; k < kBurstFrames; ++k) {
    const double coefficient = 2.0 * std::cos(2.0 * std::numbers::pi * toneHz(k) / rate);
    double s1 = 0;
    double s2 = 0;
    for (const int16_t x : pcm) {
      const double s0 = x + coefficient * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = k;
    }
  }
  return best;
}

// --- The phones. ------------------------------------------------------------------------------

int udpSocket(sockaddr_in& bound) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    fail(std::string("bind: ") + std::strerror(errno));
  }
  socklen_t length = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  return fd;
}

struct Phone {
  int fd = -1;
  sockaddr_in local{};
  sockaddr_in mixer{};
  confab::mixer::EndpointId endpoint = 0;
  uint32_t ssrc = 0;
  uint16_t firstSequence = 0;
  uint32_t firstTimestamp = 0;
};

// A loud packet at B.
struct Loud {
  int64_t arrival = 0;  // steady clock, ns
  uint16_t sequence = 0;
  std::size_t tone = 0;        // strongest burst tone in it
  std::size_t onset = 0;       // first sample at a fifth of the tone's amplitude
  bool startsEpisode = false;  // the packet before it was quiet
};

struct Room {
  Codec codec = Codec::kPcmu;
  confab::mixer::MixId mix = 0;
  Phone a;
  Phone b;
  int64_t phaseOffset = 0;        // A's (and B's) send schedule is shifted this far into the tick
  std::size_t cycleShift = 0;     // A's frame n is cycle frame (n + cycleShift) % kCycleFrames
  std::size_t firstBurst = 0;     // frame n of A's first burst
  std::vector<int64_t> sentAt;    // by A's frame: the actual sendto time
  std::vector<int64_t> captured;  // by A's frame: when the frame was complete (schedule)
  // Receiver thread only until it is joined.
  std::unique_ptr<confab::mixer::AudioDecoder> decoder;
  std::vector<Loud> loud;
  bool lastLoud = false;
  uint64_t received = 0;
  // Where in A's 20 ms frame each of B's packets arrived (ms): the mixer's tick phase against
  // A's clock, plus the tick's work before B's packet leaves.
  std::vector<double> arrivalPoints;
};

// --- Sending: both phones of every room on one absolute schedule. ------------------------------

struct SendEvent {
  int64_t at = 0;
  uint32_t room = 0;
  uint32_t frame = 0;
  bool talker = false;
};

struct SenderReport {
  std::vector<double> lateMs;       // actual send - due, A's packets
  std::vector<uint64_t> reordered;  // by room: A's packets sent after a later frame of A's
  uint64_t failures = 0;
};

void runSender(std::vector<Room>& rooms,
               const std::vector<SendEvent>& events,
               const std::vector<std::vector<std::vector<uint8_t>>>& cycles,
               SenderReport& report) {
  std::array<uint8_t, kSlot> packet{};
  std::vector<int64_t> newest(rooms.size(), -1);
  report.reordered.assign(rooms.size(), 0);
  for (const auto& e : events) {
    std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(e.at)));
    Room& room = rooms[e.room];
    const Phone& phone = e.talker ? room.a : room.b;
    const auto& cycle = cycles[room.codec == Codec::kOpus ? 1 : 0];
    // B sends the noise part of A's cycle.
    const std::size_t c = e.talker ? (e.frame + room.cycleShift) % kCycleFrames
                                   : kBurstFrames + e.frame % (kCycleFrames - kBurstFrames);
    const auto& payload = cycle[c];
    confab::rtp::RtpHeader header;
    header.payloadType = payloadTypeOf(room.codec);
    header.sequenceNumber = static_cast<uint16_t>(phone.firstSequence + e.frame);
    header.timestamp = phone.firstTimestamp + e.frame * confab::mixer::frameTicks(room.codec);
    header.ssrc = phone.ssrc;
    const std::size_t length = confab::rtp::writeRtpPacket(packet, header, payload);
    const int64_t before = nowNs();
    const auto sent =
        ::sendto(phone.fd, packet.data(), length, 0,
                 reinterpret_cast<const sockaddr*>(&phone.mixer), sizeof(phone.mixer));
    if (sent != static_cast<ssize_t>(length)) {
      ++report.failures;
    }
    if (e.talker) {
      room.sentAt[e.frame] = before;
      report.lateMs.push_back(ms(before - e.at));
      if (static_cast<int64_t>(e.frame) < newest[e.room]) {
        ++report.reordered[e.room];
      }
      newest[e.room] = std::max<int64_t>(newest[e.room], e.frame);
    }
  }
}

// --- Receiving: B's packets, stamped by the kernel as they arrive, decoded at once. -----------

void receivePacket(Room& room, std::span<uint8_t> bytes, int64_t arrival) {
  if (confab::rtp::classifyPacket(bytes) != confab::rtp::PacketKind::kRtp) {
    return;  // the mixer's RTCP reports share the port (rtcp-mux)
  }
  auto packet = confab::rtp::RtpPacket::parse(bytes);
  if (!packet || packet->payloadType() != payloadTypeOf(room.codec)) {
    return;
  }
  std::array<int16_t, confab::mixer::kMaxFrameSamples> out{};
  const auto pcm = std::span<int16_t>(out).first(confab::mixer::frameSamples(room.codec));
  if (!room.decoder->decode(packet->payload(), pcm)) {
    return;
  }
  ++room.received;
  // Against the moment A's first frame was complete: its frames complete every 20 ms from there.
  const int64_t intoFrame = ((arrival - room.captured.front()) % kTickNs + kTickNs) % kTickNs;
  room.arrivalPoints.push_back(ms(intoFrame));
  const bool loud = confab::dsp::dbov(pcm) >= kLoudDbov;
  if (loud) {
    Loud l;
    l.arrival = arrival;
    l.sequence = packet->sequenceNumber();
    l.tone = strongestTone(pcm, confab::mixer::pcmRate(room.codec));
    const double threshold = toneAmplitude() / 5.0;
    while (l.onset < pcm.size() && std::abs(static_cast<double>(pcm[l.onset])) < threshold) {
      ++l.onset;
    }
    l.startsEpisode = !room.lastLoud;
    room.loud.push_back(l);
  }
  room.lastLoud = loud;
}

void runReceiver(std::vector<Room>& rooms, const std::atomic<bool>& stop) {
  // Every phone's socket: B's are read and timed, A's (the talker's own N-1 mix) only drained.
  std::vector<pollfd> fds;
  for (const auto& room : rooms) {
    fds.push_back(pollfd{room.b.fd, POLLIN, 0});
    fds.push_back(pollfd{room.a.fd, POLLIN, 0});
  }
  std::array<uint8_t, kSlot> buffer{};
  std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
  while (!stop.load(std::memory_order_relaxed)) {
    if (::poll(fds.data(), fds.size(), 50) <= 0) {
      continue;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) {
        continue;
      }
      for (;;) {
        iovec iov{buffer.data(), buffer.size()};
        msghdr message{};
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control.data();
        message.msg_controllen = control.size();
        const auto n = ::recvmsg(fds[i].fd, &message, MSG_DONTWAIT);
        if (n <= 0) {
          break;
        }
        if (i % 2 == 1) {
          continue;
        }
        // SO_TIMESTAMPNS stamps the packet when it entered the loopback device, on the realtime
        // clock; moved onto the steady clock by the clocks' offset now, so this thread's own
        // scheduling delay is not counted as the mixer's.
        const int64_t realNow = clockNs(CLOCK_REALTIME);
        const int64_t steadyNow = nowNs();
        int64_t arrival = steadyNow;
        for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec stamp{};
            std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
            const int64_t real = static_cast<int64_t>(stamp.tv_sec) * 1'000'000'000 + stamp.tv_nsec;
            arrival = steadyNow - (realNow - real);
          }
        }
        receivePacket(rooms[i / 2], std::span<uint8_t>(buffer).first(static_cast<std::size_t>(n)),
                      arrival);
      }
    }
  }
}

// --- The mixer's events: none expected but failures. ------------------------------------------

struct Events final : confab::mixer::MixerEvents {
  void onDtmf(confab::mixer::EndpointId /*endpoint*/, char /*digit*/) override {}
  void onRtpTimeout(confab::mixer::EndpointId /*endpoint*/) override { ++failed; }
  void onEndpointFailed(confab::mixer::EndpointId /*endpoint*/) override { ++failed; }
  void onMixerFault(confab::mixer::EndpointId /*endpoint*/,
                    confab::mixer::MixId /*mix*/,
                    const std::string& what) override {
    std::fprintf(stderr, "bench_delay: mixer fault: %s\n", what.c_str());
    ++failed;
  }
  int failed = 0;
};

void pumpFor(confab::mixer::Control& mixer, Events& events, std::chrono::milliseconds duration) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    pollfd p{mixer.eventFd(), POLLIN, 0};
    if (::poll(&p, 1, 20) == 1) {
      mixer.deliverEvents(events);
    }
  }
}

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(
      std::min(static_cast<double>(values.size() - 1),
               std::ceil(fraction * static_cast<double>(values.size())) - 1));
  return values[index];
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) {
    sum += v;
  }
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

// The point in A's frame where B's packets usually arrive: the mixer sends every tick, so the
// points gather at one place, except the few a stall of this shared machine scattered. The
// densest 1.5 ms (circular, in 0.5 ms bins), then the circular mean of the points in it.
double usualArrival(const std::vector<double>& points) {
  constexpr std::size_t kBins = 40;
  const double bin = ms(kTickNs) / kBins;
  std::array<std::size_t, kBins> counts{};
  for (double p : points) {
    ++counts[std::min(kBins - 1, static_cast<std::size_t>(p / bin))];
  }
  std::size_t best = 0;
  std::size_t bestCount = 0;
  for (std::size_t i = 0; i < kBins; ++i) {
    const std::size_t count = counts[(i + kBins - 1) % kBins] + counts[i] + counts[(i + 1) % kBins];
    if (count > bestCount) {
      bestCount = count;
      best = i;
    }
  }
  const double centre = (static_cast<double>(best) + 0.5) * bin;
  double sinSum = 0;
  double cosSum = 0;
  for (double p : points) {
    const double d = std::remainder(p - centre, ms(kTickNs));  // -10..10 ms
    if (std::abs(d) <= 1.5 * bin) {
      const double angle = 2.0 * std::numbers::pi * p / ms(kTickNs);
      sinSum += std::sin(angle);
      cosSum += std::cos(angle);
    }
  }
  const double turn = std::atan2(sinSum, cosSum) / (2.0 * std::numbers::pi);
  return (turn < 0 ? turn + 1.0 : turn) * ms(kTickNs);
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const bool remote = !o.mixer.empty();
  // The machine may be shared: SCHED_FIFO (inherited by the mixer's thread when it runs here, and
  // by the phones' threads) keeps other programs' work out of the measured delay.
  bool realtime = false;
  if (o.realtime) {
    sched_param param{};
    param.sched_priority = 1;
    realtime = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param) == 0;
    if (!realtime) {
      std::fprintf(stderr, "bench_delay: SCHED_FIFO refused; running SCHED_OTHER\n");
    }
  }

  const std::size_t roomCount = o.rooms * o.codecs.size();
  std::unique_ptr<confab::mixer::Control> mixer;
  if (remote) {
    confab::mixer::remote::RemoteMixerSettings settings;
    const auto colon = o.mixer.rfind(':');
    if (colon == std::string::npos) {
      fail("--mixer takes HOST:PORT");
    }
    settings.server = {
        boost::asio::ip::make_address(o.mixer.substr(0, colon)),
        static_cast<uint16_t>(std::strtoul(o.mixer.substr(colon + 1).c_str(), nullptr, 10))};
    settings.stock = 2 * roomCount + 4;
    if (!o.secretFile.empty()) {
      auto secret = confab::mixer::remote::readSecretFile(o.secretFile);
      if (auto* error = std::get_if<confab::mixer::remote::SecretError>(&secret)) {
        fail("--secret-file: " + error->message);
      }
      settings.secret = std::get<std::string>(std::move(secret));
    }
    settings.tls = o.tls;
    auto link = std::make_unique<confab::mixer::remote::RemoteMixer>(settings);
    if (!link->waitUntilReady(10s, 2 * roomCount)) {
      fail("confab-mixer at " + o.mixer + " not ready: " + link->refusal());
    }
    mixer = std::move(link);
  } else {
    confab::mixer::MixerSettings settings;
    settings.threads = 1;
    settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
    settings.ports = confab::mixer::PortRange{o.portLow, o.portHigh};
    mixer = std::make_unique<confab::mixer::InProcessMixer>(settings);
  }
  Events events;
  // What one Opus encoder adds (A's phone has one, the mixer another), for the report.
  const double opusLookaheadMs =
      1000.0 * confab::codec::OpusEncoder().lookahead() / confab::mixer::pcmRate(Codec::kOpus);

  std::vector<std::vector<std::vector<uint8_t>>> cycles{encodeCycle(Codec::kPcmu, o.seed),
                                                        encodeCycle(Codec::kOpus, o.seed)};

  // Rooms: each its own phase within the tick (spread evenly, since the mixer's tick phase is
  // unknown and each real call has its own), and its own place in the burst cycle, so that the
  // rooms' bursts do not all land on the same ticks.
  const std::size_t frames = (o.warmupBursts + o.bursts + 1) * kCycleFrames;
  std::mt19937 random(o.seed);
  std::vector<Room> rooms(roomCount);
  for (std::size_t g = 0; g < roomCount; ++g) {
    Room& room = rooms[g];
    room.codec = o.codecs[g / o.rooms];
    // Each codec's rooms spread over the whole tick; the second codec's half a step further.
    const auto r = static_cast<int64_t>(g % o.rooms);
    const auto step = kTickNs / static_cast<int64_t>(o.rooms);
    room.phaseOffset =
        r * step + static_cast<int64_t>(g / o.rooms) * step / static_cast<int64_t>(o.codecs.size());
    room.cycleShift = (g * 3) % kCycleFrames;
    room.firstBurst = (kCycleFrames - room.cycleShift) % kCycleFrames;
    room.sentAt.assign(frames, 0);
    room.captured.assign(frames, 0);
    room.decoder = std::make_unique<confab::mixer::AudioDecoder>(room.codec);
    room.mix = mixer->createMix(confab::mixer::RoomSettings{});
    for (Phone* phone : {&room.a, &room.b}) {
      phone->fd = udpSocket(phone->local);
      phone->ssrc = static_cast<uint32_t>(random());
      phone->firstSequence = static_cast<uint16_t>(random());
      phone->firstTimestamp = static_cast<uint32_t>(random());
      auto reservation = mixer->reserve();
      if (!reservation) {
        fail("no reservation from the mixer");
      }
      phone->endpoint = reservation->id;
      phone->mixer.sin_family = AF_INET;
      phone->mixer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      phone->mixer.sin_port = htons(reservation->rtpPort);
      confab::mixer::MediaParams params;
      params.participant.codec = room.codec;
      params.participant.payloadType = payloadTypeOf(room.codec);
      params.participant.ssrc = static_cast<uint32_t>(random());
      params.endpoint.rtcpMux = true;
      sockaddr_storage self{};
      std::memcpy(&self, &phone->local, sizeof(phone->local));
      params.endpoint.remoteRtp = self;
      reinterpret_cast<sockaddr_in&>(self).sin_port = 0;
      params.endpoint.latchSources = {self};
      if (!mixer->join(phone->endpoint, room.mix, params)) {
        fail("join refused");
      }
    }
    const int on = 1;
    if (::setsockopt(room.b.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) {
      fail(std::string("SO_TIMESTAMPNS: ") + std::strerror(errno));
    }
  }
  pumpFor(*mixer, events, 300ms);  // a remote mixer's joins are answered meanwhile

  // The schedule: A's frame n is complete at start + n * 20 ms + the room's phase, and leaves
  // then, or with jitter that much later (uniform in [0, J) ms, drawn for each packet on its
  // own, so a packet may overtake the one before it, as on a path with several routes); B sends
  // half a tick after A.
  const int64_t start = nowNs() + 200'000'000;
  std::uniform_real_distribution<double> jitter(0.0, o.jitterMs * 1e6);
  std::vector<SendEvent> schedule;
  schedule.reserve(2 * roomCount * frames);
  for (std::size_t g = 0; g < roomCount; ++g) {
    for (std::size_t n = 0; n < frames; ++n) {
      const int64_t capture = start + static_cast<int64_t>(n) * kTickNs + rooms[g].phaseOffset;
      rooms[g].captured[n] = capture;
      const auto delay = o.jitterMs > 0 ? static_cast<int64_t>(jitter(random)) : 0;
      schedule.push_back(
          {capture + delay, static_cast<uint32_t>(g), static_cast<uint32_t>(n), true});
      schedule.push_back(
          {capture + kTickNs / 2, static_cast<uint32_t>(g), static_cast<uint32_t>(n), false});
    }
  }
  std::stable_sort(schedule.begin(), schedule.end(),
                   [](const SendEvent& x, const SendEvent& y) { return x.at < y.at; });

  const std::string load = loadAverage();
  // The in-process mixer's own tick lateness over the run (a remote one keeps it to itself).
  auto* local = dynamic_cast<confab::mixer::InProcessMixer*>(mixer.get());
  if (local != nullptr) {
    local->workers().front()->resetLateness();
  }
  std::atomic<bool> stop{false};
  std::thread receiver([&] { runReceiver(rooms, stop); });
  SenderReport sender;
  std::atomic<bool> sending{true};
  std::thread senderThread([&] {
    runSender(rooms, schedule, cycles, sender);
    sending.store(false);
  });
  // A remote mixer reports its tick lateness once a second, over that second only (50 ticks: its
  // p99.9 is the second's worst tick): the worst of those is the run's, from 2.5 s on, when the
  // reports no longer cover the set-up (the joins, the rooms' encoders made).
  double remoteTickLateP999 = 0;
  while (sending.load()) {
    pumpFor(*mixer, events, 100ms);
    if (nowNs() < start + 2'500'000'000) {
      continue;
    }
    for (const auto& thread : mixer->engineStats()) {
      remoteTickLateP999 = std::max(remoteTickLateP999, thread.latenessP999Micros / 1000.0);
    }
  }
  senderThread.join();
  // The last mixed packets come within a few ticks; the stats snapshot is refreshed about once
  // a second.
  pumpFor(*mixer, events, 1200ms);
  stop.store(true);
  receiver.join();
  std::string tickLateP99 = "n/a";
  std::string tickLateP999 = std::to_string(remoteTickLateP999);
  if (local != nullptr) {
    const auto& lateness = local->workers().front()->lateness();
    tickLateP99 = std::to_string(lateness.percentileMicros(0.99) / 1000.0);
    tickLateP999 = std::to_string(lateness.percentileMicros(0.999) / 1000.0);
  }

  // --- Results, per codec. ---------------------------------------------------------------------
  // Each burst's delay is split five ways that add up to it:
  //   attack    A's first mixed burst frame k (read from its tone) was sent 20 k ms after the
  //             first: the VAD's two-frame attack, and a quiet talker decoded every other tick;
  //   alignment the wait from when A's frames are complete to the mixer's next tick;
  //   work      how far into the tick B's packet of that room usually leaves: the tick's work
  //             (this room's and those before it) up to B's send;
  //   buffer    whole ticks frame k waited beyond that: the jitter buffer (with jitter, also the
  //             network's own delay, which the buffer absorbs);
  //   extra     what B's packet came later than usual in that tick: the burst tick's own work
  //             (the new talker's N-1 mix to encode) and stalls of this shared machine.
  // The mixer's tick, against the schedule's start: every room's B packets leave within a few
  // milliseconds of it, so it is where the rooms' usual departure points begin (after the widest
  // gap between them, on the 20 ms circle).
  std::vector<double> departures;
  for (const auto& room : rooms) {
    departures.push_back(
        std::fmod(usualArrival(room.arrivalPoints) + ms(room.phaseOffset), ms(kTickNs)));
  }
  std::sort(departures.begin(), departures.end());
  double tickPoint = departures.front();
  double widestGap = -1;
  for (std::size_t i = 0; i < departures.size(); ++i) {
    const double before = i == 0 ? departures.back() - ms(kTickNs) : departures[i - 1];
    if (departures[i] - before > widestGap) {
      widestGap = departures[i] - before;
      tickPoint = departures[i];
    }
  }
  auto wrap = [](double v) {
    return std::fmod(std::fmod(v, ms(kTickNs)) + ms(kTickNs), ms(kTickNs));
  };
  for (Codec codec : o.codecs) {
    std::vector<double> delays;
    std::vector<double> audioDelays;  // to the burst's first loud sample at B
    std::vector<double> attack;
    std::vector<double> alignment;
    std::vector<double> work;
    std::vector<double> buffered;
    std::vector<double> extra;
    std::vector<double> onsets;
    std::array<std::size_t, kBurstFrames> firstFrames{};
    std::size_t missed = 0;
    std::size_t unknownFrame = 0;
    std::size_t overMinimum = 0;  // bursts held more whole ticks than the buffer's minimum, 1
    uint64_t late = 0;
    uint64_t concealed = 0;
    uint64_t receivedByMixer = 0;
    uint64_t reordered = 0;
    for (auto& room : rooms) {
      if (room.codec != codec) {
        continue;
      }
      reordered += sender.reordered[static_cast<std::size_t>(&room - rooms.data())];
      const double usual = usualArrival(room.arrivalPoints);
      const double align = wrap(tickPoint - ms(room.phaseOffset));
      const double tickWork = wrap(usual - align);
      if (const auto stats = mixer->endpointStats(room.a.endpoint)) {
        late += stats->packetsLate;
        concealed += stats->framesConcealed;
        receivedByMixer += stats->packetsReceived;
      }
      for (std::size_t b = o.warmupBursts; b < o.warmupBursts + o.bursts; ++b) {
        const std::size_t n0 = room.firstBurst + b * kCycleFrames;
        // The moment A's frame was complete: when it was sent, or without jitter's delay.
        auto origin = [&](std::size_t n) {
          return o.jitterMs > 0 ? room.captured[n] : room.sentAt[n];
        };
        const int64_t t0 = origin(n0);
        const auto first = std::find_if(room.loud.begin(), room.loud.end(), [&](const Loud& l) {
          return l.startsEpisode && l.arrival > t0 && l.arrival < t0 + kDetectWindowNs;
        });
        if (first == room.loud.end()) {
          ++missed;
          continue;
        }
        const double delay = ms(first->arrival - t0);
        delays.push_back(delay);
        const double onset =
            1000.0 * static_cast<double>(first->onset) / confab::mixer::pcmRate(codec);
        onsets.push_back(onset);
        audioDelays.push_back(delay + onset);
        // Which of A's frames was mixed first. Opus delays the audio by its look-ahead twice (A's
        // encoder, the mixer's), about 13 ms, so B's first loud packet holds only the start of
        // the first mixed frame next to the end of the one before it; the second loud packet is
        // mostly that frame.
        const auto second = std::next(first);
        std::size_t k = first->tone;
        if (codec == Codec::kOpus) {
          if (second == room.loud.end() ||
              second->sequence != static_cast<uint16_t>(first->sequence + 1)) {
            ++unknownFrame;
            continue;
          }
          k = second->tone;
        }
        ++firstFrames[k];
        const double held = ms(first->arrival - origin(n0 + k));
        // Arriving up to 2 ms before the usual point is noise in the usual point, not a tick less.
        const double ticks = std::floor((held - align - tickWork + 2.0) / ms(kTickNs));
        attack.push_back(delay - held);
        alignment.push_back(align);
        work.push_back(tickWork);
        buffered.push_back(ticks * ms(kTickNs));
        overMinimum += ticks > 1 ? 1 : 0;
        extra.push_back(held - align - tickWork - ticks * ms(kTickNs));
        if (o.verbose) {
          std::fprintf(stderr,
                       "%s room %zu burst %zu: delay %.2f ms = attack %.2f (frame %zu) + "
                       "alignment %.2f + work %.2f + buffer %.0f + extra %.2f\n",
                       codecName(codec), static_cast<std::size_t>(&room - rooms.data()), b, delay,
                       attack.back(), k, align, tickWork, buffered.back(), extra.back());
        }
      }
    }
    std::string histogram;
    for (std::size_t k = 0; k < kBurstFrames; ++k) {
      if (firstFrames[k] > 0) {
        histogram += (histogram.empty() ? "" : ",") + std::to_string(k) + ":" +
                     std::to_string(firstFrames[k]);
      }
    }
    auto largest = [](const std::vector<double>& v) {
      return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    };
    auto smallest = [](const std::vector<double>& v) {
      return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
    };
    const char* name = codecName(codec);
    std::printf(
        "%s %s jitter %.0f ms: %zu bursts (%zu missed), delay p50 %.1f ms p99 %.1f ms max %.1f "
        "ms mean %.1f ms = VAD attack %.1f (first mixed burst frame %s) + tick alignment %.1f + "
        "tick work %.1f + jitter buffer %.1f + extra %.1f; audio onset %.1f ms into the packet; "
        "A's packets late "
        "at the mixer %llu, concealed frames %llu\n",
        remote ? "confab-mixer" : "in-process", name, o.jitterMs, delays.size(), missed,
        percentile(delays, 0.5), percentile(delays, 0.99), largest(delays), mean(delays),
        mean(attack), histogram.c_str(), mean(alignment), mean(work), mean(buffered), mean(extra),
        mean(onsets), static_cast<unsigned long long>(late),
        static_cast<unsigned long long>(concealed));
    std::printf(
        "result mixer=%s codec=%s jitter_ms=%.0f rooms=%zu bursts=%zu missed=%zu p50_ms=%.2f "
        "p99_ms=%.2f max_ms=%.2f min_ms=%.2f mean_ms=%.2f audio_p50_ms=%.2f audio_p99_ms=%.2f "
        "attack_mean_ms=%.2f first_frames=%s unknown_frame=%zu align_mean_ms=%.2f "
        "work_mean_ms=%.2f work_max_ms=%.2f jb_mean_ms=%.2f jb_min_ms=%.0f jb_max_ms=%.0f "
        "jb_over_min=%zu extra_mean_ms=%.2f extra_max_ms=%.2f "
        "onset_mean_ms=%.2f opus_lookahead_ms=%.2f late=%llu concealed=%llu mixer_received=%llu "
        "reordered=%llu sender_late_p99_ms=%.3f sender_late_max_ms=%.3f tick_late_p99_ms=%s "
        "tick_late_p999_ms=%s send_failures=%llu failed=%d sched=%s load=%s\n",
        remote ? "remote" : "inprocess", name, o.jitterMs, o.rooms, delays.size(), missed,
        percentile(delays, 0.5), percentile(delays, 0.99), largest(delays), smallest(delays),
        mean(delays), percentile(audioDelays, 0.5), percentile(audioDelays, 0.99), mean(attack),
        histogram.empty() ? "none" : histogram.c_str(), unknownFrame, mean(alignment), mean(work),
        largest(work), mean(buffered), smallest(buffered), largest(buffered), overMinimum,
        mean(extra), largest(extra), mean(onsets), opusLookaheadMs,
        static_cast<unsigned long long>(late), static_cast<unsigned long long>(concealed),
        static_cast<unsigned long long>(receivedByMixer),
        static_cast<unsigned long long>(reordered), percentile(sender.lateMs, 0.99),
        largest(sender.lateMs), tickLateP99.c_str(), tickLateP999.c_str(),
        static_cast<unsigned long long>(sender.failures), events.failed,
        realtime ? "fifo" : "normal", load.c_str());
  }
  std::fflush(stdout);

  for (auto& room : rooms) {
    mixer->release(room.a.endpoint);
    mixer->release(room.b.endpoint);
    mixer->destroyMix(room.mix);
    ::close(room.a.fd);
    ::close(room.b.fd);
  }
  pumpFor(*mixer, events, 200ms);  // a remote mixer's link sends the releases
  return 0;
}
