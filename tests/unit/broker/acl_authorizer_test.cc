#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "broker/security/acl_authorizer.h"
#include "broker/security/acl_binding.h"
#include "broker/security/acl_principal.h"

using namespace sluice::broker::security;

namespace {

AclBinding Acl(ResourceType type, std::string name, PatternType pattern, std::string principal, AclOperation op,
               AclPermission permission = AclPermission::kAllow, std::string host = "*") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), std::move(host), op, permission};
}

constexpr auto kTopic = ResourceType::kTopic;
constexpr auto kGroup = ResourceType::kGroup;
constexpr auto kLiteral = PatternType::kLiteral;
constexpr auto kPrefixed = PatternType::kPrefixed;

}  // namespace

TEST_CASE("wire codes are Kafka's and unknown codes read as UNKNOWN") {
  CHECK(static_cast<int>(ResourceType::kTransactionalId) == 5);
  CHECK(static_cast<int>(PatternType::kPrefixed) == 4);
  CHECK(static_cast<int>(AclOperation::kIdempotentWrite) == 12);
  CHECK(static_cast<int>(AclPermission::kAllow) == 3);
  CHECK(ToResourceType(8) == ResourceType::kUnknown);
  CHECK(ToAclOperation(-1) == AclOperation::kUnknown);
  CHECK(ToAclOperation(14) == AclOperation::kDescribeTokens);
  CHECK(AclOperationName(AclOperation::kDescribeConfigs) == "DESCRIBE_CONFIGS");
}

TEST_CASE("principals are Type:name; super.users is a semicolon-separated list of them") {
  auto alice = ParsePrincipal("User:alice");
  REQUIRE(alice.ok());
  CHECK(alice->type == "User");
  CHECK(alice->name == "alice");
  CHECK(ParsePrincipal("User:CN=a,O=b:c")->name == "CN=a,O=b:c");
  CHECK_FALSE(ParsePrincipal("alice").ok());
  CHECK_FALSE(ParsePrincipal(":alice").ok());
  CHECK_FALSE(ParsePrincipal("User:").ok());
  auto supers = ParseSuperUsers(" User:admin ; User:CN=x,O=y;;");
  REQUIRE(supers.ok());
  CHECK(*supers == std::vector<std::string>{"User:admin", "User:CN=x,O=y"});
  CHECK(ParseSuperUsers("")->empty());
  CHECK_FALSE(ParseSuperUsers("User:a;bob").ok());
}

TEST_CASE("CreateAcls validation refuses what Kafka refuses") {
  const AclBinding good = Acl(kTopic, "t", kLiteral, "User:a", AclOperation::kRead);
  CHECK(ValidateBinding(good).ok());
  auto refused = [&](auto change) {
    AclBinding b = good;
    change(b);
    return !ValidateBinding(b).ok();
  };
  CHECK(refused([](AclBinding& b) { b.resource_type = ResourceType::kAny; }));
  CHECK(refused([](AclBinding& b) { b.resource_type = ResourceType::kUnknown; }));
  CHECK(refused([](AclBinding& b) { b.pattern_type = PatternType::kMatch; }));
  CHECK(refused([](AclBinding& b) { b.pattern_type = PatternType::kAny; }));
  CHECK(refused([](AclBinding& b) { b.operation = AclOperation::kAny; }));
  CHECK(refused([](AclBinding& b) { b.permission = AclPermission::kAny; }));
  CHECK(refused([](AclBinding& b) { b.principal = "alice"; }));
  CHECK(refused([](AclBinding& b) { b.host = ""; }));
  CHECK(refused([](AclBinding& b) { b.resource_name = ""; }));
  auto valid = [](const AclBinding& b) { return ValidateBinding(b).ok(); };
  CHECK_FALSE(valid(Acl(kTopic, "*", kPrefixed, "User:a", AclOperation::kRead)));
  CHECK_FALSE(valid(Acl(ResourceType::kCluster, "c", kLiteral, "User:a", AclOperation::kAlter)));
  CHECK(valid(Acl(ResourceType::kCluster, "kafka-cluster", kLiteral, "User:a", AclOperation::kAlter)));
  CHECK(valid(Acl(kTopic, "*", kLiteral, "User:a", AclOperation::kRead)));
  CHECK_FALSE(refused([](AclBinding& b) { b.principal = "User:*"; }));
}

TEST_CASE("filters match as DescribeAcls and DeleteAcls match them") {
  const AclBinding literal = Acl(kTopic, "orders", kLiteral, "User:a", AclOperation::kRead);
  const AclBinding wildcard = Acl(kTopic, "*", kLiteral, "User:a", AclOperation::kRead);
  const AclBinding prefixed = Acl(kTopic, "ord", kPrefixed, "User:a", AclOperation::kRead);
  const AclBinding group = Acl(kGroup, "orders", kLiteral, "User:b", AclOperation::kRead, AclPermission::kDeny);

  AclBindingFilter any;
  CHECK(Matches(any, literal));
  CHECK(Matches(any, group));
  CHECK(ValidateFilter(any).ok());

  AclBindingFilter exact{.resource_type = kTopic, .resource_name = "orders", .pattern_type = PatternType::kAny};
  CHECK(Matches(exact, literal));
  CHECK_FALSE(Matches(exact, wildcard));
  CHECK_FALSE(Matches(exact, prefixed));
  CHECK_FALSE(Matches(exact, group));

  AclBindingFilter match{.resource_type = kTopic, .resource_name = "orders", .pattern_type = PatternType::kMatch};
  CHECK(Matches(match, literal));
  CHECK(Matches(match, wildcard));
  CHECK(Matches(match, prefixed));
  AclBindingFilter other = match;
  other.resource_name = "payments";
  CHECK_FALSE(Matches(other, literal));
  CHECK(Matches(other, wildcard));
  CHECK_FALSE(Matches(other, prefixed));

  AclBindingFilter by_pattern{.pattern_type = kPrefixed};
  CHECK(Matches(by_pattern, prefixed));
  CHECK_FALSE(Matches(by_pattern, literal));

  AclBindingFilter by_entry{.principal = "User:b", .permission = AclPermission::kDeny};
  CHECK(Matches(by_entry, group));
  CHECK_FALSE(Matches(by_entry, literal));
  AclBindingFilter by_operation{.operation = AclOperation::kWrite};
  CHECK_FALSE(Matches(by_operation, literal));
  AclBindingFilter by_host{.host = "10.0.0.1"};
  CHECK_FALSE(Matches(by_host, literal));

  AclBindingFilter unknown{.operation = AclOperation::kUnknown};
  CHECK_FALSE(ValidateFilter(unknown).ok());
}

TEST_CASE("the authorizer: prefixed READ lets a consumer read but not write") {
  AclAuthorizer authorizer({}, {Acl(kTopic, "orders-", kPrefixed, "User:c", AclOperation::kRead),
                                Acl(kGroup, "cg", kLiteral, "User:c", AclOperation::kRead)});
  CHECK(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kRead, kTopic, "orders-1"));
  CHECK(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kDescribe, kTopic, "orders-1"));  // implied
  CHECK_FALSE(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kWrite, kTopic, "orders-1"));
  CHECK_FALSE(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kRead, kTopic, "payments"));
  CHECK_FALSE(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kRead, kTopic, "orders"));
  CHECK_FALSE(authorizer.Authorize("User:d", "127.0.0.1", AclOperation::kRead, kTopic, "orders-1"));
  CHECK(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kRead, kGroup, "cg"));
  CHECK_FALSE(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kDelete, kGroup, "cg"));
  CHECK_FALSE(authorizer.Authorize("User:c", "127.0.0.1", AclOperation::kCreate, ResourceType::kCluster, "kafka-cluster"));
}

TEST_CASE("the authorizer: DENY beats ALLOW, wildcards, hosts, implied operations") {
  AclAuthorizer authorizer({}, {Acl(kTopic, "*", kLiteral, "User:*", AclOperation::kAll),
                                Acl(kTopic, "secret", kLiteral, "User:e", AclOperation::kRead, AclPermission::kDeny),
                                Acl(kTopic, "cfg", kLiteral, "User:f", AclOperation::kAlterConfigs),
                                Acl(kTopic, "local", kLiteral, "User:g", AclOperation::kWrite, AclPermission::kAllow,
                                    "10.0.0.7")});
  CHECK(authorizer.Authorize("User:e", "h", AclOperation::kWrite, kTopic, "secret"));
  CHECK_FALSE(authorizer.Authorize("User:e", "h", AclOperation::kRead, kTopic, "secret"));
  CHECK(authorizer.Authorize("User:e", "h", AclOperation::kDescribe, kTopic, "secret"));  // DENY READ is not DENY DESCRIBE
  CHECK(authorizer.Authorize("User:x", "h", AclOperation::kRead, kTopic, "secret"));
  CHECK_FALSE(authorizer.Authorize("Group:x", "h", AclOperation::kRead, kGroup, "any"));

  AclAuthorizer narrow({}, {Acl(kTopic, "cfg", kLiteral, "User:f", AclOperation::kAlterConfigs),
                            Acl(kTopic, "local", kLiteral, "User:g", AclOperation::kWrite, AclPermission::kAllow,
                                "10.0.0.7"),
                            Acl(kTopic, "all", kLiteral, "User:g", AclOperation::kAll),
                            Acl(kTopic, "all", kLiteral, "User:g", AclOperation::kAll, AclPermission::kDeny,
                                "10.0.0.9")});
  CHECK(narrow.Authorize("User:f", "h", AclOperation::kDescribeConfigs, kTopic, "cfg"));
  CHECK_FALSE(narrow.Authorize("User:f", "h", AclOperation::kDescribe, kTopic, "cfg"));
  CHECK(narrow.Authorize("User:g", "10.0.0.7", AclOperation::kWrite, kTopic, "local"));
  CHECK_FALSE(narrow.Authorize("User:g", "10.0.0.8", AclOperation::kWrite, kTopic, "local"));
  CHECK(narrow.Authorize("User:g", "10.0.0.8", AclOperation::kDelete, kTopic, "all"));
  CHECK_FALSE(narrow.Authorize("User:g", "10.0.0.9", AclOperation::kRead, kTopic, "all"));
}

TEST_CASE("super users may do everything; allow.everyone.if.no.acl.found covers resources without ACLs") {
  const std::vector<AclBinding> acls = {Acl(kTopic, "guarded", kLiteral, "User:a", AclOperation::kRead)};
  AclAuthorizer strict({.super_users = {"User:admin"}}, acls);
  CHECK(strict.Authorize("User:admin", "h", AclOperation::kAlter, ResourceType::kCluster, "kafka-cluster"));
  CHECK_FALSE(strict.Authorize("User:b", "h", AclOperation::kRead, kTopic, "open"));
  AclAuthorizer lenient({.allow_everyone_if_no_acl_found = true}, acls);
  CHECK(lenient.Authorize("User:b", "h", AclOperation::kRead, kTopic, "open"));
  CHECK_FALSE(lenient.Authorize("User:b", "h", AclOperation::kRead, kTopic, "guarded"));
}

TEST_CASE("authorize by resource type: some allowed resource that no denial covers") {
  AclAuthorizer none({}, {});
  CHECK_FALSE(none.AuthorizeAny("User:p", "h", AclOperation::kWrite, kTopic));
  AclAuthorizer one({}, {Acl(kTopic, "t", kLiteral, "User:p", AclOperation::kWrite)});
  CHECK(one.AuthorizeAny("User:p", "h", AclOperation::kWrite, kTopic));
  CHECK_FALSE(one.AuthorizeAny("User:q", "h", AclOperation::kWrite, kTopic));
  AclAuthorizer denied({}, {Acl(kTopic, "t-1", kLiteral, "User:p", AclOperation::kWrite),
                            Acl(kTopic, "t-", kPrefixed, "User:p", AclOperation::kWrite, AclPermission::kDeny)});
  CHECK_FALSE(denied.AuthorizeAny("User:p", "h", AclOperation::kWrite, kTopic));
  AclAuthorizer everywhere({}, {Acl(kTopic, "t", kLiteral, "User:p", AclOperation::kWrite),
                                Acl(kTopic, "*", kLiteral, "User:*", AclOperation::kAll, AclPermission::kDeny)});
  CHECK_FALSE(everywhere.AuthorizeAny("User:p", "h", AclOperation::kWrite, kTopic));
}

TEST_CASE("authorized operations are Kafka's bit set for the resource type") {
  AclAuthorizer authorizer({}, {Acl(kTopic, "t", kLiteral, "User:a", AclOperation::kRead),
                                Acl(kGroup, "g", kLiteral, "User:a", AclOperation::kAll)});
  const int32_t read = 1 << 3, describe = 1 << 8, del = 1 << 6;
  CHECK(authorizer.AuthorizedOperations("User:a", "h", kTopic, "t") == (read | describe));
  CHECK(authorizer.AuthorizedOperations("User:a", "h", kGroup, "g") == (read | describe | del));
  CHECK(authorizer.AuthorizedOperations("User:b", "h", kTopic, "t") == 0);
}
