// The mixer control protocol (docs/mixer-protocol.md): one JSON object per line over TCP between
// confab (RemoteMixer) and confab-mixer (ControlServer). This type only turns lines into
// messages and back; it knows no sockets. Lines are network input: every field is checked, and
// a bad line is an error value naming the problem, never an exception or a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mixer/engine/Control.hpp"

namespace confab::mixer::remote {

// Version 1; hello carries it both ways, and a peer speaking another one is refused.
inline constexpr int64_t kProtocolVersion = 1;
// The longest line either side accepts, newline included: a join with SRTP keys is under 1 KiB,
// engine stats for 128 threads (the most a line reports) about 32 KiB.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

// Request ids are chosen by the client (non-zero) and echoed in the response.
using RequestId = uint64_t;

// ---- both ways ---------------------------------------------------------------------------
struct Hello {
  int64_t version = kProtocolVersion;
  // Server to client: the address peers send media to (Reservation::address); may be empty.
  std::string mediaAddress;
};

// ---- requests (client to server) -----------------------------------------------------------
struct CreateMix {
  RequestId id = 0;
  MixId mix = 0;  // chosen by the client, scoped to its connection
  RoomSettings settings;
};
struct DestroyMix {
  RequestId id = 0;
  MixId mix = 0;
};
struct Reserve {
  RequestId id = 0;
};
struct Join {
  RequestId id = 0;
  EndpointId endpoint = 0;  // as the server's Reserved said
  MixId mix = 0;
  MediaParams media;
};
struct Update {
  RequestId id = 0;
  EndpointId endpoint = 0;
  MediaParams media;
};
struct Move {
  RequestId id = 0;
  EndpointId endpoint = 0;
  MixId mix = 0;  // as the client numbered it in CreateMix
};
struct Release {
  RequestId id = 0;
  EndpointId endpoint = 0;
};
struct SetMuted {
  RequestId id = 0;
  EndpointId endpoint = 0;
  bool muted = false;
};
struct SetDeaf {
  RequestId id = 0;
  EndpointId endpoint = 0;
  bool deaf = false;
};
struct SetGain {
  RequestId id = 0;
  EndpointId endpoint = 0;
  float gain = 1.0F;
};
struct StartRecording {
  RequestId id = 0;
  MixId mix = 0;
  std::string path;
  RecordingFormat format = RecordingFormat::kWav;
};
struct StopRecording {
  RequestId id = 0;
  MixId mix = 0;
};
struct Play {
  RequestId id = 0;
  MixId mix = 0;
  std::string path;
};
struct StopPlaying {
  RequestId id = 0;
  MixId mix = 0;
};

// ---- responses (server to client) ----------------------------------------------------------
struct Ok {
  RequestId id = 0;
};
struct Reserved {
  RequestId id = 0;
  EndpointId endpoint = 0;
  uint16_t rtpPort = 0;
};
// A request refused, or (id 0) a line that was not a request at all.
struct Failed {
  RequestId id = 0;
  std::string message;
};

// ---- events (server to client, unsolicited) ------------------------------------------------
struct DtmfEvent {
  EndpointId endpoint = 0;
  char digit = '0';
};
struct RtpTimeoutEvent {
  EndpointId endpoint = 0;
};
struct EndpointFailedEvent {
  EndpointId endpoint = 0;
};
struct TalkingEvent {
  EndpointId endpoint = 0;
  bool talking = false;
};
struct SourceEvent {
  EndpointId endpoint = 0;
  MediaSourceEvent source;
};
struct PlaybackEndedEvent {
  MixId mix = 0;
  MediaFileEnd how = MediaFileEnd::kFinished;
};
struct RecordingEndedEvent {
  MixId mix = 0;
  MediaFileEnd how = MediaFileEnd::kFinished;
};
struct MixStatsEvent {
  MixId mix = 0;
  MixStats stats;
};
struct EndpointStatsEvent {
  EndpointId endpoint = 0;
  MediaStats stats;
};
struct EngineStatsEvent {
  std::vector<EngineThreadStats> threads;
};

using Message = std::variant<Hello,
                             CreateMix,
                             DestroyMix,
                             Reserve,
                             Join,
                             Update,
                             Move,
                             Release,
                             SetMuted,
                             SetDeaf,
                             SetGain,
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
