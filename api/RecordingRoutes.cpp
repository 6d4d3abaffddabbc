// A room's recordings on disk (issue 13 item 2): listed, downloaded (streamed, with single byte
// ranges for resuming, RFC 9110 §14) and deleted. Only names this server makes for the room are
// ever opened: "<roomkey>-<UTC stamp>.wav|.opus" in the recordings folder, never a path, and never
// through a symbolic link.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/ByteRange.hpp"
#include "api/Routes.hpp"

namespace confab::api::routes {

namespace {

// "20261125T063000Z": what recordingName() puts between the room and the extension.
constexpr std::size_t kStampLength = 16;

struct Extension {
  std::string_view suffix;
  std::string_view format;       // as POST .../recording names it
  std::string_view contentType;  // RFC 2361 for WAV; RFC 7845 §9 (Ogg Opus is audio/ogg)
};
constexpr std::array<Extension, 2> kExtensions = {
    Extension{".wav", "wav", "audio/wav"},
    Extension{".opus", "ogg", "audio/ogg"},
};

// A name of one of the room's recordings, taken apart.
struct RecordingName {
  std::string_view stamp;
  const Extension* extension = nullptr;
};

bool stampLike(std::string_view stamp) {
  if (stamp.size() != kStampLength || stamp[8] != 'T' || stamp[15] != 'Z') {
    return false;
  }
  for (std::size_t i = 0; i < kStampLength; ++i) {
    if (i != 8 && i != 15 && (stamp[i] < '0' || stamp[i] > '9')) {
      return false;
    }
  }
  return true;
}

// Exactly KEY-STAMP.EXT for this room: so room 100 never matches room 1000's files
// ("1000-..." has "0-..." where 100's stamp should start), nor a tenant another's ("4000@acme"
// is not "4000"). No separator, NUL or dot-dot can get through; checked first all the same, as
// the one guard between a request and the file system.
std::optional<RecordingName> parseName(std::string_view name, std::string_view roomKey) {
  if (name.empty() || name.size() > 255 || name.find('/') != std::string_view::npos ||
      name.find("..") != std::string_view::npos ||
      std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;  // NUL and the other controls
      })) {
    return std::nullopt;
  }
  if (name.size() <= roomKey.size() + 1 || !name.starts_with(roomKey) ||
      name[roomKey.size()] != '-') {
    return std::nullopt;
  }
  const std::string_view rest = name.substr(roomKey.size() + 1);
  for (const auto& extension : kExtensions) {
    if (rest.size() == kStampLength + extension.suffix.size() && rest.ends_with(extension.suffix) &&
        stampLike(rest.substr(0, kStampLength))) {
      return RecordingName{rest.substr(0, kStampLength), &extension};
    }
  }
  return std::nullopt;
}

// "20261125T063000Z" -> "2026-11-25T06:30:00Z" (RFC 3339).
std::string rfc3339(std::string_view stamp) {
  std::string out;
  out.append(stamp.substr(0, 4)).append("-").append(stamp.substr(4, 2)).append("-");
  out.append(stamp.substr(6, 2)).append("T").append(stamp.substr(9, 2)).append(":");
  out.append(stamp.substr(11, 2)).append(":").append(stamp.substr(13, 2)).append("Z");
  return out;
}

// The file the room's conference is being recorded to now, if any.
std::string recordingNow(const Live& live, const std::string& roomKey) {
  const auto* conference = live.calls.conferences().find(roomKey);
  return conference != nullptr ? conference->recording : std::string();
}

// The room {id} names and the live bridge (which knows the folder), or the problem.
struct RecordingsOf {
  policy::Room room;
  const Live* live = nullptr;
};

std::variant<RecordingsOf, Problem> recordingsOf(const Context& context, const Params& params) {
  auto found = resolveRoom(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  if (context.live == nullptr) {
    return problemWith(http::status::service_unavailable, "this server has no live rooms");
  }
  return RecordingsOf{std::get<ApiRoom>(found).live, context.live};
}

Problem noRecording(const policy::Room& room, std::string_view name) {
  return notFound("room " + room.key + " has no recording " + printable(name));
}

std::string hex(uint64_t value) {
  std::array<char, 16> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value, 16);
  return std::string(text.data(), end);
}

// RFC 6266 §4.1: saved under its own name. A room key may hold a tenant's name, which may be
// any text: characters a quoted-string cannot carry plainly are '_' in "filename", and the
// exact name follows as RFC 8187 UTF-8 in "filename*" (which clients prefer, §4.3).
std::string attachment(std::string_view name) {
  const auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  };
  std::string fallback;
  std::string encoded;
  for (char c : name) {
    fallback += plain(c) ? c : '_';
    if (plain(c)) {
      encoded += c;
    } else {
      constexpr std::string_view kHex = "0123456789ABCDEF";
      const auto byte = static_cast<unsigned char>(c);
      encoded += '%';
      encoded += kHex[byte >> 4U];
      encoded += kHex[byte & 0xfU];
    }
  }
  std::string out = "attachment; filename=\"" + fallback + "\"";
  if (encoded != fallback) {
    out += "; filename*=UTF-8''" + encoded;
  }
  return out;
}

// RFC 9110 §5.6.7 IMF-fixdate, for Last-Modified.
std::string httpDate(std::time_t when) {
  std::tm utc{};
  ::gmtime_r(&when, &utc);
  std::array<char, 40> text{};
  const auto length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(text.data(), length);
}

}  // namespace

bool validRecordingName(std::string_view name, std::string_view roomKey) {
  return parseName(name, roomKey).has_value();
}

std::string recordingName(const std::string& roomKey, std::string_view extension) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, 32> stamp{};
  const auto length = std::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%SZ", &utc);
  return roomKey + "-" + std::string(stamp.data(), length) + std::string(extension);
}

Reply listRecordings(const Context& context, const Request& /*request*/, const Params& params) {
  // Paging (keyset, as /v1/rooms): 'limit' per page, 'after' the last name of the page before.
  std::size_t limit = kDefaultPage;
  std::string after;
  std::vector<FieldError> errors;
  for (const auto& [name, value] : *context.query) {
    if (name == "limit") {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > kMaxPage) {
        errors.push_back({name, "a whole number from 1 to " + std::to_string(kMaxPage)});
      } else {
        limit = n;
      }
    } else if (name == "after") {
      after = value;
    }
  }
  if (!errors.empty()) {
    return badRequest("bad query parameters", std::move(errors));
  }
  auto found = recordingsOf(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& [room, live] = std::get<RecordingsOf>(found);
  struct Entry {
    std::string name;
    std::string stamp;  // a copy: views into 'name' would not survive the moves of a sort
    const Extension* extension = nullptr;
    uint64_t bytes = 0;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  // No folder yet: nothing was ever recorded.
  for (std::filesystem::directory_iterator it(live->recordings, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    const auto parsed = parseName(name, room.key);
    std::error_code statError;
    // symlink_status: a link is not one of ours, whatever it points to.
    if (!parsed || !std::filesystem::is_regular_file(it->symlink_status(statError))) {
      continue;
    }
    const uint64_t bytes = it->file_size(statError);
    if (statError) {
      continue;  // deleted meanwhile
    }
    entries.push_back(Entry{name, std::string(parsed->stamp), parsed->extension, bytes});
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return problemWith(http::status::internal_server_error,
                       "cannot read the recordings folder: " + ec.message());
  }
  // Newest first: by the UTC stamp in the name, which is when the recording started.
  const auto newerFirst = [](const Entry& a, const Entry& b) {
    return a.stamp != b.stamp ? a.stamp > b.stamp : a.name > b.name;
  };
  std::sort(entries.begin(), entries.end(), newerFirst);
  auto first = entries.begin();
  if (!after.empty()) {
    // Whatever sorts after the name given, whether or not that file is still there.
    const auto parsed = parseName(after, room.key);
    if (!parsed) {
      return badRequest("bad query parameters",
                        {{"after", "the name of one of this room's recordings"}});
    }
    const Entry mark{after, std::string(parsed->stamp), parsed->extension, 0};
    first = std::upper_bound(entries.begin(), entries.end(), mark, newerFirst);
  }
  const auto last = entries.end() - first > static_cast<std::ptrdiff_t>(limit)
                        ? first + static_cast<std::ptrdiff_t>(limit)
                        : entries.end();
  const std::string now = recordingNow(*live, room.key);
  boost::json::array out;
  for (const auto& entry : std::span(first, last)) {
    out.push_back(boost::json::object{{"name", entry.name},
                                      {"format", entry.extension->format},
                                      {"bytes", entry.bytes},
                                      {"started", rfc3339(entry.stamp)},
                                      {"recording", entry.name == now}});
  }
  boost::json::object page{{"recordings", std::move(out)}};
  if (last != entries.end()) {
    page["next"] = "/v1/rooms/" + urlPart(param(params, "id")) +
                   "/recordings?after=" + urlPart(std::prev(last)->name) +
                   "&limit=" + std::to_string(limit);
  }
  return Json{http::status::ok, std::move(page)};
}

Reply getRecording(const Context& context, const Request& request, const Params& params) {
  auto found = recordingsOf(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& [room, live] = std::get<RecordingsOf>(found);
  const std::string& name = param(params, "name");
  const auto parsed = parseName(name, room.key);
  if (!parsed) {
    return noRecording(room, name);
  }
  const auto path = live->recordings / name;
  // O_NOFOLLOW: a symbolic link in the folder is refused (ELOOP), never followed out of it.
  // O_NONBLOCK: a FIFO under a recording's name cannot hang the server's thread in open().
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!file.valid()) {
    const int error = errno;
    if (error == ENOENT || error == ELOOP || error == ENOTDIR) {
      return noRecording(room, name);
    }
    return problemWith(
        http::status::internal_server_error,
        "cannot open the recording: " + std::error_code(error, std::generic_category()).message());
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return noRecording(room, name);
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  // A strong validator (RFC 9110 §8.8.3) from the size and modification time: a recording still
  // being written changes it, so a resumed download (If-Range) of an older state gets it whole.
  const auto modifiedNs = static_cast<uint64_t>(info.st_mtim.tv_sec) * 1'000'000'000ULL +
                          static_cast<uint64_t>(info.st_mtim.tv_nsec);
  const std::string etag = "\"" + hex(size) + "-" + hex(modifiedNs) + "\"";

  RangeAnswer range = WholeRepresentation{};
  // RFC 9110 §14.2: Range is defined for GET only (HEAD gets the whole representation's
  // header); §13.1.5: with an If-Range that is not the current entity tag, the whole.
  if (request.method() == http::verb::get && request.count(http::field::range) == 1) {
    const auto ifRange = request.find(http::field::if_range);
    if (ifRange == request.end() || ifRange->value() == etag) {
      range = requestedRange(request[http::field::range], size);
    }
  }
  if (std::holds_alternative<Unsatisfiable>(range)) {
    Problem problem = problemWith(
        http::status::range_not_satisfiable,
        "the range is past the end of the recording (" + std::to_string(size) + " bytes)");
    // RFC 9110 §14.4: a 416 says how large the representation is.
    problem.headers.emplace_back(http::field::content_range, "bytes */" + std::to_string(size));
    return problem;
  }
  File reply{http::status::ok, {std::move(file), 0, size}};
  if (const auto* slice = std::get_if<ByteRange>(&range)) {
    reply.status = http::status::partial_content;
    reply.body.offset = slice->first;
    reply.body.length = slice->length;
    reply.headers.emplace_back(http::field::content_range,
                               "bytes " + std::to_string(slice->first) + "-" +
                                   std::to_string(slice->first + slice->length - 1) + "/" +
                                   std::to_string(size));
  }
  reply.headers.emplace_back(http::field::content_type, parsed->extension->contentType);
  reply.headers.emplace_back(http::field::content_disposition, attachment(name));
  reply.headers.emplace_back(http::field::accept_ranges, "bytes");
  reply.headers.emplace_back(http::field::etag, etag);
  reply.headers.emplace_back(http::field::last_modified, httpDate(info.st_mtim.tv_sec));
  return reply;
}

Reply deleteRecording(const Context& context, const Request& /*request*/, const Params& params) {
  auto found = recordingsOf(context, params);
  if (auto* problem = std::get_if<Problem>(&found)) {
    return std::move(*problem);
  }
  const auto& [room, live] = std::get<RecordingsOf>(found);
  const std::string& name = param(params, "name");
  if (!parseName(name, room.key)) {
    return noRecording(room, name);
  }
  const auto path = live->recordings / name;
  std::error_code ec;
  // A link is not one of ours either: it is neither followed nor removed.
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec))) {
    return noRecording(room, name);
  }
  if (recordingNow(*live, room.key) == name) {
    return problemWith(http::status::conflict,
                       "room " + room.key + " is recording to " + name + " now: stop it first");
  }
  if (!std::filesystem::remove(path, ec) && !ec) {
    return noRecording(room, name);  // gone meanwhile
  }
  if (ec) {
    return problemWith(http::status::internal_server_error,
                       "cannot delete the recording: " + ec.message());
  }
  return Json{http::status::no_content, nullptr};
}

}  // namespace confab::api::routes
