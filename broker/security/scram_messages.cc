#include "broker/security/scram_messages.h"

#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "absl/strings/escaping.h"
#include "common/absl_compat.h"

namespace sluice::broker::security {
namespace {

std::vector<std::string_view> SplitAttributes(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

// The value of "K=value" when the attribute is `key`.
absl::StatusOr<std::string_view> Attribute(std::string_view part, char key, std::string_view message) {
  if (part.size() < 2 || part[0] != key || part[1] != '=') {
    return absl::InvalidArgumentError(fmt::format("SCRAM {}: expected attribute '{}='", message, key));
  }
  return part.substr(2);
}

absl::StatusOr<std::string> Nonce(std::string_view part, std::string_view message) {
  auto nonce = Attribute(part, 'r', message);
  if (!nonce.ok()) return nonce.status();
  if (nonce->empty() || !IsScramPrintable(*nonce)) {
    return absl::InvalidArgumentError(fmt::format("SCRAM {}: the nonce is empty or not printable", message));
  }
  return std::string(*nonce);
}

bool IsExtensionKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Extensions "key=value" after the mandatory attributes; RFC 5802 reserves 'm' for mandatory
// extensions, which a server that knows none must refuse.
absl::Status ParseExtensions(const std::vector<std::string_view>& parts, size_t first,
                             std::map<std::string, std::string>& out, std::string_view message) {
  for (size_t i = first; i < parts.size(); ++i) {
    const size_t equals = parts[i].find('=');
    const std::string_view key = parts[i].substr(0, equals);
    if (equals == std::string_view::npos || !IsExtensionKey(key) || key == "m") {
      return absl::InvalidArgumentError(fmt::format("SCRAM {}: malformed or unsupported extension", message));
    }
    if (!out.emplace(std::string(key), std::string(parts[i].substr(equals + 1))).second) {
      return absl::InvalidArgumentError(fmt::format("SCRAM {}: extension '{}' given twice", message, key));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsScramPrintable(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

std::string EscapeSaslName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> UnescapeSaslName(std::string_view escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c == ',' || c == '\0') return absl::InvalidArgumentError("SCRAM: a name holds ',' or NUL unescaped");
    if (c != '=') {
      out += c;
      continue;
    }
    const std::string_view code = escaped.substr(i + 1, 2);
    if (code == "2C") {
      out += ',';
    } else if (code == "3D") {
      out += '=';
    } else {
      return absl::InvalidArgumentError("SCRAM: a name holds '=' not followed by 2C or 3D");
    }
    i += 2;
  }
  return out;
}

std::string Base64(std::string_view bytes) { return absl::Base64Escape(ToAbsl(bytes)); }

absl::StatusOr<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  if (!absl::Base64Unescape(ToAbsl(text), &out) || Base64(out) != text) {
    return absl::InvalidArgumentError("SCRAM: invalid base64");
  }
  return out;
}

absl::StatusOr<ClientFirstMessage> ParseClientFirstMessage(std::string_view text) {
  constexpr std::string_view kWhat = "client-first-message";
  // gs2-header: the channel binding flag, then the optional authorization id. Channel binding
  // needs TLS, which this listener does not have: "n" (client does not support it) or "y"
  // (client does, thinks the server does not) only.
  if (text.size() < 3 || (text[0] != 'n' && text[0] != 'y') || text[1] != ',') {
    return absl::InvalidArgumentError("SCRAM client-first-message: unsupported gs2 header (channel binding)");
  }
  const size_t authzid_end = text.find(',', 2);
  if (authzid_end == std::string_view::npos) {
    return absl::InvalidArgumentError("SCRAM client-first-message: incomplete gs2 header");
  }
  ClientFirstMessage message;
  const std::string_view authzid = text.substr(2, authzid_end - 2);
  if (!authzid.empty()) {
    auto value = Attribute(authzid, 'a', kWhat);
    if (!value.ok()) return value.status();
    auto decoded = UnescapeSaslName(*value);
    if (!decoded.ok()) return decoded.status();
    if (decoded->empty()) return absl::InvalidArgumentError("SCRAM client-first-message: empty authorization id");
    message.authzid = std::move(*decoded);
  }
  message.gs2_header = std::string(text.substr(0, authzid_end + 1));
  message.bare = std::string(text.substr(authzid_end + 1));
  const std::vector<std::string_view> parts = SplitAttributes(message.bare);
  if (parts.size() < 2) return absl::InvalidArgumentError("SCRAM client-first-message: expected n= and r=");
  auto name = Attribute(parts[0], 'n', kWhat);
  if (!name.ok()) return name.status();
  auto username = UnescapeSaslName(*name);
  if (!username.ok()) return username.status();
  if (username->empty()) return absl::InvalidArgumentError("SCRAM client-first-message: empty user name");
  message.username = std::move(*username);
  auto nonce = Nonce(parts[1], kWhat);
  if (!nonce.ok()) return nonce.status();
  message.nonce = std::move(*nonce);
  if (absl::Status status = ParseExtensions(parts, 2, message.extensions, kWhat); !status.ok()) return status;
  return message;
}

absl::StatusOr<ServerFirstMessage> ParseServerFirstMessage(std::string_view text) {
  constexpr std::string_view kWhat = "server-first-message";
  const std::vector<std::string_view> parts = SplitAttributes(text);
  if (parts.size() < 3) return absl::InvalidArgumentError("SCRAM server-first-message: expected r=, s= and i=");
  ServerFirstMessage message;
  auto nonce = Nonce(parts[0], kWhat);
  if (!nonce.ok()) return nonce.status();
  message.nonce = std::move(*nonce);
  auto salt_text = Attribute(parts[1], 's', kWhat);
  if (!salt_text.ok()) return salt_text.status();
  auto salt = DecodeBase64(*salt_text);
  if (!salt.ok()) return salt.status();
  if (salt->empty()) return absl::InvalidArgumentError("SCRAM server-first-message: empty salt");
  message.salt = std::move(*salt);
  auto iterations = Attribute(parts[2], 'i', kWhat);
  if (!iterations.ok()) return iterations.status();
  const char* end = iterations->data() + iterations->size();
  auto [ptr, ec] = std::from_chars(iterations->data(), end, message.iterations);
  if (ec != std::errc() || ptr != end || message.iterations <= 0 || (*iterations)[0] == '0') {
    return absl::InvalidArgumentError("SCRAM server-first-message: the iteration count is not a positive number");
  }
  std::map<std::string, std::string> ignored;  // none defined; RFC 5802 lets a client ignore them
  if (absl::Status status = ParseExtensions(parts, 3, ignored, kWhat); !status.ok()) return status;
  return message;
}

absl::StatusOr<ClientFinalMessage> ParseClientFinalMessage(std::string_view text) {
  constexpr std::string_view kWhat = "client-final-message";
  const size_t proof_at = text.rfind(",p=");
  if (proof_at == std::string_view::npos) return absl::InvalidArgumentError("SCRAM client-final-message: no proof");
  ClientFinalMessage message;
  message.without_proof = std::string(text.substr(0, proof_at));
  auto proof = DecodeBase64(text.substr(proof_at + 3));
  if (!proof.ok()) return proof.status();
  message.proof = std::move(*proof);
  const std::vector<std::string_view> parts = SplitAttributes(message.without_proof);
  if (parts.size() < 2) return absl::InvalidArgumentError("SCRAM client-final-message: expected c= and r=");
  auto binding_text = Attribute(parts[0], 'c', kWhat);
  if (!binding_text.ok()) return binding_text.status();
  auto binding = DecodeBase64(*binding_text);
  if (!binding.ok()) return binding.status();
  message.channel_binding = std::move(*binding);
  auto nonce = Nonce(parts[1], kWhat);
  if (!nonce.ok()) return nonce.status();
  message.nonce = std::move(*nonce);
  std::map<std::string, std::string> extensions;
  if (absl::Status status = ParseExtensions(parts, 2, extensions, kWhat); !status.ok()) return status;
  if (!extensions.empty()) return absl::InvalidArgumentError("SCRAM client-final-message: unsupported extension");
  return message;
}

absl::StatusOr<ServerFinalMessage> ParseServerFinalMessage(std::string_view text) {
  constexpr std::string_view kWhat = "server-final-message";
  const std::vector<std::string_view> parts = SplitAttributes(text);
  ServerFinalMessage message;
  if (parts[0].starts_with("e=")) {
    message.error = std::string(parts[0].substr(2));
    if (message.error.empty()) return absl::InvalidArgumentError("SCRAM server-final-message: empty error");
  } else {
    auto verifier_text = Attribute(parts[0], 'v', kWhat);
    if (!verifier_text.ok()) return verifier_text.status();
    auto verifier = DecodeBase64(*verifier_text);
    if (!verifier.ok()) return verifier.status();
    if (verifier->empty()) return absl::InvalidArgumentError("SCRAM server-final-message: empty verifier");
    message.verifier = std::move(*verifier);
  }
  std::map<std::string, std::string> ignored;
  if (absl::Status status = ParseExtensions(parts, 1, ignored, kWhat); !status.ok()) return status;
  return message;
}

std::string FormatClientFirstMessage(std::string_view username, std::string_view nonce) {
  return fmt::format("n,,n={},r={}", EscapeSaslName(username), nonce);
}

std::string FormatServerFirstMessage(const ServerFirstMessage& message) {
  return fmt::format("r={},s={},i={}", message.nonce, Base64(message.salt), message.iterations);
}

std::string FormatClientFinalWithoutProof(std::string_view gs2_header, std::string_view nonce) {
  return fmt::format("c={},r={}", Base64(gs2_header), nonce);
}

std::string FormatClientFinalMessage(std::string_view without_proof, std::string_view proof) {
  return fmt::format("{},p={}", without_proof, Base64(proof));
}

std::string FormatServerFinalMessage(const ServerFinalMessage& message) {
  return message.error.empty() ? "v=" + Base64(message.verifier) : "e=" + message.error;
}

}  // namespace sluice::broker::security
