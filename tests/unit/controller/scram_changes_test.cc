// AlterUserScramCredentials as the controller plans it, and the bootstrap users of a new log.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "controller/service/scram_bootstrap.h"
#include "controller/service/scram_changes.h"
#include "protocol/kafka/error_codes.h"

using namespace sluice;
using namespace sluice::controller;
using kafka::ErrorCode;

namespace {

metadata::UserScramCredential Upsertion(const std::string& name, int32_t mechanism, int32_t iterations = 4096) {
  metadata::UserScramCredential u;
  u.set_name(name);
  u.set_mechanism(mechanism);
  u.set_iterations(iterations);
  u.set_salt("salt");
  const size_t size = mechanism == metadata::kScramSha512 ? 64 : 32;
  u.set_stored_key(std::string(size, 's'));
  u.set_server_key(std::string(size, 'k'));
  return u;
}

struct Planner {
  metadata::MetadataImage image;
  ControllerOptions options;
  std::mt19937_64 random{1};
  std::vector<metadata::Record> records;

  metadata::AlterUserScramCredentialsResponse Plan(const metadata::AlterUserScramCredentialsRequest& request) {
    records.clear();
    PlanContext ctx{.image = image, .options = options, .random = random, .records = records};
    auto response = PlanAlterUserScramCredentials(request, ctx);
    REQUIRE(response.ok());
    google::protobuf::RepeatedPtrField<metadata::Record> entry(records.begin(), records.end());
    REQUIRE(image.ApplyEntry(entry, image.offset() + 1).ok());
    return *response;
  }
};

void Delete(metadata::AlterUserScramCredentialsRequest& request, const std::string& name, int32_t mechanism) {
  auto* d = request.add_deletions();
  d->set_name(name);
  d->set_mechanism(mechanism);
}

}  // namespace

TEST_CASE("AlterUserScramCredentials upserts and deletes, refusing each bad alteration with Kafka's code") {
  Planner planner;
  metadata::AlterUserScramCredentialsRequest create;
  *create.add_upsertions() = Upsertion("alice", metadata::kScramSha256);
  *create.add_upsertions() = Upsertion("bob", metadata::kScramSha512, 16384);
  *create.add_upsertions() = Upsertion("", metadata::kScramSha256);
  *create.add_upsertions() = Upsertion("carol", metadata::kScramSha256, 4095);
  *create.add_upsertions() = Upsertion("dave", metadata::kScramSha256, 16385);
  *create.add_upsertions() = Upsertion("erin", 3);
  *create.add_upsertions() = Upsertion("frank", metadata::kScramSha256);
  *create.add_upsertions() = Upsertion("frank", metadata::kScramSha512);
  auto bad_keys = Upsertion("gina", metadata::kScramSha512);
  bad_keys.set_stored_key("short");
  *create.add_upsertions() = bad_keys;
  auto response = planner.Plan(create);
  REQUIRE(response.results_size() == 8);
  auto expect = [&](int i, const std::string& user, ErrorCode code) {
    CHECK(response.results(i).user() == user);
    CHECK(response.results(i).error_code() == static_cast<int32_t>(code));
  };
  expect(0, "alice", ErrorCode::kNone);
  expect(1, "bob", ErrorCode::kNone);
  expect(2, "", ErrorCode::kUnacceptableCredential);
  expect(3, "carol", ErrorCode::kUnacceptableCredential);
  CHECK(response.results(3).error_message() == "Too few iterations");
  expect(4, "dave", ErrorCode::kUnacceptableCredential);
  CHECK(response.results(4).error_message() == "Too many iterations");
  expect(5, "erin", ErrorCode::kUnsupportedSaslMechanism);
  expect(6, "frank", ErrorCode::kDuplicateResource);
  expect(7, "gina", ErrorCode::kUnacceptableCredential);
  REQUIRE(planner.image.scram_credentials().size() == 2);
  CHECK(planner.image.scram_credentials().at("bob").at(metadata::kScramSha512).iterations == 16384);

  metadata::AlterUserScramCredentialsRequest remove;
  Delete(remove, "alice", metadata::kScramSha256);
  Delete(remove, "bob", metadata::kScramSha256);  // bob has SHA-512 only
  Delete(remove, "nobody", metadata::kScramSha512);
  Delete(remove, "bob", metadata::kScramSha512);  // bob twice: refused, nothing removed
  Delete(remove, "zed", 0);
  response = planner.Plan(remove);
  REQUIRE(response.results_size() == 4);
  expect(0, "alice", ErrorCode::kNone);
  expect(1, "bob", ErrorCode::kDuplicateResource);
  expect(2, "nobody", ErrorCode::kResourceNotFound);
  expect(3, "zed", ErrorCode::kUnsupportedSaslMechanism);
  CHECK(planner.image.scram_credentials().count("alice") == 0);
  CHECK(planner.image.scram_credentials().count("bob") == 1);

  // A deletion and an upsertion of one user in the same request is a duplicate too.
  metadata::AlterUserScramCredentialsRequest both;
  Delete(both, "bob", metadata::kScramSha512);
  *both.add_upsertions() = Upsertion("bob", metadata::kScramSha256);
  response = planner.Plan(both);
  REQUIRE(response.results_size() == 1);
  expect(0, "bob", ErrorCode::kDuplicateResource);
  CHECK(planner.records.empty());
}

TEST_CASE("bootstrap credentials are parsed from kafka-storage's syntax and written only to a new log") {
  auto parsed = ParseScramBootstrap(
      "SCRAM-SHA-512=[name=admin,password=admin-secret]; SCRAM-SHA-256=[name=alice,password=\"a,b]c\",iterations=8192]");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0].name() == "admin");
  CHECK((*parsed)[0].mechanism() == metadata::kScramSha512);
  CHECK((*parsed)[0].iterations() == 4096);
  CHECK((*parsed)[0].stored_key().size() == 64);
  CHECK((*parsed)[1].name() == "alice");
  CHECK((*parsed)[1].iterations() == 8192);
  CHECK((*parsed)[1].server_key().size() == 32);
  CHECK(ParseScramBootstrap("")->empty());
  for (const char* bad : {"SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-256=[name=a]", "SCRAM-SHA-256=[password=b]",
                          "SCRAM-SHA-256=name=a,password=b", "SCRAM-SHA-256=[name=a,password=b,iterations=100]",
                          "SCRAM-SHA-256=[name=a,password=b,iterations=x]", "SCRAM-SHA-256=[name=a,password=b,colour=c]",
                          "SCRAM-SHA-256=[name=a,password=\"b]", "SCRAM-SHA-256=[name=a,name=b,password=c]",
                          "SCRAM-SHA-256=[name=a,password=b];SCRAM-SHA-256=[name=a,password=c]"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseScramBootstrap(bad).ok());
  }

  Planner planner;
  std::vector<metadata::Record> records;
  PlanContext fresh{.image = planner.image, .options = planner.options, .random = planner.random, .records = records};
  PlanBootstrapScramCredentials(*parsed, fresh);
  CHECK(records.size() == 2);
  records.clear();
  metadata::Record minted;
  minted.mutable_cluster_id()->set_cluster_id("minted");
  REQUIRE(planner.image.Apply(minted, 1).ok());
  PlanContext old{.image = planner.image, .options = planner.options, .random = planner.random, .records = records};
  PlanBootstrapScramCredentials(*parsed, old);
  CHECK(records.empty());
}
