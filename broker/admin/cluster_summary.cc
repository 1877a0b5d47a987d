#include "broker/admin/cluster_summary.h"

#include <nlohmann/json.hpp>

namespace sluice::broker {

std::string ClusterSummaryJson(const metadata::MetadataImage& image, int32_t self) {
  nlohmann::json brokers = nlohmann::json::array();
  for (const auto& [id, broker] : image.brokers()) {
    brokers.push_back({{"id", id},
                       {"host", broker.host},
                       {"port", broker.port},
                       {"rack", broker.rack},
                       {"fenced", broker.fenced}});
  }
  size_t partitions = 0;
  nlohmann::json offline = nlohmann::json::array();
  nlohmann::json under_replicated = nlohmann::json::array();
  for (const auto& [name, topic] : image.topics()) {
    for (const auto& p : topic->partitions) {
      ++partitions;
      const std::string id = name + "-" + std::to_string(p.partition);
      if (p.leader < 0) offline.push_back(id);
      else if (p.isr.size() < p.replicas.size()) under_replicated.push_back(id);
    }
  }
  // Invalid UTF-8 in names (they come from clients) is replaced, never a reason to fail.
  return nlohmann::json{{"cluster_id", image.cluster_id()},
                        {"answered_by", self},
                        {"metadata_offset", image.offset()},
                        {"brokers", std::move(brokers)},
                        {"topics", image.topics().size()},
                        {"partitions", partitions},
                        {"offline_partitions", std::move(offline)},
                        {"under_replicated_partitions", std::move(under_replicated)}}
             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace sluice::broker
