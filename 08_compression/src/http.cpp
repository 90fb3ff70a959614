// Just enough HTTP/1.1 to read the opening handshake (RFC 9112 §2-5, RFC 6455 §4.1).
#include "http.hpp"

#include <algorithm>

namespace ws {

namespace {

constexpr std::string_view kCrlf = "\r\n";

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 §5.6.2: token characters (no spaces, no separators like ':' or ',').
bool is_token_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool parse_request_line(std::string_view line, HttpRequest& request, std::string& error) {
  // RFC 9112 §3: method SP request-target SP HTTP-version, single spaces.
  const auto first = line.find(' ');
  const auto second = line.find(' ', first == std::string_view::npos ? first : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      line.find(' ', second + 1) != std::string_view::npos) {
    error = "malformed request line";
    return false;
  }
  request.method = line.substr(0, first);
  request.target = line.substr(first + 1, second - first - 1);
  request.version = line.substr(second + 1);
  if (!is_token(request.method)) {
    error = "malformed method";
    return false;
  }
  if (request.target.empty() || request.target.front() != '/' || !is_field_value(request.target)) {
    error = "malformed request target";
    return false;
  }
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (request.version.size() != 8 || request.version.substr(0, 5) != "HTTP/" ||
      !is_digit(request.version[5]) || request.version[6] != '.' || !is_digit(request.version[7])) {
    error = "malformed HTTP version";
    return false;
  }
  return true;
}

}  // namespace

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (equals_ignore_case(field, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(),
                    [&](const auto& field) { return equals_ignore_case(field.first, name); }));
}

std::vector<std::string> HttpRequest::header_tokens(std::string_view name) const {
  // RFC 9110 §5.3: repeated fields with list values are equivalent to one comma-joined field.
  std::vector<std::string> tokens;
  for (const auto& [field, value] : headers) {
    if (!equals_ignore_case(field, name)) {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (!item.empty()) {
        tokens.emplace_back(item);
      }
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return tokens;
}

bool HttpRequest::has_token(std::string_view name, std::string_view token) const {
  const auto tokens = header_tokens(name);
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](const std::string& t) { return equals_ignore_case(t, token); });
}

std::optional<std::size_t> find_head_end(std::string_view buffer) {
  const auto end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  return end + 4;
}

std::optional<HttpRequest> parse_request(std::string_view head, std::string& error) {
  HttpRequest request;
  auto line_end = head.find(kCrlf);
  if (line_end == std::string_view::npos) {
    error = "request head does not end with CRLF";
    return std::nullopt;
  }
  if (!parse_request_line(head.substr(0, line_end), request, error)) {
    return std::nullopt;
  }
  head.remove_prefix(line_end + kCrlf.size());

  // Header fields, one per line, until the empty line.
  while (!head.empty()) {
    line_end = head.find(kCrlf);
    if (line_end == std::string_view::npos) {
      error = "header line does not end with CRLF";
      return std::nullopt;
    }
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + kCrlf.size());
    if (line.empty()) {
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // RFC 9112 §5.2: obsolete line folding must be rejected by a server that does not fold.
      error = "obsolete header line folding";
      return std::nullopt;
    }
    const auto colon = line.find(':');
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      error = "malformed header field";
      return std::nullopt;
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (!is_field_value(value)) {
      error = "control character in header value";
      return std::nullopt;
    }
    if (request.headers.size() == kMaxHeaderCount) {
      error = "too many header fields";
      return std::nullopt;
    }
    request.headers.emplace_back(line.substr(0, colon), value);
  }
  return request;
}

std::string_view status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          const std::vector<std::string>& extra_headers) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " ";
  response += status_text(status);
  response += kCrlf;
  response += "Content-Type: ";
  response += content_type;
  response += kCrlf;
  response += "Content-Length: " + std::to_string(body.size());
  response += kCrlf;
  for (const auto& line : extra_headers) {
    response += line;
    response += kCrlf;
  }
  // One request per connection keeps the server simple; the browser opens a new one as needed.
  response += "Connection: close";
  response += kCrlf;
  response += kCrlf;
  response += body;
  return response;
}

}  // namespace ws
