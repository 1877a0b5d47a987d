#include "controller/service/topic_changes.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "controller/placement/replica_placement.h"
#include "controller/service/partition_rules.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/metadata/topic_config.h"
#include "protocol/metadata/topic_names.h"

namespace sluice::controller {
namespace {

using kafka::ErrorCode;
using metadata::Record;

// Kafka's controller refuses a request that would create more partitions than this, before
// allocating anything (POLICY_VIOLATION for every topic of the request).
constexpr int64_t kMaxPartitionsPerRequest = 10'000;
constexpr char kTooManyPartitions[] = "Excessively large number of partitions per request.";

int32_t Code(ErrorCode code) { return static_cast<int32_t>(code); }

metadata::TopicResult ValidateNewTopic(const metadata::CreatableTopic& topic, int32_t default_partitions,
                                       int32_t default_replication, PlanContext& ctx,
                                       std::vector<std::vector<int32_t>>* assignment) {
  const metadata::MetadataImage& image = ctx.image;
  metadata::TopicResult result;
  result.set_name(topic.name());
  auto fail = [&](ErrorCode code, std::string message) {
    result.set_error_code(Code(code));
    result.set_error_message(std::move(message));
    return result;
  };
  if (std::string problem = metadata::TopicNameProblem(topic.name()); !problem.empty()) {
    return fail(ErrorCode::kInvalidTopicException, problem);
  }
  if (image.FindTopic(topic.name())) {
    return fail(ErrorCode::kTopicAlreadyExists, fmt::format("Topic '{}' already exists.", topic.name()));
  }
  for (const auto& [key, value] : topic.configs()) {
    absl::Status status = metadata::ValidateTopicConfig(key, value);
    if (!status.ok()) return fail(ErrorCode::kInvalidConfig, std::string(ToStd(status.message())));
  }
  const std::vector<int32_t> live = image.LiveBrokerIds();
  if (topic.assignments_size() > 0) {
    if (topic.num_partitions() != -1 || topic.replication_factor() != -1) {
      return fail(ErrorCode::kInvalidRequest,
                  "both replica assignments and a partition count or replication factor were given");
    }
    assignment->assign(topic.assignments_size(), {});
    for (const auto& a : topic.assignments()) {
      if (a.partition() < 0 || a.partition() >= topic.assignments_size() || !(*assignment)[a.partition()].empty()) {
        return fail(ErrorCode::kInvalidReplicaAssignment, "partitions in the assignment must be 0..N-1, each once");
      }
      // Bounded before anything is built from it: distinct registered brokers are at most all.
      if (static_cast<size_t>(a.broker_ids_size()) > image.brokers().size()) {
        return fail(ErrorCode::kInvalidReplicaAssignment,
                    fmt::format("partition {}: {} replicas but only {} brokers are registered", a.partition(),
                                a.broker_ids_size(), image.brokers().size()));
      }
      std::set<int32_t> distinct(a.broker_ids().begin(), a.broker_ids().end());
      if (distinct.empty() || distinct.size() != static_cast<size_t>(a.broker_ids_size())) {
        return fail(ErrorCode::kInvalidReplicaAssignment,
                    fmt::format("partition {}: replicas must be distinct and non-empty", a.partition()));
      }
      for (int32_t id : a.broker_ids()) {
        if (!image.FindBroker(id)) {
          return fail(ErrorCode::kInvalidReplicaAssignment, fmt::format("broker {} is not registered", id));
        }
      }
      (*assignment)[a.partition()] = {a.broker_ids().begin(), a.broker_ids().end()};
    }
    if (topic.assignments_size() > 0 &&
        std::any_of(assignment->begin(), assignment->end(),
                    [&](const auto& r) { return r.size() != assignment->front().size(); })) {
      return fail(ErrorCode::kInvalidReplicaAssignment, "all partitions must have the same number of replicas");
    }
  } else {
    int32_t partitions = topic.num_partitions() == -1 ? default_partitions : topic.num_partitions();
    int32_t replication = topic.replication_factor() == -1 ? default_replication : topic.replication_factor();
    if (partitions <= 0) return fail(ErrorCode::kInvalidPartitions, "number of partitions must be larger than 0");
    if (replication <= 0) return fail(ErrorCode::kInvalidReplicationFactor, "replication factor must be larger than 0");
    if (static_cast<size_t>(replication) > live.size()) {
      return fail(ErrorCode::kInvalidReplicationFactor,
                  fmt::format("Replication factor: {} larger than available brokers: {}.", replication, live.size()));
    }
    std::vector<PlacementBroker> brokers;
    for (int32_t id : live) brokers.push_back({id, image.FindBroker(id)->rack});
    auto placed = PlaceReplicas(brokers, 0, partitions, replication, static_cast<uint32_t>(ctx.random()));
    if (!placed.ok()) return fail(ErrorCode::kInvalidReplicationFactor, std::string(ToStd(placed.status().message())));
    *assignment = std::move(*placed);
  }
  result.set_num_partitions(static_cast<int32_t>(assignment->size()));
  result.set_replication_factor(static_cast<int32_t>(assignment->front().size()));
  return result;
}

// The partitions a CreateTopics request asks for at most (invalid counts count as none).
// The answer to a CreateTopics or CreatePartitions refused as a whole by policy: every topic
// gets POLICY_VIOLATION with `message`.
template <class Response, class Request>
Response RefuseEveryTopicAs(const Request& request, const char* message) {
  Response response;
  for (const auto& topic : request.topics()) {
    auto* result = response.add_results();
    result->set_name(topic.name());
    result->set_error_code(Code(ErrorCode::kPolicyViolation));
    result->set_error_message(message);
  }
  return response;
}
metadata::CreateTopicsResponse RefuseEveryTopic(const metadata::CreateTopicsRequest& request, const char* message) {
  return RefuseEveryTopicAs<metadata::CreateTopicsResponse>(request, message);
}
metadata::CreatePartitionsResponse RefuseEveryTopic(const metadata::CreatePartitionsRequest& request,
                                                    const char* message) {
  return RefuseEveryTopicAs<metadata::CreatePartitionsResponse>(request, message);
}

int64_t RequestedPartitions(const metadata::CreateTopicsRequest& request) {
  int64_t total = 0;
  for (const auto& topic : request.topics()) {
    if (topic.assignments_size() > 0) {
      total += topic.assignments_size();
    } else if (topic.num_partitions() == -1) {
      total += std::max<int32_t>(0, request.default_num_partitions());
    } else if (topic.num_partitions() > 0) {
      total += topic.num_partitions();
    }
  }
  return total;
}

// The partitions a CreatePartitions request would add to existing topics.
int64_t RequestedPartitions(const metadata::CreatePartitionsRequest& request, const metadata::MetadataImage& image) {
  int64_t total = 0;
  for (const auto& topic : request.topics()) {
    auto existing = image.FindTopic(topic.name());
    if (existing) total += std::max<int64_t>(0, int64_t{topic.count()} - static_cast<int64_t>(existing->partitions.size()));
  }
  return total;
}

// APPEND adds the elements of `values` that `list` lacks; SUBTRACT removes them. Both keep the
// list's order and drop empty elements.
std::string EditListConfig(std::string_view list, std::string_view values, bool append) {
  std::vector<std::string> elements = absl::StrSplit(ToAbsl(list), ',', absl::SkipEmpty());
  const std::vector<std::string> edits = absl::StrSplit(ToAbsl(values), ',', absl::SkipEmpty());
  for (const std::string& edit : edits) {
    auto found = std::find(elements.begin(), elements.end(), edit);
    if (append && found == elements.end()) elements.push_back(edit);
    if (!append && found != elements.end()) elements.erase(found);
  }
  return absl::StrJoin(elements, ",");
}

}  // namespace

metadata::CreateTopicsResponse PlanCreateTopics(const metadata::CreateTopicsRequest& request, PlanContext& ctx) {
  const metadata::MetadataImage& image = ctx.image;
  std::vector<Record>& records = ctx.records;
  metadata::CreateTopicsResponse response;
  if (RequestedPartitions(request) > kMaxPartitionsPerRequest) return RefuseEveryTopic(request, kTooManyPartitions);
  std::set<std::string> seen;
  for (const auto& topic : request.topics()) {
    std::vector<std::vector<int32_t>> assignment;
    metadata::TopicResult result;
    if (!seen.insert(topic.name()).second) {
      result.set_name(topic.name());
      result.set_error_code(Code(ErrorCode::kInvalidRequest));
      result.set_error_message(fmt::format("topic '{}' appears more than once in the request", topic.name()));
    } else {
      result = ValidateNewTopic(topic, request.default_num_partitions(), request.default_replication_factor(), ctx, &assignment);
    }
    if (result.error_code() == 0) {
      metadata::TopicId id;
      do {
        for (auto& byte : id) byte = static_cast<uint8_t>(static_cast<uint32_t>(ctx.random()));
      } while (image.FindTopicById(id) || std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; }));
      result.set_topic_id(metadata::FromTopicId(id));
      if (!request.validate_only()) {
        Record topic_record;
        topic_record.mutable_topic()->set_name(topic.name());
        topic_record.mutable_topic()->set_topic_id(metadata::FromTopicId(id));
        records.push_back(std::move(topic_record));
        for (const auto& [key, value] : topic.configs()) {
          Record config;
          config.mutable_config()->set_resource_type(metadata::kTopicResource);
          config.mutable_config()->set_resource_name(topic.name());
          config.mutable_config()->set_key(key);
          config.mutable_config()->set_value(value);
          records.push_back(std::move(config));
        }
        for (size_t p = 0; p < assignment.size(); ++p) {
          metadata::PartitionInfo info{.partition = static_cast<int32_t>(p), .replicas = assignment[p],
                                       .isr = assignment[p]};
          info.leader = IsrLeader(info, Liveness{.image = image});
          records.push_back(PartitionRecord(id, info));
        }
      }
    }
    *response.add_results() = std::move(result);
  }
  return response;
}

metadata::DeleteTopicsResponse PlanDeleteTopics(const metadata::DeleteTopicsRequest& request, PlanContext& ctx) {
  const metadata::MetadataImage& image = ctx.image;
  std::vector<Record>& records = ctx.records;
  metadata::DeleteTopicsResponse response;
  std::set<metadata::TopicId> deleting;
  auto remove = [&](std::shared_ptr<const metadata::TopicInfo> topic, metadata::TopicResult* result) {
    result->set_name(topic->name);
    result->set_topic_id(metadata::FromTopicId(topic->id));
    if (!deleting.insert(topic->id).second) return;
    Record record;
    record.mutable_remove_topic()->set_topic_id(metadata::FromTopicId(topic->id));
    records.push_back(std::move(record));
  };
  for (const auto& name : request.names()) {
    auto* result = response.add_results();
    result->set_name(name);
    if (auto topic = image.FindTopic(name)) {
      remove(topic, result);
    } else {
      result->set_error_code(Code(ErrorCode::kUnknownTopicOrPartition));
      result->set_error_message("This server does not host this topic-partition.");
    }
  }
  for (const auto& id : request.topic_ids()) {
    auto* result = response.add_results();
    result->set_topic_id(id);
    if (auto topic = image.FindTopicById(metadata::ToTopicId(id))) {
      remove(topic, result);
    } else {
      result->set_error_code(Code(ErrorCode::kUnknownTopicId));
      result->set_error_message("This server does not host this topic ID.");
    }
  }
  return response;
}

metadata::CreatePartitionsResponse PlanCreatePartitions(const metadata::CreatePartitionsRequest& request,
                                                        PlanContext& ctx) {
  const metadata::MetadataImage& image = ctx.image;
  std::vector<Record>& records = ctx.records;
  metadata::CreatePartitionsResponse response;
  if (RequestedPartitions(request, image) > kMaxPartitionsPerRequest) {
    return RefuseEveryTopic(request, kTooManyPartitions);
  }
  const std::vector<int32_t> live = image.LiveBrokerIds();
  std::vector<PlacementBroker> brokers;
  for (int32_t id : live) brokers.push_back({id, image.FindBroker(id)->rack});
  for (const auto& request_topic : request.topics()) {
    auto* result = response.add_results();
    result->set_name(request_topic.name());
    auto fail = [&](ErrorCode code, std::string message) {
      result->set_error_code(Code(code));
      result->set_error_message(std::move(message));
    };
    auto topic = image.FindTopic(request_topic.name());
    if (!topic) {
      fail(ErrorCode::kUnknownTopicOrPartition, "This server does not host this topic-partition.");
      continue;
    }
    const int32_t current = static_cast<int32_t>(topic->partitions.size());
    const int32_t added = request_topic.count() - current;
    if (added <= 0) {
      fail(ErrorCode::kInvalidPartitions,
           request_topic.count() == current
               ? fmt::format("Topic already has {} partitions.", current)
               : fmt::format("Topic currently has {} partitions, which is higher than the requested {}.", current,
                             request_topic.count()));
      continue;
    }
    const int32_t replication = static_cast<int32_t>(topic->partitions.front().replicas.size());
    std::vector<std::vector<int32_t>> assignment;
    if (request_topic.assignments_size() > 0) {
      if (request_topic.assignments_size() != added) {
        fail(ErrorCode::kInvalidReplicaAssignment,
             fmt::format("Increasing the number of partitions by {} but {} assignments provided.", added,
                         request_topic.assignments_size()));
        continue;
      }
      // Sizes first, so that no oversized list is copied.
      bool bad = std::any_of(request_topic.assignments().begin(), request_topic.assignments().end(),
                             [&](const auto& a) { return a.broker_ids_size() != replication; });
      for (const auto& a : request_topic.assignments()) {
        if (!bad) assignment.emplace_back(a.broker_ids().begin(), a.broker_ids().end());
      }
      bad = bad || std::any_of(assignment.begin(), assignment.end(), [&](const auto& replicas) {
        std::set<int32_t> distinct(replicas.begin(), replicas.end());
        return static_cast<int32_t>(replicas.size()) != replication || distinct.size() != replicas.size() ||
               std::any_of(replicas.begin(), replicas.end(), [&](int32_t id) { return !image.FindBroker(id); });
      });
      if (bad) {
        fail(ErrorCode::kInvalidReplicaAssignment,
             fmt::format("each new partition needs {} distinct registered brokers", replication));
        continue;
      }
    } else {
      auto placed = PlaceReplicas(brokers, current, added, replication, static_cast<uint32_t>(ctx.random()));
      if (!placed.ok()) {
        fail(ErrorCode::kInvalidReplicationFactor, std::string(ToStd(placed.status().message())));
        continue;
      }
      assignment = std::move(*placed);
    }
    if (request.validate_only()) continue;
    for (int32_t i = 0; i < added; ++i) {
      metadata::PartitionInfo info{.partition = current + i, .replicas = assignment[i], .isr = assignment[i]};
      info.leader = IsrLeader(info, Liveness{.image = image});
      records.push_back(PartitionRecord(topic->id, info));
    }
  }
  return response;
}

metadata::AlterConfigsResponse PlanAlterConfigs(const metadata::AlterConfigsRequest& request, PlanContext& ctx) {
  std::vector<Record>& records = ctx.records;
  enum Op { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
  metadata::AlterConfigsResponse response;
  for (const auto& resource : request.resources()) {
    auto* result = response.add_results();
    result->set_resource_type(resource.resource_type());
    result->set_resource_name(resource.resource_name());
    auto fail = [&](ErrorCode code, std::string message) {
      result->set_error_code(Code(code));
      result->set_error_message(std::move(message));
    };
    if (resource.resource_type() != metadata::kTopicResource) {
      fail(ErrorCode::kInvalidRequest, "only topic configs can be altered (dynamic broker configs are not supported yet)");
      continue;
    }
    auto topic = ctx.image.FindTopic(resource.resource_name());
    if (!topic) {
      fail(ErrorCode::kUnknownTopicOrPartition, fmt::format("Topic '{}' does not exist.", resource.resource_name()));
      continue;
    }
    std::map<std::string, std::optional<std::string>> changes;
    if (resource.replace_all()) {
      for (const auto& [key, value] : topic->configs) changes[key] = std::nullopt;
    }
    std::string problem;
    for (const auto& op : resource.ops()) {
      std::optional<std::string> current;
      if (auto it = topic->configs.find(op.key()); it != topic->configs.end()) current = it->second;
      switch (op.op()) {
        case kSet:
          if (!op.has_value()) {
            problem = fmt::format("'{}': a value is required", op.key());
          } else if (absl::Status s = metadata::ValidateTopicConfig(op.key(), op.value()); !s.ok()) {
            problem = std::string(ToStd(s.message()));
          } else {
            changes[op.key()] = op.value();
          }
          break;
        case kDelete:
          if (!metadata::TopicConfigSchema().Find(op.key())) {
            problem = fmt::format("unknown configuration '{}'", op.key());
          } else {
            changes[op.key()] = std::nullopt;
          }
          break;
        case kAppend:
        case kSubtract: {
          if (!metadata::IsListTopicConfig(op.key())) {
            problem = fmt::format("'{}': APPEND and SUBTRACT apply only to list configs", op.key());
            break;
          }
          // As Kafka: edit the value set earlier in this request, else the topic's, else the default.
          if (auto pending = changes.find(op.key()); pending != changes.end()) current = pending->second;
          const std::string base = current ? *current : metadata::TopicConfigSchema().Find(op.key())->default_value;
          std::string edited = EditListConfig(base, op.has_value() ? op.value() : "", op.op() == kAppend);
          if (absl::Status s = metadata::ValidateTopicConfig(op.key(), edited); !s.ok()) {
            problem = std::string(ToStd(s.message()));
          } else {
            changes[op.key()] = std::move(edited);
          }
          break;
        }
        default:
          problem = fmt::format("'{}': unknown operation {}", op.key(), op.op());
      }
      if (!problem.empty()) break;
    }
    if (!problem.empty()) {
      fail(ErrorCode::kInvalidConfig, problem);
      continue;
    }
    if (request.validate_only()) continue;
    for (const auto& [key, value] : changes) {
      Record record;
      auto* r = record.mutable_config();
      r->set_resource_type(metadata::kTopicResource);
      r->set_resource_name(resource.resource_name());
      r->set_key(key);
      if (value) r->set_value(*value);
      records.push_back(std::move(record));
    }
  }
  return response;
}

}  // namespace sluice::controller
