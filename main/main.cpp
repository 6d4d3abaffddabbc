// confab: reads the configuration, assembles the focus and the API on one io_context, and runs
// until SIGINT or SIGTERM, when it says BYE to every call before leaving; SIGHUP reloads the
// configuration.
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "api/Server.hpp"
#include "api/WebhookOutbox.hpp"
#include "api/WebhookSender.hpp"
#include "focus/Focus.hpp"
#include "focus/auth/Digest.hpp"
#include "focus/conference/Records.hpp"
#include "focus/room/PinChecker.hpp"
#include "focus/transport/Resolver.hpp"
#include "focus/transport/TlsIdentity.hpp"
#include "main/Admin.hpp"
#include "main/Config.hpp"
#include "main/Service.hpp"
#include "mixer/engine/InProcessMixer.hpp"
#include "mixer/remote/Handshake.hpp"
#include "mixer/remote/MixerSet.hpp"
#include "mixer/remote/RemoteMixer.hpp"
#include "policy/Store.hpp"
#include "policy/StoreRooms.hpp"

namespace {

// This node's name among nodes sharing one store (the webhooks' delivery leases): 128 random bits
// kept in DATA-DIR/node-id, so that it is the same after a restart and differs between nodes.
// Empty when it can be neither read nor made (the sender then picks one per run).
std::string nodeId(const std::string& dataDir) {
  const auto path = std::filesystem::path(dataDir) / "node-id";
  std::string id;
  if (std::ifstream in(path); in >> id && id.size() == 32 &&
                              id.find_first_not_of("0123456789abcdef") == std::string::npos) {
    return id;
  }
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return {};
  }
  id.clear();
  for (unsigned char b : bytes) {
    id += "0123456789abcdef"[b >> 4];
    id += "0123456789abcdef"[b & 0x0F];
  }
  std::ofstream out(path);
  out << id << "\n";
  return out ? id : std::string();
}

using namespace confab;

// Logs to standard error, filtered by --log-level: calls at info, every SIP message at trace.
class Log final : public FocusObserver {
 public:
  explicit Log(config::LogLevel level) : level_(level) {}
  void setLevel(config::LogLevel level) { level_ = level; }

  void onCallStarted(const room::Call& call, const transport::Source& from) override {
    if (level_ > config::LogLevel::kInfo) {
      return;
    }
    std::cerr << "confab: call " << call.dialog().callId() << " from " << from.remote.str() << " ("
              << transport::protocolName(from.protocol) << ") joined room " << call.roomId();
    if (const auto& media = call.media()) {
      std::cerr << " with " << media->codec.name << "/" << media->codec.clockRate
                << (media->srtp ? " SRTP" : "");
    }
    std::cerr << std::endl;
  }
  void onCallEnded(const room::Call& call) override {
    if (level_ <= config::LogLevel::kInfo) {
      std::cerr << "confab: call " << call.dialog().callId() << " left room " << call.roomId()
                << ": " << call.endReason() << std::endl;
    }
  }
  void onDtmf(const room::Call& call, char digit) override {
    if (level_ <= config::LogLevel::kDebug) {
      std::cerr << "confab: call " << call.dialog().callId() << " pressed " << digit << std::endl;
    }
  }
  void onMediaSource(const room::Call& call, const mixer::MediaSourceEvent& event) override {
    if (event.latched && level_ <= config::LogLevel::kDebug) {
      std::cerr << "confab: call " << call.dialog().callId() << " media latched to "
                << event.address << " (" << event.refused << " packets refused before)"
                << std::endl;
    } else if (!event.latched && level_ <= config::LogLevel::kInfo) {
      // One line per call and second at most (the mixer limits them), in key=value form for
      // log watchers such as fail2ban: the count covers every source refused since the last.
      std::cerr << "confab: security event=rtp-source-refused source=" << event.address
                << " call=" << call.dialog().callId() << " room=" << call.roomId()
                << " refused=" << event.refused << std::endl;
    }
  }
  void onMixerFault(const room::Call* call, const std::string& what) override {
    // Always logged: the mixer caught an exception (the call, if it was one call's, is ended).
    std::cerr << "confab: error: exception on a mixer thread";
    if (call != nullptr) {
      std::cerr << " in call " << call->dialog().callId() << " (room " << call->roomId() << ")";
    }
    std::cerr << ": " << what << std::endl;
  }
  void onLimit(std::string_view event, const std::string& source) override {
    // One line per kind of event and second at most, in key=value form for log watchers such as
    // fail2ban; 'count' covers the ones not printed since the last line.
    auto& seen = limits_[std::string(event)];
    ++seen.count;
    const auto now = std::chrono::steady_clock::now();
    if (seen.printed && now - *seen.printed < std::chrono::seconds(1)) {
      return;
    }
    std::cerr << "confab: security event=" << event << " source=" << source
              << " count=" << seen.count << std::endl;
    seen.printed = now;
    seen.count = 0;
  }
  void onSipSummary(bool inbound, const sip::Message& m, const std::string& peer) override {
    if (level_ != config::LogLevel::kDebug) {
      return;  // trace prints whole messages instead
    }
    // One line per message: requests by method, responses by status, with Call-ID and CSeq.
    std::cerr << "confab: debug: " << (inbound ? "<<< " : ">>> ");
    if (m.isRequest()) {
      std::cerr << m.method;
    } else {
      std::cerr << m.status << " " << m.reason;
    }
    std::cerr << (inbound ? " from " : " to ") << peer << " call-id=" << m.callId();
    if (const std::string* cseq = m.header("CSeq")) {
      std::cerr << " cseq=\"" << *cseq << "\"";
    }
    std::cerr << std::endl;
  }
  void onMediaChange(const room::Call& call, const std::string& change) override {
    if (level_ <= config::LogLevel::kDebug) {
      std::cerr << "confab: debug: call " << call.dialog().callId() << " media " << change
                << std::endl;
    }
  }
  void onSipMessage(bool inbound, const std::string& wire, const std::string& peer) override {
    std::cerr << (inbound ? "<<< from " : ">>> to ") << peer << "\n" << wire << std::endl;
  }
  [[nodiscard]] bool tracesSip() const override { return level_ == config::LogLevel::kTrace; }

 private:
  config::LogLevel level_;
  struct Seen {
    std::optional<std::chrono::steady_clock::time_point> printed;
    uint64_t count = 0;
  };
  std::map<std::string, Seen, std::less<>> limits_;
};

transport::Protocol protocolOf(config::SipTransport transport) {
  switch (transport) {
    case config::SipTransport::kTcp:
      return transport::Protocol::kTcp;
    case config::SipTransport::kTls:
      return transport::Protocol::kTls;
    case config::SipTransport::kUdp:
      break;
  }
  return transport::Protocol::kUdp;
}

FocusSettings focusSettings(const config::Config& c) {
  FocusSettings s;
  auto listen = [&](const std::vector<config::Endpoint>& endpoints, transport::Protocol p) {
    for (const auto& e : endpoints) {
      s.transport.listen.push_back({p, {e.address, e.port}});
    }
  };
  listen(c.sipUdp, transport::Protocol::kUdp);
  listen(c.sipTcp, transport::Protocol::kTcp);
  listen(c.sipTls, transport::Protocol::kTls);
  s.transport.hostName = c.sipDomain;
  s.transport.tlsCertificateFile = c.tlsCert;
  s.transport.tlsPrivateKeyFile = c.tlsKey;
  s.transport.tlsVerifyPeer = c.tlsVerifyPeer;
  s.transport.tlsCaFile = c.tlsCaFile;
  s.transport.dataDirectory = c.dataDir;
  s.transport.idleTimeout = c.tcpIdleTimeout;
  s.transport.maxConnectionsPerSource = c.maxConnectionsPerSource;
  s.transport.limits.maxMessageBytes = c.maxMessageBytes;
  s.timers.t1 = c.sipT1;
  s.timers.t2 = c.sipT2;
  s.timers.t4 = c.sipT4;
  s.uas.call.sessionTimer.sessionExpires = static_cast<uint32_t>(c.sessionExpires.count());
  s.uas.call.contactHost = c.sipDomain;
  s.uas.call.noiseSuppression = c.noiseSuppression;
  s.uas.call.automaticGain = c.automaticGain;
  s.uas.answerDelay = c.answerDelay;
  if (c.mediaAddress) {
    s.uas.mediaAddress = c.mediaAddress->to_string();
  }
  s.uas.lobbyUser = c.lobby;
  s.uas.factoryUser = c.factory;
  if (c.outboundProxy) {
    s.uas.outboundProxy = transport::Destination{protocolOf(c.outboundProxy->transport),
                                                 c.outboundProxy->host, c.outboundProxy->port};
  }
  s.uas.abuse.invitesPerSecond = c.invitesPerSecond;
  s.uas.abuse.inviteBurst = c.inviteBurst;
  s.uas.abuse.maxCallsPerSource = c.callsPerSource;
  s.uas.abuse.wrongPinsPerSource = c.wrongPinsPerSource;
  s.uas.abuse.wrongPinsPerRoom = c.wrongPinsPerRoom;
  s.uas.abuse.pinLockout = std::chrono::minutes(c.pinLockoutMinutes);
  s.uas.abuse.pinWindow = std::chrono::minutes(c.pinWindowMinutes);
  s.uas.abuse.roomLockout = std::chrono::minutes(c.roomLockoutMinutes);
  s.uas.entry.attempts = c.entryAttempts;
  s.uas.entry.keyTimeout = std::chrono::seconds(c.entryKeySeconds);
  for (const auto& address : c.trustedSources) {
    s.uas.trustedSources.push_back(address.to_string());
  }
  s.uas.soundsDir =
      c.soundsDir.empty() ? (std::filesystem::path(c.dataDir) / "sounds").string() : c.soundsDir;
  return s;
}

// Logs the registrations (--register): a failure at warning, other changes at info, a refresh
// that changed nothing at debug.
class RegistrationLog final : public registration::Registration::Listener {
 public:
  explicit RegistrationLog(config::LogLevel level) : level_(level) {}
  void setLevel(config::LogLevel level) { level_ = level; }

  void onRegistrationChanged(const registration::Registration& r) override {
    using State = registration::Registration::State;
    auto& last = seen_[&r];
    config::LogLevel needed = config::LogLevel::kInfo;
    if (r.state() == State::kFailed) {
      needed = config::LogLevel::kWarning;
    } else if (last && last->first == r.state() && last->second == r.granted()) {
      needed = config::LogLevel::kDebug;
    }
    last = std::pair{r.state(), r.granted()};
    if (level_ <= needed) {
      std::cerr << "confab: registration " << r.settings().aor.str() << ": " << r.describe()
                << std::endl;
    }
  }

 private:
  config::LogLevel level_;
  // The last state and granted expiry logged for each registration.
  std::map<const registration::Registration*,
           std::optional<std::pair<registration::Registration::State, std::chrono::seconds>>>
      seen_;
};

// The focus's registrations from --register, with their passwords from the password file. The
// registrar's host may be a name: the transports resolve it (A/AAAA) when each REGISTER goes.
std::optional<std::string> addRegistrations(const config::Config& c,
                                            Focus& focus,
                                            registration::Registration::Listener& listener) {
  std::map<std::string, std::string> passwords;
  const bool withPasswords = !c.passwordFile.empty() && !c.registrations.empty();
  if (withPasswords) {
    auto read = config::readPasswordFile(c.passwordFile);
    if (auto* error = std::get_if<std::string>(&read)) {
      return "password-file " + *error;
    }
    passwords = std::get<0>(std::move(read));
  }
  for (const auto& r : c.registrations) {
    auto aor = registration::parseAor(r.aor);
    if (!aor) {
      return "invalid value for --register: \"" + r.aor + "\": " + aor.error().reason;
    }
    registration::Settings settings;
    settings.aor = std::move(aor.value());
    settings.registrar = {protocolOf(r.transport), r.registrarHost, r.registrarPort};
    settings.expires = std::chrono::seconds(r.expires);
    settings.contactUser = r.roomId();
    if (withPasswords) {
      auto found = passwords.find(r.authUser());
      if (found == passwords.end()) {
        return "password-file " + c.passwordFile + " has no password for " + r.authUser() + " (" +
               r.aor + ")";
      }
      settings.credentials = {r.authUser(), found->second, ""};
    }
    focus.addRegistration(std::move(settings), &listener);
  }
  return std::nullopt;
}

// One confab-mixer reached over TCP.
std::unique_ptr<mixer::remote::RemoteMixer> makeRemoteMixer(const config::Config& c,
                                                            const config::Endpoint& server) {
  mixer::remote::RemoteMixerSettings settings;
  settings.server = {server.address, server.port};
  if (!c.mixerSecretFile.empty()) {
    auto secret = mixer::remote::readSecretFile(c.mixerSecretFile);
    if (auto* error = std::get_if<mixer::remote::SecretError>(&secret)) {
      throw std::runtime_error("mixer-secret-file: " + error->message);
    }
    settings.secret = std::get<std::string>(std::move(secret));
  }
  settings.tls = c.mixerTls;
  auto remote = std::make_unique<mixer::remote::RemoteMixer>(settings);
  // Calls get 503 until the mixer answers; give it a moment before taking any, but start anyway
  // (it reconnects in the background).
  if (remote->waitUntilReady(std::chrono::seconds(5), settings.stock)) {
    std::cerr << "confab: mixer at " << config::toString(server) << std::endl;
  } else {
    const std::string refusal = remote->refusal();
    std::cerr << "confab: mixer at " << config::toString(server)
              << (c.mixers.size() > 1 ? " not ready yet; it gets no rooms until it is"
                                      : " not ready yet; calls get 503 until it is")
              << (refusal.empty() ? "" : " (" + refusal + ")") << std::endl;
  }
  return remote;
}

// Which of the set's mixers drain, as --mixer-drain says.
void applyDraining(const config::Config& c, mixer::remote::MixerSet& set) {
  for (std::size_t i = 0; i < c.mixers.size(); ++i) {
    const bool draining =
        std::find(c.mixerDrain.begin(), c.mixerDrain.end(), c.mixers[i]) != c.mixerDrain.end();
    set.setDraining(i, draining);
  }
}

// The mixer inside this process, a confab-mixer reached over TCP (--mixer), or several of them
// with rooms spread over them (--mixer repeated); 'set' is that last one, for reloads.
std::unique_ptr<mixer::Control> makeMixer(const config::Config& c, mixer::remote::MixerSet*& set) {
  set = nullptr;
  if (c.mixers.empty()) {
    mixer::MixerSettings settings;
    settings.threads = c.mixerThreads;
    settings.ioUring = c.mixerIoUring;
    settings.bindAddress = c.rtpAddress;
    settings.ports = {c.rtpPorts.first, c.rtpPorts.last};
    auto made = std::make_unique<mixer::InProcessMixer>(settings);
    std::cerr << "confab: mixer threads read RTP through " << made->ioPath() << std::endl;
    return made;
  }
  if (c.mixers.size() == 1) {
    return makeRemoteMixer(c, c.mixers.front());
  }
  std::vector<std::unique_ptr<mixer::Control>> mixers;
  for (const auto& server : c.mixers) {
    mixers.push_back(makeRemoteMixer(c, server));
  }
  auto made = std::make_unique<mixer::remote::MixerSet>(std::move(mixers));
  applyDraining(c, *made);
  set = made.get();
  return made;
}

// What a reload (SIGHUP) applies while calls are up; a change to any other option waits for a
// restart, and the reload says which.
bool reloadable(std::string_view option) {
  static constexpr std::array<std::string_view, 18> kLive = {"log-level",
                                                             "stop-wait",
                                                             "room",
                                                             "invites-per-second",
                                                             "invite-burst",
                                                             "calls-per-source",
                                                             "wrong-pins-per-source",
                                                             "wrong-pins-per-room",
                                                             "pin-lockout-minutes",
                                                             "pin-window-minutes",
                                                             "room-lockout-minutes",
                                                             "mixer-drain",
                                                             "entry-attempts",
                                                             "entry-key-seconds",
                                                             "trusted-source",
                                                             "answer-delay-ms",
                                                             "max-connections-per-source",
                                                             "tcp-idle-timeout"};
  return std::find(kLive.begin(), kLive.end(), option) != kLive.end();
}

// The running process's configuration and what a reload changes in it.
struct Running {
  const config::Config started;  // what the listening points, store and mixer were made with
  config::Config current;        // the last configuration read (reloadable options apply)
  mixer::remote::MixerSet* mixers = nullptr;  // several mixers: which of them drain
};

// SIGHUP (issue 14 item 2): reads the configuration again from the same command line (so the
// same --config file), applies what can change while calls are up, and reports the rest. A file
// that no longer parses changes nothing.
void reload(int argc,
            char** argv,
            Running& running,
            Focus& focus,
            policy::Store& store,
            int64_t defaultTenant,
            Log& log,
            RegistrationLog& registrationLog) {
  auto parsed = config::parse(argc, argv);
  if (auto* error = std::get_if<config::Error>(&parsed)) {
    std::cerr << "confab: reload refused, the running configuration stays: " << error->message
              << std::endl;
    return;
  }
  if (!std::holds_alternative<config::Config>(parsed)) {
    return;
  }
  config::Config next = std::get<config::Config>(std::move(parsed));
  std::vector<std::string> applied;
  for (auto& option : config::changedOptions(running.current, next)) {
    if (reloadable(option)) {
      applied.push_back(std::move(option));
    }
  }
  std::vector<std::string> waiting;
  for (auto& option : config::changedOptions(running.started, next)) {
    if (!reloadable(option)) {
      waiting.push_back(std::move(option));
    }
  }
  log.setLevel(next.logLevel);
  registrationLog.setLevel(next.logLevel);
  if (running.mixers != nullptr && next.mixers == running.started.mixers) {
    applyDraining(next, *running.mixers);
  }
  focus.reconfigure(focusSettings(next));
  // Rooms the file names now and did not before are created for the default tenant, as the first
  // start seeds them; a room the file no longer names stays in the store (rooms also come from
  // the API and `confab room`, and a deletion must be asked for).
  const auto named = [](const std::vector<config::Room>& rooms, const std::string& id) {
    return std::any_of(rooms.begin(), rooms.end(), [&](const auto& r) { return r.id == id; });
  };
  for (const auto& r : next.rooms) {
    if (named(running.current.rooms, r.id)) {
      continue;
    }
    if (defaultTenant == 0) {
      std::cerr << "confab: room " << r.id << " not added: no tenant 'default'" << std::endl;
      continue;
    }
    policy::RoomChange change;
    change.room.tenantId = defaultTenant;
    change.room.user = r.id;
    change.room.name = r.name;
    change.room.maxParticipants = next.maxParticipants;
    change.room.entryExitTones = false;  // as the first start seeds them
    auto created = store.createRoom(change);
    if (auto* error = std::get_if<policy::StoreError>(&created)) {
      std::cerr << "confab: room " << r.id << " not added: " << error->message << std::endl;
    } else {
      std::cerr << "confab: room " << r.id << " added to tenant default" << std::endl;
    }
  }
  for (const auto& r : running.current.rooms) {
    if (!named(next.rooms, r.id)) {
      std::cerr << "confab: room " << r.id
                << " is no longer in the configuration and stays in the store; remove it with: "
                   "confab room remove default "
                << r.id << std::endl;
    }
  }
  const auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
      out += (out.empty() ? "" : ", ") + name;
    }
    return out.empty() ? std::string("nothing") : out;
  };
  std::cerr << "confab: configuration reloaded" << (next.configFile.empty() ? "" : " from ")
            << next.configFile << ": applied " << list(applied);
  if (!waiting.empty()) {
    std::cerr << "; needs a restart: " << list(waiting);
  }
  std::cerr << std::endl;
  running.current = std::move(next);
}

int run(int argc, char** argv) {
  // `confab tenant …`, `confab room …`: the operator's commands on the policy store.
  if (admin::isAdminCommand(argc, argv)) {
    return admin::runAdmin(argc, argv, std::cout, std::cerr);
  }
  auto parsed = config::parse(argc, argv);
  if (auto* exit = std::get_if<config::Exit>(&parsed)) {
    std::cout << exit->text;
    return 0;
  }
  if (auto* error = std::get_if<config::Error>(&parsed)) {
    std::cerr << "confab: " << error->message << "\n";
    return 2;
  }
  const config::Config& cfg = std::get<config::Config>(parsed);

  // The policy store in the data directory; on first start it takes the command line's rooms
  // as the default tenant's (which owns every domain no other tenant owns).
  std::error_code madeDir;
  std::filesystem::create_directories(cfg.dataDir, madeDir);
  const std::string storePath =
      cfg.store.empty() ? (std::filesystem::path(cfg.dataDir) / "policy.db").string() : cfg.store;
  const std::string storeShown = policy::Store::shown(storePath);
  auto opened = policy::Store::open(storePath);
  if (auto* error = std::get_if<policy::StoreError>(&opened)) {
    std::cerr << "confab: cannot open the policy store " << storeShown << ": " << error->message
              << "\n";
    return 1;
  }
  std::unique_ptr<policy::Store> store = std::move(std::get<0>(opened));
  if (cfg.storeSyncFull) {
    if (auto set = store->flushEachChange(true); std::holds_alternative<policy::StoreError>(set)) {
      std::cerr << "confab: cannot set store-sync full: "
                << std::get<policy::StoreError>(set).message << "\n";
      return 1;
    }
  }
  std::vector<std::pair<std::string, std::string>> seed;
  for (const auto& r : cfg.rooms) {
    seed.emplace_back(r.id, r.name);
  }
  int64_t defaultTenant = 0;
  auto seeded = store->seedDefault(seed, cfg.maxParticipants);
  if (auto* tenant = std::get_if<policy::Tenant>(&seeded)) {
    defaultTenant = tenant->id;
  }
  if (defaultTenant != 0) {
    // The command line's rooms are only seeded on the first start: say so when they differ from
    // what the store has, rather than leave an operator wondering why a new --room is not there.
    for (const auto& r : cfg.rooms) {
      if (!store->findRoom(defaultTenant, r.id)) {
        std::cerr << "confab: warning: room " << r.id
                  << " is on the command line but not in the store (the command line's rooms "
                     "are seeded on the first start only); add it with: confab room add default "
                  << r.id << "\n";
      }
    }
  } else if (auto* error = std::get_if<policy::StoreError>(&seeded)) {
    std::cerr << "confab: no tenant 'default' in the store (" << error->message
              << "): only other tenants' domains reach rooms\n";
  }
  policy::StoreRooms storeRooms(*store, defaultTenant, cfg.requireSrtp);
  // Declared before the focus: calls hand their media back to the mixer as they end.
  mixer::remote::MixerSet* mixerSet = nullptr;
  std::unique_ptr<mixer::Control> mixer = makeMixer(cfg, mixerSet);

  // The API's live events follow the conference model. Declared before the io_context: an event
  // stream still queued on it unsubscribes as the io_context's handlers are destroyed.
  api::EventHub events;
  // Call detail records follow it too, into the SIP thread's store connection.
  conference::Records records(
      *store, [](const std::string& line) { std::cerr << "confab: warning: " << line << "\n"; },
      std::chrono::hours(24 * static_cast<int64_t>(cfg.recordsDays)));
  boost::asio::io_context io(1);
  // Webhooks (issue 13 item 3): the outbox writer follows the model into the store; the sender
  // delivers from it on this io_context, and at start picks up what an earlier run left.
  api::WebhookCounters webhookCounters;
  const auto warn = [](const std::string& line) {
    std::cerr << "confab: warning: " << line << "\n";
  };
  api::WebhookSenderSettings senderSettings;
  senderSettings.allowPrivate = cfg.apiWebhooksPrivate;
  senderSettings.owner = nodeId(cfg.dataDir);
  api::WebhookSender webhookSender(io, *store, webhookCounters, senderSettings, warn);
  api::WebhookOutbox webhookOutbox(*store, webhookCounters, &webhookSender, warn);
  api::ActivityListeners activity;
  Log log(cfg.logLevel);
  // PINs are checked on a thread of their own with its own connection to the store (a store's
  // connection is not shared between threads): a check is a deliberately slow hash.
  auto pinStoreOpened = policy::Store::open(storePath);
  if (auto* error = std::get_if<policy::StoreError>(&pinStoreOpened)) {
    std::cerr << "confab: cannot open the policy store " << storeShown << ": " << error->message
              << "\n";
    return 1;
  }
  std::unique_ptr<policy::Store> pinStore = std::move(std::get<0>(pinStoreOpened));
  policy::StoreRooms pinRooms(*pinStore, defaultTenant, cfg.requireSrtp);
  room::PinChecker pinChecker(
      [&pinRooms](const policy::Room& room, const std::string& pin) {
        return pinRooms.checkPin(room, pin);
      },
      [&io](std::function<void()> result) { boost::asio::post(io, std::move(result)); });
  Focus focus(io, focusSettings(cfg), storeRooms, *mixer, &log);
  focus.uas().conferences().listen(records);
  focus.uas().usePinChecker(&pinChecker);
  // Dial-outs find their callee through DNS (RFC 3263, c-ares on this io_context) and answer
  // challenges with their tenant's account, else dial-out-user's.
  std::optional<transport::Resolver> resolver;
  try {
    resolver.emplace(io);
  } catch (const std::exception& e) {
    std::cerr << "confab: warning: no DNS for dial-outs to names: " << e.what() << "\n";
  }
  if (resolver) {
    focus.uas().useLocator([&resolver](const sip::Uri& uri, transport::Resolver::Done done) {
      resolver->resolve(uri, std::move(done));
    });
  }
  // The focus's own account, for rooms whose tenant has none in the store (and ad-hoc rooms).
  std::optional<auth::Credentials> focusAccount;
  if (!cfg.dialOutUser.empty()) {
    auto read = cfg.passwordFile.empty()
                    ? std::variant<std::map<std::string, std::string>, std::string>(
                          std::string("is not set (--password-file)"))
                    : config::readPasswordFile(cfg.passwordFile);
    if (auto* error = std::get_if<std::string>(&read)) {
      std::cerr << "confab: dial-out-user " << cfg.dialOutUser << ": password-file " << *error
                << "\n";
      return 2;
    }
    const auto& passwords = std::get<0>(read);
    auto found = passwords.find(cfg.dialOutUser);
    if (found == passwords.end()) {
      std::cerr << "confab: password-file " << cfg.passwordFile << " has no password for "
                << cfg.dialOutUser << " (dial-out-user)\n";
      return 2;
    }
    focusAccount.emplace(auth::Credentials{cfg.dialOutUser, found->second, ""});
  }
  // Read at each dial-out, so `confab tenant set … --dial-out-user` applies to the next call.
  focus.uas().useDialOutAccounts(
      [&store, &focusAccount](const policy::Room& room) -> std::optional<auth::Credentials> {
        if (room.tenantId != 0) {
          if (auto account = store->dialOutAccount(room.tenantId)) {
            return auth::Credentials{std::move(account->username), std::move(account->password),
                                     std::move(account->realm)};
          }
        }
        return focusAccount;
      });
  RegistrationLog registrationLog(cfg.logLevel);
  if (auto error = addRegistrations(cfg, focus, registrationLog)) {
    std::cerr << "confab: " << *error << "\n";
    return 2;
  }
  try {
    focus.start();
  } catch (const std::exception& e) {
    std::cerr << "confab: cannot start SIP: " << e.what() << "\n";
    return 1;
  }
  api::AccessLog accessLog;  // before the server, which writes to it
  if (!cfg.apiAccessLog.empty()) {
    if (auto error = api::AccessLog::open(cfg.apiAccessLog, accessLog)) {
      std::cerr << "confab: cannot open the API access log " << cfg.apiAccessLog << ": " << *error
                << "\n";
      return 1;
    }
  }
  api::Live live{focus.uas(), std::filesystem::path(cfg.dataDir) / "recordings",
                 std::filesystem::path(cfg.dataDir) / "media", &focus.registrations(),
                 &focus.transports().counters()};
  std::optional<boost::asio::ssl::context> apiTls;
  if (cfg.api && cfg.apiTls) {
    try {
      // Its own certificate, or the one SIP over TLS presents (generated at first start).
      apiTls.emplace(transport::makeHttpsContext(
          cfg.apiTlsCert.empty() ? transport::ensureTlsIdentity(focusSettings(cfg).transport)
                                 : transport::TlsIdentity{cfg.apiTlsCert, cfg.apiTlsKey}));
    } catch (const std::exception& e) {
      std::cerr << "confab: cannot start the API's TLS: " << e.what() << "\n";
      return 1;
    }
  }
  std::optional<api::Server> apiServer;  // after its TLS context: it goes first
  if (cfg.api) {
    focus.uas().conferences().listen(events);
    focus.uas().conferences().listen(webhookOutbox);
    activity.add(events);
    activity.add(webhookOutbox);
    focus.uas().listenActivity(&activity);
    apiServer.emplace(io, boost::asio::ip::tcp::endpoint(cfg.api->address, cfg.api->port), *store,
                      api::Limits{}, &live, &events, apiTls ? &*apiTls : nullptr,
                      api::WebhookOptions{cfg.apiWebhooksPrivate, &webhookCounters});
    apiServer->logTo(&accessLog);
    if (auto ec = apiServer->start()) {
      std::cerr << "confab: cannot start the API on " << config::toString(*cfg.api) << ": "
                << ec.message() << "\n";
      return 1;
    }
    webhookSender.start();
  }
  for (const auto& bound : focus.transports().boundAddresses()) {
    std::cerr << "confab: SIP " << transport::protocolName(bound.protocol) << " on "
              << bound.endpoint.str() << "\n";
  }
  if (apiServer) {
    std::cerr << "confab: API on " << (apiTls ? "https://" : "http://")
              << apiServer->localEndpoint() << "\n";
  }
  std::cerr << "confab: policy store " << storeShown << ", default tenant rooms";
  for (const auto& r : store->rooms(defaultTenant)) {
    std::cerr << " " << r.user;
  }
  if (!cfg.lobby.empty()) {
    std::cerr << ", lobby " << cfg.lobby;
  }
  if (!cfg.factory.empty()) {
    std::cerr << ", conference factory " << cfg.factory;
  }
  std::cerr << std::endl;
  for (const auto& registration : focus.registrations()) {
    // A wildcard listening address without --sip-domain gives a Contact no PBX can reach.
    if (registration->contact().find("@confab.local") != std::string::npos) {
      std::cerr << "confab: warning: registration " << registration->settings().aor.str()
                << ": our Contact " << registration->contact()
                << " cannot be reached; set --sip-domain or listen on a specific address"
                << std::endl;
    }
  }

  // Under systemd (deploy/confab.service, Type=notify): ready now that everything listens. The
  // watchdog's pings stop if a media thread with rooms stops ticking (in-process mixer; a remote
  // mixer's health is the focus's business, not a reason to restart it).
  Service service(io,
                  [&mixer, remote = !cfg.mixers.empty(), last = std::vector<uint64_t>{}]() mutable {
                    if (remote) {
                      return true;
                    }
                    bool ticking = true;
                    const auto threads = mixer->engineStats();
                    for (std::size_t i = 0; i < threads.size() && i < last.size(); ++i) {
                      ticking = ticking && (threads[i].mixes == 0 || threads[i].ticks != last[i]);
                    }
                    last.clear();
                    for (const auto& thread : threads) {
                      last.push_back(thread.ticks);
                    }
                    return ticking;
                  });
  service.ready("SIP on " + std::to_string(focus.transports().boundAddresses().size()) +
                " listening points");
  Running running{cfg, cfg, mixerSet};
  // SIGHUP: read the configuration again (issue 14 item 2).
  boost::asio::signal_set hangups(io, SIGHUP);
  std::function<void()> waitForHangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) {
        return;
      }
      service.reloading();
      reload(argc, argv, running, focus, *store, defaultTenant, log, registrationLog);
      service.ready("configuration reloaded");
      waitForHangup();
    });
  };
  waitForHangup();

  // SIGINT/SIGTERM: BYE to every call, then leave as soon as each is answered (at once with no
  // calls), or after --stop-wait with what is left (issue 14 item 2).
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) {
      return;
    }
    std::cerr << "confab: stopping, ending " << focus.uas().callCount() << " calls" << std::endl;
    service.stopping();
    if (apiServer) {
      apiServer->stop();
    }
    const auto wait = running.current.stopWait;
    focus.shutDown(wait, [&, wait](std::size_t unanswered) {
      if (unanswered > 0) {
        std::cerr << "confab: leaving with " << unanswered << " requests unanswered after "
                  << wait.count() << " s" << std::endl;
      }
      // What is in flight stays in the outbox for the next start.
      webhookSender.stop();
      hangups.cancel();
      focus.stop();
      io.stop();
    });
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "confab: " << e.what() << "\n";
    return 1;
  }
}
