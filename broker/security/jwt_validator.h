#pragma once
// Validation of the JWTs SASL/OAUTHBEARER clients present, as Kafka's broker-side validator
// (KIP-768) does it: a JWS signed with RS256/384/512 or ES256/384 by a key of a JWKS document
// (picked by `kid`), `exp` in the future and `nbf`/`iat` not in it (within the clock skew), the
// expected issuer and audience when configured. Unsigned ("alg":"none") and HMAC tokens are
// refused: a broker holds no shared secrets.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice::broker::security {

struct JwtExpectations {
  std::string issuer;    // sasl.oauthbearer.expected.issuer; empty: any
  std::string audience;  // sasl.oauthbearer.expected.audience; empty: any
  std::string subject_claim = "sub";  // sasl.oauthbearer.sub.claim.name
  int64_t clock_skew_seconds = 30;    // sasl.oauthbearer.clock.skew.seconds
};

struct ValidatedToken {
  std::string principal;  // the subject claim's value
  int64_t expires_at_ms = 0;
};

// The public keys of one JWKS document, by key id.
class JsonWebKeySet {
 public:
  // InvalidArgument when the document is not a JWKS or holds no usable key (keys of other
  // types, curves or uses are skipped).
  static absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> Parse(std::string_view document);
  ~JsonWebKeySet();
  JsonWebKeySet(const JsonWebKeySet&) = delete;
  JsonWebKeySet& operator=(const JsonWebKeySet&) = delete;

  // Unauthenticated naming what is wrong (the reason goes to the broker's log and audit line;
  // clients get Kafka's generic message).
  absl::StatusOr<ValidatedToken> Validate(std::string_view token, const JwtExpectations& expect, int64_t now_ms) const;

  struct Key;

 private:
  JsonWebKeySet() = default;
  std::map<std::string, std::unique_ptr<Key>, std::less<>> keys_;  // kid -> key ("" when it has none)
};

}  // namespace sluice::broker::security
