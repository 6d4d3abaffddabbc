// The only file that includes libopusenc and libopusfile.
#include "mixer/media/OggOpus.hpp"

#include <opus/opusenc.h>
#include <opus/opusfile.h>

#include <algorithm>
#include <climits>

namespace confab::mixer {

std::unique_ptr<OggOpusWriter> OggOpusWriter::create(const std::string& path, int bitrate) {
  return create(FilePtr(std::fopen(path.c_str(), "wb")), bitrate);
}

std::unique_ptr<OggOpusWriter> OggOpusWriter::create(FilePtr file, int bitrate) {
  if (!file) {
    return nullptr;
  }
  std::unique_ptr<OggOpusWriter> writer(new OggOpusWriter(std::move(file)));
  OggOpusComments* comments = ope_comments_create();
  if (comments == nullptr) {
    return nullptr;
  }
  ope_comments_add(comments, "ENCODER", "confab");
  const OpusEncCallbacks callbacks{&OggOpusWriter::onWrite, &OggOpusWriter::onClose};
  int error = OPE_OK;
  // Mono, channel mapping family 0 (RFC 7845 §5.1.1.1).
  writer->encoder_ =
      ope_encoder_create_callbacks(&callbacks, writer.get(), comments, kRate, 1, 0, &error);
  ope_comments_destroy(comments);
  if (writer->encoder_ == nullptr || error != OPE_OK) {
    return nullptr;
  }
  ope_encoder_ctl(writer->encoder_, OPUS_SET_BITRATE(bitrate));
  return writer;
}

OggOpusWriter::~OggOpusWriter() {
  if (encoder_ != nullptr) {
    finish();
  }
}

int OggOpusWriter::onWrite(void* self, const unsigned char* data, int length) {
  auto* writer = static_cast<OggOpusWriter*>(self);
  const auto n = static_cast<std::size_t>(length);
  if (!writer->file_ || std::fwrite(data, 1, n, writer->file_.get()) != n) {
    writer->failed_ = true;
    return 1;  // libopusenc: non-zero is an error
  }
  return 0;
}

int OggOpusWriter::onClose(void* self) {
  auto* writer = static_cast<OggOpusWriter*>(self);
  return writer->file_ && std::fflush(writer->file_.get()) == 0 ? 0 : 1;
}

bool OggOpusWriter::write(std::span<const int16_t> mono) {
  if (encoder_ == nullptr || failed_ || mono.size() > static_cast<std::size_t>(INT_MAX)) {
    return false;
  }
  const int result = ope_encoder_write(encoder_, mono.data(), static_cast<int>(mono.size()));
  failed_ = failed_ || result != OPE_OK;
  return !failed_;
}

bool OggOpusWriter::flush() {
  if (encoder_ == nullptr || failed_ || !file_) {
    return false;
  }
  failed_ = std::fflush(file_.get()) != 0;
  return !failed_;
}

bool OggOpusWriter::finish() {
  if (encoder_ == nullptr) {
    return false;
  }
  // Drain encodes what is buffered and writes the last page with its end-of-stream flag.
  const bool drained = ope_encoder_drain(encoder_) == OPE_OK;
  ope_encoder_destroy(encoder_);
  encoder_ = nullptr;
  const bool closed = file_ && std::fclose(file_.release()) == 0;
  return drained && closed && !failed_;
}

std::unique_ptr<OggOpusReader> OggOpusReader::open(const std::string& path) {
  int error = 0;
  OggOpusFile* file = op_open_file(path.c_str(), &error);
  if (file == nullptr) {
    return nullptr;
  }
  return std::unique_ptr<OggOpusReader>(new OggOpusReader(file));
}

OggOpusReader::~OggOpusReader() {
  op_free(file_);
}

std::optional<std::size_t> OggOpusReader::read(std::span<int16_t> mono) {
  const std::size_t wanted = std::min<std::size_t>(mono.size(), INT_MAX / 2);
  if (stereo_.size() < wanted * 2) {
    stereo_.resize(wanted * 2);
  }
  std::size_t done = 0;
  while (done < wanted) {
    const int got = op_read_stereo(file_, stereo_.data(), static_cast<int>((wanted - done) * 2));
    if (got == OP_HOLE) {
      continue;  // a gap in the stream (lost pages): play on
    }
    if (got < 0) {
      return done > 0 ? std::optional<std::size_t>(done) : std::nullopt;
    }
    if (got == 0) {
      break;
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
      mono[done + i] = static_cast<int16_t>((stereo_[2 * i] + stereo_[2 * i + 1]) / 2);
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace confab::mixer
