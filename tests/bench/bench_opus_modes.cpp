// Cost and quality of libopus encode modes for what the mixer sends: a talker's own N-1 mix (two
// other talkers) and the shared mix every listener hears (three talkers), both made of espeak-ng
// speech. Quality is judged without listeners: each mode's packets are decoded by a plain 48 kHz
// libopus decoder and compared with the unencoded mix (segmental SNR, log-spectral distance).
// Prints Markdown (tests/bench/opus_modes.sh puts it in RESULTS.md).
//   bench_opus_modes TALKER1.wav TALKER2.wav TALKER3.wav [PASSES]   (default 5 passes)
#include <opus/opus.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixer/dsp/Resampler.hpp"
#include "mixer/dsp/SoftLimiter.hpp"

namespace {

using namespace confab;

constexpr int kRate = 48000;
constexpr std::size_t kFrame = 960;  // 20 ms at 48 kHz: the mixer's tick
constexpr int kBitrate = 32000;      // RoomSettings::opusBitrate
constexpr int kFecLoss = 10;         // codec::kDefaultFecLossPercent
// Segments whose reference is quieter than this are silence: not scored (espeak-ng's pauses are
// digital zero; word tails fade through it).
constexpr double kSilenceDbov = -50.0;
constexpr double kSegSnrMin = -10.0;  // the usual per-segment clamp of segmental SNR
constexpr double kSegSnrMax = 35.0;
constexpr std::size_t kFft = 1024;  // one 20 ms segment, Hann window, zero-padded
// Spectra are floored this far below the reference segment's strongest bin before the log, so
// bins that are empty in both do not dominate the distance.
constexpr double kLsdRangeDb = 60.0;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

uint32_t le32(const std::vector<char>& b, std::size_t at) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  }
  return v;
}

uint16_t le16(const std::vector<char>& b, std::size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) |
                               (static_cast<unsigned char>(b[at + 1]) << 8));
}

struct Wav {
  int rate = 0;
  std::vector<int16_t> samples;
};

// 16-bit mono PCM WAV, as `espeak-ng -w` writes it (22050 Hz).
Wav readWav(const char* path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 ||
      std::memcmp(b.data() + 8, "WAVE", 4) != 0) {
    throw std::runtime_error(std::string(path) + ": not a WAV file");
  }
  Wav wav;
  for (std::size_t at = 12; at + 8 <= b.size();) {
    const std::size_t size = le32(b, at + 4);
    if (std::memcmp(b.data() + at, "fmt ", 4) == 0 && at + 24 <= b.size()) {
      if (le16(b, at + 8) != 1 || le16(b, at + 10) != 1 || le16(b, at + 22) != 16) {
        throw std::runtime_error(std::string(path) + ": not 16-bit mono PCM");
      }
      wav.rate = static_cast<int>(le32(b, at + 12));
    } else if (std::memcmp(b.data() + at, "data", 4) == 0) {
      const std::size_t n = std::min(size, b.size() - at - 8) / 2;
      wav.samples.resize(n);
      std::memcpy(wav.samples.data(), b.data() + at + 8, n * 2);
      break;
    }
    at += 8 + size + (size & 1U);
  }
  if (wav.rate == 0 || wav.samples.empty()) {
    throw std::runtime_error(std::string(path) + ": no fmt or data chunk");
  }
  return wav;
}

// To 48 kHz with the mixer's own resampler (SpeexDSP) at its best quality, 20 ms at a time.
std::vector<int16_t> to48k(const Wav& wav) {
  if (wav.rate % 50 != 0) {
    throw std::runtime_error("input rate must be a multiple of 50 Hz");
  }
  const auto in20 = static_cast<std::size_t>(wav.rate / 50);
  dsp::Resampler resampler(wav.rate, kRate, 10);
  std::vector<int16_t> in(wav.samples);
  in.resize((in.size() / in20 + 2) * in20, 0);  // flush the filter's delay with silence
  std::vector<int16_t> out(in.size() / in20 * kFrame);
  for (std::size_t f = 0; f < in.size() / in20; ++f) {
    resampler.process(std::span<const int16_t>(in).subspan(f * in20, in20),
                      std::span<int16_t>(out).subspan(f * kFrame, kFrame));
  }
  return out;
}

// Talkers summed at unit gain at their start times and put through the mixer's soft limiter, as a
// room mixes them; a whole number of 20 ms frames.
std::vector<int16_t> mix(const std::vector<std::vector<int16_t>>& talkers,
                         const std::vector<double>& startSeconds) {
  std::size_t length = 0;
  for (std::size_t t = 0; t < talkers.size(); ++t) {
    const auto start = static_cast<std::size_t>(startSeconds[t] * kRate);
    length = std::max(length, start + talkers[t].size());
  }
  length = (length + kFrame - 1) / kFrame * kFrame;
  std::vector<int32_t> sum(length, 0);
  for (std::size_t t = 0; t < talkers.size(); ++t) {
    const auto start = static_cast<std::size_t>(startSeconds[t] * kRate);
    for (std::size_t i = 0; i < talkers[t].size(); ++i) {
      sum[start + i] += talkers[t][i];
    }
  }
  std::vector<int16_t> out(length);
  dsp::SoftLimiter limiter;
  for (std::size_t at = 0; at < length; at += kFrame) {
    limiter.process(std::span<const int32_t>(sum).subspan(at, kFrame),
                    std::span<int16_t>(out).subspan(at, kFrame));
  }
  return out;
}

struct Mode {
  const char* application;  // "VOIP" or "CELT-only" (RESTRICTED_LOWDELAY)
  const char* band;         // max bandwidth: "FB" or "WB"
  int complexity;
  bool fec;
  const char* marker;  // "" or which current default this is
};

struct Encoded {
  std::vector<std::vector<uint8_t>> packets;
  double usPerFrame = 0.0;  // median over passes of the mean per frame
  int lookahead = 0;
};

int applicationOf(const Mode& m) {
  return std::strcmp(m.application, "VOIP") == 0 ? OPUS_APPLICATION_VOIP
                                                 : OPUS_APPLICATION_RESTRICTED_LOWDELAY;
}

OpusEncoder* makeEncoder(const Mode& m) {
  int error = 0;
  OpusEncoder* enc = opus_encoder_create(kRate, 1, applicationOf(m), &error);
  if (error != OPUS_OK) {
    throw std::runtime_error(opus_strerror(error));
  }
  // As codec::OpusEncoder sets it up, plus the mode under test.
  const bool ok =
      opus_encoder_ctl(enc, OPUS_SET_BITRATE(kBitrate)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(m.complexity)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(m.fec ? 1 : 0)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(m.fec ? kFecLoss : 0)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_DTX(0)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) == OPUS_OK &&
      opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(std::strcmp(m.band, "WB") == 0
                                                       ? OPUS_BANDWIDTH_WIDEBAND
                                                       : OPUS_BANDWIDTH_FULLBAND)) == OPUS_OK;
  if (!ok) {
    opus_encoder_destroy(enc);
    throw std::runtime_error("opus_encoder_ctl refused a setting");
  }
  return enc;
}

// Encodes the whole signal `passes` times, each with a fresh encoder (made outside the timing).
Encoded encode(const Mode& m, std::span<const int16_t> pcm, int passes) {
  Encoded out;
  const std::size_t frames = pcm.size() / kFrame;
  std::vector<std::array<uint8_t, 1275>> buffers(frames);
  std::vector<opus_int32> sizes(frames);
  std::vector<double> perFrame;
  for (int pass = 0; pass < passes; ++pass) {
    OpusEncoder* enc = makeEncoder(m);
    const double start = threadCpuSeconds();
    for (std::size_t f = 0; f < frames; ++f) {
      sizes[f] = opus_encode(enc, pcm.data() + f * kFrame, static_cast<int>(kFrame),
                             buffers[f].data(), static_cast<opus_int32>(buffers[f].size()));
    }
    perFrame.push_back((threadCpuSeconds() - start) * 1e6 / static_cast<double>(frames));
    opus_int32 lookahead = 0;
    opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&lookahead));
    out.lookahead = lookahead;
    opus_encoder_destroy(enc);
  }
  std::sort(perFrame.begin(), perFrame.end());
  out.usPerFrame = perFrame[perFrame.size() / 2];
  for (std::size_t f = 0; f < frames; ++f) {
    if (sizes[f] < 0) {
      throw std::runtime_error(opus_strerror(sizes[f]));
    }
    out.packets.emplace_back(buffers[f].begin(), buffers[f].begin() + sizes[f]);
  }
  return out;
}

std::vector<int16_t> decode(const std::vector<std::vector<uint8_t>>& packets) {
  int error = 0;
  OpusDecoder* dec = opus_decoder_create(kRate, 1, &error);
  if (error != OPUS_OK) {
    throw std::runtime_error(opus_strerror(error));
  }
  std::vector<int16_t> out(packets.size() * kFrame);
  for (std::size_t f = 0; f < packets.size(); ++f) {
    const int n = opus_decode(dec, packets[f].data(), static_cast<opus_int32>(packets[f].size()),
                              out.data() + f * kFrame, static_cast<int>(kFrame), 0);
    if (n != static_cast<int>(kFrame)) {
      opus_decoder_destroy(dec);
      throw std::runtime_error("opus_decode returned a short frame");
    }
  }
  opus_decoder_destroy(dec);
  return out;
}

// The same packets through a receiver that loses one in ten (a fixed pseudo-random pattern, the
// same for every mode): a lost frame is recovered from the next packet's in-band FEC when the mode
// has it and the next packet arrived (as the mixer's receive path does), else concealed.
std::vector<int16_t> decodeWithLoss(const std::vector<std::vector<uint8_t>>& packets, bool fec) {
  std::vector<bool> lost(packets.size());
  uint32_t state = 12345;
  for (std::size_t f = 0; f < lost.size(); ++f) {
    state = state * 1664525U + 1013904223U;
    lost[f] = (state >> 16) % 10 == 0;
  }
  int error = 0;
  OpusDecoder* dec = opus_decoder_create(kRate, 1, &error);
  if (error != OPUS_OK) {
    throw std::runtime_error(opus_strerror(error));
  }
  std::vector<int16_t> out(packets.size() * kFrame);
  for (std::size_t f = 0; f < packets.size(); ++f) {
    int16_t* pcm = out.data() + f * kFrame;
    int n = 0;
    if (!lost[f]) {
      n = opus_decode(dec, packets[f].data(), static_cast<opus_int32>(packets[f].size()), pcm,
                      static_cast<int>(kFrame), 0);
    } else if (fec && f + 1 < packets.size() && !lost[f + 1]) {
      n = opus_decode(dec, packets[f + 1].data(), static_cast<opus_int32>(packets[f + 1].size()),
                      pcm, static_cast<int>(kFrame), 1);
    } else {
      n = opus_decode(dec, nullptr, 0, pcm, static_cast<int>(kFrame), 0);
    }
    if (n != static_cast<int>(kFrame)) {
      opus_decoder_destroy(dec);
      throw std::runtime_error("opus_decode returned a short frame");
    }
  }
  opus_decoder_destroy(dec);
  return out;
}

// The codec delay: the encoder's lookahead, checked by the lag within ±1 ms of it that leaves the
// least error (the decoder adds none of its own at 48 kHz).
std::size_t bestLag(std::span<const int16_t> ref, std::span<const int16_t> dec, int lookahead) {
  std::size_t best = static_cast<std::size_t>(lookahead);
  double bestError = -1.0;
  const int from = std::max(0, lookahead - 48);
  for (int lag = from; lag <= lookahead + 48; ++lag) {
    const auto l = static_cast<std::size_t>(lag);
    double error = 0.0;
    for (std::size_t i = 0; i + l < dec.size() && i < ref.size(); ++i) {
      const double d = static_cast<double>(ref[i]) - static_cast<double>(dec[i + l]);
      error += d * d;
    }
    if (bestError < 0.0 || error < bestError) {
      bestError = error;
      best = l;
    }
  }
  return best;
}

void fft(std::vector<std::complex<double>>& a) {
  const std::size_t n = a.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; (j & bit) != 0; bit >>= 1) {
      j ^= bit;
    }
    j ^= bit;
    if (i < j) {
      std::swap(a[i], a[j]);
    }
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2.0 * std::numbers::pi / static_cast<double>(len);
    const std::complex<double> step(std::cos(angle), std::sin(angle));
    for (std::size_t i = 0; i < n; i += len) {
      std::complex<double> w(1.0, 0.0);
      for (std::size_t k = 0; k < len / 2; ++k) {
        const auto u = a[i + k];
        const auto v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
        w *= step;
      }
    }
  }
}

std::vector<double> powerSpectrum(std::span<const int16_t> segment) {
  std::vector<std::complex<double>> a(kFft, 0.0);
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) /
                                             static_cast<double>(segment.size() - 1));
    a[i] = hann * static_cast<double>(segment[i]) / 32768.0;
  }
  fft(a);
  std::vector<double> p(kFft / 2 + 1);
  for (std::size_t k = 0; k < p.size(); ++k) {
    p[k] = std::norm(a[k]);
  }
  return p;
}

struct Quality {
  double segSnrDb = 0.0;
  double lsd8kDb = 0.0;   // 0-8 kHz
  double lsd11kDb = 0.0;  // 0-11 kHz: all the band espeak-ng's 22.05 kHz output has
  std::size_t segments = 0;
  std::size_t lag = 0;
};

double lsd(const std::vector<double>& ref,
           const std::vector<double>& dec,
           double floor,
           double topHz) {
  const auto top = static_cast<std::size_t>(topHz * kFft / kRate);
  double sum = 0.0;
  for (std::size_t k = 1; k <= top; ++k) {
    const double d = 10.0 * std::log10(std::max(ref[k], floor) / std::max(dec[k], floor));
    sum += d * d;
  }
  return std::sqrt(sum / static_cast<double>(top));
}

Quality judge(std::span<const int16_t> ref, std::span<const int16_t> dec, int lookahead) {
  Quality q;
  q.lag = bestLag(ref, dec, lookahead);
  const double silence = std::pow(10.0, kSilenceDbov / 10.0) * 32768.0 * 32768.0;
  double snrSum = 0.0;
  double lsd8Sum = 0.0;
  double lsd11Sum = 0.0;
  for (std::size_t at = 0; at + kFrame + q.lag <= dec.size() && at + kFrame <= ref.size();
       at += kFrame) {
    const auto r = ref.subspan(at, kFrame);
    const auto d = dec.subspan(at + q.lag, kFrame);
    double signal = 0.0;
    double noise = 0.0;
    for (std::size_t i = 0; i < kFrame; ++i) {
      const double x = r[i];
      signal += x * x;
      noise += (x - d[i]) * (x - d[i]);
    }
    if (signal / static_cast<double>(kFrame) < silence) {
      continue;
    }
    snrSum += std::clamp(10.0 * std::log10(signal / std::max(noise, 1e-9)), kSegSnrMin, kSegSnrMax);
    const auto pr = powerSpectrum(r);
    const auto pd = powerSpectrum(d);
    const double floor =
        *std::max_element(pr.begin(), pr.end()) * std::pow(10.0, -kLsdRangeDb / 10);
    lsd8Sum += lsd(pr, pd, floor, 8000.0);
    lsd11Sum += lsd(pr, pd, floor, 11000.0);
    ++q.segments;
  }
  const auto n = static_cast<double>(std::max<std::size_t>(q.segments, 1));
  q.segSnrDb = snrSum / n;
  q.lsd8kDb = lsd8Sum / n;
  q.lsd11kDb = lsd11Sum / n;
  return q;
}

// How the packets were coded, from their TOC bytes (RFC 6716 §3.1): the shares of at least 5 %.
std::string codedAs(const std::vector<std::vector<uint8_t>>& packets) {
  std::map<std::string, std::size_t> counts;
  for (const auto& p : packets) {
    const int config = p[0] >> 3;
    const char* mode = config < 12 ? "SILK" : config < 16 ? "hybrid" : "CELT";
    const char* band = "?";
    switch (opus_packet_get_bandwidth(p.data())) {
      case OPUS_BANDWIDTH_NARROWBAND:
        band = "NB";
        break;
      case OPUS_BANDWIDTH_MEDIUMBAND:
        band = "MB";
        break;
      case OPUS_BANDWIDTH_WIDEBAND:
        band = "WB";
        break;
      case OPUS_BANDWIDTH_SUPERWIDEBAND:
        band = "SWB";
        break;
      case OPUS_BANDWIDTH_FULLBAND:
        band = "FB";
        break;
      default:
        break;
    }
    ++counts[std::string(mode) + " " + band];
  }
  std::vector<std::pair<std::size_t, std::string>> sorted;
  for (const auto& [name, count] : counts) {
    sorted.emplace_back(count, name);
  }
  std::sort(sorted.rbegin(), sorted.rend());
  std::string out;
  for (const auto& [count, name] : sorted) {
    const auto percent = static_cast<long>(
        std::lround(100.0 * static_cast<double>(count) / static_cast<double>(packets.size())));
    if (percent >= 5) {
      out += (out.empty() ? "" : ", ") + name + " " + std::to_string(percent) + " %";
    }
  }
  return out;
}

struct Row {
  Mode mode;
  Encoded encoded;
  Quality quality;
  Quality lossy;  // with one packet in ten lost
  double bytes = 0.0;
};

std::string modeName(const Mode& m) {
  std::string name =
      std::string(m.application) + " " + m.band + ", complexity " + std::to_string(m.complexity) +
      (std::strcmp(m.application, "VOIP") == 0 ? (m.fec ? ", FEC" : ", no FEC") : "");
  return name;
}

// The cheapest mode within 1 dB segmental SNR and 0.3 dB log-spectral distance (both bands) of
// the current one.
const Row* cheapestKeeping(const std::vector<Row>& rows, const Row& current) {
  const Row* best = &current;
  for (const auto& r : rows) {
    if (r.quality.segSnrDb >= current.quality.segSnrDb - 1.0 &&
        r.quality.lsd8kDb <= current.quality.lsd8kDb + 0.3 &&
        r.quality.lsd11kDb <= current.quality.lsd11kDb + 0.3 &&
        r.encoded.usPerFrame < best->encoded.usPerFrame) {
      best = &r;
    }
  }
  return best;
}

void table(const char* title,
           std::span<const int16_t> pcm,
           const std::vector<Mode>& modes,
           const char* currentMarker,
           int passes) {
  std::vector<Row> rows;
  for (const auto& m : modes) {
    Row r{.mode = m, .encoded = encode(m, pcm, passes), .quality = {}, .lossy = {}, .bytes = 0.0};
    r.quality = judge(pcm, decode(r.encoded.packets), r.encoded.lookahead);
    r.lossy = judge(pcm, decodeWithLoss(r.encoded.packets, r.mode.fec), r.encoded.lookahead);
    double bytes = 0.0;
    for (const auto& p : r.encoded.packets) {
      bytes += static_cast<double>(p.size());
    }
    r.bytes = bytes / static_cast<double>(r.encoded.packets.size());
    rows.push_back(std::move(r));
    std::fprintf(stderr, "%s: %s done\n", title, modeName(m).c_str());
  }
  const Row* current = nullptr;
  for (const auto& r : rows) {
    if (std::strcmp(r.mode.marker, currentMarker) == 0) {
      current = &r;
    }
  }
  std::printf("### %s\n\n", title);
  std::printf(
      "%zu frames, %zu of them scored (not silent); codec delay found: %zu samples (VOIP), ",
      pcm.size() / kFrame, rows.front().quality.segments, rows.front().quality.lag);
  for (const auto& r : rows) {
    if (std::strcmp(r.mode.application, "VOIP") != 0) {
      std::printf("%zu (CELT-only).\n\n", r.quality.lag);
      break;
    }
  }
  std::printf(
      "| mode | µs per 20 ms frame | vs current | bytes per packet | coded as | segSNR (dB) | LSD "
      "0-8 kHz (dB) | LSD 0-11 kHz (dB) | 10 %% loss: segSNR | LSD 0-8 kHz |\n");
  std::printf("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    const bool isCurrent = &r == current;
    const std::string name =
        modeName(r.mode) +
        (std::strlen(r.mode.marker) > 0 ? std::string(" (") + r.mode.marker + ")" : std::string());
    std::printf("| %s%s%s | %.1f | %+.0f %% | %.1f | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
                isCurrent ? "**" : "", name.c_str(), isCurrent ? "**" : "", r.encoded.usPerFrame,
                current != nullptr
                    ? 100.0 * (r.encoded.usPerFrame / current->encoded.usPerFrame - 1.0)
                    : 0.0,
                r.bytes, codedAs(r.encoded.packets).c_str(), r.quality.segSnrDb, r.quality.lsd8kDb,
                r.quality.lsd11kDb, r.lossy.segSnrDb, r.lossy.lsd8kDb);
  }
  if (current != nullptr) {
    const Row* pick = cheapestKeeping(rows, *current);
    std::printf(
        "\nCheapest mode within 1 dB segSNR and 0.3 dB LSD (both bands) of the current one: "
        "**%s**, %.1f µs against %.1f (%+.0f %%), segSNR %.2f against %.2f dB, LSD 0-8 kHz %.2f "
        "against %.2f dB.\n\n",
        modeName(pick->mode).c_str(), pick->encoded.usPerFrame, current->encoded.usPerFrame,
        100.0 * (pick->encoded.usPerFrame / current->encoded.usPerFrame - 1.0),
        pick->quality.segSnrDb, current->quality.segSnrDb, pick->quality.lsd8kDb,
        current->quality.lsd8kDb);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_opus_modes TALKER1.wav TALKER2.wav TALKER3.wav [PASSES]\n");
    return 2;
  }
  const int passes = argc > 4 ? std::atoi(argv[4]) : 5;
  if (passes < 1) {
    std::fprintf(stderr, "bench_opus_modes: PASSES must be at least 1\n");
    return 2;
  }
  try {
    std::vector<std::vector<int16_t>> talkers;
    for (int i = 1; i <= 3; ++i) {
      talkers.push_back(to48k(readWav(argv[i])));
    }
    // Three talkers taking turns with overlaps, as in a meeting: the second starts before the
    // first has finished, the third before the second has. The first talker hears the other two.
    const std::vector<double> starts = {0.0, 8.0, 15.5};
    const auto shared = mix(talkers, starts);
    const auto nMinusOne = mix({talkers[1], talkers[2]}, {starts[1], starts[2]});

    std::vector<Mode> talkerModes;
    std::vector<Mode> listenerModes;
    for (const int c : {0, 1, 2, 3, 5, 10}) {
      for (const bool fec : {true, false}) {
        const char* talker = c == 1 && fec ? "current talker" : "";
        const char* listener = c == 5 && fec ? "current listener" : "";
        talkerModes.push_back({"VOIP", "FB", c, fec, talker});
        listenerModes.push_back({"VOIP", "FB", c, fec, listener});
      }
    }
    for (const int c : {0, 1, 3, 5}) {
      talkerModes.push_back({"VOIP", "WB", c, true, ""});
      listenerModes.push_back({"VOIP", "WB", c, true, ""});
    }
    for (const int c : {0, 1, 3, 5}) {
      talkerModes.push_back({"CELT-only", "FB", c, false, ""});
      listenerModes.push_back({"CELT-only", "FB", c, false, ""});
    }
    table("A talker's own N-1 mix (two other talkers)", nMinusOne, talkerModes, "current talker",
          passes);
    table("The shared mix (three talkers)", shared, listenerModes, "current listener", passes);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_opus_modes: %s\n", e.what());
    return 1;
  }
  return 0;
}
