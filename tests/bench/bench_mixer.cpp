// The whole mixer under load: N participants in rooms of S with K talkers each, over real
// loopback UDP sockets, against one InProcessMixer thread. A load generator (its own threads,
// pinned away from the mixer's core) sends one 20 ms packet per participant per tick from one
// socket per participant (endpoints latch to their peer's address), pre-encoded once so only
// the RTP header patch, the SRTP protect and the sendto cost anything per packet, and drains what
// the mixer sends back, counting it by RTP sequence number. Run by tests/bench/mixer.sh.
//   bench_mixer [--codec opus|pcmu] [--participants N] [--room-size S] [--talkers K]
//               [--srtp on|off] [--levels on|off] [--listener-audio noise|silence]
//               [--seconds T] [--warmup W] [--generator-threads G] [--slices S] [--no-pin]
//               [--io uring|epoll] [--gen-io uring|sendto]
//   bench_mixer --floor [--participants P] [--rounds R]
// Prints a human line and a "result key=value ..." line for the script.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
#include <dirent.h>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/engine/IoRing.hpp"
#include "mixer/room/AudioCodec.hpp"
#include "mixer/rtp/Rtcp.hpp"
#include "mixer/rtp/RtpPacket.hpp"
#include "mixer/srtp/Library.hpp"
#include "mixer/srtp/Session.hpp"

namespace {

using confab::mixer::Codec;
using confab::srtp::Direction;
using confab::srtp::Session;
using confab::srtp::Suite;
using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(20);
constexpr std::size_t kTemplateFrames = 50;  // 1 s of audio per template set
constexpr Suite kSuite = Suite::kAesCm128HmacSha1_80;
constexpr uint8_t kAudioLevelId = 1;
constexpr std::size_t kDrainEvery = 5;  // each generator socket is drained every 100 ms
constexpr std::size_t kSlot = 1500;
constexpr uint64_t kReportEvery = 250;  // ticks: an RTCP report every 5 s per phone
constexpr uint64_t kFirstReportWithin = 50;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "bench_mixer: %s\n", why.c_str());
  std::exit(1);
}

struct Options {
  Codec codec = Codec::kOpus;
  std::size_t participants = 100;
  std::size_t roomSize = 20;
  std::size_t talkers = 3;
  bool srtp = true;
  bool levels = false;
  bool noiseListeners = true;
  double seconds = 10.0;
  double warmup = 2.0;
  std::size_t generatorThreads = 0;  // 0: one per CPU not running the mixer, at most 2
  bool pin = true;
  // The machine may be shared: the mixer and generator threads run SCHED_FIFO (root only) so
  // other programs' work does not show up as the mixer's tick lateness. "normal" measures as is.
  bool realtime = true;
  bool floor = false;
  std::size_t rounds = 2000;
  // Send slots per tick: phones' clocks are unrelated, so packets arrive spread over the tick.
  // 1 sends each tick's packets in one burst.
  std::size_t slices = 10;
  // Each simulated phone sends an RTCP receiver report every 5 s (the first within 1 s), as real
  // phones do; the mixer's Opus FEC follows the loss they report (none, on loopback).
  bool reports = true;
  // The room's CELT-only encodes (talkers' own mixes, listeners without FEC); off: VOIP for all,
  // as before issue 15, for an A/B in one build.
  bool celt = true;
  // The mixer thread reads its sockets through io_uring (where the kernel allows it) or epoll.
  bool ioUring = true;
  // The simulated phones send through the mixer's own IoRing (one io_uring_enter per slice):
  // with a sendto each, one generator thread on this 2-core host falls behind before the mixer
  // does (at 2,500 PCMU + SRTP it was 95 % of its core and 87 ms late).
  bool generatorIoUring = true;
};

bool onOff(std::string_view value, std::string_view name) {
  if (value == "on") {
    return true;
  }
  if (value == "off") {
    return false;
  }
  fail(std::string(name) + " takes on or off");
}

Options parse(int argc, char** argv) {
  Options o;
  bool participantsGiven = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        fail("missing value after " + std::string(arg));
      }
      return argv[++i];
    };
    auto number = [&]() -> std::size_t {
      return static_cast<std::size_t>(std::strtoull(std::string(value()).c_str(), nullptr, 10));
    };
    if (arg == "--codec") {
      const auto v = value();
      if (v == "opus") {
        o.codec = Codec::kOpus;
      } else if (v == "pcmu") {
        o.codec = Codec::kPcmu;
      } else {
        fail("--codec takes opus or pcmu");
      }
    } else if (arg == "--participants") {
      o.participants = number();
      participantsGiven = true;
    } else if (arg == "--room-size") {
      o.roomSize = number();
    } else if (arg == "--talkers") {
      o.talkers = number();
    } else if (arg == "--srtp") {
      o.srtp = onOff(value(), arg);
    } else if (arg == "--levels") {
      o.levels = onOff(value(), arg);
    } else if (arg == "--listener-audio") {
      const auto v = value();
      if (v != "noise" && v != "silence") {
        fail("--listener-audio takes noise or silence");
      }
      o.noiseListeners = v == "noise";
    } else if (arg == "--seconds") {
      o.seconds = std::strtod(std::string(value()).c_str(), nullptr);
    } else if (arg == "--warmup") {
      o.warmup = std::strtod(std::string(value()).c_str(), nullptr);
    } else if (arg == "--generator-threads") {
      o.generatorThreads = number();
    } else if (arg == "--sched") {
      const auto v = value();
      if (v != "fifo" && v != "normal") {
        fail("--sched takes fifo or normal");
      }
      o.realtime = v == "fifo";
    } else if (arg == "--slices") {
      o.slices = std::max<std::size_t>(1, number());
    } else if (arg == "--io") {
      const auto v = value();
      if (v != "uring" && v != "epoll") {
        fail("--io takes uring or epoll");
      }
      o.ioUring = v == "uring";
    } else if (arg == "--gen-io") {
      const auto v = value();
      if (v != "uring" && v != "sendto") {
        fail("--gen-io takes uring or sendto");
      }
      o.generatorIoUring = v == "uring";
    } else if (arg == "--celt") {
      o.celt = onOff(value(), arg);
    } else if (arg == "--reports") {
      o.reports = onOff(value(), arg);
    } else if (arg == "--no-pin") {
      o.pin = false;
    } else if (arg == "--floor") {
      o.floor = true;
    } else if (arg == "--rounds") {
      o.rounds = number();
    } else {
      fail("unknown option " + std::string(arg));
    }
  }
  if (o.floor && !participantsGiven) {
    o.participants = 100;
  }
  if (o.participants == 0 || o.roomSize == 0 || o.talkers > o.roomSize || o.seconds <= 0) {
    fail("need participants > 0, room size > 0, talkers <= room size, seconds > 0");
  }
  return o;
}

// --- Audio templates: what each simulated participant says, encoded once. -----------------------

// A steady tone at about -20 dBov (a talker) or low white noise at about -60 dBov (a listener in
// a quiet room: below the VAD's -40 dBov start, but real audio for the decoder, unlike digital
// silence, which Opus codes in a few bytes and decodes for almost nothing).
std::vector<int16_t> makeSignal(std::size_t samples, int rate, double toneHz, bool noise,
                                bool silence, uint32_t seed) {
  std::vector<int16_t> pcm(samples);
  if (silence) {
    return pcm;
  }
  std::mt19937 random(seed);
  std::normal_distribution<double> gauss(0.0, 32768.0 * std::pow(10.0, -60.0 / 20.0));
  for (std::size_t i = 0; i < samples; ++i) {
    double v = 0;
    if (noise) {
      v = gauss(random);
    } else {
      const double t = static_cast<double>(i) / rate;
      // A little vibrato so Opus codes it like a voice, not a perfect sine.
      v = 3277.0 * std::sin(2.0 * M_PI * toneHz * t + 0.5 * std::sin(2.0 * M_PI * 5.0 * t));
    }
    pcm[i] = static_cast<int16_t>(std::clamp(v, -32767.0, 32767.0));
  }
  return pcm;
}

// Full RTP packets (header, optional RFC 6464 extension, payload); sequence number, timestamp and
// SSRC are patched per send.
struct Templates {
  std::vector<std::vector<uint8_t>> packets;
  std::vector<std::size_t> payloadSizes;
};

uint8_t payloadTypeOf(Codec codec) { return codec == Codec::kOpus ? 111 : 0; }

Templates encodeTemplates(Codec codec, bool levels, bool talker, double toneHz, bool noise,
                          uint32_t seed) {
  const std::size_t frame = confab::mixer::frameSamples(codec);
  const auto pcm = makeSignal(frame * kTemplateFrames, confab::mixer::pcmRate(codec), toneHz,
                              !talker && noise, !talker && !noise, seed);
  confab::mixer::AudioEncoder encoder(codec, 32000);
  Templates t;
  std::array<uint8_t, confab::mixer::kMaxEncodedBytes> payload{};
  for (std::size_t f = 0; f < kTemplateFrames; ++f) {
    const std::size_t length =
        encoder.encode(std::span<const int16_t>(pcm).subspan(f * frame, frame), payload);
    if (length == 0) {
      fail("encoding the templates failed");
    }
    confab::rtp::RtpHeader header;
    header.payloadType = payloadTypeOf(codec);
    if (levels) {
      header.audioLevelId = kAudioLevelId;
      // RFC 6464: a talker at about -30 dBov with the V flag, a listener says silence (127).
      header.audioLevel = talker ? confab::rtp::AudioLevel{true, 30} : confab::rtp::AudioLevel{};
    }
    std::vector<uint8_t> packet(kSlot);
    const std::size_t size = confab::rtp::writeRtpPacket(
        packet, header, std::span<const uint8_t>(payload).first(length));
    if (size == 0) {
      fail("building a template packet failed");
    }
    packet.resize(size);
    t.packets.push_back(std::move(packet));
    t.payloadSizes.push_back(length);
  }
  return t;
}

void patchHeader(uint8_t* packet, uint16_t seq, uint32_t timestamp, uint32_t ssrc) {
  packet[2] = static_cast<uint8_t>(seq >> 8);
  packet[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) {
    packet[4 + i] = static_cast<uint8_t>(timestamp >> (24 - 8 * i));
    packet[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
}

// --- Sockets, limits, threads. ------------------------------------------------------------------

int udpSocket(sockaddr_in& bound) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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

rlim_t raiseFileLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

std::set<pid_t> threadIds() {
  std::set<pid_t> ids;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') {
        ids.insert(static_cast<pid_t>(std::atoi(entry->d_name)));
      }
    }
    ::closedir(dir);
  }
  return ids;
}

std::vector<int> allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  ::sched_getaffinity(0, sizeof(set), &set);
  std::vector<int> cpus;
  for (std::size_t c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) {
      cpus.push_back(static_cast<int>(c));
    }
  }
  return cpus;
}

void pinThread(pid_t tid, std::span<const int> cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    CPU_SET(static_cast<std::size_t>(c), &set);
  }
  if (::sched_setaffinity(tid, sizeof(set), &set) != 0) {
    std::fprintf(stderr, "bench_mixer: cannot pin thread %d: %s\n", tid, std::strerror(errno));
  }
}

// SCHED_FIFO at the lowest real-time priority for this thread and the threads it starts (they
// inherit it); false when not permitted. The kernel's RT throttling (sched_rt_runtime_us) still
// leaves other programs 5 % of each CPU.
bool makeRealtime(bool wanted) {
  if (!wanted) {
    return false;
  }
  sched_param param{};
  param.sched_priority = 1;
  if (::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param) != 0) {
    std::fprintf(stderr, "bench_mixer: SCHED_FIFO refused; running SCHED_OTHER\n");
    return false;
  }
  return true;
}

std::chrono::nanoseconds threadCpu() {
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  return std::chrono::seconds(cpu.tv_sec) + std::chrono::nanoseconds(cpu.tv_nsec);
}

// Datagrams the kernel dropped on this process's own UDP sockets (mixer's and generator's) for a
// full receive buffer: the "drops" column of /proc/net/udp for the inodes in /proc/self/fd. The
// system-wide RcvbufErrors would count other programs' drops too.
uint64_t ownUdpDrops() {
  std::set<unsigned long> inodes;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    std::array<char, 64> target{};
    while (const dirent* entry = ::readdir(dir)) {
      const std::string path = std::string("/proc/self/fd/") + entry->d_name;
      const auto n = ::readlink(path.c_str(), target.data(), target.size() - 1);
      if (n <= 0) {
        continue;
      }
      const std::string_view link(target.data(), static_cast<std::size_t>(n));
      if (link.rfind("socket:[", 0) == 0) {
        inodes.insert(std::strtoul(std::string(link.substr(8)).c_str(), nullptr, 10));
      }
    }
    ::closedir(dir);
  }
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  uint64_t drops = 0;
  while (std::getline(in, line)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    std::istringstream fields(line);
    std::vector<std::string> words;
    std::string w;
    while (fields >> w) {
      words.push_back(w);
    }
    if (words.size() >= 13 && inodes.count(std::strtoul(words[9].c_str(), nullptr, 10)) != 0) {
      drops += std::strtoull(words[12].c_str(), nullptr, 10);
    }
  }
  return drops;
}

std::vector<uint8_t> randomKey(std::mt19937& random) {
  std::vector<uint8_t> key(confab::srtp::masterKeySaltLength(kSuite));
  for (auto& b : key) {
    b = static_cast<uint8_t>(random());
  }
  return key;
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

// --- The load generator. ------------------------------------------------------------------------

enum Phase : int { kWarmup = 0, kMeasuring = 1, kDone = 2 };

struct SimulatedParticipant {
  int fd = -1;
  sockaddr_in mixer{};
  uint32_t ssrc = 0;
  uint32_t mixerSsrc = 0;  // what the mixer sends them from
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  const Templates* templates = nullptr;
  std::optional<Session> protect;  // we are their phone: protect with the key the mixer unprotects
  // What came back during the measured window, by the mixer's RTP sequence numbers.
  uint64_t received = 0;
  bool any = false;
  uint16_t lastSeq = 0;
  int64_t firstExt = 0;
  int64_t lastExt = 0;
};

struct GeneratorReport {
  std::vector<double> doneLateMs;  // per tick in the window: send phase end - due time
  uint64_t sent = 0;               // in the window
  uint64_t sendFailures = 0;
  std::chrono::nanoseconds cpuAtStart{0};
  std::chrono::nanoseconds cpuAtEnd{0};
};

class Generator {
 public:
  Generator(std::span<SimulatedParticipant> legs, Codec codec, std::size_t slices, bool reports,
            bool ioUring, Clock::time_point start, const std::atomic<int>& phase,
            const std::atomic<bool>& stop)
      : legs_(legs),
        codec_(codec),
        slices_(slices),
        reports_(reports),
        ioUring_(ioUring),
        start_(start),
        phase_(phase),
        stop_(stop) {}

  void run() {
    if (ioUring_) {  // made on this thread, its only submitter
      std::string why;
      ring_ = confab::mixer::IoRing::create(16, why);
      if (!ring_) {
        std::fprintf(stderr, "bench_mixer: the generator sends with sendto (%s)\n", why.c_str());
      }
    }
    std::array<uint8_t, kSlot> buffer{};
    const auto frame = static_cast<uint32_t>(confab::mixer::frameSamples(codec_));
    int seenPhase = kWarmup;
    for (uint64_t tick = 0; !stop_.load(std::memory_order_relaxed); ++tick) {
      const auto due = start_ + kTick * tick;
      std::this_thread::sleep_until(due);
      const int phase = phase_.load(std::memory_order_acquire);
      if (phase != seenPhase) {
        if (phase == kMeasuring) {
          report_.cpuAtStart = threadCpu();
        } else if (phase == kDone) {
          report_.cpuAtEnd = threadCpu();
        }
        seenPhase = phase;
      }
      // Real phones start their 20 ms clocks at unrelated moments, so their packets reach the
      // mixer spread over the tick, not in one burst: the legs are sent in slices_ slices,
      // kTick / slices_ apart. Lateness is how long after its own slot a slice was done.
      double lateMs = 0;
      for (std::size_t slice = 0; slice < slices_; ++slice) {
        const auto slot = due + kTick * slice / slices_;
        std::this_thread::sleep_until(slot);
        const std::size_t begin = legs_.size() * slice / slices_;
        const std::size_t end = legs_.size() * (slice + 1) / slices_;
        for (std::size_t i = begin; i < end; ++i) {
          SimulatedParticipant& p = legs_[i];
          const auto& packet = p.templates->packets[(tick + i) % kTemplateFrames];
          std::memcpy(buffer.data(), packet.data(), packet.size());
          patchHeader(buffer.data(), p.seq++, p.timestamp, p.ssrc);
          p.timestamp += frame;
          std::size_t length = packet.size();
          if (p.protect && !p.protect->protectRtp(buffer, length)) {
            ++report_.sendFailures;
            continue;
          }
          if (!send(p, std::span<const uint8_t>(buffer.data(), length))) {
            ++report_.sendFailures;
          } else if (phase == kMeasuring) {
            ++report_.sent;
          }
        }
        if (ring_) {
          ring_->flush();  // the slice's packets in one system call
        }
        lateMs = std::max(lateMs,
                          std::chrono::duration<double, std::milli>(Clock::now() - slot).count());
      }
      if (phase == kMeasuring) {
        report_.doneLateMs.push_back(lateMs);
      }
      if (ring_) {  // failed sends come back as completions
        const uint64_t before = ring_->counters().sendFailures;
        ring_->wait(std::chrono::nanoseconds(0), quiet_);
        report_.sendFailures += ring_->counters().sendFailures - before;
      }
      for (std::size_t i = tick % kDrainEvery; i < legs_.size(); i += kDrainEvery) {
        drain(legs_[i], phase == kMeasuring);
      }
      // Reports go out in the first second of every five, leg i at tick i mod 50 of it.
      if (reports_ && tick % kReportEvery < kFirstReportWithin) {
        for (std::size_t i = tick % kFirstReportWithin; i < legs_.size(); i += kFirstReportWithin) {
          sendReport(legs_[i], buffer);
        }
      }
    }
    if (report_.cpuAtEnd.count() == 0) {
      report_.cpuAtEnd = threadCpu();
    }
  }

  [[nodiscard]] const GeneratorReport& report() const { return report_; }

 private:
  void drain(SimulatedParticipant& p, bool counting) {
    constexpr std::size_t kBatch = 16;
    std::array<std::array<uint8_t, 256>, kBatch> data{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> headers{};
    for (;;) {
      for (std::size_t i = 0; i < kBatch; ++i) {
        iov[i] = iovec{data[i].data(), data[i].size()};
        headers[i] = mmsghdr{};
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
      }
      const int got = ::recvmmsg(p.fd, headers.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) {
        return;
      }
      if (counting) {
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
          const std::span<const uint8_t> bytes(data[i].data(), headers[i].msg_len);
          if (bytes.size() < 12 || confab::rtp::looksLikeRtcp(bytes)) {
            continue;  // the mixer's RTCP reports share the port (rtcp-mux)
          }
          const auto seq = static_cast<uint16_t>((data[i][2] << 8) | data[i][3]);
          if (!p.any) {
            p.any = true;
            p.firstExt = p.lastExt = seq;
          } else {
            p.lastExt += static_cast<int16_t>(static_cast<uint16_t>(seq - p.lastSeq));
          }
          p.lastSeq = seq;
          ++p.received;
        }
      }
      if (static_cast<std::size_t>(got) < kBatch) {
        return;
      }
    }
  }

  // An RTCP receiver report (RFC 3550 §6.4.2) on the mixer's stream: no loss (a loss on this
  // loopback path fails the row anyway, in the loss column). SRTCP when the call is SRTP.
  void sendReport(SimulatedParticipant& p, std::span<uint8_t> buffer) {
    confab::rtp::ReportBlock block;
    block.ssrc = p.mixerSsrc;
    block.extendedHighestSequence = static_cast<uint32_t>(p.lastExt);
    std::size_t length = confab::rtp::writeReceiverReportCompound(
        buffer, p.ssrc, std::span<const confab::rtp::ReportBlock>(&block, 1), "bench@127.0.0.1");
    if (length == 0 || (p.protect && !p.protect->protectRtcp(buffer, length))) {
      ++report_.sendFailures;
      return;
    }
    send(p, std::span<const uint8_t>(buffer.data(), length));
    if (ring_) {
      ring_->flush();
    }
  }

  bool send(const SimulatedParticipant& p, std::span<const uint8_t> bytes) {
    if (ring_) {
      sockaddr_storage to{};
      std::memcpy(&to, &p.mixer, sizeof(p.mixer));
      if (ring_->post(p.fd, to, sizeof(p.mixer), bytes, 0)) {
        return true;  // a failure after the flush is counted in the ring's counters
      }
    }
    return ::sendto(p.fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
                    reinterpret_cast<const sockaddr*>(&p.mixer),
                    sizeof(p.mixer)) == static_cast<ssize_t>(bytes.size());
  }

  std::span<SimulatedParticipant> legs_;
  Codec codec_;
  std::size_t slices_;
  bool reports_;
  bool ioUring_;
  std::unique_ptr<confab::mixer::IoRing> ring_;
  struct Quiet final : confab::mixer::IoRing::Handler {  // the ring watches no socket here
    void onDatagram(uint64_t /*tag*/, std::span<uint8_t> /*data*/, std::size_t /*length*/,
                    const sockaddr_storage& /*from*/, bool /*truncated*/) override {}
    void onReadable(uint64_t /*tag*/) override {}
  } quiet_;
  Clock::time_point start_;
  const std::atomic<int>& phase_;
  const std::atomic<bool>& stop_;
  GeneratorReport report_;
};

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

int runLoad(const Options& o) {
  const std::size_t n = o.participants;
  const std::size_t rooms = (n + o.roomSize - 1) / o.roomSize;
  const rlim_t files = raiseFileLimit();
  if (3 * n + 256 > files) {
    fail("need about " + std::to_string(3 * n + 256) + " file descriptors, the limit is " +
         std::to_string(files) + " (hard limit; raise it with ulimit -Hn as root)");
  }
  std::string error;
  if (!confab::srtp::Library::initialize(&error)) {
    fail("libsrtp: " + error);
  }

  // One core for the mixer thread, the others for the generator (and this thread), so the
  // generator's work never runs on the mixer's core and steals its time.
  const auto cpus = allowedCpus();
  const bool pin = o.pin && cpus.size() >= 2;
  const int mixerCpu = cpus.back();
  const std::vector<int> generatorCpus(cpus.begin(), cpus.end() - (pin ? 1 : 0));
  if (pin) {
    pinThread(static_cast<pid_t>(::syscall(SYS_gettid)), generatorCpus);
  }
  // Threads inherit it: the mixer's, the generator's.
  const bool realtime = makeRealtime(o.realtime);
  const std::size_t generatorThreads =
      o.generatorThreads != 0 ? o.generatorThreads
                              : std::clamp<std::size_t>(generatorCpus.size(), 1, 2);

  const auto before = threadIds();
  confab::mixer::MixerSettings settings;
  settings.threads = 1;
  settings.bindAddress = boost::asio::ip::make_address("127.0.0.1");
  // Below Linux's ephemeral range (32768-60999), where the generator's own sockets come from.
  settings.ports = confab::mixer::PortRange{10000, 31999};
  settings.rtpTimeout = std::chrono::seconds(600);
  settings.ioUring = o.ioUring;
  confab::mixer::InProcessMixer mixer(settings);
  std::vector<pid_t> mixerThreads;
  for (pid_t id : threadIds()) {
    if (before.count(id) == 0) {
      mixerThreads.push_back(id);
    }
  }
  if (pin) {
    for (pid_t id : mixerThreads) {
      pinThread(id, std::span<const int>(&mixerCpu, 1));
    }
  }
  auto& worker = *mixer.workers().front();

  confab::mixer::RoomSettings roomSettings;
  roomSettings.maxTalkers = static_cast<unsigned>(o.talkers);
  roomSettings.opusBitrate = 32000;
  roomSettings.talkerOpusCeltOnly = o.celt;
  roomSettings.plainListenerOpusCeltOnly = o.celt;
  std::vector<confab::mixer::MixId> mixes;
  for (std::size_t r = 0; r < rooms; ++r) {
    mixes.push_back(mixer.createMix(roomSettings));
    if (r % 256 == 255) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the command queue holds 1024
    }
  }

  // One template set per talker slot (different pitches, so talkers are distinct voices) and one
  // for listeners.
  std::vector<Templates> talkerTemplates;
  for (std::size_t k = 0; k < o.talkers; ++k) {
    talkerTemplates.push_back(encodeTemplates(o.codec, o.levels, true,
                                              180.0 + 70.0 * static_cast<double>(k),
                                              o.noiseListeners, static_cast<uint32_t>(k + 1)));
  }
  const Templates listenerTemplates =
      encodeTemplates(o.codec, o.levels, false, 0, o.noiseListeners, 99);
  std::size_t payloadBytes = 0;
  for (auto s : talkerTemplates.empty() ? listenerTemplates.payloadSizes
                                        : talkerTemplates.front().payloadSizes) {
    payloadBytes += s;
  }
  payloadBytes /= kTemplateFrames;
  std::size_t listenerPayloadBytes = 0;
  for (auto s : listenerTemplates.payloadSizes) {
    listenerPayloadBytes += s;
  }
  listenerPayloadBytes /= kTemplateFrames;

  std::mt19937 random(12345);
  std::vector<SimulatedParticipant> legs(n);
  for (std::size_t i = 0; i < n; ++i) {
    SimulatedParticipant& p = legs[i];
    sockaddr_in local{};
    p.fd = udpSocket(local);
    p.ssrc = 0x20000000u + static_cast<uint32_t>(i);
    p.seq = static_cast<uint16_t>(random());
    p.timestamp = static_cast<uint32_t>(random());
    const std::size_t slot = i % o.roomSize;
    p.templates = slot < o.talkers ? &talkerTemplates[slot] : &listenerTemplates;

    auto reservation = mixer.reserve();
    if (!reservation) {
      fail("the mixer's port range is exhausted at participant " + std::to_string(i));
    }
    p.mixer.sin_family = AF_INET;
    p.mixer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p.mixer.sin_port = htons(reservation->rtpPort);

    confab::mixer::MediaParams params;
    params.participant.codec = o.codec;
    params.participant.payloadType = payloadTypeOf(o.codec);
    params.participant.audioLevelId = o.levels ? kAudioLevelId : 0;
    params.participant.ssrc = 0x10000000u + static_cast<uint32_t>(i);
    p.mixerSsrc = params.participant.ssrc;
    params.endpoint.rtcpMux = true;
    sockaddr_storage remote{};
    std::memcpy(&remote, &local, sizeof(local));
    params.endpoint.remoteRtp = remote;  // so the mixer sends before it has latched
    if (o.srtp) {
      confab::mixer::SrtpKeys keys;
      keys.suite = kSuite;
      keys.localKeySalt = randomKey(random);
      keys.remoteKeySalt = randomKey(random);
      p.protect = Session::create(kSuite, Direction::kOutbound, keys.remoteKeySalt, &error);
      if (!p.protect) {
        fail("srtp session: " + error);
      }
      params.endpoint.srtp = keys;
    }
    if (!mixer.join(reservation->id, mixes[i / o.roomSize], params)) {
      fail("join failed at participant " + std::to_string(i));
    }
    if (i % 256 == 255) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::atomic<int> phase{kWarmup};
  std::atomic<bool> stop{false};
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  std::vector<std::unique_ptr<Generator>> generators;
  std::vector<std::thread> threads;
  for (std::size_t g = 0; g < generatorThreads; ++g) {
    const std::size_t first = n * g / generatorThreads;
    const std::size_t last = n * (g + 1) / generatorThreads;
    generators.push_back(std::make_unique<Generator>(
        std::span<SimulatedParticipant>(legs).subspan(first, last - first), o.codec, o.slices,
        o.reports, o.generatorIoUring, start, phase, stop));
  }
  for (auto& g : generators) {
    threads.emplace_back([&g] { g->run(); });
  }

  const std::string load = loadAverage();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  // The window.
  const uint64_t drops0 = ownUdpDrops();
  worker.resetLateness();
  const auto cpu0 = worker.cpuTime();
  const uint64_t ticks0 = worker.tickCount();
  const auto wall0 = Clock::now();
  phase.store(kMeasuring, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  const auto cpu1 = worker.cpuTime();
  const uint64_t ticks1 = worker.tickCount();
  const auto wall1 = Clock::now();
  const double p50 = worker.lateness().percentileMicros(0.5);
  const double p99 = worker.lateness().percentileMicros(0.99);
  const double p999 = worker.lateness().percentileMicros(0.999);
  const double latenessTicks = static_cast<double>(worker.lateness().ticks());
  phase.store(kDone, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const uint64_t drops1 = ownUdpDrops();
  stop.store(true);
  for (auto& t : threads) {
    t.join();
  }

  // Mixer side.
  const double wallSeconds = std::chrono::duration<double>(wall1 - wall0).count();
  const double wallTicks = wallSeconds * 50.0;
  const auto ticks = static_cast<double>(ticks1 - ticks0);
  const double cpuUs = std::chrono::duration<double, std::micro>(cpu1 - cpu0).count();
  const double perParticipantTick = cpuUs / std::max(1.0, ticks) / static_cast<double>(n);
  const double mixerCore = cpuUs / 1e6 / wallSeconds;

  // Loss: sequence gaps in what each participant got back, plus ticks the mixer skipped (its
  // catch-up limit), plus participants who got nothing at all.
  uint64_t gaps = 0;
  uint64_t received = 0;
  std::size_t silentLegs = 0;
  for (const auto& p : legs) {
    received += p.received;
    if (!p.any) {
      ++silentLegs;
      continue;
    }
    const auto span = static_cast<uint64_t>(std::max<int64_t>(0, p.lastExt - p.firstExt + 1));
    gaps += span > p.received ? span - p.received : 0;
  }
  const double skippedTicks = std::max(0.0, std::round(wallTicks) - ticks - 1.0);
  const double expected = static_cast<double>(n) * wallTicks;
  const double lost = static_cast<double>(gaps) + skippedTicks * static_cast<double>(n) +
                      static_cast<double>(silentLegs) * ticks;
  const double lossPct = 100.0 * lost / expected;
  const uint64_t rcvbufDrops = drops1 - drops0;

  // Generator side: could it keep the schedule?
  std::vector<double> late;
  uint64_t sent = 0;
  uint64_t sendFailures = 0;
  double generatorCpuUs = 0;
  for (const auto& g : generators) {
    const auto& r = g->report();
    late.insert(late.end(), r.doneLateMs.begin(), r.doneLateMs.end());
    sent += r.sent;
    sendFailures += r.sendFailures;
    generatorCpuUs += std::chrono::duration<double, std::micro>(r.cpuAtEnd - r.cpuAtStart).count();
  }
  const double genP99 = percentile(late, 0.99);
  const double genMax = late.empty() ? 0 : *std::max_element(late.begin(), late.end());
  const double genCore = generatorCpuUs / 1e6 / wallSeconds;
  // Behind: one tick's packets regularly took longer than a tick to send, or packets went missing.
  const bool generatorBehind = genP99 > 20.0 || sendFailures > 0 ||
                               static_cast<double>(sent) < 0.99 * expected;

  const char* codecName = o.codec == Codec::kOpus ? "opus" : "pcmu";
  std::printf(
      "%s srtp=%s levels=%s: %zu participants in %zu rooms of %zu, %zu talkers each: "
      "%.2f CPU-us/participant/tick (mixer core %.0f %%), lateness p50 %.0f us p99 %.0f us "
      "p99.9 %.0f us, loss %.3f %% (%.0f of %.0f), UDP drops on own sockets %llu, generator %s "
      "(p99 send end %.1f ms after due, max %.1f ms, %.0f %% of %zu cores)\n",
      codecName, o.srtp ? "on" : "off", o.levels ? "on" : "off", n, rooms, o.roomSize, o.talkers,
      perParticipantTick, 100.0 * mixerCore, p50, p99, p999, lossPct, lost, expected,
      static_cast<unsigned long long>(rcvbufDrops), generatorBehind ? "BEHIND" : "kept up", genP99,
      genMax, 100.0 * genCore, generatorThreads);
  std::printf(
      "result codec=%s srtp=%s levels=%s listeners=%s n=%zu rooms=%zu room_size=%zu talkers=%zu "
      "seconds=%.2f mixer_ticks=%.0f lateness_ticks=%.0f cpu_us_per_participant_tick=%.3f "
      "cpu_us_per_tick=%.1f mixer_core=%.3f p50_us=%.0f p99_us=%.0f p999_us=%.0f loss_pct=%.4f "
      "lost=%.0f expected=%.0f received=%llu gaps=%llu skipped_ticks=%.0f silent_legs=%zu "
      "udp_drops=%llu gen_threads=%zu gen_core=%.3f gen_p99_ms=%.2f gen_max_ms=%.2f "
      "gen_behind=%d gen_send_failures=%llu pinned=%d sched=%s load=%s payload_bytes=%zu "
      "listener_payload_bytes=%zu io=%s gen_io=%s\n",
      codecName, o.srtp ? "on" : "off", o.levels ? "on" : "off",
      o.noiseListeners ? "noise" : "silence", n, rooms, o.roomSize, o.talkers, wallSeconds, ticks,
      latenessTicks, perParticipantTick, cpuUs / std::max(1.0, ticks), mixerCore, p50, p99, p999,
      lossPct, lost, expected, static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(gaps), skippedTicks, silentLegs,
      static_cast<unsigned long long>(rcvbufDrops), generatorThreads, genCore, genP99, genMax,
      generatorBehind ? 1 : 0, static_cast<unsigned long long>(sendFailures), pin ? 1 : 0,
      realtime ? "fifo" : "normal", load.c_str(), payloadBytes, listenerPayloadBytes,
      worker.usingIoRing() ? "uring" : "epoll", o.generatorIoUring ? "uring" : "sendto");
  std::fflush(stdout);

  for (auto& p : legs) {
    ::close(p.fd);
  }
  return 0;
}

// --- The floor: what one participant costs at the least, done by hand in one thread. ----------

int runFloor(const Options& o) {
  const std::size_t count = o.participants;
  const rlim_t files = raiseFileLimit();
  if (2 * count + 64 > files) {
    fail("too many participants for the file limit");
  }
  std::string error;
  if (!confab::srtp::Library::initialize(&error)) {
    fail("libsrtp: " + error);
  }
  const auto cpus = allowedCpus();
  if (o.pin && cpus.size() >= 2) {
    pinThread(static_cast<pid_t>(::syscall(SYS_gettid)), std::span<const int>(&cpus.back(), 1));
  }
  const bool realtime = makeRealtime(o.realtime);
  const Templates frames = encodeTemplates(Codec::kOpus, false, true, 220.0, true, 1);
  std::mt19937 random(777);

  struct Leg {
    int sender = -1;
    int receiver = -1;
    sockaddr_in to{};
    std::optional<Session> phone;    // their outbound (untimed: makes the input)
    std::optional<Session> inbound;  // ours: unprotect
    std::optional<Session> outbound;  // ours: protect
    std::unique_ptr<confab::mixer::AudioDecoder> decoder;
    std::array<uint8_t, kSlot> in{};
    std::size_t inLength = 0;
    std::array<uint8_t, kSlot> out{};
    std::size_t outLength = 0;
  };
  std::vector<Leg> legs(count);
  for (std::size_t i = 0; i < count; ++i) {
    Leg& l = legs[i];
    sockaddr_in a{};
    l.sender = udpSocket(a);
    l.receiver = udpSocket(l.to);
    const auto theirs = randomKey(random);
    const auto ours = randomKey(random);
    l.phone = Session::create(kSuite, Direction::kOutbound, theirs);
    l.inbound = Session::create(kSuite, Direction::kInbound, theirs);
    l.outbound = Session::create(kSuite, Direction::kOutbound, ours);
    if (!l.phone || !l.inbound || !l.outbound) {
      fail("srtp sessions");
    }
    l.decoder = std::make_unique<confab::mixer::AudioDecoder>(Codec::kOpus);
  }

  std::array<int16_t, confab::mixer::kMaxFrameSamples> pcm{};
  std::array<uint8_t, kSlot> scratch{};
  double unprotectNs = 0;
  double decodeNs = 0;
  double protectNs = 0;
  double sendNs = 0;
  double recvNs = 0;
  uint64_t received = 0;
  const std::size_t warmupRounds = std::min<std::size_t>(100, o.rounds / 10);
  auto elapsed = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count();
  };
  const auto cpu0 = threadCpu();
  for (std::size_t round = 0; round < o.rounds + warmupRounds; ++round) {
    const bool timed = round >= warmupRounds;
    // Untimed: each phone's next packet, SRTP-protected.
    for (std::size_t i = 0; i < count; ++i) {
      Leg& l = legs[i];
      const auto& packet = frames.packets[round % kTemplateFrames];
      std::memcpy(l.in.data(), packet.data(), packet.size());
      patchHeader(l.in.data(), static_cast<uint16_t>(round), static_cast<uint32_t>(round * 960),
                  0x30000000u + static_cast<uint32_t>(i));
      l.inLength = packet.size();
      l.phone->protectRtp(l.in, l.inLength);
    }
    const auto t0 = Clock::now();
    for (auto& l : legs) {
      if (!l.inbound->unprotectRtp(l.in, l.inLength)) {
        fail("floor: unprotect failed");
      }
    }
    const auto t1 = Clock::now();
    for (auto& l : legs) {
      const std::span<const uint8_t> payload =
          std::span<const uint8_t>(l.in).subspan(12, l.inLength - 12);
      if (!l.decoder->decode(payload, pcm)) {
        fail("floor: decode failed");
      }
    }
    const auto t2 = Clock::now();
    for (auto& l : legs) {
      std::memcpy(l.out.data(), l.in.data(), l.inLength);  // a ~100-byte packet of ours
      l.outLength = l.inLength;
      if (!l.outbound->protectRtp(l.out, l.outLength)) {
        fail("floor: protect failed");
      }
    }
    const auto t3 = Clock::now();
    for (auto& l : legs) {
      ::sendto(l.sender, l.out.data(), l.outLength, MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&l.to), sizeof(l.to));
    }
    const auto t4 = Clock::now();
    for (auto& l : legs) {
      if (::recv(l.receiver, scratch.data(), scratch.size(), MSG_DONTWAIT) > 0) {
        ++received;
      }
    }
    const auto t5 = Clock::now();
    if (timed) {
      unprotectNs += elapsed(t0, t1);
      decodeNs += elapsed(t1, t2);
      protectNs += elapsed(t2, t3);
      sendNs += elapsed(t3, t4);
      recvNs += elapsed(t4, t5);
    }
  }
  const double cpuUs = std::chrono::duration<double, std::micro>(threadCpu() - cpu0).count();
  std::size_t packetBytes = 0;  // mean SRTP packet on the wire
  for (const auto& packet : frames.packets) {
    packetBytes += packet.size() + confab::srtp::rtpTrailerLength(kSuite);
  }
  packetBytes /= frames.packets.size();
  const double perTick = static_cast<double>(o.rounds * count);
  const double total = (unprotectNs + decodeNs + protectNs + sendNs + recvNs) / perTick / 1000.0;
  std::printf(
      "floor: %.2f us per participant-tick (Opus decode %.2f, SRTP unprotect %.2f, SRTP protect "
      "%.2f, sendto %.2f, recv %.2f) over %zu participants x %zu ticks; %llu of %zu received\n",
      total, decodeNs / perTick / 1000.0, unprotectNs / perTick / 1000.0,
      protectNs / perTick / 1000.0, sendNs / perTick / 1000.0, recvNs / perTick / 1000.0, count,
      o.rounds, static_cast<unsigned long long>(received), (o.rounds + warmupRounds) * count);
  std::printf(
      "result floor=1 floor_us=%.3f decode_us=%.3f unprotect_us=%.3f protect_us=%.3f "
      "send_us=%.3f recv_us=%.3f participants=%zu rounds=%zu packet_bytes=%zu "
      "thread_cpu_us_total=%.0f sched=%s\n",
      total, decodeNs / perTick / 1000.0, unprotectNs / perTick / 1000.0,
      protectNs / perTick / 1000.0, sendNs / perTick / 1000.0, recvNs / perTick / 1000.0, count,
      o.rounds, packetBytes, cpuUs,
      realtime ? "fifo" : "normal");
  for (auto& l : legs) {
    ::close(l.sender);
    ::close(l.receiver);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  return options.floor ? runFloor(options) : runLoad(options);
}
