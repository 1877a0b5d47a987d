#pragma once
// The four SCRAM messages of RFC 5802 section 7 as Kafka exchanges them: parsed from and written
// to their text form. Parsers are strict (they see a client's or a peer's bytes): unknown
// attributes, bad base64, non-printable nonces and badly escaped names are InvalidArgument.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct ClientFirstMessage {
  std::string gs2_header;  // as sent, e.g. "n,," or "n,a=alice,": c= of the final message repeats it
  std::string authzid;     // decoded; empty when absent
  std::string username;    // decoded from its saslname form
  std::string nonce;
  std::map<std::string, std::string> extensions;  // e.g. tokenauth=true (KIP-84)
  std::string bare;  // client-first-message-bare as sent: the first part of the AuthMessage
};

struct ServerFirstMessage {
  std::string nonce;  // the client's nonce followed by the server's
  std::string salt;   // decoded
  int32_t iterations = 0;
};

struct ClientFinalMessage {
  std::string channel_binding;  // decoded c=
  std::string nonce;
  std::string proof;          // decoded p=
  std::string without_proof;  // as sent up to ",p=": the last part of the AuthMessage
};

struct ServerFinalMessage {
  std::string verifier;  // decoded v=, when the server accepted the proof
  std::string error;     // e=, when it did not
};

absl::StatusOr<ClientFirstMessage> ParseClientFirstMessage(std::string_view text);
absl::StatusOr<ServerFirstMessage> ParseServerFirstMessage(std::string_view text);
absl::StatusOr<ClientFinalMessage> ParseClientFinalMessage(std::string_view text);
absl::StatusOr<ServerFinalMessage> ParseServerFinalMessage(std::string_view text);

// "n,,n=NAME,r=NONCE" with NAME escaped (no authorization id, no extensions).
std::string FormatClientFirstMessage(std::string_view username, std::string_view nonce);
std::string FormatServerFirstMessage(const ServerFirstMessage& message);
std::string FormatClientFinalWithoutProof(std::string_view gs2_header, std::string_view nonce);
std::string FormatClientFinalMessage(std::string_view without_proof, std::string_view proof);
std::string FormatServerFinalMessage(const ServerFinalMessage& message);

// RFC 5802 saslname: ',' as "=2C" and '=' as "=3D".
std::string EscapeSaslName(std::string_view name);
absl::StatusOr<std::string> UnescapeSaslName(std::string_view escaped);
std::string Base64(std::string_view bytes);
// Strict: only the canonical padded encoding of some bytes.
absl::StatusOr<std::string> DecodeBase64(std::string_view text);
// RFC 5802 printable: 0x21-0x7E except ','.
bool IsScramPrintable(std::string_view text);

}  // namespace sluice::broker::security
