#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "absl/strings/escaping.h"
#include "broker/security/jwt_validator.h"
#include "broker/security/sasl_oauthbearer.h"

using namespace sluice::broker::security;

namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;

std::string Url(std::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()), &out);
  return out;
}

std::string BigNum(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  std::string bytes(static_cast<size_t>(std::max(pad, BN_num_bytes(bn))), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  BN_free(bn);
  return bytes;
}

// A key pair the test signs with, and its public half as a JWK.
struct SigningKey {
  EVP_PKEY* pkey = nullptr;
  bool ec = false;
  std::string kid;
  ~SigningKey() { EVP_PKEY_free(pkey); }

  std::string Jwk() const {
    if (!ec) {
      return fmt::format(R"({{"kty":"RSA","kid":"{}","use":"sig","n":"{}","e":"{}"}})", kid,
                         Url(BigNum(pkey, OSSL_PKEY_PARAM_RSA_N)), Url(BigNum(pkey, OSSL_PKEY_PARAM_RSA_E)));
    }
    return fmt::format(R"({{"kty":"EC","kid":"{}","crv":"P-256","x":"{}","y":"{}"}})", kid,
                       Url(BigNum(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)), Url(BigNum(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
  }

  std::string Sign(const std::string& claims, std::string header = "") const {
    if (header.empty()) header = fmt::format(R"({{"alg":"{}","kid":"{}","typ":"JWT"}})", ec ? "ES256" : "RS256", kid);
    const std::string input = Url(header) + "." + Url(claims);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1);
    size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    REQUIRE(EVP_DigestSign(ctx, nullptr, &size, data, input.size()) == 1);
    std::string signature(size, '\0');
    REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, data, input.size()) == 1);
    signature.resize(size);
    EVP_MD_CTX_free(ctx);
    if (ec) {  // DER -> r || s
      const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(sig);
      signature = raw;
    }
    return input + "." + Url(signature);
  }
};

std::unique_ptr<SigningKey> Rsa(std::string kid) {
  auto key = std::make_unique<SigningKey>();
  key->pkey = EVP_RSA_gen(2048);
  key->kid = std::move(kid);
  return key;
}

std::unique_ptr<SigningKey> Ec(std::string kid) {
  auto key = std::make_unique<SigningKey>();
  key->pkey = EVP_EC_gen("P-256");
  key->ec = true;
  key->kid = std::move(kid);
  return key;
}

std::string Claims(int64_t exp_s, std::string extra = "") {
  return fmt::format(R"({{"sub":"alice","iss":"https://issuer.example","aud":["kafka","other"],"exp":{}{}}})", exp_s,
                     extra);
}

}  // namespace

TEST_CASE("tokens signed by a JWKS key are accepted with their subject and expiry") {
  auto rsa = Rsa("r1");
  auto ec = Ec("e1");
  auto keys = JsonWebKeySet::Parse(fmt::format(R"({{"keys":[{},{}]}})", rsa->Jwk(), ec->Jwk()));
  REQUIRE(keys.ok());
  const JwtExpectations expect{.issuer = "https://issuer.example", .audience = "kafka"};
  for (const SigningKey* key : {rsa.get(), ec.get()}) {
    auto token = (*keys)->Validate(key->Sign(Claims(kNowMs / 1000 + 600)), expect, kNowMs);
    REQUIRE(token.ok());
    CHECK(token->principal == "alice");
    CHECK(token->expires_at_ms == kNowMs + 600'000);
  }
}

TEST_CASE("tokens are refused for every reason Kafka's validator refuses them") {
  auto rsa = Rsa("r1");
  auto stranger = Rsa("r1");  // same kid, another key
  auto keys = JsonWebKeySet::Parse(fmt::format(R"({{"keys":[{}]}})", rsa->Jwk()));
  REQUIRE(keys.ok());
  const JwtExpectations expect{.issuer = "https://issuer.example", .audience = "kafka"};
  const int64_t later = kNowMs / 1000 + 600;
  auto refused = [&](const std::string& token, std::string_view reason) {
    auto result = (*keys)->Validate(token, expect, kNowMs);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK_THAT(std::string(result.status().message()), Catch::Contains(std::string(reason)));
  };
  refused(stranger->Sign(Claims(later)), "signature is invalid");
  refused(rsa->Sign(Claims(kNowMs / 1000 - 31)), "expired");
  CHECK((*keys)->Validate(rsa->Sign(Claims(kNowMs / 1000 - 29)), expect, kNowMs).ok());  // within the skew
  refused(rsa->Sign(Claims(later, R"(,"nbf":1900000000)")), "nbf");
  refused(rsa->Sign(R"({"sub":"alice","iss":"https://evil.example","aud":"kafka","exp":1900000000})"), "issuer");
  refused(rsa->Sign(R"({"sub":"alice","iss":"https://issuer.example","aud":"other","exp":1900000000})"), "audience");
  refused(rsa->Sign(R"({"iss":"https://issuer.example","aud":"kafka","exp":1900000000})"), "no sub claim");
  refused(rsa->Sign(R"({"sub":"alice","iss":"https://issuer.example","aud":"kafka","exp":1e300})"), "exp");
  refused(rsa->Sign(Claims(later), R"({"alg":"RS256","kid":"unknown"})"), "key id 'unknown'");
  refused(rsa->Sign(Claims(later), R"({"alg":"ES256","kid":"r1"})"), "does not sign ES256");
  const std::string unsigned_token = Url(R"({"alg":"none"})") + "." + Url(Claims(later)) + ".";
  refused(unsigned_token, "'none' is not accepted");
  refused("not-a-jwt", "not a signed JWT");
  refused("a.b.c.d", "not a signed JWT");
  refused(Url("[]") + "." + Url("{}") + ".", "not base64url JSON");
}

TEST_CASE("a JWKS document without usable keys is refused") {
  CHECK_FALSE(JsonWebKeySet::Parse("not json").ok());
  CHECK_FALSE(JsonWebKeySet::Parse(R"({"keys":"x"})").ok());
  CHECK_FALSE(JsonWebKeySet::Parse(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})").ok());  // shared secrets
  CHECK_FALSE(JsonWebKeySet::Parse(R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})").ok());  // too short
  auto ec = Ec("e");
  CHECK(JsonWebKeySet::Parse(fmt::format(R"({{"keys":[{{"kty":"EC","use":"enc"}},{}]}})", ec->Jwk())).ok());
}

TEST_CASE("OAUTHBEARER client messages parse as RFC 7628 writes them") {
  auto plain = ParseOAuthBearerMessage(OAuthBearerMessageFor("abc.def.ghi"));
  REQUIRE(plain.ok());
  CHECK(plain->token == "abc.def.ghi");
  CHECK(plain->authorization_id.empty());
  auto extended = ParseOAuthBearerMessage("n,a=alice,\x01host=b1\x01" "auth=bearer tok\x01" "ext=1\x01\x01");
  REQUIRE(extended.ok());
  CHECK(extended->authorization_id == "alice");
  CHECK(extended->token == "tok");
  for (std::string_view bad : {"", "n,,", "p,,\x01" "auth=Bearer t\x01\x01", "n,,\x01" "auth=Bearer t\x01",
                               "n,,\x01" "host=x\x01\x01", "n,,\x01" "auth=Basic t\x01\x01",
                               "n,,\x01" "auth=Bearer t\x01\x01trailing", "n,b=x,\x01" "auth=Bearer t\x01\x01",
                               "n,,\x01" "=v\x01\x01", "n,,\x01" "auth=Bearer a\x01" "auth=Bearer b\x01\x01"}) {
    CHECK_FALSE(ParseOAuthBearerMessage(bad).ok());
  }
}
