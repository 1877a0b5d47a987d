#pragma once
// The primitives SCRAM is built from (OpenSSL): the mechanism's hash and HMAC, random bytes, and
// a constant-time comparison.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/security/scram_credential.h"

namespace sluice::broker::security {

std::string ScramHash(ScramMechanism mechanism, std::string_view data);
std::string ScramHmac(ScramMechanism mechanism, std::string_view key, std::string_view data);
// `size` bytes from OpenSSL's CSPRNG; Internal when it cannot supply them.
absl::StatusOr<std::string> RandomBytes(size_t size);
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// a XOR b, byte by byte (equal sizes).
std::string XorBytes(std::string_view a, std::string_view b);

}  // namespace sluice::broker::security
