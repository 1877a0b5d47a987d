#include <catch2/catch.hpp>

#include "controller/service/metadata_state_machine.h"
#include "test_quorum.h"

using namespace sluice;
using namespace sluice::controller::testing;
using kafka::ErrorCode;

namespace {

metadata::AccessControlEntry Binding(const std::string& topic, int32_t pattern, const std::string& principal,
                                     int32_t operation, int32_t permission = 3) {
  metadata::AccessControlEntry e;
  e.set_resource_type(2);  // TOPIC
  e.set_resource_name(topic);
  e.set_pattern_type(pattern);
  e.set_principal(principal);
  e.set_host("*");
  e.set_operation(operation);
  e.set_permission(permission);
  return e;
}

constexpr int32_t kLiteral = 3, kPrefixed = 4, kRead = 3, kWrite = 4;

}  // namespace

TEST_CASE("CreateAcls stores valid bindings once and refuses invalid ones with INVALID_REQUEST") {
  Fixture f;
  metadata::CreateAclsRequest request;
  *request.add_creations() = Binding("orders-", kPrefixed, "User:c", kRead);
  *request.add_creations() = Binding("orders-", kPrefixed, "User:c", kRead);  // the same again
  *request.add_creations() = Binding("t", kLiteral, "no-colon", kRead);
  *request.add_creations() = Binding("t", /*MATCH*/ 2, "User:c", kRead);
  auto created = f.Run<metadata::CreateAclsResponse>([&](auto reply) { f.c().CreateAcls(request, reply); });
  REQUIRE(created.ok());
  REQUIRE(created->results_size() == 4);
  CHECK(created->results(0).error_code() == 0);
  CHECK(created->results(1).error_code() == 0);
  CHECK(created->results(2).error_code() == Code(ErrorCode::kInvalidRequest));
  CHECK(created->results(3).error_code() == Code(ErrorCode::kInvalidRequest));
  CHECK(created->metadata_offset() == f.image().offset());
  REQUIRE(f.image().acls()->size() == 1);
  const auto& [id, stored] = *f.image().acls()->begin();
  CHECK(id.size() == 16);
  CHECK(stored.resource_name() == "orders-");

  // Created again later: still one.
  metadata::CreateAclsRequest again;
  *again.add_creations() = Binding("orders-", kPrefixed, "User:c", kRead);
  REQUIRE(f.Run<metadata::CreateAclsResponse>([&](auto reply) { f.c().CreateAcls(again, reply); }).ok());
  CHECK(f.image().acls()->size() == 1);
}

TEST_CASE("DeleteAcls removes what each filter matches and reports it; snapshots carry ACLs") {
  Fixture f;
  metadata::CreateAclsRequest request;
  *request.add_creations() = Binding("a", kLiteral, "User:x", kRead);
  *request.add_creations() = Binding("b", kLiteral, "User:x", kWrite);
  *request.add_creations() = Binding("b", kLiteral, "User:y", kWrite, /*DENY*/ 2);
  REQUIRE(f.Run<metadata::CreateAclsResponse>([&](auto reply) { f.c().CreateAcls(request, reply); }).ok());
  REQUIRE(f.image().acls()->size() == 3);

  controller::MetadataStateMachine restored(10);
  REQUIRE(restored.Restore(f.c().TakeSnapshot()).ok());
  CHECK(restored.image().acls()->size() == 3);
  CHECK(metadata::ToSnapshot(restored.image()).SerializeAsString() == metadata::ToSnapshot(f.image()).SerializeAsString());

  metadata::DeleteAclsRequest deletion;
  auto* by_principal = deletion.add_filters();
  by_principal->set_resource_type(/*ANY*/ 1);
  by_principal->set_pattern_type(/*ANY*/ 1);
  by_principal->set_principal("User:x");
  by_principal->set_operation(/*ANY*/ 1);
  by_principal->set_permission(/*ANY*/ 1);
  auto* overlapping = deletion.add_filters();
  *overlapping = *by_principal;
  overlapping->clear_principal();
  overlapping->set_resource_name("a");
  auto* unknown = deletion.add_filters();
  *unknown = *by_principal;
  unknown->set_operation(0);
  auto deleted = f.Run<metadata::DeleteAclsResponse>([&](auto reply) { f.c().DeleteAcls(deletion, reply); });
  REQUIRE(deleted.ok());
  REQUIRE(deleted->results_size() == 3);
  CHECK(deleted->results(0).deleted_size() == 2);
  CHECK(deleted->results(1).deleted_size() == 0);  // already removed by the first filter
  CHECK(deleted->results(2).error_code() == Code(ErrorCode::kInvalidRequest));
  REQUIRE(f.image().acls()->size() == 1);
  CHECK(f.image().acls()->begin()->second.principal() == "User:y");
}

TEST_CASE("an ACL record needs a 16-byte id not in use; removing an unknown id changes nothing") {
  metadata::MetadataImage image;
  metadata::Record record;
  *record.mutable_access_control_entry() = Binding("t", kLiteral, "User:a", kRead);
  record.mutable_access_control_entry()->set_id("short");
  CHECK_FALSE(image.Apply(record, 1).ok());
  record.mutable_access_control_entry()->set_id(std::string(16, 'x'));
  REQUIRE(image.Apply(record, 2).ok());
  const auto before = image.acls();
  CHECK_FALSE(image.Apply(record, 3).ok());
  metadata::Record removal;
  removal.mutable_remove_access_control_entry()->set_id(std::string(16, 'y'));
  REQUIRE(image.Apply(removal, 4).ok());
  CHECK(image.acls() == before);  // unchanged, not even copied
  removal.mutable_remove_access_control_entry()->set_id(std::string(16, 'x'));
  REQUIRE(image.Apply(removal, 5).ok());
  CHECK(image.acls()->empty());
  CHECK(before->size() == 1);  // an image published earlier keeps its ACLs
}
