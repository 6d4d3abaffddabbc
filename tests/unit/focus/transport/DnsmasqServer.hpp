// A real DNS server for the resolver tests: Debian's dnsmasq (package dnsmasq-base) on a free
// loopback port, serving only the records given on its command line. Started as a child process
// and ended by its pid; its log (every query) is kept in a scratch folder for failing tests.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace confab::transport::test {

class DnsmasqServer {
 public:
  // 'records': dnsmasq options such as "--srv-host=...", "--naptr-record=...",
  // "--host-record=...". On failure error() says why.
  explicit DnsmasqServer(const std::vector<std::string>& records) {
    const auto binary = findBinary();
    if (!binary) {
      error_ = "dnsmasq not found (Debian package dnsmasq-base)";
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "confab-dns-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "cannot create a scratch folder";
      return;
    }
    folder_ = pattern;
    // The port is found free and then handed over, so another process may take it first:
    // a few attempts.
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      const auto port = freePort();
      if (port != 0 && start(*binary, port, records)) {
        port_ = port;
      }
    }
    if (pid_ <= 0 && error_.empty()) {
      error_ = "dnsmasq did not start: " + log();
    }
  }

  ~DnsmasqServer() {
    if (pid_ > 0) {
      stop(pid_);
    }
    if (!folder_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(folder_, ignored);
    }
  }
  DnsmasqServer(const DnsmasqServer&) = delete;
  DnsmasqServer& operator=(const DnsmasqServer&) = delete;

  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string log() const {
    std::ifstream in(folder_ + "/dnsmasq.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static std::optional<std::string> findBinary() {
    for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
      if (access(path, X_OK) == 0) {
        return std::string(path);
      }
    }
    return std::nullopt;
  }

  // A loopback port free for both UDP and TCP (dnsmasq serves both).
  static std::uint16_t freePort() {
    namespace ip = boost::asio::ip;
    boost::asio::io_context io;
    boost::system::error_code ec;
    ip::udp::socket udp(io);
    udp.open(ip::udp::v4(), ec);
    udp.bind({ip::make_address_v4("127.0.0.1"), 0}, ec);
    if (ec) {
      return 0;
    }
    const std::uint16_t port = udp.local_endpoint(ec).port();
    ip::tcp::acceptor tcp(io);
    tcp.open(ip::tcp::v4(), ec);
    tcp.bind({ip::make_address_v4("127.0.0.1"), port}, ec);
    return ec ? 0 : port;
  }

  bool start(const std::string& binary,
             std::uint16_t port,
             const std::vector<std::string>& records) {
    const std::string logFile = folder_ + "/dnsmasq.log";
    std::vector<std::string> args = {
        binary,
        "--keep-in-foreground",
        "--conf-file=/dev/null",  // none of the system's configuration
        "--pid-file=",            // no pid file: we hold the pid
        "--port=" + std::to_string(port),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",  // no upstream: only the records below
        "--no-hosts",
        "--no-poll",
        // Names under example.test not listed are answered NXDOMAIN, not REFUSED.
        "--local=/example.test/",
        "--log-queries",
        "--log-facility=" + logFile,
    };
    // As root dnsmasq would switch to "nobody"/"dip"; stay who we are, root or not.
    args.push_back("--user=" + userName());
    args.push_back("--group=" + groupName());
    args.insert(args.end(), records.begin(), records.end());

    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, logFile.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    const int status = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (status != 0) {
      error_ = "posix_spawn dnsmasq: " + std::string(strerror(status));
      return false;
    }
    // Ready once it answers a query over UDP (a TCP probe would make it fork a child for the
    // connection); gone if it exited (port taken).
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < limit) {
      int waitStatus = 0;
      if (waitpid(pid, &waitStatus, WNOHANG) == pid) {
        return false;
      }
      if (answers(port)) {
        pid_ = pid;
        return true;
      }
    }
    stop(pid);
    return false;
  }

  // Sends an A query for ready.example.test and waits up to 100 ms for any answer.
  static bool answers(std::uint16_t port) {
    namespace ip = boost::asio::ip;
    static constexpr unsigned char kQuery[] = {
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // header, RD
        5,    'r',  'e',  'a',  'd',  'y',  7,    'e',  'x',  'a',  'm',  'p',
        'l',  'e',  4,    't',  'e',  's',  't',  0,    0x00, 0x01, 0x00, 0x01};  // A, IN
    boost::asio::io_context io;
    boost::system::error_code ec;
    ip::udp::socket socket(io, ip::udp::v4());
    socket.send_to(boost::asio::buffer(kQuery), {ip::make_address_v4("127.0.0.1"), port}, 0, ec);
    for (int i = 0; i < 10 && !ec; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (socket.available(ec) > 0) {
        return true;
      }
    }
    return false;
  }

  // Ends the one process we started: TERM, then KILL if it lingers.
  static void stop(pid_t pid) {
    kill(pid, SIGTERM);
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > limit) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static std::string userName() {
    const char* name = nullptr;
    if (const passwd* entry = getpwuid(geteuid())) {
      name = entry->pw_name;
    }
    return name != nullptr ? name : std::to_string(geteuid());
  }
  static std::string groupName() {
    const char* name = nullptr;
    if (const group* entry = getgrgid(getegid())) {
      name = entry->gr_name;
    }
    return name != nullptr ? name : std::to_string(getegid());
  }

  std::string folder_;
  pid_t pid_ = 0;
  std::uint16_t port_ = 0;
  std::string error_;
};

}  // namespace confab::transport::test
