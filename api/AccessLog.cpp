#include "api/AccessLog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/json/object.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "api/JsonText.hpp"

namespace confab::api {

namespace {

// RFC 3339 in UTC with milliseconds: "2026-12-04T18:30:05.123Z".
std::string utcStamp(std::chrono::system_clock::time_point at) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  std::array<char, 40> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::array<char, 8> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%03dZ", static_cast<int>(millis % 1000));
  return std::string(text.data(), length) + fraction.data();
}

// What the client sent, bounded: a log line stays one line of sane size whatever comes in (the
// JSON writer escapes control characters; invalid UTF-8 is replaced so the line stays JSON).
std::string bounded(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text.substr(0, max)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte < 0x80 ? c : '?';
  }
  if (text.size() > max) {
    out += "...";
  }
  return out;
}

}  // namespace

std::optional<std::string> AccessLog::open(const std::string& path, AccessLog& log) {
  if (path == "-") {
    log.fd_ = STDERR_FILENO;
    log.ownsFd_ = false;
    return std::nullopt;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return std::string(std::strerror(errno));
  }
  log.fd_ = fd;
  log.ownsFd_ = true;
  return std::nullopt;
}

AccessLog::~AccessLog() {
  if (ownsFd_) {
    ::close(fd_);
  }
}

std::string AccessLog::line(const AccessEntry& entry) {
  boost::json::object o;
  o["time"] = utcStamp(entry.at);
  o["remote"] = entry.source.to_string();
  o["method"] = bounded(entry.method, 32);
  o["target"] = bounded(entry.target, 512);
  o["route"] = entry.route;
  o["status"] = entry.status;
  o["bytes"] = entry.bytes;
  o["ms"] = static_cast<double>(entry.took.count()) / 1000.0;
  o["key"] = entry.keyId ? boost::json::value(*entry.keyId) : boost::json::value(nullptr);
  o["tenant"] = entry.tenantId ? boost::json::value(*entry.tenantId) : boost::json::value(nullptr);
  o["userAgent"] = bounded(entry.userAgent, 256);
  return jsonText(o) + "\n";
}

void AccessLog::write(const AccessEntry& entry) {
  if (fd_ < 0) {
    return;
  }
  const std::string text = line(entry);
  // One write for the line. A full disk or a closed descriptor loses the line, never the request:
  // the log is not worth a failed answer.
  (void)!::write(fd_, text.data(), text.size());
}

}  // namespace confab::api
