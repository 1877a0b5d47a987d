// What a SASL client sends and how users are configured (broker/security): a SaslAuthenticate
// PLAIN message from the wire, and the same bytes as a sasl.jaas.config entry. Properties: a
// parsed message rebuilds to the bytes it came from (when it carried no authorization id), and a
// parsed entry authenticates each of its users with their password and no other.

#include <string>

#include "broker/security/jaas_config.h"
#include "broker/security/sasl_plain.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::broker::security;
  const std::string_view input = sluice::fuzz::AsBytes(data, size);
  if (auto message = ParsePlainMessage(input); message.ok() && !input.empty() && input[0] == '\0') {
    SLUICE_FUZZ_CHECK(PlainMessageFor(message->username, message->password) == input);
  }
  if (auto config = ParseJaasConfig(input); config.ok() && config->plain.has_value()) {
    for (const auto& [user, password] : config->plain->users) {
      SLUICE_FUZZ_CHECK(Authenticate(*config->plain, PlainMessage{user, password}));
      SLUICE_FUZZ_CHECK(!Authenticate(*config->plain, PlainMessage{user, password + "x"}));
    }
  }
  return 0;
}
