// Integration tests of https:// and wss:// (RFC 6455 §4.1, §10.6): the real server with a
// certificate generated for the test, an OpenSSL client for HTTPS, and Python's websockets (a
// third-party client) for the chat over wss. Every wait is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

namespace ws_test {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A self-signed certificate for localhost and 127.0.0.1, like `./course cert` makes, written by
// the openssl command-line tool into `dir` as NAME.crt and NAME.key.
struct Certificate {
  Certificate(const TempDir& dir, const std::string& name)
      : crt(dir.file(name + ".crt")), key(dir.file(name + ".key")) {
    const ProgramResult openssl = run_program(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", crt},
        {}, 20s);
    if (openssl.code != 0) {
      throw std::runtime_error("openssl req failed: " + openssl.output);
    }
  }
  std::string crt;
  std::string key;
};

// The server's arguments for TLS with `certificate` (ServerProcess adds the free port).
std::vector<std::string> tls_args(const Certificate& certificate) {
  return {"--tls-cert", certificate.crt, "--tls-key", certificate.key};
}

// Everything the server printed, for a failure message.
std::string output_of(ServerProcess& server) {
  std::string all;
  for (const auto& line : server.lines()) {
    all += line + "\n";
  }
  return all;
}

// A TLS client on a blocking loopback socket with 5 s send and receive timeouts, trusting only
// `ca_file` and checking that the certificate is valid for 127.0.0.1, as a browser would.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const std::string& ca_file)
      : context_(::SSL_CTX_new(::TLS_client_method())) {
    // SSL_write on a socket the server has closed must be an error here, not a SIGPIPE that
    // ends the whole test program.
    std::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!context_ || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    ::SSL_CTX_set_verify(context_.get(), SSL_VERIFY_PEER, nullptr);
    if (::SSL_CTX_load_verify_locations(context_.get(), ca_file.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot load " + ca_file);
    }
    ssl_.reset(::SSL_new(context_.get()));
    ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(ssl_.get()), "127.0.0.1");
    ::SSL_set_fd(ssl_.get(), fd_);
    if (::SSL_connect(ssl_.get()) != 1) {
      std::array<char, 256> reason{};
      ::ERR_error_string_n(::ERR_get_error(), reason.data(), reason.size());
      throw std::runtime_error(std::string("TLS handshake failed: ") + reason.data());
    }
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  ~TlsClient() {
    ssl_.reset();
    ::close(fd_);
  }

  void send(const std::string& bytes) {
    std::size_t written = 0;
    if (::SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &written) != 1) {
      throw std::runtime_error("SSL_write failed");
    }
  }

  // Reads until `done(received)` says so, the server ends the stream, or 5 s pass.
  template <typename Done>
  std::string read_until(Done done) {
    std::string received;
    std::array<char, 4096> chunk{};
    const auto deadline = Clock::now() + 5s;
    while (!done(received) && Clock::now() < deadline) {
      std::size_t n = 0;
      if (const int rc = ::SSL_read_ex(ssl_.get(), chunk.data(), chunk.size(), &n); rc != 1) {
        // The server's close_notify ends the stream cleanly ("zero return"); a bare TCP close
        // would be a truncation the client could not tell from an attack.
        clean_end_ = ::SSL_get_error(ssl_.get(), rc) == SSL_ERROR_ZERO_RETURN;
        break;
      }
      received.append(chunk.data(), n);
    }
    return received;
  }

  // Everything until the server closes the connection.
  std::string read_all() {
    return read_until([](const std::string&) { return false; });
  }
  // The response head (and whatever followed it in the same read).
  std::string read_head() {
    return read_until([](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; });
  }

  // True once read_all ended with the server's close_notify rather than a bare TCP close.
  [[nodiscard]] bool clean_end() const { return clean_end_; }

 private:
  struct FreeContext {
    void operator()(SSL_CTX* context) const { ::SSL_CTX_free(context); }
  };
  struct FreeSsl {
    void operator()(SSL* ssl) const { ::SSL_free(ssl); }
  };
  std::unique_ptr<SSL_CTX, FreeContext> context_;
  std::unique_ptr<SSL, FreeSsl> ssl_;
  int fd_ = -1;
  bool clean_end_ = false;
};

struct HttpsResult {
  int status = 0;
  std::string body;
  bool clean_end = false;
};

// One HTTPS request (the server answers and closes the connection).
HttpsResult https(std::uint16_t port, const std::string& ca_file, const std::string& method,
                  const std::string& target, const std::string& body = {}) {
  TlsClient client(port, ca_file);
  client.send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
              "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string response = client.read_all();
  if (response.size() < 12 || response.find("\r\n\r\n") == std::string::npos) {
    throw std::runtime_error("no HTTP response, got: " + response);
  }
  return {std::stoi(response.substr(9, 3)), response.substr(response.find("\r\n\r\n") + 4),
          client.clean_end()};
}

std::string login_otp(std::uint16_t port, const std::string& ca_file, const std::string& username,
                      const std::string& password) {
  const HttpsResult result =
      https(port, ca_file, "POST", "/login",
            nlohmann::json{{"username", username}, {"password", password}}.dump());
  if (result.status != 200) {
    throw std::runtime_error("login failed: " + result.body);
  }
  return nlohmann::json::parse(result.body).at("otp").get<std::string>();
}

// The status line of an upgrade request over TLS with `origin`.
std::string upgrade_status(std::uint16_t port, const std::string& ca_file, const std::string& otp,
                           const std::string& origin) {
  TlsClient client(port, ca_file);
  client.send("GET /ws?otp=" + otp + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              "Origin: " +
              origin + "\r\n\r\n");
  const std::string head = client.read_head();
  return head.substr(0, head.find("\r\n"));
}

class Tls : public ::testing::Test {
 protected:
  TempDir dir_;
  Certificate certificate_{dir_, "localhost"};
};

TEST_F(Tls, ServesThePageAndTheLoginOverHttps) {
  ServerProcess server(tls_args(certificate_));
  const HttpsResult page = https(server.port(), certificate_.crt, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, read_file(std::string(WS_TESTS_DIR) + "/../web/index.html"))
      << "the whole page (several TLS records) arrives intact";
  EXPECT_TRUE(page.clean_end) << "the server ends TLS with close_notify, not a bare TCP close";
  const std::string otp = login_otp(server.port(), certificate_.crt, "alice", "wonderland");
  EXPECT_EQ(otp.size(), 43U);
  EXPECT_TRUE(server.wait_for_line("login ok for alice"));
}

TEST_F(Tls, TheDefaultAllowedOriginIsTheHttpsOne) {
  ServerProcess server(tls_args(certificate_));
  const std::string port = std::to_string(server.port());
  const std::string& ca = certificate_.crt;
  EXPECT_EQ(upgrade_status(server.port(), ca, login_otp(server.port(), ca, "bob", "builder"),
                           "http://127.0.0.1:" + port),
            "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(upgrade_status(server.port(), ca, login_otp(server.port(), ca, "bob", "builder"),
                           "https://localhost:" + port),
            "HTTP/1.1 101 Switching Protocols");
}

TEST_F(Tls, TwoUsersChatOverWssWithPythonWebsockets) {
  ServerProcess server(tls_args(certificate_));
  const std::string& ca = certificate_.crt;
  const std::string alice = login_otp(server.port(), ca, "alice", "wonderland");
  const std::string bob = login_otp(server.port(), ca, "bob", "builder");
  const auto [code, output] =
      run_program({"/usr/bin/python3", std::string(WS_TESTS_DIR) + "/wss_chat.py",
                   std::to_string(server.port()), ca, alice, bob},
                  {}, 60s);
  if (code == 77) {
    GTEST_SKIP() << output;
  }
  ASSERT_EQ(code, 0) << output << "\nserver:\n" << output_of(server);
  EXPECT_TRUE(server.wait_for_line("upgraded as alice"));
  EXPECT_TRUE(server.wait_for_line("upgraded as bob"));
  EXPECT_TRUE(server.wait_for_line("closed 1000 \"bye\" (initiated by client)"));
  EXPECT_EQ(server.stop(), 0) << output_of(server);
}

TEST_F(Tls, PlainHttpAndGarbageAreDroppedAndTheNextClientIsServed) {
  ServerProcess server(tls_args(certificate_));
  {
    RawClient plain(server.port());
    plain.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_TRUE(plain.closed_by_server());
  }
  EXPECT_TRUE(server.wait_for_line("#1 TLS handshake failed: http request")) << output_of(server);
  {
    RawClient garbage(server.port());
    garbage.send(std::string(64, '\x00'));
    EXPECT_TRUE(garbage.closed_by_server());
  }
  EXPECT_TRUE(server.wait_for_line("#2 TLS handshake failed: "));
  // A client stuck halfway through its hello holds only its own thread.
  RawClient stalled(server.port());
  stalled.send("\x16\x03\x01");
  EXPECT_EQ(https(server.port(), certificate_.crt, "GET", "/").status, 200);
  EXPECT_EQ(server.stop(), 0) << "the stalled handshake ends on SIGTERM too\n" << output_of(server);
  EXPECT_TRUE(server.wait_for_line("TLS handshake failed: server shutting down"));
}

TEST_F(Tls, CertificateAndKeyGoTogether) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--tls-cert", certificate_.crt},
                                                                {"--tls-key", certificate_.key}}) {
    const auto [code, output] = ServerProcess::run_to_exit(args);
    EXPECT_EQ(code, 2);
    EXPECT_EQ(output,
              "server: --tls-cert and --tls-key go together: the certificate and its private key "
              "(see --help)\n");
  }
}

TEST_F(Tls, UnreadableOrMismatchedFilesAreStartupErrors) {
  const Certificate other(dir_, "other");
  const std::string missing = dir_.file("missing.pem");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--tls-cert", missing, "--tls-key", certificate_.key}, "No such file or directory"},
      {{"--tls-cert", certificate_.crt, "--tls-key", missing}, "No such file or directory"},
      {{"--tls-cert", certificate_.key, "--tls-key", certificate_.key}, "no start line"},
      {{"--tls-cert", certificate_.crt, "--tls-key", other.key}, "key values mismatch"},
  };
  for (const auto& [args, reason] : cases) {
    const auto [code, output] = ServerProcess::run_to_exit(args);
    EXPECT_EQ(code, 2) << output;
    EXPECT_EQ(output.rfind("server: cannot use TLS ", 0), 0U) << output;
    EXPECT_NE(output.find(reason), std::string::npos) << output;
    EXPECT_EQ(output.find('\n'), output.size() - 1) << "one line: " << output;
  }
}

}  // namespace
}  // namespace ws_test
