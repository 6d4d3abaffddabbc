#include "focus/sip/Parser.hpp"

#include <algorithm>
#include <array>

#include "focus/sip/Grammar.hpp"

namespace confab::sip {

using namespace grammar;

namespace {

// Cuts the next line (without its CRLF or bare LF) from 'text' starting at 'pos'.
// Returns false at the end of the text.
bool nextLine(std::string_view text, std::size_t& pos, std::string_view& line) {
  if (pos >= text.size()) {
    return false;
  }
  auto lf = text.find('\n', pos);
  if (lf == std::string_view::npos) {
    line = text.substr(pos);
    pos = text.size();
  } else {
    line = text.substr(pos, lf - pos);
    pos = lf + 1;
  }
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return true;
}

// Splits a list header value at commas outside quoted strings and <...> (RFC 3261 §7.3.1).
std::vector<std::string_view> splitList(std::string_view value) {
  std::vector<std::string_view> out;
  bool quoted = false;
  bool angle = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angle = true;
    } else if (c == '>') {
      angle = false;
    } else if (c == ',' && !angle) {
      out.push_back(trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(value.substr(start)));
  return out;
}

// Headers whose elements are name-addr or via-parm: an empty element is a syntax error
// (RFC 4475 §3.1.2.1), where token lists such as Supported may legally be empty.
bool emptyElementIsError(std::string_view canonical) {
  return canonical == "Via" || canonical == "Contact" || canonical == "Route" ||
         canonical == "Record-Route";
}

struct Parsed {
  Message message;
  std::optional<uint64_t> contentLength;
};

std::string describe(std::string_view what, const Error& e) {
  return std::string(what) + ": " + e.reason;
}

// RFC 3261 §8.1.1: the headers every request carries once. All missing ones are named together
// (RFC 4475 §3.3.1 insuf lacks three), so the 400 says everything that is wrong at once.
Result<std::monostate> checkMandatory(const Message& m) {
  constexpr std::string_view kMandatory[] = {"Call-ID", "From", "To", "CSeq"};
  std::string missing;
  for (std::string_view name : kMandatory) {
    if (m.headers(name).empty()) {
      missing += missing.empty() ? "missing " : ", ";
      missing += name;
    }
  }
  if (!missing.empty()) {
    return badRequest(std::move(missing));
  }
  for (std::string_view name : kMandatory) {
    if (m.headers(name).size() > 1) {
      return badRequest("more than one " + std::string(name));
    }
  }
  return std::monostate{};
}

// RFC 3261 §8.1.1 mandatory headers and the checks RFC 4475 §3.1.2 and §3.3 ask of a parser.
Result<std::monostate> validate(const Message& m) {
  const auto vias = m.headers("Via");
  if (vias.empty()) {
    return badRequest("missing Via");
  }
  for (auto v : vias) {
    auto via = Via::parse(v);
    if (!via) {
      return via.error();
    }
  }
  if (auto mandatory = checkMandatory(m); !mandatory) {
    return mandatory.error();
  }
  if (auto from = m.from(); !from) {
    return badRequest(describe("malformed From", from.error()));
  }
  if (auto to = m.to(); !to) {
    return badRequest(describe("malformed To", to.error()));
  }
  const std::string callId = m.callId();
  if (callId.empty() || std::any_of(callId.begin(), callId.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      })) {
    return badRequest("malformed Call-ID");
  }
  auto cseq = m.cseq();
  if (!cseq) {
    return badRequest(describe("malformed CSeq", cseq.error()));
  }
  const auto maxForwards = m.headers("Max-Forwards");
  if (maxForwards.size() > 1) {
    return badRequest("more than one Max-Forwards");
  }
  if (!maxForwards.empty() && !parseDecimal(trim(maxForwards.front()), 255)) {
    return badRequest("malformed Max-Forwards");
  }
  for (std::string_view name : {"Contact", "Route", "Record-Route"}) {
    for (auto v : m.headers(name)) {
      auto na = NameAddr::parse(v);
      if (!na) {
        return badRequest(describe("malformed " + std::string(name), na.error()));
      }
    }
  }
  if (m.isRequest()) {
    if (cseq->method != m.method) {
      // RFC 4475 §3.1.2.18 prefers 501 when the method itself is unknown.
      if (!isStandardMethod(m.method)) {
        return Error{501, "Not Implemented"};
      }
      return badRequest("CSeq method does not match the request method");
    }
    if (!m.requestUri.headers.empty()) {
      // RFC 4475 §3.1.2.11: escaped headers in a Request-URI are refused, never applied.
      return badRequest("Request-URI carries headers");
    }
    auto top = Via::parse(vias.front());
    if (top->branch() == "z9hG4bK") {
      // RFC 4475 §3.2.1: the magic cookie alone identifies no transaction.
      return badRequest("Via branch has no transaction identifier");
    }
  }
  return std::monostate{};
}

// Enough to answer a request that failed validation (RFC 3261 §8.2: the response copies Via,
// From, To, Call-ID and CSeq); the values are copied as received. The CSeq lets the sender match
// the response to its transaction; a missing From, To or Call-ID is the very thing the 400
// reports (RFC 4475 §3.3.1), so the response goes without. The Via routes the response
// (§18.2.2); a Via too broken to read (RFC 4475 §3.1.2.1, badinv01) is still copied as it came,
// for the sender to recognise, and the transport sends such a response back to where the request
// came from (transport::TransportLayer::sendResponse).
std::optional<Message> partialForResponse(const Message& m) {
  if (!m.isRequest() || m.method.empty() || m.method == "ACK") {
    return std::nullopt;
  }
  if (m.header("Via") == nullptr || m.header("CSeq") == nullptr) {
    return std::nullopt;
  }
  return m;
}

ParseFailure fail(Error e, const Message* partial = nullptr) {
  ParseFailure f{std::move(e), std::nullopt};
  if (partial != nullptr) {
    f.partial = partialForResponse(*partial);
  }
  return f;
}

Result<std::monostate> parseStartLine(std::string_view line, Message& m) {
  if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || !iequals(line.substr(0, sp1), "SIP/2.0")) {
      return Error{400, "unsupported SIP version in status line"};
    }
    std::string_view code = line.substr(sp1 + 1, 3);
    if (code.size() != 3 || !std::all_of(code.begin(), code.end(), isDigit) ||
        (line.size() > sp1 + 4 && line[sp1 + 4] != ' ')) {
      return badRequest("malformed status code");
    }
    m.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (m.status < 100 || m.status > 699) {
      return badRequest("status code out of range");
    }
    m.reason = line.size() > sp1 + 5 ? std::string(line.substr(sp1 + 5)) : std::string();
    return std::monostate{};
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly one SP each.
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return badRequest("malformed request line");
  }
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos ||
      sp2 == sp1 + 1) {
    return badRequest("malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) {
    return badRequest("malformed method");
  }
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; anything but 2.0 gets 505 (RFC 3261 §8.2.2).
  if (version.size() < 7 || !iequals(version.substr(0, 4), "SIP/")) {
    return badRequest("malformed SIP version");
  }
  std::string_view number = version.substr(4);
  auto dot = number.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
  };
  if (dot == std::string_view::npos || !digits(number.substr(0, dot)) ||
      !digits(number.substr(dot + 1))) {
    return badRequest("malformed SIP version");
  }
  m.method.assign(method);
  if (number != "2.0") {
    return Error{505, "Version Not Supported"};
  }
  auto parsed = Uri::parse(uri);
  if (!parsed) {
    return badRequest("malformed Request-URI");
  }
  m.requestUri = std::move(*parsed);
  return std::monostate{};
}

}  // namespace

ParseResult parseMessage(std::string_view bytes, bool datagram, const Limits& limits) {
  if (bytes.size() > limits.maxMessageBytes) {
    return fail(Error{513, "Message Too Large"});
  }
  std::size_t pos = 0;
  // RFC 3261 §7.5: ignore CRLFs before the start line.
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) {
    ++pos;
  }
  std::string_view line;
  if (!nextLine(bytes, pos, line) || line.empty()) {
    return fail(badRequest("empty message"));
  }
  Message m;
  // An error found while the rest can still be read, so its response can be built (RFC 4475).
  std::optional<Error> deferredError;
  if (auto start = parseStartLine(line, m); !start) {
    deferredError = start.error();
    // A broken request line still gets its error response when the headers allow one
    // (RFC 4475 §3.1.2.7 - §3.1.2.10, §3.1.2.16): keep the method and read on.
    const bool isResponseLine = line.size() >= 4 && iequals(line.substr(0, 4), "SIP/");
    std::string_view method = line.substr(0, line.find(' '));
    if (isResponseLine || !isToken(method)) {
      return fail(start.error());
    }
    m.method.assign(method);
  }

  // Header section: unfold continuation lines (RFC 3261 §7.3.1), then store each field.
  std::optional<uint64_t> contentLength;
  bool contentLengthConflict = false;
  bool contentLengthMalformed = false;
  bool headerSectionEnded = false;
  std::string logical;
  std::vector<std::string> logicalLines;
  while (nextLine(bytes, pos, line)) {
    if (pos > limits.maxHeaderBytes) {
      return fail(badRequest("header section too large"));
    }
    if (line.empty()) {
      headerSectionEnded = true;
      break;
    }
    if (isWs(line.front())) {
      if (logicalLines.empty()) {
        return fail(badRequest("continuation line before any header"));
      }
      logicalLines.back() += ' ';
      logicalLines.back() += trim(line);
      continue;
    }
    logicalLines.emplace_back(line);
    if (logicalLines.size() > limits.maxHeaders) {
      return fail(badRequest("too many header fields"));
    }
  }
  if (!headerSectionEnded && !datagram) {
    return fail(badRequest("header section not terminated"));
  }
  // Without the empty line a datagram simply ends: what follows the headers is no body.
  for (const auto& l : logicalLines) {
    std::string_view text(l);
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
      return fail(badRequest("header line without ':'"), &m);
    }
    std::string_view name = trim(text.substr(0, colon));
    if (!isToken(name)) {
      return fail(badRequest("malformed header name"), &m);
    }
    std::string canonical = canonicalHeaderName(name);
    std::string_view value = trim(text.substr(colon + 1));
    if (canonical == "Content-Length") {
      auto n = parseDecimal(value, limits.maxMessageBytes);
      if (!n) {
        contentLengthMalformed = true;
      } else if (contentLength && *contentLength != *n) {
        contentLengthConflict = true;
      } else {
        contentLength = n;
      }
      continue;
    }
    if (isListHeader(canonical) && !value.empty()) {
      auto items = splitList(value);
      const bool broken = emptyElementIsError(canonical) &&
                          std::any_of(items.begin(), items.end(),
                                      [](std::string_view item) { return item.empty(); });
      if (broken) {
        // RFC 4475 §3.1.2.1: refused, but read on so the 400 can carry the CSeq and the rest;
        // the field is kept whole, as sent, for the response to copy.
        if (!deferredError) {
          deferredError = badRequest("empty element in " + canonical);
        }
        m.fields.push_back(Header{canonical, std::string(value)});
        continue;
      }
      for (auto item : items) {
        if (!item.empty()) {
          m.fields.push_back(Header{canonical, std::string(item)});
        }
      }
    } else {
      m.fields.push_back(Header{std::move(canonical), std::string(value)});
    }
    if (m.fields.size() > limits.maxHeaders) {
      return fail(badRequest("too many header fields"));
    }
  }
  if (m.isResponse()) {
    if (auto cseq = m.cseq()) {
      m.method = cseq->method;
    }
  }
  if (deferredError) {
    return fail(*deferredError, &m);
  }
  // RFC 3261 §18.3 framing; RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9.
  if (contentLengthMalformed) {
    return fail(badRequest("malformed Content-Length"), &m);
  }
  if (contentLengthConflict) {
    return fail(badRequest("conflicting Content-Length values"), &m);
  }
  std::string_view rest = headerSectionEnded ? bytes.substr(pos) : std::string_view{};
  if (contentLength) {
    if (*contentLength > rest.size()) {
      return fail(badRequest("Content-Length larger than message"), &m);
    }
    // Octets past Content-Length in a datagram are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8).
    m.body.assign(rest.substr(0, static_cast<std::size_t>(*contentLength)));
  } else if (datagram) {
    m.body.assign(rest);
  } else if (!rest.empty()) {
    return fail(badRequest("missing Content-Length"), &m);
  }
  if (auto valid = validate(m); !valid) {
    return fail(valid.error(), &m);
  }
  return m;
}

void StreamFramer::feed(std::string_view bytes) {
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  buffer_.append(bytes);
}

std::size_t StreamFramer::takePings() { return std::exchange(pings_, 0); }

StreamFramer::Status StreamFramer::next(std::string& out, Error& error) {
  // Skip CRLFs between messages; each CRLFCRLF is an RFC 5626 §4.4.1 keep-alive ping.
  while (offset_ < buffer_.size()) {
    if (buffer_.compare(offset_, 2, "\r\n") == 0) {
      offset_ += 2;
      if (++pendingCrlf_ == 2) {
        ++pings_;
        pendingCrlf_ = 0;
      }
    } else if (buffer_[offset_] == '\r' && offset_ + 1 == buffer_.size()) {
      return Status::kNeedMore;  // half a CRLF: wait for the LF
    } else if (buffer_[offset_] == '\n') {
      ++offset_;
    } else {
      break;
    }
  }
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
    return Status::kNeedMore;
  }
  std::string_view view(buffer_);
  view.remove_prefix(offset_);
  auto end = view.find("\r\n\r\n");
  std::size_t headerLength = 0;
  if (end != std::string_view::npos) {
    headerLength = end + 4;
  } else if (auto lfEnd = view.find("\n\n"); lfEnd != std::string_view::npos) {
    headerLength = lfEnd + 2;
  }
  if (headerLength == 0 || headerLength > limits_.maxHeaderBytes) {
    if (view.size() > limits_.maxHeaderBytes) {
      error = badRequest("header section too large");
      return Status::kError;
    }
    if (headerLength == 0) {
      return Status::kNeedMore;
    }
  }
  pendingCrlf_ = 0;
  // Find Content-Length among the header lines (folded lines cannot start with a name).
  std::optional<uint64_t> contentLength;
  std::string_view headers = view.substr(0, headerLength);
  std::size_t pos = 0;
  std::string_view line;
  nextLine(headers, pos, line);  // the start line
  while (nextLine(headers, pos, line) && !line.empty()) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos || isWs(line.front())) {
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    if (iequals(name, "Content-Length") || iequals(name, "l")) {
      auto n = parseDecimal(trim(line.substr(colon + 1)), limits_.maxMessageBytes);
      if (!n || (contentLength && *contentLength != *n)) {
        // RFC 4475 §3.1.2.3 and §3.3.9: the stream can no longer be framed.
        error = badRequest("malformed Content-Length");
        return Status::kError;
      }
      contentLength = n;
    }
  }
  if (!contentLength) {
    // RFC 3261 §18.3: Content-Length MUST be used with stream transports.
    error = badRequest("missing Content-Length");
    return Status::kError;
  }
  const std::size_t total = headerLength + static_cast<std::size_t>(*contentLength);
  if (total > limits_.maxMessageBytes) {
    error = Error{513, "Message Too Large"};
    return Status::kError;
  }
  if (view.size() < total) {
    return Status::kNeedMore;
  }
  out.assign(view.substr(0, total));
  offset_ += total;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 65536) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return Status::kMessage;
}

}  // namespace confab::sip
