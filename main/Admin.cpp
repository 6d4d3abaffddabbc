#include "main/Admin.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "main/Config.hpp"
#include "policy/Store.hpp"

namespace confab::admin {

namespace {

using policy::RoomChange;
using policy::Store;
using policy::StoredRoom;
using policy::StoreError;
using policy::Tenant;

constexpr int kDone = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;

// Why a command stopped: the exit status and the line for standard error.
struct Failure {
  int status = kFailed;
  std::string message;
};

template <class T>
using Outcome = std::variant<T, Failure>;

Failure badInput(std::string message) {
  return Failure{kBadInput, std::move(message)};
}

// A store's refusal of what was asked (kInvalid) is bad input; the rest (a clash, something
// missing, the file) is the store's failure.
Failure fromStore(const StoreError& e) {
  return Failure{e.kind == StoreError::Kind::kInvalid ? kBadInput : kFailed, e.message};
}

// The same, for a room: the store names a PIN by its field, the operator typed an option.
Failure fromRoomStore(const StoreError& e) {
  Failure failure = fromStore(e);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kPinOptions{{
      {"participantPin", "--pin"},
      {"moderatorPin", "--moderator-pin"},
      {"listenerPin", "--listener-pin"},
  }};
  for (const auto& [field, option] : kPinOptions) {
    for (auto at = failure.message.find(field); at != std::string::npos;
         at = failure.message.find(field, at + option.size())) {
      failure.message.replace(at, field.size(), option);
    }
  }
  return failure;
}

// ---- the command line ----------------------------------------------------------------------

struct OptionSpec {
  std::string_view name;
  bool takesValue;
};

// Accepted anywhere on the line, with every command.
constexpr auto kGlobalOptions = std::to_array<OptionSpec>({
    {"data-dir", true},
    {"store", true},
    {"config", true},
    {"help", false},
});

constexpr auto kTenantOptions = std::to_array<OptionSpec>({
    {"domain", true},
    {"no-domains", false},
    {"max-rooms", true},
    {"max-participants", true},
    {"recording", false},
    {"no-recording", false},
    {"name", true},
    {"dial-out-user", true},
    {"dial-out-realm", true},
    {"dial-out-password-file", true},
    {"no-dial-out", false},
});

constexpr auto kRoomOptions = std::to_array<OptionSpec>({
    {"name", true},
    {"pin", true},
    {"no-pin", false},
    {"moderator-pin", true},
    {"no-moderator-pin", false},
    {"listener-pin", true},
    {"no-listener-pin", false},
    {"max-participants", true},
    {"mute-on-entry", false},
    {"no-mute-on-entry", false},
    {"wait-for-moderator", false},
    {"no-wait-for-moderator", false},
    {"end-with-moderator", false},
    {"no-end-with-moderator", false},
    {"tones", false},
    {"no-tones", false},
    {"announce-count", false},
    {"no-announce-count", false},
    {"locked", false},
    {"unlocked", false},
    {"public-roster", false},
    {"no-public-roster", false},
    {"participants-invite", false},
    {"no-participants-invite", false},
    {"language", true},
});

constexpr auto kKeyOptions = std::to_array<OptionSpec>({
    {"operator", false},
    {"tenant", true},
    {"read-only", false},
    {"name", true},
});

// One admin command line: `confab NOUN VERB ARGUMENT... [OPTION...]`, options anywhere.
struct CommandLine {
  std::string noun;                                          // tenant, room
  std::vector<std::string> positional;                       // the verb first
  std::vector<std::pair<std::string, std::string>> options;  // in the order given
  std::optional<std::string> dataDir;
  std::optional<std::string> store;
  std::optional<std::string> configFile;
  bool help = false;
};

const OptionSpec* findOption(std::span<const OptionSpec> specs, std::string_view name) {
  const auto found =
      std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == name; });
  return found != specs.end() ? &*found : nullptr;
}

Outcome<CommandLine> readCommandLine(int argc, char** argv) {
  CommandLine line;
  line.noun = argv[1];
  const std::span<const OptionSpec> own =
      line.noun == "tenant" ? std::span<const OptionSpec>(kTenantOptions)
      : line.noun == "key"  ? std::span<const OptionSpec>(kKeyOptions)
                            : std::span<const OptionSpec>(kRoomOptions);
  bool onlyPositional = false;
  for (int i = 2; i < argc; ++i) {
    const std::string word = argv[i];
    if (onlyPositional || word.size() < 2 || word.front() != '-') {
      line.positional.push_back(word);
      continue;
    }
    if (word == "--") {
      onlyPositional = true;  // what follows may start with '-'
      continue;
    }
    if (word == "-h") {
      line.help = true;
      continue;
    }
    if (!word.starts_with("--")) {
      return badInput("unknown option " + word + " (see confab " + line.noun + " --help)");
    }
    const auto equals = word.find('=');
    const std::string name = word.substr(2, equals == std::string::npos ? equals : equals - 2);
    const OptionSpec* spec = findOption(kGlobalOptions, name);
    if (spec == nullptr) {
      spec = findOption(own, name);
    }
    if (spec == nullptr) {
      return badInput("unknown option --" + name + " (see confab " + line.noun + " --help)");
    }
    std::string value;
    if (equals != std::string::npos) {
      if (!spec->takesValue) {
        return badInput("--" + name + " takes no value");
      }
      value = word.substr(equals + 1);
    } else if (spec->takesValue) {
      // The next word, unless it is another option (write --name=--odd for such a value).
      if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) {
        return badInput("--" + name + " needs a value");
      }
      value = argv[++i];
    }
    if (name == "data-dir") {
      if (value.empty()) {
        return badInput("--data-dir: an empty path");
      }
      line.dataDir = value;
    } else if (name == "store") {
      if (value.empty()) {
        return badInput("--store: an empty path or URI");
      }
      line.store = value;
    } else if (name == "config") {
      line.configFile = value;
    } else if (name == "help") {
      line.help = true;
    } else {
      line.options.emplace_back(name, std::move(value));
    }
  }
  return line;
}

std::string usage(std::string_view noun) {
  const std::string dataDir = config::Config{}.dataDir;
  const std::string common =
      "\nCommon options, anywhere on the line:\n"
      "  --data-dir DIR   where policy.db lives, as for the server (default " +
      dataDir +
      ")\n"
      "  --store PATH|URI the store itself, as the server's store option: a SQLite file or a\n"
      "                   PostgreSQL URI (postgresql://confab@db.example.com/confab)\n"
      "  --config FILE    take data-dir and store from this confab config file instead\n"
      "The server reads the same file; changing it while the server runs is safe.\n"
      "Exit status: 0 done, 1 refused by the store (a clash, something missing), 2 bad input.\n";
  if (noun == "key") {
    return "Usage:\n"
           "  confab key add (--operator | --tenant NAME) [--read-only] [--name LABEL]\n"
           "  confab key list [--operator | --tenant NAME]\n"
           "  confab key remove ID\n"
           "\n"
           "Keys to the REST API (Authorization: Bearer TOKEN). `add` prints the token once: the\n"
           "store keeps only its SHA-256, so a lost token is replaced, never recovered.\n"
           "  --operator        runs the bridge: tenants and their keys, every room\n"
           "  --tenant NAME     sees and steers that tenant's rooms only\n"
           "  --read-only       may only read\n"
           "  --name LABEL      a note for people (who holds it)\n"
           "`remove` revokes a key at once.\n" +
           common;
  }
  if (noun == "tenant") {
    return "Usage:\n"
           "  confab tenant add NAME [--domain D]... [--max-rooms N] [--max-participants N]\n"
           "                         [--no-recording] [DIAL-OUT ACCOUNT]\n"
           "  confab tenant list\n"
           "  confab tenant show NAME\n"
           "  confab tenant set NAME [--name NEW] [--domain D]... [--no-domains] [--max-rooms N]\n"
           "                         [--max-participants N] [--recording | --no-recording]\n"
           "                         [DIAL-OUT ACCOUNT | --no-dial-out]\n"
           "  confab tenant remove NAME        (its rooms go with it)\n"
           "\n"
           "A tenant owns SIP domains (the host of the Request-URI callers dial) and the rooms\n"
           "under them.\n"
           "  --domain D            a domain it owns: a host name, an IP address, or * for every\n"
           "                        domain no other tenant owns; repeatable. With set, the\n"
           "                        domains given replace the whole list (--no-domains: none)\n"
           "  --max-rooms N         most rooms it may have; 0: no limit\n"
           "  --max-participants N  most callers at once across its rooms; 0: no limit\n"
           "  --no-recording        its rooms may not be recorded (--recording: they may)\n"
           "  --name NEW            (set) renames it\n"
           "DIAL-OUT ACCOUNT: how the calls its rooms place (REFER dial-outs) answer the digest\n"
           "challenges of its PBX; without one they use the server's --dial-out-user.\n"
           "  --dial-out-user USER             the digest username\n"
           "  --dial-out-password-file FILE    its password: the file's first line (never an\n"
           "                                   option, so it stays out of ps and shell history)\n"
           "  --dial-out-realm REALM           answer only this realm's challenges (default any)\n"
           "  --no-dial-out                    (set) removes the account\n" +
           common;
  }
  return "Usage:\n"
         "  confab room add TENANT USER [OPTION...]\n"
         "  confab room list TENANT\n"
         "  confab room show TENANT USER\n"
         "  confab room set TENANT USER OPTION...\n"
         "  confab room remove TENANT USER\n"
         "\n"
         "USER is what callers dial (sip:USER@one of the tenant's domains): 1 to 64 of\n"
         "A-Z a-z 0-9 . _ -. Options (a later one wins over an earlier one):\n"
         "  --name TEXT             shown to people (default: USER)\n"
         "  --pin DIGITS            callers must enter it (4 to 16 digits); --no-pin removes it\n"
         "  --moderator-pin DIGITS  enters as moderator; --no-moderator-pin removes it\n"
         "  --listener-pin DIGITS   enters only to listen: muted, cannot unmute;\n"
         "                          --no-listener-pin removes it\n"
         "  --max-participants N    most callers at once; 0: no limit of its own\n"
         "  --mute-on-entry         callers join muted\n"
         "  --wait-for-moderator    callers wait until a moderator joins\n"
         "  --end-with-moderator    the conference ends when the last moderator leaves\n"
         "  --no-tones              no tones when someone joins or leaves\n"
         "  --announce-count        tell each caller how many are in the room\n"
         "  --locked                nobody new may join\n"
         "  --public-roster         anyone may watch who is in (SIP conference events); by\n"
         "                          default only those in a room with a PIN may\n"
         "  --participants-invite   participants may call people in and remove them (SIP\n"
         "                          REFER); by default only moderators may\n"
         "  --language L            the language of announcements, e.g. en, pt-BR (default en)\n"
         "  --no-mute-on-entry --no-wait-for-moderator --no-end-with-moderator --tones\n"
         "  --no-announce-count --unlocked --no-public-roster --no-participants-invite\n"
         "                          turn those off again\n"
         "A room's PINs must differ from one another. PINs are stored as salted hashes: they are\n"
         "never shown, only whether one is set.\n" +
         common;
}

// The verbs and what each takes.
struct Verb {
  std::string_view name;
  std::string_view arguments;  // for messages, e.g. "TENANT USER"
  std::size_t count;           // how many arguments
  bool takesOptions;
};

constexpr auto kTenantVerbs = std::to_array<Verb>({
    {"add", "NAME", 1, true},
    {"list", "", 0, false},
    {"show", "NAME", 1, false},
    {"set", "NAME", 1, true},
    {"remove", "NAME", 1, false},
});

constexpr auto kKeyVerbs = std::to_array<Verb>({
    {"add", "", 0, true},
    {"list", "", 0, true},
    {"remove", "ID", 1, false},
});

constexpr auto kRoomVerbs = std::to_array<Verb>({
    {"add", "TENANT USER", 2, true},
    {"list", "TENANT", 1, false},
    {"show", "TENANT USER", 2, false},
    {"set", "TENANT USER", 2, true},
    {"remove", "TENANT USER", 2, false},
});

// The verb, with its arguments counted and its options allowed; a message otherwise.
Outcome<Verb> checkVerb(const CommandLine& line) {
  const std::span<const Verb> verbs = line.noun == "tenant" ? std::span<const Verb>(kTenantVerbs)
                                      : line.noun == "key"  ? std::span<const Verb>(kKeyVerbs)
                                                            : std::span<const Verb>(kRoomVerbs);
  const std::string see = " (see confab " + line.noun + " --help)";
  std::string names;
  for (std::size_t i = 0; i < verbs.size(); ++i) {
    names += i == 0 ? "" : i + 1 == verbs.size() ? " or " : ", ";
    names += verbs[i].name;
  }
  if (line.positional.empty()) {
    return badInput(line.noun + ": which command? " + names + see);
  }
  const std::string& word = line.positional.front();
  const auto verb =
      std::find_if(verbs.begin(), verbs.end(), [&](const Verb& v) { return v.name == word; });
  if (verb == verbs.end()) {
    return badInput("unknown command \"" + word + "\": " + names + see);
  }
  const std::string command = line.noun + " " + std::string(verb->name);
  const std::size_t given = line.positional.size() - 1;
  if (given < verb->count) {
    return badInput(command + ": expected " + std::string(verb->arguments) + see);
  }
  if (given > verb->count) {
    return badInput(command + ": unexpected argument \"" + line.positional[verb->count + 1] + "\"" +
                    see);
  }
  if (!verb->takesOptions && !line.options.empty()) {
    return badInput(command + " takes no option --" + line.options.front().first);
  }
  if (verb->name == "set" && line.options.empty()) {
    return badInput(command + ": nothing to change" + see);
  }
  if (line.noun == "tenant" && verb->name == "add" &&
      line.options.end() !=
          std::find_if(line.options.begin(), line.options.end(), [](const auto& o) {
            return o.first == "name" || o.first == "no-domains";
          })) {
    return badInput("tenant add: --name and --no-domains are for tenant set");
  }
  return *verb;
}

// ---- reading values ------------------------------------------------------------------------

constexpr std::uint64_t kMaxCount = 1'000'000;

Outcome<unsigned> readCount(const std::string& option, const std::string& value) {
  const auto n = config::parseNumber(value);
  if (!n || *n > kMaxCount) {
    return badInput("--" + option + ": \"" + value + "\" is not a whole number from 0 to " +
                    std::to_string(kMaxCount) + " (0: no limit)");
  }
  return static_cast<unsigned>(*n);
}

// What a tenant command asks of its dial-out account: nothing (nullopt), a removal (an empty
// inner optional), or a new account.
using AccountChange = std::optional<std::optional<policy::SipAccount>>;

// The first line of a password file, without its line end.
Outcome<std::string> readPasswordLine(const std::string& path) {
  std::ifstream in(path);
  std::string password;
  if (!in || !std::getline(in, password)) {
    return badInput("--dial-out-password-file " + path + ": cannot read a line from it");
  }
  if (!password.empty() && password.back() == '\r') {
    password.pop_back();
  }
  if (password.empty()) {
    return badInput("--dial-out-password-file " + path + ": its first line is empty");
  }
  return password;
}

Outcome<AccountChange> dialOutOptions(const CommandLine& line) {
  std::optional<std::string> user;
  std::optional<std::string> realm;
  std::optional<std::string> passwordFile;
  bool remove = false;
  for (const auto& [name, value] : line.options) {
    if (name == "dial-out-user") {
      user = value;
    } else if (name == "dial-out-realm") {
      realm = value;
    } else if (name == "dial-out-password-file") {
      passwordFile = value;
    } else if (name == "no-dial-out") {
      remove = true;
    }
  }
  if (remove) {
    if (user || realm || passwordFile) {
      return badInput(
          "--no-dial-out: not with --dial-out-user, --dial-out-realm or "
          "--dial-out-password-file");
    }
    return AccountChange(std::optional<policy::SipAccount>());
  }
  if (!user && !realm && !passwordFile) {
    return AccountChange();
  }
  if (!user || !passwordFile) {
    return badInput("a dial-out account needs both --dial-out-user and --dial-out-password-file");
  }
  auto password = readPasswordLine(*passwordFile);
  if (auto* failure = std::get_if<Failure>(&password)) {
    return *failure;
  }
  policy::SipAccount account{*user, std::get<std::string>(password), realm.value_or("")};
  if (auto bad = Store::checkAccount(account)) {
    // The store names its fields; the operator typed options.
    std::string message = bad->message;
    for (auto [field, option] : {std::pair{"dialOutUser", "--dial-out-user"},
                                 std::pair{"dialOutPassword", "--dial-out-password-file"},
                                 std::pair{"dialOutRealm", "--dial-out-realm"}}) {
      if (message.starts_with(field)) {
        message.replace(0, std::string_view(field).size(), option);
      }
    }
    return badInput(message);
  }
  return AccountChange(std::move(account));
}

std::optional<Failure> applyTenantOptions(const CommandLine& line, Tenant& tenant) {
  std::optional<std::vector<std::string>> domains;
  for (const auto& [name, value] : line.options) {
    if (name == "domain") {
      if (auto normalized = Store::normalizeDomain(value);
          std::holds_alternative<StoreError>(normalized)) {
        // The store says `domain "X": why`; the option is what the operator typed.
        std::string message = std::get<StoreError>(normalized).message;
        if (message.starts_with("domain ")) {
          message.erase(0, 7);
        }
        return badInput("--domain " + message);
      }
      if (!domains) {
        domains.emplace();
      }
      domains->push_back(value);
    } else if (name == "no-domains") {
      domains.emplace();
    } else if (name == "max-rooms" || name == "max-participants") {
      auto n = readCount(name, value);
      if (auto* failure = std::get_if<Failure>(&n)) {
        return *failure;
      }
      (name == "max-rooms" ? tenant.maxRooms : tenant.maxParticipants) = std::get<unsigned>(n);
    } else if (name == "recording" || name == "no-recording") {
      tenant.recordingAllowed = name == "recording";
    } else if (name == "name") {
      tenant.name = value;
    }
  }
  if (domains) {
    tenant.domains = std::move(*domains);
  }
  return std::nullopt;
}

std::optional<Failure> applyRoomOptions(const CommandLine& line, RoomChange& change) {
  StoredRoom& r = change.room;
  const std::array<std::pair<std::string_view, bool*>, 8> flags{{
      {"mute-on-entry", &r.muteOnEntry},
      {"wait-for-moderator", &r.waitForModerator},
      {"end-with-moderator", &r.endWhenLastModeratorLeaves},
      {"tones", &r.entryExitTones},
      {"announce-count", &r.announceCount},
      {"locked", &r.locked},
      {"public-roster", &r.publicRoster},
      {"participants-invite", &r.participantsInvite},
  }};
  for (const auto& [name, value] : line.options) {
    if (name == "name") {
      r.name = value;
    } else if (name == "pin" || name == "moderator-pin" || name == "listener-pin") {
      // The value is not repeated: a mistyped PIN is still close to the real one.
      if (!Store::validPin(value)) {
        return badInput("--" + name + ": a PIN is 4 to 16 digits (0-9)");
      }
      (name == "pin"             ? change.participantPin
       : name == "moderator-pin" ? change.moderatorPin
                                 : change.listenerPin) = value;
    } else if (name == "no-pin") {
      change.participantPin = std::string();
    } else if (name == "no-moderator-pin") {
      change.moderatorPin = std::string();
    } else if (name == "no-listener-pin") {
      change.listenerPin = std::string();
    } else if (name == "max-participants") {
      auto n = readCount(name, value);
      if (auto* failure = std::get_if<Failure>(&n)) {
        return *failure;
      }
      r.maxParticipants = std::get<unsigned>(n);
    } else if (name == "language") {
      r.language = value;
    } else if (name == "unlocked") {
      r.locked = false;
    } else {
      const bool off = name.starts_with("no-");
      const std::string_view flag = off ? std::string_view(name).substr(3) : std::string_view(name);
      for (const auto& [flagName, field] : flags) {
        if (flagName == flag) {
          *field = !off;
        }
      }
    }
  }
  return std::nullopt;
}

// ---- printing ------------------------------------------------------------------------------

// A value in a `key=value` line: quoted when it could be read as more than one word.
std::string word(const std::string& text) {
  if (!text.empty() && text.find_first_of(" \t\"=\\") == std::string::npos) {
    return text;
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string limit(unsigned n) {
  return n == 0 ? "unlimited" : std::to_string(n);
}

std::string yesNo(bool b) {
  return b ? "yes" : "no";
}

std::string joined(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    out += item;
  }
  return out.empty() ? "none" : out;
}

void printTenantLine(std::ostream& out, const Tenant& t, std::size_t rooms) {
  out << t.id << " " << word(t.name) << " domains=" << joined(t.domains, ',')
      << " max-rooms=" << limit(t.maxRooms) << " max-participants=" << limit(t.maxParticipants)
      << " recording=" << yesNo(t.recordingAllowed) << " rooms=" << rooms
      << " dial-out=" << (t.dialOutUser.empty() ? std::string("none") : word(t.dialOutUser))
      << "\n";
}

void printTenant(std::ostream& out, const Tenant& t, std::size_t rooms) {
  out << "tenant: " << t.name << "\n"
      << "id: " << t.id << "\n"
      << "domains: " << joined(t.domains, ' ') << "\n"
      << "max-rooms: " << limit(t.maxRooms) << "\n"
      << "max-participants: " << limit(t.maxParticipants) << "\n"
      << "recording: " << yesNo(t.recordingAllowed) << "\n"
      << "dial-out: "
      << (t.dialOutUser.empty()
              ? std::string("none (the server's --dial-out-user)")
              : t.dialOutUser + " (" +
                    (t.dialOutRealm.empty() ? "any realm" : "realm " + t.dialOutRealm) +
                    ", password set)")
      << "\n"
      << "rooms: " << rooms << "\n";
}

std::string setOrNone(bool set) {
  return set ? "set" : "none";
}

void printRoomLine(std::ostream& out, const StoredRoom& r) {
  std::vector<std::string> flags;
  if (r.muteOnEntry) {
    flags.emplace_back("mute-on-entry");
  }
  if (r.waitForModerator) {
    flags.emplace_back("wait-for-moderator");
  }
  if (r.endWhenLastModeratorLeaves) {
    flags.emplace_back("end-with-moderator");
  }
  if (!r.entryExitTones) {
    flags.emplace_back("no-tones");
  }
  if (r.announceCount) {
    flags.emplace_back("announce-count");
  }
  if (r.locked) {
    flags.emplace_back("locked");
  }
  if (r.publicRoster) {
    flags.emplace_back("public-roster");
  }
  if (r.participantsInvite) {
    flags.emplace_back("participants-invite");
  }
  out << r.user << " name=" << word(r.name) << " pin=" << setOrNone(r.hasParticipantPin)
      << " moderator-pin=" << setOrNone(r.hasModeratorPin)
      << " listener-pin=" << setOrNone(r.hasListenerPin)
      << " max-participants=" << limit(r.maxParticipants) << " language=" << r.language
      << " flags=" << joined(flags, ',') << "\n";
}

void printRoom(std::ostream& out, const Tenant& t, const StoredRoom& r) {
  out << "room: " << r.user << "\n"
      << "tenant: " << t.name << "\n"
      << "name: " << r.name << "\n"
      << "pin: " << setOrNone(r.hasParticipantPin) << "\n"
      << "moderator-pin: " << setOrNone(r.hasModeratorPin) << "\n"
      << "listener-pin: " << setOrNone(r.hasListenerPin) << "\n"
      << "max-participants: " << limit(r.maxParticipants) << "\n"
      << "mute-on-entry: " << yesNo(r.muteOnEntry) << "\n"
      << "wait-for-moderator: " << yesNo(r.waitForModerator) << "\n"
      << "end-with-moderator: " << yesNo(r.endWhenLastModeratorLeaves) << "\n"
      << "tones: " << yesNo(r.entryExitTones) << "\n"
      << "announce-count: " << yesNo(r.announceCount) << "\n"
      << "locked: " << yesNo(r.locked) << "\n"
      << "public-roster: " << yesNo(r.publicRoster) << "\n"
      << "participants-invite: " << yesNo(r.participantsInvite) << "\n"
      << "language: " << r.language << "\n";
}

// ---- the commands --------------------------------------------------------------------------

// Where the store is, as the server finds it: --store; else --data-dir's policy.db; else the
// --config file's store, or its data-dir's policy.db; else the server's default.
Outcome<std::string> storeOf(const CommandLine& line) {
  if (line.store) {
    return *line.store;
  }
  if (line.dataDir) {
    return policyStorePath(*line.dataDir).string();
  }
  if (!line.configFile) {
    return policyStorePath(config::Config{}.dataDir).string();
  }
  const char* args[] = {"confab", "--config", line.configFile->c_str()};
  auto parsed = config::parse(3, args);
  if (auto* error = std::get_if<config::Error>(&parsed)) {
    return badInput(error->message);
  }
  if (auto* cfg = std::get_if<config::Config>(&parsed)) {
    return cfg->store.empty() ? policyStorePath(cfg->dataDir).string() : cfg->store;
  }
  return badInput("--config: " + *line.configFile + " is not a config file");
}

// Opens the store; only `tenant add` may create a SQLite file (a mistyped --data-dir elsewhere
// must not leave an empty store behind). A PostgreSQL database is the operator's to create; its
// tables are made on first use, as the server does.
Outcome<std::unique_ptr<Store>> openStore(const std::string& location, bool create) {
  if (Store::isPostgres(location)) {
    auto opened = Store::open(location);
    if (auto* error = std::get_if<StoreError>(&opened)) {
      return Failure{kFailed, Store::shown(location) + ": " + error->message};
    }
    return std::move(std::get<std::unique_ptr<Store>>(opened));
  }
  const std::filesystem::path path = location;
  std::error_code ec;
  if (create) {
    const auto folder =
        path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      return Failure{kFailed,
                     "cannot create the data directory " + folder.string() + ": " + ec.message()};
    }
  } else if (!std::filesystem::exists(path, ec)) {
    return Failure{kFailed,
                   "no policy store at " + path.string() +
                       " (wrong --data-dir? `confab tenant add` or `confab key add` creates it)"};
  }
  auto opened = Store::open(path.string());
  if (auto* error = std::get_if<StoreError>(&opened)) {
    return Failure{kFailed, path.string() + ": " + error->message};
  }
  return std::move(std::get<std::unique_ptr<Store>>(opened));
}

Outcome<Tenant> findTenant(const Store& store, const std::string& name) {
  if (auto t = store.tenantByName(name)) {
    return *std::move(t);
  }
  return Failure{kFailed, "no tenant \"" + name + "\" (see confab tenant list)"};
}

Outcome<StoredRoom> findRoom(const Store& store, const Tenant& t, const std::string& user) {
  if (auto r = store.findRoom(t.id, user)) {
    return *std::move(r);
  }
  return Failure{kFailed, "tenant " + t.name + " has no room \"" + user + "\""};
}

std::optional<Failure> runTenant(const CommandLine& line,
                                 std::string_view verb,
                                 Store& store,
                                 std::ostream& out) {
  if (verb == "list") {
    for (const auto& t : store.tenants()) {
      printTenantLine(out, t, store.rooms(t.id).size());
    }
    return std::nullopt;
  }
  const std::string& name = line.positional[1];
  if (verb == "add") {
    Tenant t;
    t.name = name;
    if (auto failure = applyTenantOptions(line, t)) {
      return failure;
    }
    auto account = dialOutOptions(line);
    if (auto* failure = std::get_if<Failure>(&account)) {
      return *failure;
    }
    const auto& change = std::get<AccountChange>(account);
    auto created = store.createTenant(t, change ? *change : std::nullopt);
    if (auto* error = std::get_if<StoreError>(&created)) {
      return fromStore(*error);
    }
    const Tenant& made = std::get<Tenant>(created);
    printTenant(out, made, 0);
    return std::nullopt;
  }
  auto found = findTenant(store, name);
  if (auto* failure = std::get_if<Failure>(&found)) {
    return *failure;
  }
  Tenant& t = std::get<Tenant>(found);
  if (verb == "show") {
    printTenant(out, t, store.rooms(t.id).size());
  } else if (verb == "set") {
    if (auto failure = applyTenantOptions(line, t)) {
      return failure;
    }
    auto account = dialOutOptions(line);
    if (auto* failure = std::get_if<Failure>(&account)) {
      return *failure;
    }
    auto updated = store.updateTenant(t, std::get<AccountChange>(account));
    if (auto* error = std::get_if<StoreError>(&updated)) {
      return fromStore(*error);
    }
    printTenant(out, std::get<Tenant>(updated), store.rooms(t.id).size());
  } else if (verb == "remove") {
    const std::size_t rooms = store.rooms(t.id).size();
    auto removed = store.deleteTenant(t.id);
    if (auto* error = std::get_if<StoreError>(&removed)) {
      return fromStore(*error);
    }
    if (!std::get<bool>(removed)) {
      return Failure{kFailed, "no tenant \"" + name + "\" (removed meanwhile)"};
    }
    out << "removed tenant " << t.name << " and its " << rooms << (rooms == 1 ? " room" : " rooms")
        << "\n";
  }
  return std::nullopt;
}

std::optional<Failure> runRoom(const CommandLine& line,
                               std::string_view verb,
                               Store& store,
                               std::ostream& out) {
  auto found = findTenant(store, line.positional[1]);
  if (auto* failure = std::get_if<Failure>(&found)) {
    return *failure;
  }
  const Tenant& t = std::get<Tenant>(found);
  if (verb == "list") {
    for (const auto& r : store.rooms(t.id)) {
      printRoomLine(out, r);
    }
    return std::nullopt;
  }
  const std::string& user = line.positional[2];
  if (verb == "add") {
    RoomChange change;
    change.room.tenantId = t.id;
    change.room.user = user;
    change.room.name = user;
    if (auto failure = applyRoomOptions(line, change)) {
      return failure;
    }
    auto created = store.createRoom(change);
    if (auto* error = std::get_if<StoreError>(&created)) {
      return fromRoomStore(*error);
    }
    printRoom(out, t, std::get<StoredRoom>(created));
    return std::nullopt;
  }
  auto room = findRoom(store, t, user);
  if (auto* failure = std::get_if<Failure>(&room)) {
    return *failure;
  }
  const StoredRoom& r = std::get<StoredRoom>(room);
  if (verb == "show") {
    printRoom(out, t, r);
  } else if (verb == "set") {
    RoomChange change;
    change.room = r;
    if (auto failure = applyRoomOptions(line, change)) {
      return failure;
    }
    auto updated = store.updateRoom(change);
    if (auto* error = std::get_if<StoreError>(&updated)) {
      return fromRoomStore(*error);
    }
    printRoom(out, t, std::get<StoredRoom>(updated));
  } else if (verb == "remove") {
    auto removed = store.deleteRoom(r.id);
    if (auto* error = std::get_if<StoreError>(&removed)) {
      return fromStore(*error);
    }
    if (!std::get<bool>(removed)) {
      return Failure{kFailed,
                     "tenant " + t.name + " has no room \"" + user + "\" (removed meanwhile)"};
    }
    out << "removed room " << r.user << " of tenant " << t.name << "\n";
  }
  return std::nullopt;
}

void printKey(std::ostream& out, const policy::ApiKey& k, const Store& store) {
  std::string scope = "operator";
  if (k.tenantId != 0) {
    const auto t = store.tenant(k.tenantId);
    scope = "tenant " + (t ? word(t->name) : std::to_string(k.tenantId));
  }
  out << k.id << " " << scope << " " << (k.readOnly ? "read-only" : "read-write")
      << " name=" << word(k.name) << " created=" << k.created << "\n";
}

// Which keys an option names: the operator's (0) or a tenant's; nullopt when none is named.
Outcome<std::optional<int64_t>> keyScope(const CommandLine& line, const Store& store) {
  std::optional<int64_t> scope;
  for (const auto& [name, value] : line.options) {
    if (name != "operator" && name != "tenant") {
      continue;
    }
    if (scope) {
      return badInput("name one of --operator and --tenant, once");
    }
    if (name == "operator") {
      scope = 0;
    } else {
      auto t = findTenant(store, value);
      if (auto* failure = std::get_if<Failure>(&t)) {
        return *failure;
      }
      scope = std::get<Tenant>(t).id;
    }
  }
  return scope;
}

std::optional<Failure> runKey(const CommandLine& line,
                              std::string_view verb,
                              Store& store,
                              std::ostream& out) {
  if (verb == "remove") {
    const auto id = config::parseNumber(line.positional[1]);
    if (!id || *id > static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max())) {
      return badInput("key remove: \"" + line.positional[1] + "\" is not a key id");
    }
    auto removed = store.deleteApiKey(static_cast<int64_t>(*id));
    if (auto* error = std::get_if<StoreError>(&removed)) {
      return fromStore(*error);
    }
    if (!std::get<bool>(removed)) {
      return Failure{kFailed, "no key " + line.positional[1] + " (see confab key list)"};
    }
    out << "revoked key " << *id << "\n";
    return std::nullopt;
  }
  auto scope = keyScope(line, store);
  if (auto* failure = std::get_if<Failure>(&scope)) {
    return *failure;
  }
  const auto& named = std::get<std::optional<int64_t>>(scope);
  if (verb == "list") {
    for (const auto& option : line.options) {
      if (option.first != "operator" && option.first != "tenant") {
        return badInput("key list takes --operator or --tenant only");
      }
    }
    for (const auto& k : store.apiKeys(named)) {
      printKey(out, k, store);
    }
    return std::nullopt;
  }
  if (!named) {
    return badInput("key add: whose key? --operator or --tenant NAME");
  }
  policy::ApiKey spec;
  spec.tenantId = *named;
  for (const auto& [name, value] : line.options) {
    if (name == "read-only") {
      spec.readOnly = true;
    } else if (name == "name") {
      spec.name = value;
    }
  }
  auto issued = store.createApiKey(spec);
  if (auto* error = std::get_if<StoreError>(&issued)) {
    Failure failure = fromStore(*error);
    if (failure.message.starts_with("name")) {
      failure.message.insert(0, "--");
    }
    return failure;
  }
  const auto& made = std::get<policy::IssuedApiKey>(issued);
  printKey(out, made.key, store);
  out << "token: " << made.token << "\n"
      << "(shown this once: the store keeps only its hash)\n";
  return std::nullopt;
}

std::optional<Failure> run(int argc, char** argv, std::ostream& out) {
  auto read = readCommandLine(argc, argv);
  if (auto* failure = std::get_if<Failure>(&read)) {
    return *failure;
  }
  const CommandLine& line = std::get<CommandLine>(read);
  if (line.help) {
    out << usage(line.noun);
    return std::nullopt;
  }
  auto checked = checkVerb(line);
  if (auto* failure = std::get_if<Failure>(&checked)) {
    return *failure;
  }
  const std::string_view verb = std::get<Verb>(checked).name;
  auto location = storeOf(line);
  if (auto* failure = std::get_if<Failure>(&location)) {
    return *failure;
  }
  // An operator key may be the first thing a new bridge needs, before the server ever ran.
  auto opened = openStore(std::get<std::string>(location),
                          (line.noun == "tenant" || line.noun == "key") && verb == "add");
  if (auto* failure = std::get_if<Failure>(&opened)) {
    return *failure;
  }
  Store& store = *std::get<std::unique_ptr<Store>>(opened);
  return line.noun == "tenant" ? runTenant(line, verb, store, out)
         : line.noun == "key"  ? runKey(line, verb, store, out)
                               : runRoom(line, verb, store, out);
}

}  // namespace

std::filesystem::path policyStorePath(const std::string& dataDir) {
  return std::filesystem::path(dataDir) / kPolicyStoreFile;
}

bool isAdminCommand(int argc, const char* const* argv) {
  if (argc < 2) {
    return false;
  }
  const std::string_view noun = argv[1];
  return noun == "tenant" || noun == "room" || noun == "key";
}

int runAdmin(int argc, char** argv, std::ostream& out, std::ostream& err) {
  if (!isAdminCommand(argc, argv)) {
    err << "confab: expected `confab tenant ...`, `confab room ...` or `confab key ...`\n";
    return kBadInput;
  }
  try {
    if (auto failure = run(argc, argv, out)) {
      err << "confab: " << failure->message << "\n";
      return failure->status;
    }
    out.flush();
    return out ? kDone : kFailed;
  } catch (const std::exception& e) {
    err << "confab: " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace confab::admin
