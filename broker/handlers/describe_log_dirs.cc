// DescribeLogDirs: the one log directory (log.dirs) with every hosted replica asked for, its
// size and offset lag, and the directory's file system capacity (v4+). Answered from the
// background pool: statvfs(2) may touch the disk, and nothing may block a shard.

#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <set>

#include <asio/post.hpp>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "protocol/kafka/messages/describe_log_dirs.h"

namespace sluice::broker {
namespace {

using kafka::DescribeLogDirsRequest;
using kafka::DescribeLogDirsResponse;
using kafka::ErrorCode;

DescribeLogDirsResponse Describe(const PartitionManager& partitions, const DescribeLogDirsRequest& body) {
  std::set<std::pair<std::string, int32_t>> asked;
  for (const auto& topic : body.topics.value_or(std::vector<DescribeLogDirsRequest::DescribableLogDirTopic>{})) {
    for (int32_t partition : topic.partitions) asked.emplace(topic.topic, partition);
  }
  DescribeLogDirsResponse::DescribeLogDirsResult dir;
  std::error_code error;
  std::filesystem::path path = std::filesystem::absolute(partitions.data_dir(), error);
  dir.log_dir = (error ? partitions.data_dir() : path).string();
  // As Kafka: every topic with a replica here is listed, its partitions filtered by the request.
  std::map<std::string, std::vector<DescribeLogDirsResponse::DescribeLogDirsPartition>> by_topic;
  for (const auto& replica : partitions.Hosted()) {
    auto& listed = by_topic[replica->topic()];
    if (body.topics && !asked.count({replica->topic(), replica->index()})) continue;
    const storage::PartitionLog& log = replica->log();
    // Kafka's lag of a current (not future) replica: its own high watermark minus its log end,
    // at least 0.
    listed.push_back({.partition_index = replica->index(),
                      .partition_size = log.size_bytes(),
                      .offset_lag = std::max<int64_t>(replica->high_watermark() - log.log_end_offset(), 0),
                      .is_future_key = false});
  }
  for (auto& [name, listed] : by_topic) dir.topics.push_back({.name = name, .partitions = std::move(listed)});
  struct statvfs fs {};
  if (::statvfs(dir.log_dir.c_str(), &fs) == 0) {
    dir.total_bytes = static_cast<int64_t>(std::min<unsigned long long>(
        static_cast<unsigned long long>(fs.f_blocks) * fs.f_frsize, INT64_MAX));
    dir.usable_bytes = static_cast<int64_t>(std::min<unsigned long long>(
        static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize, INT64_MAX));
  } else {
    dir.error_code = static_cast<int16_t>(ErrorCode::kKafkaStorageError);
    dir.topics.clear();
  }
  DescribeLogDirsResponse response;
  response.results.push_back(std::move(dir));
  return response;
}

}  // namespace

void HandleDescribeLogDirs(BrokerContext& broker, RequestPtr request) {
  auto body = std::make_shared<DescribeLogDirsRequest>();
  if (!request->Decode(*body)) return;
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kDescribe)) {
    DescribeLogDirsResponse response;  // before v3 the refusal is an empty answer, as in Kafka
    response.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
    return request->Respond(response);
  }
  asio::post(broker.background, [&broker, request, body] {
    DescribeLogDirsResponse response = Describe(broker.partitions, *body);
    asio::post(request->io, [request, response = std::move(response)] { request->Respond(response); });
  });
}

}  // namespace sluice::broker
