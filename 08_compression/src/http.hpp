// Just enough HTTP/1.1 (RFC 9112, RFC 9110) to read the opening handshake of RFC 6455 §4.1:
// a request line, header fields with case-insensitive names, comma-separated token lists, and
// simple responses. Written for the lesson; a general web server needs far more.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws {

/// The largest request head (request line + headers) we accept. Browsers send well under 2 KiB;
/// anything bigger is answered with 431 before it can use up memory.
inline constexpr std::size_t kMaxRequestHeadSize = std::size_t{8} * 1024;
/// The most header fields one request may carry.
inline constexpr std::size_t kMaxHeaderCount = 100;

/// A parsed request head. Header names keep the client's spelling; lookups ignore case.
struct HttpRequest {
  std::string method;   ///< "GET"
  std::string target;   ///< "/chat?room=1"
  std::string version;  ///< "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;

  /// The value of the first field named `name` (any case), or nullopt if absent.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  /// How many fields are named `name`; some must appear exactly once.
  [[nodiscard]] std::size_t header_count(std::string_view name) const;
  /// The comma-separated tokens of every field named `name`, trimmed and in order
  /// ("keep-alive, Upgrade" gives {"keep-alive", "Upgrade"}).
  [[nodiscard]] std::vector<std::string> header_tokens(std::string_view name) const;
  /// True if `token` is one of header_tokens(name), compared case-insensitively.
  [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const;
};

/// Finds the blank line that ends a request head. Returns the head's size including the final
/// "\r\n\r\n", or nullopt if it has not fully arrived yet. Bytes after it (a pipelined first
/// WebSocket frame) belong to the next protocol layer.
std::optional<std::size_t> find_head_end(std::string_view buffer);

/// Parses a complete request head (as delimited by find_head_end). Returns the request, or
/// nullopt with `error` set to a one-line reason suitable for a 400 response.
std::optional<HttpRequest> parse_request(std::string_view head, std::string& error);

/// True if `s` is an RFC 9110 §5.6.2 token: header names, methods, Upgrade and subprotocol names.
bool is_token(std::string_view s);

/// True if `s` may be a header field's value (RFC 9110 §5.5): visible characters, spaces, tabs.
/// A CR, LF or NUL inside a value is how header-injection attacks smuggle extra lines.
bool is_field_value(std::string_view s);

/// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

/// True if `a` and `b` are equal ignoring ASCII case (HTTP names and tokens are case-insensitive).
bool equals_ignore_case(std::string_view a, std::string_view b);

/// A complete HTTP/1.1 response that closes the connection afterwards. `extra_headers` are
/// full lines without CRLF ("Sec-WebSocket-Version: 13").
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          const std::vector<std::string>& extra_headers = {});

/// The reason phrase for the status codes this server uses ("Not Found" for 404).
std::string_view status_text(int status);

}  // namespace ws
