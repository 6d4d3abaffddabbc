#include "focus/sip/Response.hpp"

#include <utility>

namespace confab::sip {

std::string_view defaultReason(int status) {
  switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 422: return "Session Interval Too Small";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 603: return "Decline";
    default: break;
  }
  if (status < 200) {
    return "Trying";
  }
  if (status < 300) {
    return "OK";
  }
  if (status < 400) {
    return "Redirect";
  }
  if (status < 500) {
    return "Request Failed";
  }
  return status < 600 ? "Server Error" : "Global Failure";
}

std::string safeReason(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 160)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

Message makeResponse(const Message& request, int status, std::string_view reason,
                     std::string_view toTag) {
  Message response =
      Message::response(status, safeReason(reason.empty() ? defaultReason(status) : reason));
  response.method = request.method;
  bool seenFrom = false;
  bool seenTo = false;
  bool seenCallId = false;
  bool seenCSeq = false;
  auto first = [](bool& seen) { return !std::exchange(seen, true); };
  // RFC 3261 §12.1.1: a response that establishes a dialog (101-299 to INVITE, SUBSCRIBE or
  // REFER) carries every Record-Route of the request, in order, so that the caller's later
  // requests take the path a proxy in front (Kamailio, a PBX) asked for.
  const bool dialogForming =
      status > 100 && status < 300 &&
      (request.method == "INVITE" || request.method == "SUBSCRIBE" || request.method == "REFER");
  for (const auto& h : request.fields) {
    // Single-valued headers are copied once even when a broken request repeats them.
    // RFC 3261 §8.2.6.1: a 100 Trying echoes Timestamp.
    if (h.name == "Via" || (h.name == "From" && first(seenFrom)) ||
        (h.name == "Call-ID" && first(seenCallId)) || (h.name == "CSeq" && first(seenCSeq)) ||
        (h.name == "Timestamp" && status == 100) || (h.name == "Record-Route" && dialogForming)) {
      response.fields.push_back(h);
    } else if (h.name == "To" && first(seenTo)) {
      Header to = h;
      // RFC 3261 §8.2.6.2: a UAS adds a To tag unless this is 100 Trying or one is there.
      if (!toTag.empty() && status > 100) {
        auto parsed = NameAddr::parse(h.value);
        if (parsed && parsed->tag().empty()) {
          to.value += ";tag=";
          to.value += toTag;
        }
      }
      response.fields.push_back(std::move(to));
    }
  }
  return response;
}

Message errorResponse(const Message& request, const Error& error, std::string_view toTag) {
  std::string reason(defaultReason(error.status));
  const bool detailed = !error.reason.empty() && error.reason != reason;
  // RFC 3261 §21.4.1: a 400's reason phrase SHOULD name the syntax problem. Every other status
  // keeps its plain phrase, and the detail goes in a Warning header (§20.43), where user agents
  // show or log it.
  if (detailed && error.status == 400) {
    reason += " (" + error.reason + ")";
  }
  Message response = makeResponse(request, error.status, reason, toTag);
  if (detailed && error.status != 400) {
    response.add("Warning", warning(error.warnCode, error.reason));
  }
  return response;
}

std::string warning(int code, std::string_view text) {
  // warning-value = warn-code SP warn-agent SP warn-text; warn-text is a quoted-string, so
  // quotes and backslashes are escaped and control characters replaced.
  std::string quoted;
  for (char c : safeReason(text)) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
    }
    quoted.push_back(c);
  }
  const int safeCode = code >= 300 && code <= 399 ? code : 399;
  return std::to_string(safeCode) + " confab \"" + quoted + "\"";
}

}  // namespace confab::sip
