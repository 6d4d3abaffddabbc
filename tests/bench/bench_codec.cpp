// Cost of the per-participant media stages, in nanoseconds per 20 ms frame: what a mixer tick
// pays for each leg. Prints a Markdown table (tests/bench/codec.sh puts it in RESULTS.md).
//   bench_codec [SECONDS-PER-ROW]   (default 0.5)
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "mixer/codec/G711.hpp"
#include "mixer/codec/G711Plc.hpp"
#include "mixer/codec/Opus.hpp"
#include "mixer/dsp/JitterBuffer.hpp"
#include "mixer/dsp/Level.hpp"
#include "mixer/dsp/Preprocessor.hpp"
#include "mixer/dsp/Resampler.hpp"
#include "mixer/dsp/SoftLimiter.hpp"
#include "mixer/dsp/Vad.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace confab;

// Results flow here so the optimiser cannot drop the work.
volatile int64_t gSink = 0;

// Something closer to a voice than a sine: a 140 Hz fundamental with harmonics, a slow amplitude
// wobble and some noise, so the encoders do real work.
std::vector<int16_t> voiceLike(int rate, std::size_t samples) {
  std::vector<int16_t> out(samples);
  uint32_t noise = 1;
  for (std::size_t i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / rate;
    double v = 0.0;
    for (int h = 1; h <= 12; ++h) {
      if (140.0 * h < rate / 2.0) {
        v += std::sin(2.0 * std::numbers::pi * 140.0 * h * t) / h;
      }
    }
    v *= 6000.0 * (0.6 + 0.4 * std::sin(2.0 * std::numbers::pi * 3.0 * t));
    noise = noise * 1664525U + 1013904223U;
    v += static_cast<double>(static_cast<int>(noise >> 20) - 2048) / 2.0;
    out[i] = static_cast<int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0)));
  }
  return out;
}

// Runs frame(i) until `seconds` have passed (at least 100 calls); returns ns per call.
template <typename Fn>
double measure(double seconds, Fn&& frame) {
  for (int i = 0; i < 20; ++i) {  // warm caches and codec state
    frame(static_cast<std::size_t>(i));
  }
  std::size_t calls = 0;
  const auto start = Clock::now();
  const auto budget = std::chrono::duration<double>(seconds);
  auto now = start;
  while (calls < 100 || now - start < budget) {
    for (int i = 0; i < 50; ++i) {
      frame(calls++);
    }
    now = Clock::now();
  }
  return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(calls);
}

void row(const char* stage, const char* detail, double ns) {
  // A 20 ms frame per participant per tick: streams one core could carry at 100 %.
  std::printf("| %s | %s | %.0f | %.0f |\n", stage, detail, ns, 20e6 / ns);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  if (seconds <= 0.0) {
    std::fprintf(stderr, "usage: bench_codec [SECONDS-PER-ROW]\n");
    return 2;
  }
  constexpr std::size_t kFrames = 50;  // 1 s of input, cycled
  const auto voice48 = voiceLike(48000, 960 * kFrames);
  const auto voice16 = voiceLike(16000, 320 * kFrames);
  const auto voice8 = voiceLike(8000, 160 * kFrames);
  const auto frame48 = [&](std::size_t i) {
    return std::span<const int16_t>(voice48).subspan((i % kFrames) * 960, 960);
  };
  const auto frame8 = [&](std::size_t i) {
    return std::span<const int16_t>(voice8).subspan((i % kFrames) * 160, 160);
  };

  std::printf("| stage | detail | ns per 20 ms frame | streams per core |\n");
  std::printf("|---|---|---:|---:|\n");

  std::array<uint8_t, 1275> packet{};
  std::array<int16_t, 960> pcm{};
  for (const int complexity : {0, 1, 5, 10}) {
    codec::OpusEncoder encoder(codec::OpusEncoderConfig{
        .complexity = complexity, .inbandFec = false, .packetLossPercent = 0});
    const double ns = measure(seconds, [&](std::size_t i) {
      gSink = gSink + static_cast<int64_t>(encoder.encode(frame48(i), packet).value());
    });
    const std::string detail =
        "48 kHz mono, 32 kbit/s, VOIP, complexity " + std::to_string(complexity) + ", no FEC";
    row("Opus encode", detail.c_str(), ns);
  }
  for (const int loss : {5, 10}) {
    codec::OpusEncoder encoder(
        codec::OpusEncoderConfig{.inbandFec = true, .packetLossPercent = loss});
    const double ns = measure(seconds, [&](std::size_t i) {
      gSink = gSink + static_cast<int64_t>(encoder.encode(frame48(i), packet).value());
    });
    row("Opus encode",
        loss == 5 ? "complexity 5, in-band FEC on, 5 % loss hint (libopus adds no LBRR)"
                  : "complexity 5, in-band FEC on, 10 % loss hint (our default)",
        ns);
  }
  {
    // Decode a second of real packets, cycled.
    codec::OpusEncoder encoder;
    std::vector<std::vector<uint8_t>> packets;
    for (std::size_t i = 0; i < kFrames; ++i) {
      const auto bytes = encoder.encode(frame48(i), packet).value();
      packets.emplace_back(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(bytes));
    }
    codec::OpusDecoder decoder;
    row("Opus decode", "48 kHz mono, 32 kbit/s", measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(decoder.decode(packets[i % kFrames], pcm).value());
        }));
    row("Opus decode + PLC", "48 kHz, 1 frame in 5 lost (opus_decode with no packet)",
        measure(seconds, [&](std::size_t i) {
          // Every fifth frame concealed, as a real loss pattern would interleave them.
          const auto result =
              i % 5 == 0 ? decoder.conceal(pcm) : decoder.decode(packets[i % kFrames], pcm);
          gSink = gSink + static_cast<int64_t>(result.value());
        }));
  }
  {
    std::array<uint8_t, 160> coded{};
    std::array<int16_t, 160> decoded{};
    row("G.711 µ-law encode", "8 kHz, 160 samples", measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(codec::mulaw::encode(frame8(i), coded)) + coded[7];
        }));
    codec::mulaw::encode(frame8(0), coded);
    row("G.711 µ-law decode", "8 kHz, 160 samples", measure(seconds, [&](std::size_t i) {
          coded[i % 160] = static_cast<uint8_t>(i);
          gSink = gSink + static_cast<int64_t>(codec::mulaw::decode(coded, decoded)) + decoded[9];
        }));
    row("G.711 A-law encode", "8 kHz, 160 samples", measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(codec::alaw::encode(frame8(i), coded)) + coded[7];
        }));
    row("G.711 A-law decode", "8 kHz, 160 samples", measure(seconds, [&](std::size_t i) {
          coded[i % 160] = static_cast<uint8_t>(i);
          gSink = gSink + static_cast<int64_t>(codec::alaw::decode(coded, decoded)) + decoded[9];
        }));
    codec::G711Plc plc(8000);
    std::array<int16_t, 160> frame{};
    row("G.711 PLC", "8 kHz, 1 lost frame in 5 (pitch search on each loss)",
        measure(seconds, [&](std::size_t i) {
          if (i % 5 == 4) {
            plc.conceal(frame);
          } else {
            std::copy(frame8(i).begin(), frame8(i).end(), frame.begin());
            plc.received(frame);
          }
          gSink = gSink + frame[3];
        }));
  }
  {
    dsp::Resampler up(8000, 48000);
    dsp::Resampler down(48000, 8000);
    dsp::Resampler down16(48000, 16000);
    std::array<int16_t, 160> out8{};
    std::array<int16_t, 320> out16{};
    row("Resample 8 → 48 kHz", "quality 5, 160 → 960 samples", measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(up.process(frame8(i), pcm)) + pcm[5];
        }));
    row("Resample 48 → 8 kHz", "quality 5, 960 → 160 samples", measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(down.process(frame48(i), out8)) + out8[5];
        }));
    row("Resample 48 → 16 kHz", "quality 5, 960 → 320 samples",
        measure(seconds, [&](std::size_t i) {
          gSink = gSink + static_cast<int64_t>(down16.process(frame48(i), out16)) + out16[5];
        }));
  }
  {
    dsp::SoftLimiter limiter;
    std::array<int32_t, 960> mix{};
    for (std::size_t i = 0; i < mix.size(); ++i) {
      // Four talkers at once: well over full scale, so the gain path works.
      mix[i] = 4 * static_cast<int32_t>(voice48[i]);
    }
    row("Soft limiter", "960 int32 sums → int16, 4 loud talkers",
        measure(seconds, [&](std::size_t i) {
          mix[i % 960] ^= 1;
          limiter.process(mix, pcm);
          gSink = gSink + pcm[11];
        }));
  }
  {
    dsp::Vad vad;
    row("VAD + dBov", "960 samples", measure(seconds, [&](std::size_t i) {
          gSink = gSink + (vad.process(frame48(i)) ? 1 : 0) + dsp::levelDbov(frame48(i));
        }));
    dsp::Preprocessor preprocessor(320, 16000);
    std::array<int16_t, 320> frame{};
    row("Speex preprocess", "16 kHz, 320 samples, denoise on", measure(seconds, [&](std::size_t i) {
          std::copy_n(voice16.begin() + static_cast<std::ptrdiff_t>((i % kFrames) * 320), 320,
                      frame.begin());
          preprocessor.process(frame);
          gSink = gSink + frame[13];
        }));
  }
  {
    dsp::JitterBuffer buffer;
    std::array<uint8_t, 80> payload{};
    row("Jitter buffer", "put + get of an 80-byte packet", measure(seconds, [&](std::size_t i) {
          buffer.put(static_cast<uint16_t>(i), static_cast<uint32_t>(i * 960), payload);
          gSink = gSink + static_cast<int64_t>(buffer.get().payload.size());
        }));
  }
  return 0;
}
