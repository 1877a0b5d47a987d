#pragma once
// Plans for the admin operations on topics: CreateTopics, DeleteTopics, CreatePartitions and
// (Incremental)AlterConfigs. Each validates against ctx.image with Kafka's error codes and
// appends the records of everything it accepted (a topic with all its partitions and configs).

#include "controller/service/plan_context.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::controller {

metadata::CreateTopicsResponse PlanCreateTopics(const metadata::CreateTopicsRequest& request, PlanContext& ctx);
metadata::DeleteTopicsResponse PlanDeleteTopics(const metadata::DeleteTopicsRequest& request, PlanContext& ctx);
metadata::CreatePartitionsResponse PlanCreatePartitions(const metadata::CreatePartitionsRequest& request,
                                                        PlanContext& ctx);
metadata::AlterConfigsResponse PlanAlterConfigs(const metadata::AlterConfigsRequest& request, PlanContext& ctx);

}  // namespace sluice::controller
