#include "broker/security/jwt_validator.h"

#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "absl/strings/escaping.h"
#include "common/absl_compat.h"

namespace sluice::broker::security {

using Json = nlohmann::json;

struct JsonWebKeySet::Key {
  enum class Type { kRsa, kEc };
  Type type = Type::kRsa;
  int ec_bytes = 0;  // coordinate size of an EC key: 32 (P-256) or 48 (P-384)
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

std::optional<std::string> Base64Url(std::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(ToAbsl(text), &out)) return std::nullopt;
  return out;
}

std::optional<std::string> StringField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A NumericDate claim in milliseconds; nullopt when absent, not a number, or beyond year 33658.
std::optional<int64_t> TimeClaimMs(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  const double seconds = it->get<double>();
  if (!(seconds >= 0 && seconds < 1e12)) return std::nullopt;
  return static_cast<int64_t>(seconds * 1000);
}

// Parses JSON without exceptions; nullopt unless it is an object.
std::optional<Json> ParseObject(std::string_view text) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

EVP_PKEY* FromParams(const char* type, OSSL_PARAM_BLD* build) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

EVP_PKEY* RsaKey(const std::string& n, const std::string& e) {
  BIGNUM* modulus = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* exponent = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  // Keys under 2048 bits are not worth trusting.
  if (modulus != nullptr && exponent != nullptr && build != nullptr && BN_num_bits(modulus) >= 2048 &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, modulus) == 1 &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, exponent) == 1) {
    pkey = FromParams("RSA", build);
  }
  OSSL_PARAM_BLD_free(build);
  BN_free(modulus);
  BN_free(exponent);
  return pkey;
}

EVP_PKEY* EcKey(const char* group, const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // uncompressed
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (build != nullptr && OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
    pkey = FromParams("EC", build);
  }
  OSSL_PARAM_BLD_free(build);
  return pkey;
}

std::unique_ptr<JsonWebKeySet::Key> ParseKey(const Json& jwk) {
  if (!jwk.is_object()) return nullptr;
  if (auto use = StringField(jwk, "use"); use && *use != "sig") return nullptr;
  const std::optional<std::string> kty = StringField(jwk, "kty");
  auto key = std::make_unique<JsonWebKeySet::Key>();
  if (kty == "RSA") {
    auto n = StringField(jwk, "n"), e = StringField(jwk, "e");
    std::optional<std::string> modulus = n ? Base64Url(*n) : std::nullopt;
    std::optional<std::string> exponent = e ? Base64Url(*e) : std::nullopt;
    if (!modulus || !exponent || modulus->empty() || exponent->empty()) return nullptr;
    key->type = JsonWebKeySet::Key::Type::kRsa;
    key->pkey = RsaKey(*modulus, *exponent);
  } else if (kty == "EC") {
    const std::optional<std::string> crv = StringField(jwk, "crv");
    const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : nullptr;
    key->ec_bytes = crv == "P-256" ? 32 : 48;
    auto x = StringField(jwk, "x"), y = StringField(jwk, "y");
    std::optional<std::string> px = x ? Base64Url(*x) : std::nullopt;
    std::optional<std::string> py = y ? Base64Url(*y) : std::nullopt;
    if (group == nullptr || !px || !py || static_cast<int>(px->size()) != key->ec_bytes ||
        static_cast<int>(py->size()) != key->ec_bytes) {
      return nullptr;
    }
    key->type = JsonWebKeySet::Key::Type::kEc;
    key->pkey = EcKey(group, *px, *py);
  }
  if (key->pkey == nullptr) return nullptr;
  return key;
}

// JWS ES* signatures are r || s; OpenSSL verifies DER.
std::optional<std::string> EcdsaDer(const std::string& raw, int coordinate_bytes) {
  if (static_cast<int>(raw.size()) != 2 * coordinate_bytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes, coordinate_bytes, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + coordinate_bytes, coordinate_bytes, nullptr);
  std::optional<std::string> der;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* out = nullptr;
    const int size = i2d_ECDSA_SIG(sig, &out);
    if (size > 0) der.emplace(reinterpret_cast<char*>(out), static_cast<size_t>(size));
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

bool Verify(EVP_PKEY* pkey, const EVP_MD* md, std::string_view signed_part, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

bool AudienceMatches(const Json& claims, const std::string& expected) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get<std::string>() == expected;
  if (!it->is_array()) return false;
  for (const Json& a : *it) {
    if (a.is_string() && a.get<std::string>() == expected) return true;
  }
  return false;
}

absl::Status Refused(std::string reason) { return absl::UnauthenticatedError(std::move(reason)); }

}  // namespace

JsonWebKeySet::~JsonWebKeySet() = default;

absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> JsonWebKeySet::Parse(std::string_view document) {
  const std::optional<Json> json = ParseObject(document);
  const Json* keys = nullptr;
  if (json) {
    auto it = json->find("keys");
    if (it != json->end()) keys = &*it;
  }
  if (keys == nullptr || !keys->is_array()) {
    return absl::InvalidArgumentError("the JWKS document is not a JSON object with a \"keys\" array");
  }
  std::shared_ptr<JsonWebKeySet> set(new JsonWebKeySet());
  for (const Json& jwk : *keys) {
    std::unique_ptr<Key> key = ParseKey(jwk);
    if (key == nullptr) continue;
    set->keys_.emplace(StringField(jwk, "kid").value_or(""), std::move(key));
  }
  if (set->keys_.empty()) {
    return absl::InvalidArgumentError("the JWKS document holds no usable signing key (RSA of 2048+ bits, EC P-256/P-384)");
  }
  return std::shared_ptr<const JsonWebKeySet>(std::move(set));
}

absl::StatusOr<ValidatedToken> JsonWebKeySet::Validate(std::string_view token, const JwtExpectations& expect,
                                                       int64_t now_ms) const {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Refused("the token is not a signed JWT (header.payload.signature)");
  }
  std::optional<std::string> header_text = Base64Url(token.substr(0, first));
  std::optional<std::string> payload_text = Base64Url(token.substr(first + 1, second - first - 1));
  std::optional<std::string> signature = Base64Url(token.substr(second + 1));
  std::optional<Json> header = header_text ? ParseObject(*header_text) : std::nullopt;
  std::optional<Json> claims = payload_text ? ParseObject(*payload_text) : std::nullopt;
  if (!header || !claims || !signature) return Refused("the token's parts are not base64url JSON");

  const std::string alg = StringField(*header, "alg").value_or("");
  const EVP_MD* md = nullptr;
  Key::Type type = Key::Type::kRsa;
  int ec_bytes = 0;
  if (alg == "RS256") md = EVP_sha256();
  else if (alg == "RS384") md = EVP_sha384();
  else if (alg == "RS512") md = EVP_sha512();
  else if (alg == "ES256") md = EVP_sha256(), type = Key::Type::kEc, ec_bytes = 32;
  else if (alg == "ES384") md = EVP_sha384(), type = Key::Type::kEc, ec_bytes = 48;
  else return Refused(fmt::format("the token's signature algorithm '{}' is not accepted", alg));

  const std::optional<std::string> kid = StringField(*header, "kid");
  const Key* key = nullptr;
  if (kid) {
    auto it = keys_.find(*kid);
    if (it != keys_.end()) key = it->second.get();
  } else if (keys_.size() == 1) {
    key = keys_.begin()->second.get();
  }
  if (key == nullptr) return Refused(fmt::format("no JWKS key has the token's key id '{}'", kid.value_or("")));
  if (key->type != type || (type == Key::Type::kEc && key->ec_bytes != ec_bytes)) {
    return Refused(fmt::format("the key '{}' does not sign {}", kid.value_or(""), alg));
  }
  std::optional<std::string> der = type == Key::Type::kEc ? EcdsaDer(*signature, ec_bytes) : signature;
  if (!der || !Verify(key->pkey, md, token.substr(0, second), *der)) return Refused("the token's signature is invalid");

  const int64_t skew_ms = expect.clock_skew_seconds * 1000;
  const std::optional<int64_t> expires_ms = TimeClaimMs(*claims, "exp");
  if (!expires_ms) return Refused("the token has no valid exp claim");
  if (*expires_ms + skew_ms <= now_ms) return Refused("the token has expired");
  for (const char* claim : {"nbf", "iat"}) {
    if (auto at = TimeClaimMs(*claims, claim); at && *at - skew_ms > now_ms) {
      return Refused(fmt::format("the token's {} claim lies in the future", claim));
    }
  }
  if (!expect.issuer.empty() && StringField(*claims, "iss") != expect.issuer) {
    return Refused(fmt::format("the token's issuer is not {}", expect.issuer));
  }
  if (!expect.audience.empty() && !AudienceMatches(*claims, expect.audience)) {
    return Refused(fmt::format("the token's audience does not include {}", expect.audience));
  }
  const std::string subject = StringField(*claims, expect.subject_claim.c_str()).value_or("");
  if (subject.empty()) return Refused(fmt::format("the token has no {} claim", expect.subject_claim));
  return ValidatedToken{.principal = subject, .expires_at_ms = *expires_ms};
}

}  // namespace sluice::broker::security
