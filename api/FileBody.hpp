// A byte range of an open file as the body of an HTTP response (a Beast Body, serialize only):
// read in 64 KiB pieces as the socket takes them, so an hours-long recording is sent without
// being held in memory. The file is opened by whoever builds the reply (api/RecordingRoutes.cpp,
// with O_NOFOLLOW); the body owns the descriptor from then on.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <utility>

namespace confab::api {

// A file descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct FileBody {
  // 'length' bytes of the file from 'offset'.
  struct value_type {
    UniqueFd file;
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  static uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;
    static constexpr std::size_t kPiece = 64 * 1024;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>& /*header*/, const value_type& body)
        : body_(body), buffer_(std::make_unique<char[]>(kPiece)) {}

    void init(boost::system::error_code& ec) { ec = {}; }

    // The next piece, and whether more follow. A file that ends before the length it had when
    // the reply was made (truncated meanwhile) is an error: the Content-Length sent can no
    // longer be kept, so the connection must close.
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::system::error_code& ec);

   private:
    const value_type& body_;
    std::unique_ptr<char[]> buffer_;
    uint64_t sent_ = 0;
  };
};

}  // namespace confab::api
