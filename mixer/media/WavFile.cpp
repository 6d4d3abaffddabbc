#include "mixer/media/WavFile.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace confab::mixer {

// Samples go to and from the file as they lie in memory: WAV is little-endian, and so is every
// machine we build for.
static_assert(std::endian::native == std::endian::little, "WAV samples are read in place");

namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// A header is a handful of chunks; a file that needs more to reach its samples is not for us.
constexpr int kMaxChunks = 64;

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

bool readExactly(std::FILE* file, void* into, std::size_t n) {
  return std::fread(into, 1, n, file) == n;
}

}  // namespace

std::unique_ptr<WavReader> WavReader::open(const std::string& path) {
  return open(FilePtr(std::fopen(path.c_str(), "rb")));
}

std::unique_ptr<WavReader> WavReader::open(FilePtr file) {
  if (!file) {
    return nullptr;
  }
  std::array<uint8_t, 12> riff{};
  if (!readExactly(file.get(), riff.data(), riff.size()) ||
      std::memcmp(riff.data(), "RIFF", 4) != 0 || std::memcmp(riff.data() + 8, "WAVE", 4) != 0) {
    return nullptr;
  }
  std::optional<uint16_t> channels;
  uint32_t rate = 0;
  for (int i = 0; i < kMaxChunks; ++i) {
    std::array<uint8_t, 8> chunk{};
    if (!readExactly(file.get(), chunk.data(), chunk.size())) {
      return nullptr;
    }
    const uint32_t size = le32(chunk.data() + 4);
    if (std::memcmp(chunk.data(), "fmt ", 4) == 0) {
      std::array<uint8_t, 40> fmt{};
      if (size < 16 || size > fmt.size() || !readExactly(file.get(), fmt.data(), size)) {
        return nullptr;
      }
      uint16_t tag = le16(fmt.data());
      if (tag == kFormatExtensible && size >= 26) {
        tag = le16(fmt.data() + 24);  // the sub-format GUID starts with the format tag
      }
      const uint16_t count = le16(fmt.data() + 2);
      rate = le32(fmt.data() + 4);
      const uint16_t bits = le16(fmt.data() + 14);
      if (tag != kFormatPcm || bits != 16 || (count != 1 && count != 2) || rate < 1000 ||
          rate > 384000) {
        return nullptr;
      }
      channels = count;
      if (size % 2 == 1 && std::fseek(file.get(), 1, SEEK_CUR) != 0) {
        return nullptr;
      }
    } else if (std::memcmp(chunk.data(), "data", 4) == 0) {
      if (!channels) {
        return nullptr;  // samples before their format
      }
      // A writer that died before fixing its header leaves 0 (or ~0 for streams): the samples
      // run to the end of the file.
      uint64_t bytes = size;
      if (size == 0 || size == 0xFFFFFFFFu) {
        const long start = std::ftell(file.get());
        if (start < 0 || std::fseek(file.get(), 0, SEEK_END) != 0) {
          return nullptr;
        }
        const long end = std::ftell(file.get());
        if (end < start || std::fseek(file.get(), start, SEEK_SET) != 0) {
          return nullptr;
        }
        bytes = static_cast<uint64_t>(end - start);
      }
      return std::unique_ptr<WavReader>(
          new WavReader(std::move(file), static_cast<int>(rate), *channels, bytes));
    } else if (std::fseek(file.get(), static_cast<long>(size) + static_cast<long>(size % 2),
                          SEEK_CUR) != 0) {
      return nullptr;  // RIFF pads odd chunks to even
    }
  }
  return nullptr;
}

std::optional<std::size_t> WavReader::read(std::span<int16_t> mono) {
  const auto frameBytes = 2 * static_cast<uint64_t>(channels_);
  const uint64_t left = (dataBytes_ - readBytes_) / frameBytes;
  const std::size_t wanted = static_cast<std::size_t>(std::min<uint64_t>(left, mono.size()));
  if (wanted == 0) {
    return std::size_t{0};
  }
  const std::size_t samples = wanted * static_cast<std::size_t>(channels_);
  if (interleaved_.size() < samples) {
    interleaved_.resize(samples);
  }
  const std::size_t got = std::fread(interleaved_.data(), 2, samples, file_.get());
  if (got == 0 && std::ferror(file_.get()) != 0) {
    return std::nullopt;
  }
  readBytes_ += got * 2;
  const std::size_t frames = got / static_cast<std::size_t>(channels_);
  if (channels_ == 1) {
    std::memcpy(mono.data(), interleaved_.data(), frames * 2);
  } else {
    for (std::size_t i = 0; i < frames; ++i) {
      mono[i] = static_cast<int16_t>((interleaved_[2 * i] + interleaved_[2 * i + 1]) / 2);
    }
  }
  if (frames < wanted) {
    dataBytes_ = readBytes_;  // the file is shorter than its header said: that is the end
  }
  return frames;
}

std::unique_ptr<WavWriter> WavWriter::create(const std::string& path, int rate) {
  return create(FilePtr(std::fopen(path.c_str(), "wb")), rate);
}

std::unique_ptr<WavWriter> WavWriter::create(FilePtr file, int rate) {
  if (!file || rate <= 0) {
    return nullptr;
  }
  std::array<uint8_t, kHeaderBytes> header{};
  std::memcpy(header.data(), "RIFF", 4);
  put32(header.data() + 4, 36);  // empty until the first flush says otherwise
  std::memcpy(header.data() + 8, "WAVEfmt ", 8);
  put32(header.data() + 16, 16);
  put16(header.data() + 20, kFormatPcm);
  put16(header.data() + 22, 1);  // mono
  put32(header.data() + 24, static_cast<uint32_t>(rate));
  put32(header.data() + 28, static_cast<uint32_t>(rate) * 2);  // bytes per second
  put16(header.data() + 32, 2);                                // bytes per frame
  put16(header.data() + 34, 16);
  std::memcpy(header.data() + 36, "data", 4);
  put32(header.data() + 40, 0);
  if (std::fwrite(header.data(), 1, header.size(), file.get()) != header.size()) {
    return nullptr;
  }
  return std::unique_ptr<WavWriter>(new WavWriter(std::move(file), rate));
}

WavWriter::~WavWriter() {
  if (file_) {
    finish();
  }
}

bool WavWriter::write(std::span<const int16_t> mono) {
  const uint64_t bytes = mono.size() * 2;
  if (failed_ || !file_ || dataBytes_ + bytes > kMaxDataBytes) {
    failed_ = true;
    return false;
  }
  if (std::fwrite(mono.data(), 2, mono.size(), file_.get()) != mono.size()) {
    failed_ = true;
    return false;
  }
  dataBytes_ += bytes;
  return true;
}

bool WavWriter::writeSizes() {
  std::array<uint8_t, 4> riffSize{};
  std::array<uint8_t, 4> dataSize{};
  put32(riffSize.data(), static_cast<uint32_t>(36 + dataBytes_));
  put32(dataSize.data(), static_cast<uint32_t>(dataBytes_));
  std::FILE* f = file_.get();
  const bool ok = std::fseek(f, 4, SEEK_SET) == 0 && std::fwrite(riffSize.data(), 1, 4, f) == 4 &&
                  std::fseek(f, 40, SEEK_SET) == 0 && std::fwrite(dataSize.data(), 1, 4, f) == 4;
  // Back to the end, where the next samples go, whatever happened above.
  return std::fseek(f, 0, SEEK_END) == 0 && ok;
}

bool WavWriter::flush() {
  if (!file_) {
    return false;
  }
  const bool ok = writeSizes() && std::fflush(file_.get()) == 0;
  failed_ = failed_ || !ok;
  return ok;
}

bool WavWriter::finish() {
  if (!file_) {
    return false;
  }
  const bool ok = writeSizes() && !failed_;
  const bool closed = std::fclose(file_.release()) == 0;
  return ok && closed;
}

}  // namespace confab::mixer
