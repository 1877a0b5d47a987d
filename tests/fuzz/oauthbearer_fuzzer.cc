// What OAUTHBEARER clients send: the SASL message, the JWT inside it (checked against a fixed
// JWKS with one EC key), and JWKS documents themselves. None may crash the parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/security/jwt_validator.h"
#include "broker/security/sasl_oauthbearer.h"

namespace {
// A P-256 public key (any valid point will do: the fuzzer cannot forge signatures anyway).
constexpr char kJwks[] =
    R"({"keys":[{"kty":"EC","kid":"k","crv":"P-256",)"
    R"("x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]})";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::broker::security;
  static const auto keys = JsonWebKeySet::Parse(kJwks);
  if (size == 0 || !keys.ok()) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto message = ParseOAuthBearerMessage(input);
      if (message.ok()) (void)(*keys)->Validate(message->token, {}, 1'800'000'000'000);
      break;
    }
    case 1:
      (void)(*keys)->Validate(input, {.issuer = "i", .audience = "a"}, 1'800'000'000'000);
      break;
    default:
      (void)JsonWebKeySet::Parse(input);
  }
  return 0;
}
