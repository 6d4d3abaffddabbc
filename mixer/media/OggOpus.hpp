// Ogg Opus files (RFC 7845): the writer is libopusenc encoding mono 48 kHz into a file we opened
// (so the path was checked before the encoder started); the reader is libopusfile, which always
// decodes at 48 kHz (RFC 7845 §5.1: the input rate in the header is informational).
#pragma once

#include <string>
#include <vector>

#include "mixer/media/PcmFile.hpp"

struct OggOpusEnc;
struct OggOpusFile;

namespace confab::mixer {

class OggOpusWriter final : public PcmFileWriter {
 public:
  static constexpr int kRate = 48000;
  // Null when libopusenc refuses to start.
  static std::unique_ptr<OggOpusWriter> create(FilePtr file, int bitrate = 32000);
  static std::unique_ptr<OggOpusWriter> create(const std::string& path, int bitrate = 32000);
  ~OggOpusWriter() override;
  OggOpusWriter(const OggOpusWriter&) = delete;
  OggOpusWriter& operator=(const OggOpusWriter&) = delete;

  [[nodiscard]] int rate() const override { return kRate; }
  bool write(std::span<const int16_t> mono) override;
  // Pages go out as libopusenc fills them (at most about a second behind); this only pushes what
  // the C library buffers to the kernel. An Ogg file cut between pages still plays.
  bool flush() override;
  bool finish() override;

 private:
  explicit OggOpusWriter(FilePtr file) : file_(std::move(file)) {}
  static int onWrite(void* self, const unsigned char* data, int length);
  static int onClose(void* self);

  FilePtr file_;
  OggOpusEnc* encoder_ = nullptr;
  bool failed_ = false;
};

class OggOpusReader final : public PcmFileReader {
 public:
  // Null when missing or not Ogg Opus.
  static std::unique_ptr<OggOpusReader> open(const std::string& path);
  ~OggOpusReader() override;
  OggOpusReader(const OggOpusReader&) = delete;
  OggOpusReader& operator=(const OggOpusReader&) = delete;

  [[nodiscard]] int rate() const override { return 48000; }
  std::optional<std::size_t> read(std::span<int16_t> mono) override;

 private:
  explicit OggOpusReader(OggOpusFile* file) : file_(file) {}

  OggOpusFile* file_;
  std::vector<int16_t> stereo_;  // libopusfile downmixes any channel layout to stereo for us
};

}  // namespace confab::mixer
