#include "api/FileBody.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace confab::api {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

boost::optional<std::pair<FileBody::writer::const_buffers_type, bool>> FileBody::writer::get(
    boost::system::error_code& ec) {
  ec = {};
  if (sent_ >= body_.length) {
    return boost::none;
  }
  const auto want = static_cast<std::size_t>(std::min<uint64_t>(kPiece, body_.length - sent_));
  ssize_t got = 0;
  do {
    got = ::pread(body_.file.get(), buffer_.get(), want, static_cast<off_t>(body_.offset + sent_));
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    ec.assign(errno, boost::system::system_category());
    return boost::none;
  }
  if (got == 0) {
    ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
    return boost::none;
  }
  sent_ += static_cast<uint64_t>(got);
  return std::pair{const_buffers_type(buffer_.get(), static_cast<std::size_t>(got)),
                   sent_ < body_.length};
}

}  // namespace confab::api
