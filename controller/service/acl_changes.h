#pragma once
// Plans for Kafka's CreateAcls and DeleteAcls: validate against ctx.image, append the ACL
// records, answer per creation or per filter with Kafka's error codes.

#include "controller/service/plan_context.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

metadata::CreateAclsResponse PlanCreateAcls(const metadata::CreateAclsRequest& request, PlanContext& ctx);
metadata::DeleteAclsResponse PlanDeleteAcls(const metadata::DeleteAclsRequest& request, PlanContext& ctx);

}  // namespace sluice::controller
