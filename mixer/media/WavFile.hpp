// RIFF WAVE files of 16-bit PCM: the reader takes mono or stereo at any rate (stereo is mixed down
// to mono); the writer makes mono files and keeps the header sizes right as it goes, so a
// recording cut short by a crash still plays up to its last flush.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mixer/media/PcmFile.hpp"

namespace confab::mixer {

class WavReader final : public PcmFileReader {
 public:
  // Null when missing, not RIFF/WAVE, or not 16-bit PCM with one or two channels.
  static std::unique_ptr<WavReader> open(const std::string& path);
  static std::unique_ptr<WavReader> open(FilePtr file);

  [[nodiscard]] int rate() const override { return rate_; }
  [[nodiscard]] int channels() const { return channels_; }
  // Samples per channel the header announces (what is left of the file when it was cut short).
  [[nodiscard]] uint64_t frames() const {
    return dataBytes_ / (2u * static_cast<unsigned>(channels_));
  }
  std::optional<std::size_t> read(std::span<int16_t> mono) override;

 private:
  WavReader(FilePtr file, int rate, int channels, uint64_t dataBytes)
      : file_(std::move(file)), rate_(rate), channels_(channels), dataBytes_(dataBytes) {}

  FilePtr file_;
  int rate_;
  int channels_;
  uint64_t dataBytes_;  // from the header, or up to the end of the file when it says 0 / ~0
  uint64_t readBytes_ = 0;
  std::vector<int16_t> interleaved_;  // grown once to the largest read
};

class WavWriter final : public PcmFileWriter {
 public:
  static constexpr std::size_t kHeaderBytes = 44;
  // RIFF sizes are 32-bit: past this the recording fails rather than write a broken file.
  static constexpr uint64_t kMaxDataBytes = 0xFFFFFFFFu - kHeaderBytes;

  // Writes the header (sizes 0 until the first flush). Null when the file cannot be written.
  static std::unique_ptr<WavWriter> create(FilePtr file, int rate);
  static std::unique_ptr<WavWriter> create(const std::string& path, int rate);
  ~WavWriter() override;

  [[nodiscard]] int rate() const override { return rate_; }
  bool write(std::span<const int16_t> mono) override;
  bool flush() override;
  bool finish() override;
  [[nodiscard]] uint64_t dataBytes() const { return dataBytes_; }

 private:
  WavWriter(FilePtr file, int rate) : file_(std::move(file)), rate_(rate) {}
  bool writeSizes();

  FilePtr file_;
  int rate_;
  uint64_t dataBytes_ = 0;
  bool failed_ = false;
};

}  // namespace confab::mixer
