#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "broker/security/scram_client.h"
#include "broker/security/scram_credential.h"
#include "broker/security/scram_messages.h"
#include "broker/security/scram_server.h"

using namespace sluice::broker::security;

namespace {

// RFC 7677 section 3: user "user", password "pencil".
constexpr const char* kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

ScramCredential Rfc7677Credential() {
  const std::string salt = *DecodeBase64("W22ZaJ0SNY7soEsUEjb6gQ==");
  auto salted = SaltedPassword(ScramMechanism::kSha256, "pencil", salt, 4096);
  REQUIRE(salted.ok());
  return CredentialFromSaltedPassword(ScramMechanism::kSha256, salt, *salted, 4096);
}

// A server that knows `users` (name -> credential) for one mechanism.
ScramServerExchange ServerFor(ScramMechanism mechanism, std::map<std::string, ScramCredential> users,
                              std::string nonce = "") {
  return ScramServerExchange(
      mechanism,
      [users = std::move(users)](const std::string& name) -> std::optional<ScramCredential> {
        auto it = users.find(name);
        if (it == users.end()) return std::nullopt;
        return it->second;
      },
      std::move(nonce));
}

// Runs a whole exchange; returns the server's status at the step that failed, or OK.
absl::Status RunExchange(ScramMechanism mechanism, const std::string& user, const std::string& password,
                         ScramServerExchange& server) {
  auto client = ScramClientExchange::Start(mechanism, user, password);
  REQUIRE(client.ok());
  auto server_first = server.Evaluate(client->first_message());
  if (!server_first.ok()) return server_first.status();
  auto client_final = client->FinalMessage(*server_first);
  REQUIRE(client_final.ok());
  auto server_final = server.Evaluate(*client_final);
  if (!server_final.ok()) return server_final.status();
  REQUIRE(server.complete());
  return client->VerifyServerFinal(*server_final);
}

}  // namespace

TEST_CASE("SCRAM-SHA-256 follows RFC 7677's test vector, on the server side") {
  auto server = ServerFor(ScramMechanism::kSha256, {{"user", Rfc7677Credential()}}, kServerNonce);
  auto server_first = server.Evaluate(kClientFirst);
  REQUIRE(server_first.ok());
  CHECK(*server_first == kServerFirst);
  CHECK_FALSE(server.complete());
  auto server_final = server.Evaluate(kClientFinal);
  REQUIRE(server_final.ok());
  CHECK(*server_final == kServerFinal);
  CHECK(server.complete());
  CHECK(server.username() == "user");
  // The exchange is over: nothing more is accepted.
  CHECK_FALSE(server.Evaluate(kClientFinal).ok());
}

TEST_CASE("SCRAM-SHA-256 follows RFC 7677's test vector, on the client side") {
  auto client = ScramClientExchange::Start(ScramMechanism::kSha256, "user", "pencil", kClientNonce);
  REQUIRE(client.ok());
  CHECK(client->first_message() == kClientFirst);
  auto client_final = client->FinalMessage(kServerFirst);
  REQUIRE(client_final.ok());
  CHECK(*client_final == kClientFinal);
  CHECK(client->VerifyServerFinal(kServerFinal).ok());
  CHECK_FALSE(client->VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=").ok());
  CHECK_FALSE(client->VerifyServerFinal("e=invalid-proof").ok());
}

TEST_CASE("SCRAM-SHA-512 and SCRAM-SHA-256 credentials log their user in and no other password") {
  for (ScramMechanism mechanism : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    for (int32_t iterations : {kScramMinIterations, kScramMaxIterations}) {
      auto credential = NewScramCredential(mechanism, "alice-secret", iterations);
      REQUIRE(credential.ok());
      CHECK(credential->stored_key.size() == ScramKeySize(mechanism));
      CHECK(credential->server_key.size() == ScramKeySize(mechanism));
      CHECK(credential->iterations == iterations);
      auto good = ServerFor(mechanism, {{"alice", *credential}});
      CHECK(RunExchange(mechanism, "alice", "alice-secret", good).ok());
      auto wrong_password = ServerFor(mechanism, {{"alice", *credential}});
      CHECK_FALSE(RunExchange(mechanism, "alice", "alice-secreT", wrong_password).ok());
      CHECK_FALSE(wrong_password.complete());
      auto unknown_user = ServerFor(mechanism, {{"alice", *credential}});
      CHECK(absl::IsUnauthenticated(RunExchange(mechanism, "mallory", "alice-secret", unknown_user)));
    }
  }
  // Each credential gets its own salt.
  CHECK(NewScramCredential(ScramMechanism::kSha512, "pw", 4096)->salt !=
        NewScramCredential(ScramMechanism::kSha512, "pw", 4096)->salt);
}

TEST_CASE("a credential derived from a salted password equals the one derived from the password") {
  const std::string salt = "some-salt";
  auto salted = SaltedPassword(ScramMechanism::kSha512, "secret", salt, 8192);
  REQUIRE(salted.ok());
  CHECK(salted->size() == 64);
  const ScramCredential credential = CredentialFromSaltedPassword(ScramMechanism::kSha512, salt, *salted, 8192);
  auto server = ServerFor(ScramMechanism::kSha512, {{"bob", credential}});
  CHECK(RunExchange(ScramMechanism::kSha512, "bob", "secret", server).ok());
}

TEST_CASE("the client-first message is refused for each of Kafka's reasons") {
  const ScramCredential credential = Rfc7677Credential();
  auto first_refused = [&](const std::string& message) {
    auto server = ServerFor(ScramMechanism::kSha256, {{"user", credential}, {"a,b=c", credential}});
    auto answer = server.Evaluate(message);
    CHECK_FALSE(answer.ok());
    // A failed exchange stays failed.
    CHECK_FALSE(server.Evaluate(kClientFinal).ok());
    return answer.status();
  };
  // A foreign authorization id, with Kafka's message for the client.
  auto foreign = first_refused("n,a=admin,n=user,r=abc");
  CHECK(absl::IsPermissionDenied(foreign));
  CHECK(std::string(foreign.message()) ==
        "Authentication failed: Client requested an authorization id that is different from username");
  // Delegation tokens are not supported; unknown and mandatory extensions neither.
  CHECK(absl::IsUnauthenticated(first_refused("n,,n=user,r=abc,tokenauth=true")));
  CHECK(absl::IsUnauthenticated(first_refused("n,,n=user,r=abc,colour=blue")));
  (void)first_refused("n,,m=ext,n=user,r=abc");
  (void)first_refused("n,,n=user,r=abc,m=x");
  (void)first_refused("n,,n=user,r=abc,tokenauth=false,tokenauth=false");
  // Channel binding needs TLS; malformed headers.
  (void)first_refused("p=tls-unique,,n=user,r=abc");
  (void)first_refused("n,n=user,r=abc");
  (void)first_refused("n");
  (void)first_refused("");
  (void)first_refused("n,x=y,n=user,r=abc");
  (void)first_refused("n,a=,n=user,r=abc");
  // Missing, empty or badly escaped names and nonces.
  (void)first_refused("n,,r=abc");
  (void)first_refused("n,,n=,r=abc");
  (void)first_refused("n,,n=us=er,r=abc");
  (void)first_refused("n,,n=user=2");
  (void)first_refused("n,,n=user");
  (void)first_refused("n,,n=user,r=");
  (void)first_refused(std::string("n,,n=user,r=a\x01", 14));
  (void)first_refused("n,,n=user,x=abc");
  // An unknown user.
  CHECK(absl::IsUnauthenticated(first_refused("n,,n=nobody,r=abc")));
}

TEST_CASE("accepted client-first messages: an equal authorization id, escaped names, tokenauth=false, 'y'") {
  const ScramCredential credential = Rfc7677Credential();
  for (const std::string message : {"n,a=user,n=user,r=abc", "n,,n=user,r=abc,tokenauth=false", "y,,n=user,r=abc",
                                    "n,,n=a=2Cb=3Dc,r=abc"}) {
    auto server = ServerFor(ScramMechanism::kSha256, {{"user", credential}, {"a,b=c", credential}});
    auto answer = server.Evaluate(message);
    CHECK(answer.ok());
  }
}

TEST_CASE("the client-final message is refused for a wrong channel binding, nonce or proof") {
  auto final_refused = [](const std::string& client_first, const std::string& client_final) {
    auto server = ServerFor(ScramMechanism::kSha256, {{"user", Rfc7677Credential()}}, kServerNonce);
    REQUIRE(server.Evaluate(client_first).ok());
    auto answer = server.Evaluate(client_final);
    CHECK_FALSE(answer.ok());
    CHECK_FALSE(server.complete());
  };
  const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  final_refused(kClientFirst, "c=eSws," + nonce + "," + proof);  // "y,,": not what the client sent
  final_refused("n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO", "c=biws," + nonce + "," + proof);
  final_refused(kClientFirst, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1," + proof);
  final_refused(kClientFirst, "c=biws,r=rOprNGfwEbeRWgbNEkqO," + proof);
  final_refused(kClientFirst, "c=biws," + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=");
  final_refused(kClientFirst, "c=biws," + nonce + ",p=dHzb");
  final_refused(kClientFirst, "c=biws," + nonce + ",p=AAAA");
  final_refused(kClientFirst, "c=biws," + nonce);
  final_refused(kClientFirst, "c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  final_refused(kClientFirst, "c=biws," + nonce + ",x=1," + proof);
  final_refused(kClientFirst, "c=bi!s," + nonce + "," + proof);
}

TEST_CASE("a client reuses the salted password of its last login for the same salt and iterations") {
  SaltedPasswordCache cache;
  for (int login = 0; login < 2; ++login) {
    auto client = ScramClientExchange::Start(ScramMechanism::kSha256, "user", "pencil", kClientNonce);
    REQUIRE(client.ok());
    auto client_final = client->FinalMessage(kServerFirst, &cache);
    REQUIRE(client_final.ok());
    CHECK(*client_final == kClientFinal);
    CHECK(client->VerifyServerFinal(kServerFinal).ok());
  }
  CHECK(cache.iterations == 4096);
  CHECK(cache.salted_password == *SaltedPassword(ScramMechanism::kSha256, "pencil", cache.salt, 4096));
  // Another salt is salted afresh (and replaces the cached one).
  auto client = ScramClientExchange::Start(ScramMechanism::kSha256, "user", "pencil", kClientNonce);
  REQUIRE(client.ok());
  REQUIRE(client->FinalMessage("r=rOprNGfwEbeRWgbNEkqOxyz,s=c2FsdA==,i=4096", &cache).ok());
  CHECK(cache.salt == "salt");
}

TEST_CASE("a client refuses a server that does not extend its nonce, or asks for too few or too many iterations") {
  auto refused = [](const std::string& server_first) {
    auto client = ScramClientExchange::Start(ScramMechanism::kSha256, "user", "pencil", kClientNonce);
    REQUIRE(client.ok());
    CHECK_FALSE(client->FinalMessage(server_first).ok());
  };
  refused("r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  refused("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  refused("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095");
  refused("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16385");
  refused("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096");
  refused("r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096");
  refused("r=rOprNGfwEbeRWgbNEkqOx,i=4096");
  // Before a server-first message there is nothing to verify.
  auto client = ScramClientExchange::Start(ScramMechanism::kSha256, "user", "pencil");
  REQUIRE(client.ok());
  CHECK_FALSE(client->VerifyServerFinal(kServerFinal).ok());
  CHECK_FALSE(ScramClientExchange::Start(ScramMechanism::kSha256, "", "pencil").ok());
}

TEST_CASE("saslnames and base64 are encoded and decoded strictly") {
  CHECK(EscapeSaslName("a,b=c") == "a=2Cb=3Dc");
  CHECK(*UnescapeSaslName("a=2Cb=3Dc") == "a,b=c");
  CHECK_FALSE(UnescapeSaslName("a=2").ok());
  CHECK_FALSE(UnescapeSaslName("a=41").ok());
  CHECK(*DecodeBase64("biws") == "n,,");
  CHECK_FALSE(DecodeBase64("biw").ok());
  CHECK_FALSE(DecodeBase64("bi ws").ok());
  CHECK(ScramMechanismNamed("SCRAM-SHA-512") == ScramMechanism::kSha512);
  CHECK_FALSE(ScramMechanismNamed("SCRAM-SHA-1").has_value());
  CHECK(ScramMechanismOfType(1) == ScramMechanism::kSha256);
  CHECK_FALSE(ScramMechanismOfType(0).has_value());
  CHECK_FALSE(ScramMechanismOfType(3).has_value());
}
