// The mixer control protocol (docs/mixer-protocol.md): one JSON object per line over TCP between
// confab (RemoteMixer) and confab-mixer (ControlServer). This type only turns lines into
// messages and back; it knows no sockets. Lines are network input: every field is checked, and
// a bad line is an error value naming the problem, never an exception or a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mixer/engine/Control.hpp"

namespace confab::mixer::remote {

// Version 3 (2 had no authentication; 1 had setMuted, setDeaf and setGain, and those fields loose
// in a participant's settings); hello carries it both ways, and a peer speaking another one is
// refused.
inline constexpr int64_t kProtocolVersion = 3;
// The longest line either side accepts, newline included: a join with SRTP keys is under 1 KiB,
// engine stats for 128 threads (the most a line reports) about 32 KiB.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

// Request ids are chosen by the client (non-zero) and echoed in the response.
using RequestId = uint64_t;

// Field limits, the same for reading and writing.
inline constexpr std::size_t kMaxPathBytes = 4096;  // paths name files on the mixer's machine
inline constexpr std::size_t kMaxAddressBytes = 128;
inline constexpr std::size_t kMaxMessageBytes = 1024;
inline constexpr std::size_t kMaxProofBytes = 64;  // a handshake nonce or proof: 64 hex digits
// Engine stats for more threads than this would not fit a line (about 240 bytes each); a
// machine with more mixer threads reports the first ones.
inline constexpr std::size_t kMaxThreads = 128;

// Each message is declared once: its fields, in one visit() that both directions use. The
// reader (Protocol.cpp) reads each field from a line's JSON object and checks it; the writer
// writes it. A visitor offers:
//   requestId(id)                      "id": non-zero, required
//   number(key, unsigned&, need[, max]) integer(key, signed&, min, max, need)
//   real(key, float/double&, min, max, need)   flag(key, bool&, need)
//   text(key, string&, maxBytes, need)         choice(key, enum&, need)  (names in Protocol.cpp)
//   digit(key, char&)                  one RFC 4733 key
//   nested(key, value&, need)          an object; its fields in Protocol.cpp's describe()
//   list(key, vector&, max, need)      an array of such objects
// A field absent and not required keeps its default: a later version may add fields.
enum class Need : uint8_t { kOptional, kRequired };
inline constexpr Need kRequired = Need::kRequired;
inline constexpr Need kOptional = Need::kOptional;

// ---- both ways ---------------------------------------------------------------------------
struct Hello {
  static constexpr std::string_view kType = "hello";
  int64_t version = kProtocolVersion;
  // Server to client: the address peers send media to (Reservation::address); may be empty.
  std::string mediaAddress;
  // Client to server: its handshake nonce (mixer/remote/Handshake.hpp), 64 hex digits.
  std::string nonce;
  // Server to client, after a good authenticate: the server's proof; empty without a secret.
  std::string proof;
  // Server to client: how often it sends a line even when nothing happens (its heartbeat), in
  // ms, so that the client knows a hung server by the silence; 0 (absent): a server from before
  // heartbeats, whose stats pushes come every second.
  int64_t heartbeatMs = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.integer("version", m.version, 0, std::numeric_limits<int64_t>::max(), kRequired);
    v.text("mediaAddress", m.mediaAddress, kMaxAddressBytes, kOptional);
    v.text("nonce", m.nonce, kMaxProofBytes, kOptional);
    v.text("proof", m.proof, kMaxProofBytes, kOptional);
    v.integer("heartbeatMs", m.heartbeatMs, 0, 3600 * 1000, kOptional);
  }
};
// Server to client, in place of hello, when the server has a secret: its nonce.
struct Challenge {
  static constexpr std::string_view kType = "challenge";
  std::string nonce;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.text("nonce", m.nonce, kMaxProofBytes, kRequired);
  }
};
// Client to server, the answer to a challenge: the client's proof.
struct Authenticate {
  static constexpr std::string_view kType = "authenticate";
  std::string proof;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.text("proof", m.proof, kMaxProofBytes, kRequired);
  }
};

// ---- requests (client to server) -----------------------------------------------------------
struct CreateMix {
  static constexpr std::string_view kType = "createMix";
  RequestId id = 0;
  MixId mix = 0;  // chosen by the client, scoped to its connection
  RoomSettings settings;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
    v.nested("settings", m.settings, kOptional);
  }
};
struct DestroyMix {
  static constexpr std::string_view kType = "destroyMix";
  RequestId id = 0;
  MixId mix = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
  }
};
struct Reserve {
  static constexpr std::string_view kType = "reserve";
  RequestId id = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
  }
};
struct Join {
  static constexpr std::string_view kType = "join";
  RequestId id = 0;
  EndpointId endpoint = 0;  // as the server's Reserved said
  MixId mix = 0;
  MediaParams media;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
    v.number("mix", m.mix, kRequired);
    v.nested("media", m.media, kRequired);
  }
};
struct Update {
  static constexpr std::string_view kType = "update";
  RequestId id = 0;
  EndpointId endpoint = 0;
  MediaParams media;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
    v.nested("media", m.media, kRequired);
  }
};
struct Move {
  static constexpr std::string_view kType = "move";
  RequestId id = 0;
  EndpointId endpoint = 0;
  MixId mix = 0;  // as the client numbered it in CreateMix
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
    v.number("mix", m.mix, kRequired);
  }
};
struct Release {
  static constexpr std::string_view kType = "release";
  RequestId id = 0;
  EndpointId endpoint = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
  }
};
// All of an endpoint's live controls at once (Control::setControls): the same nested object as
// in a join's participant settings, so a new control is one line in describe().
struct SetControls {
  static constexpr std::string_view kType = "setControls";
  RequestId id = 0;
  EndpointId endpoint = 0;
  Controls controls;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
    v.nested("controls", m.controls, kRequired);
  }
};
struct StartRecording {
  static constexpr std::string_view kType = "startRecording";
  RequestId id = 0;
  MixId mix = 0;
  std::string path;
  RecordingFormat format = RecordingFormat::kWav;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
    v.text("path", m.path, kMaxPathBytes, kRequired);
    v.choice("format", m.format, kRequired);
  }
};
struct StopRecording {
  static constexpr std::string_view kType = "stopRecording";
  RequestId id = 0;
  MixId mix = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
  }
};
struct Play {
  static constexpr std::string_view kType = "play";
  RequestId id = 0;
  MixId mix = 0;
  std::string path;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
    v.text("path", m.path, kMaxPathBytes, kRequired);
  }
};
struct StopPlaying {
  static constexpr std::string_view kType = "stopPlaying";
  RequestId id = 0;
  MixId mix = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("mix", m.mix, kRequired);
  }
};

// ---- responses (server to client) ----------------------------------------------------------
struct Ok {
  static constexpr std::string_view kType = "ok";
  RequestId id = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
  }
};
struct Reserved {
  static constexpr std::string_view kType = "reserved";
  RequestId id = 0;
  EndpointId endpoint = 0;
  uint16_t rtpPort = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.requestId(m.id);
    v.number("endpoint", m.endpoint, kRequired);
    v.number("rtpPort", m.rtpPort, kRequired);
  }
};
// A request refused, or (id 0) a line that was not a request at all.
struct Failed {
  static constexpr std::string_view kType = "failed";
  RequestId id = 0;
  std::string message;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("id", m.id, kRequired);  // 0: about the line, not a request
    v.text("message", m.message, kMaxMessageBytes, kRequired);
  }
};

// ---- events (server to client, unsolicited) ------------------------------------------------
struct DtmfEvent {
  static constexpr std::string_view kType = "dtmf";
  EndpointId endpoint = 0;
  char digit = '0';
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
    v.digit("digit", m.digit);
  }
};
struct RtpTimeoutEvent {
  static constexpr std::string_view kType = "rtpTimeout";
  EndpointId endpoint = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
  }
};
struct EndpointFailedEvent {
  static constexpr std::string_view kType = "endpointFailed";
  EndpointId endpoint = 0;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
  }
};
struct TalkingEvent {
  static constexpr std::string_view kType = "talking";
  EndpointId endpoint = 0;
  bool talking = false;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
    v.flag("talking", m.talking, kRequired);
  }
};
struct SourceEvent {
  static constexpr std::string_view kType = "source";
  EndpointId endpoint = 0;
  MediaSourceEvent source;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
    v.flag("latched", m.source.latched, kRequired);
    v.text("address", m.source.address, kMaxAddressBytes, kRequired);
    v.number("refused", m.source.refused, kOptional);
  }
};
struct PlaybackEndedEvent {
  static constexpr std::string_view kType = "playbackEnded";
  MixId mix = 0;
  MediaFileEnd how = MediaFileEnd::kFinished;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("mix", m.mix, kRequired);
    v.choice("how", m.how, kRequired);
  }
};
struct RecordingEndedEvent {
  static constexpr std::string_view kType = "recordingEnded";
  MixId mix = 0;
  MediaFileEnd how = MediaFileEnd::kFinished;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("mix", m.mix, kRequired);
    v.choice("how", m.how, kRequired);
  }
};
struct MixStatsEvent {
  static constexpr std::string_view kType = "mixStats";
  MixId mix = 0;
  MixStats stats;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("mix", m.mix, kRequired);
    v.nested("stats", m.stats, kRequired);
  }
};
struct EndpointStatsEvent {
  static constexpr std::string_view kType = "endpointStats";
  EndpointId endpoint = 0;
  MediaStats stats;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.number("endpoint", m.endpoint, kRequired);
    v.nested("stats", m.stats, kRequired);
  }
};
struct EngineStatsEvent {
  static constexpr std::string_view kType = "engineStats";
  std::vector<EngineThreadStats> threads;
  template <class V, class M>
  static void visit(V& v, M& m) {
    v.list("threads", m.threads, kMaxThreads, kRequired);
  }
};

using Message = std::variant<Hello,
                             Challenge,
                             Authenticate,
                             CreateMix,
                             DestroyMix,
                             Reserve,
                             Join,
                             Update,
                             Move,
                             Release,
                             SetControls,
                             StartRecording,
                             StopRecording,
                             Play,
                             StopPlaying,
                             Ok,
                             Reserved,
                             Failed,
                             DtmfEvent,
                             RtpTimeoutEvent,
                             EndpointFailedEvent,
                             TalkingEvent,
                             SourceEvent,
                             PlaybackEndedEvent,
                             RecordingEndedEvent,
                             MixStatsEvent,
                             EndpointStatsEvent,
                             EngineStatsEvent>;

// Why a line was refused; 'id' is the request's id when the line got far enough to show one, so
// the answer can name the request it refuses.
struct ParseError {
  RequestId id = 0;
  std::string message;
};

class ParseResult {
 public:
  ParseResult(Message message) : v_(std::move(message)) {}  // NOLINT(google-explicit-constructor)
  ParseResult(ParseError error) : v_(std::move(error)) {}   // NOLINT(google-explicit-constructor)
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  Message& operator*() { return std::get<0>(v_); }
  const Message& operator*() const { return std::get<0>(v_); }
  [[nodiscard]] const ParseError& error() const { return std::get<1>(v_); }

 private:
  std::variant<Message, ParseError> v_;
};

// One line without its newline (a trailing '\r' is tolerated). Longer than kMaxLineBytes, not a
// JSON object, an unknown type, a missing or out-of-range field: a ParseError.
ParseResult parse(std::string_view line);

// The message as one line, newline included.
std::string serialize(const Message& message);

// The request id a message carries, 0 for hellos and events.
RequestId requestIdOf(const Message& message);

}  // namespace confab::mixer::remote
