#include "controller/service/acl_changes.h"

#include <algorithm>
#include <set>
#include <string>

#include "broker/security/acl_records.h"
#include "common/absl_compat.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::controller {
namespace {

using broker::security::AclBinding;
using kafka::ErrorCode;

std::string NewAclId(const metadata::AclEntries& existing, std::mt19937_64& random) {
  while (true) {
    std::string id(16, '\0');
    for (char& byte : id) byte = static_cast<char>(static_cast<uint32_t>(random()));
    if (existing.count(id) == 0) return id;
  }
}

}  // namespace

metadata::CreateAclsResponse PlanCreateAcls(const metadata::CreateAclsRequest& request, PlanContext& ctx) {
  metadata::CreateAclsResponse response;
  std::vector<AclBinding> present;
  for (const auto& [id, entry] : *ctx.image.acls()) present.push_back(broker::security::ToBinding(entry));
  metadata::AclEntries minted;  // ids taken by this request, so that no two collide
  for (const metadata::AccessControlEntry& creation : request.creations()) {
    auto* result = response.add_results();
    const AclBinding binding = broker::security::ToBinding(creation);
    if (absl::Status valid = broker::security::ValidateBinding(binding); !valid.ok()) {
      result->set_error_code(static_cast<int32_t>(ErrorCode::kInvalidRequest));
      result->set_error_message(std::string(ToStd(valid.message())));
      continue;
    }
    // Creating a binding that exists is a success that changes nothing, as in Kafka.
    if (std::find(present.begin(), present.end(), binding) != present.end()) continue;
    present.push_back(binding);
    metadata::AccessControlEntry entry = broker::security::ToEntry(binding);
    std::string id;
    do {
      id = NewAclId(*ctx.image.acls(), ctx.random);
    } while (minted.count(id) > 0);
    entry.set_id(id);
    minted.emplace(id, entry);
    *ctx.records.emplace_back().mutable_access_control_entry() = std::move(entry);
  }
  return response;
}

metadata::DeleteAclsResponse PlanDeleteAcls(const metadata::DeleteAclsRequest& request, PlanContext& ctx) {
  metadata::DeleteAclsResponse response;
  std::set<std::string> removed;  // a binding two filters match is removed (and reported) once
  for (const metadata::AclFilter& proto : request.filters()) {
    auto* result = response.add_results();
    const broker::security::AclBindingFilter filter = broker::security::ToFilter(proto);
    if (absl::Status valid = broker::security::ValidateFilter(filter); !valid.ok()) {
      result->set_error_code(static_cast<int32_t>(ErrorCode::kInvalidRequest));
      result->set_error_message(std::string(ToStd(valid.message())));
      continue;
    }
    for (const auto& [id, entry] : *ctx.image.acls()) {
      if (removed.count(id) > 0 || !broker::security::Matches(filter, broker::security::ToBinding(entry))) continue;
      removed.insert(id);
      *result->add_deleted() = entry;
      ctx.records.emplace_back().mutable_remove_access_control_entry()->set_id(id);
    }
  }
  return response;
}

}  // namespace sluice::controller
