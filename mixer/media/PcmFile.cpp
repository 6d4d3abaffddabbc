#include "mixer/media/PcmFile.hpp"

#include <array>
#include <cstring>

#include "mixer/media/OggOpus.hpp"
#include "mixer/media/WavFile.hpp"

namespace confab::mixer {

std::unique_ptr<PcmFileReader> openForPlayback(const std::string& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return nullptr;
  }
  std::array<char, 4> magic{};
  if (std::fread(magic.data(), 1, magic.size(), file.get()) != magic.size()) {
    return nullptr;
  }
  if (std::memcmp(magic.data(), "RIFF", 4) == 0) {
    if (std::fseek(file.get(), 0, SEEK_SET) != 0) {
      // A pipe (a stream fed by another program) cannot seek: push the magic back instead
      // (glibc takes back any number of bytes, in reverse order).
      for (auto it = magic.rbegin(); it != magic.rend(); ++it) {
        if (std::ungetc(static_cast<unsigned char>(*it), file.get()) == EOF) {
          return nullptr;
        }
      }
    }
    return WavReader::open(std::move(file));
  }
  if (std::memcmp(magic.data(), "OggS", 4) == 0) {
    file.reset();
    return OggOpusReader::open(path);  // Ogg Vorbis and the like fail here
  }
  return nullptr;
}

FilePtr createRecordingFile(const std::string& path) {
  return FilePtr(std::fopen(path.c_str(), "wb"));
}

std::unique_ptr<PcmFileWriter> openWriter(RecordingFormat format, FilePtr file, int firstRate) {
  switch (format) {
    case RecordingFormat::kWav:
      return WavWriter::create(std::move(file), firstRate);
    case RecordingFormat::kOggOpus:
      return OggOpusWriter::create(std::move(file));
  }
  return nullptr;
}

}  // namespace confab::mixer
