// Audio files as the mixer sees them: a reader gives mono PCM at the file's rate, a writer takes
// mono PCM at its rate. WAV and Ogg Opus sit behind these two interfaces, so the media file thread
// plays and records either without knowing which.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "mixer/engine/Control.hpp"

namespace confab::mixer {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
// An open file; closed when dropped.
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

class PcmFileReader {
 public:
  virtual ~PcmFileReader() = default;
  [[nodiscard]] virtual int rate() const = 0;
  // Fills 'mono' from the start; returns the samples written (fewer than asked only near the end,
  // 0 at the end), nullopt when the file turns out unreadable.
  virtual std::optional<std::size_t> read(std::span<int16_t> mono) = 0;
};

class PcmFileWriter {
 public:
  virtual ~PcmFileWriter() = default;
  [[nodiscard]] virtual int rate() const = 0;
  // False when the file cannot take more (disk full, format limit): the recording has failed.
  virtual bool write(std::span<const int16_t> mono) = 0;
  // Makes what is written so far a playable file should the process die (sizes in headers).
  virtual bool flush() = 0;
  // Completes the file; nothing may be written after.
  virtual bool finish() = 0;
};

// Opens a WAV (PCM 16-bit, mono or stereo, any rate) or Ogg Opus file for playback, telling them
// apart by their first bytes rather than the name. Null when missing, unreadable or unsupported.
std::unique_ptr<PcmFileReader> openForPlayback(const std::string& path);

// Creates (truncates) 'path' for a recording; null when it cannot be created. Done on the
// calling thread so the caller learns at once that the path is bad.
FilePtr createRecordingFile(const std::string& path);

// The writer for a file created above, once the first frame tells the rate: WAV records at that
// rate, Ogg Opus always at 48 kHz. Null when the encoder cannot start.
std::unique_ptr<PcmFileWriter> openWriter(RecordingFormat format, FilePtr file, int firstRate);

}  // namespace confab::mixer
