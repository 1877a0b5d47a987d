// SCRAM messages from the wire (broker/security): the four RFC 5802 messages a client or a peer
// broker sends, and a whole server exchange driven by them. Properties: a parsed message without
// extensions writes back to the bytes it came from, and an exchange fed arbitrary messages never
// completes without the password's proof.

#include <string>

#include "broker/security/scram_credential.h"
#include "broker/security/scram_messages.h"
#include "broker/security/scram_server.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::broker::security;

const ScramCredential& Credential() {
  static const ScramCredential credential = [] {
    auto salted = SaltedPassword(ScramMechanism::kSha256, "pencil", "fixed-salt", kScramMinIterations);
    return CredentialFromSaltedPassword(ScramMechanism::kSha256, "fixed-salt", *salted, kScramMinIterations);
  }();
  return credential;
}

void CheckMessages(std::string_view input) {
  if (auto first = ParseClientFirstMessage(input); first.ok()) {
    SLUICE_FUZZ_CHECK(input.ends_with(first->bare));
    if (first->gs2_header == "n,," && first->extensions.empty()) {
      SLUICE_FUZZ_CHECK(FormatClientFirstMessage(first->username, first->nonce) == input);
    }
  }
  if (auto server_first = ParseServerFirstMessage(input); server_first.ok()) {
    SLUICE_FUZZ_CHECK(server_first->iterations > 0 && !server_first->salt.empty());
    const std::string written = FormatServerFirstMessage(*server_first);
    SLUICE_FUZZ_CHECK(input.starts_with(written));
  }
  if (auto final_message = ParseClientFinalMessage(input); final_message.ok()) {
    SLUICE_FUZZ_CHECK(FormatClientFinalMessage(final_message->without_proof, final_message->proof) == input);
  }
  if (auto server_final = ParseServerFinalMessage(input); server_final.ok()) {
    SLUICE_FUZZ_CHECK(input.starts_with(FormatServerFinalMessage(*server_final)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = sluice::fuzz::AsBytes(data, size);
  CheckMessages(input);
  // The exchange: the input up to its first NUL is the client-first message, the rest the
  // client-final one.
  const size_t split = input.find('\0');
  ScramServerExchange server(ScramMechanism::kSha256, [](const std::string&) { return Credential(); });
  auto server_first = server.Evaluate(input.substr(0, split));
  if (server_first.ok() && split != std::string_view::npos) {
    SLUICE_FUZZ_CHECK(ParseServerFirstMessage(*server_first).ok());
    auto server_final = server.Evaluate(input.substr(split + 1));
    // Without the password no proof passes: the server nonce is random, so no input can carry
    // a proof for it.
    SLUICE_FUZZ_CHECK(!server_final.ok() && !server.complete());
  }
  return 0;
}
