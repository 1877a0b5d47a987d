#include "broker/audit/audit_topic.h"

#include <chrono>

#include <asio/post.hpp>

#include "common/absl_compat.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/kafka/batch/record_batch_builder.h"
#include "protocol/kafka/error_codes.h"
#include "protocol/kafka/message_headers.h"
#include "protocol/kafka/messages/produce.h"
#include "protocol/metadata/controller_api.pb.h"

namespace sluice::broker::audit {
namespace {

constexpr size_t kBatchLines = 1000;
constexpr size_t kBatchBytes = 1 << 20;
constexpr int16_t kProduceVersion = 9;
constexpr int32_t kProduceTimeoutMs = 30000;
constexpr auto kRetryDelay = std::chrono::seconds(1);

}  // namespace

AuditTopic::AuditTopic(asio::io_context& io, Options options, MetadataCache& metadata, ControllerLink& controller,
                       const ReplicationOptions::InterBrokerSecurity& security)
    : io_(io),
      options_(std::move(options)),
      metadata_(metadata),
      controller_(controller),
      connection_(std::make_shared<LeaderConnection>(io, security)),
      retry_(io) {}

void AuditTopic::Append(std::string_view lines) {
  {
    std::lock_guard lock(mu_);
    for (size_t start = 0; start < lines.size();) {
      size_t end = lines.find('\n', start);
      if (end == std::string_view::npos) end = lines.size();
      if (end > start) queue_.emplace_back(lines.substr(start, end - start));
      start = end + 1;
    }
    while (queue_.size() > kMaxQueuedLines) {
      queue_.pop_front();
      if (dropped_++ % 10'000 == 0) {
        log::Warn("audit topic {}: unreachable; {} lines dropped from the copy so far (the audit file has them)",
                  options_.topic, dropped_);
      }
    }
  }
  asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->Pump();
  });
}

void AuditTopic::Stop() {
  stopped_ = true;
  retry_.cancel();
  connection_->Abandon();
}

void AuditTopic::Pump() {
  if (stopped_ || busy_) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return;
    size_t bytes = 0;
    while (!queue_.empty() && in_flight_.size() < kBatchLines && bytes < kBatchBytes) {
      bytes += queue_.front().size();
      in_flight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  const auto image = metadata_.Current();
  const auto topic = image->FindTopic(options_.topic);
  if (!topic) return EnsureTopic();
  const int32_t partition = options_.broker_id % static_cast<int32_t>(topic->partitions.size());
  const int32_t leader = topic->partitions[partition].leader;
  const metadata::BrokerInfo* info = leader >= 0 ? image->FindBroker(leader) : nullptr;
  if (info == nullptr || info->fenced) return RetryLater();
  Send(*info, partition);
}

void AuditTopic::EnsureTopic() {
  busy_ = true;
  metadata::CreateTopicsRequest create;
  auto* topic = create.add_topics();
  topic->set_name(options_.topic);
  topic->set_num_partitions(options_.partitions);
  const auto live = static_cast<int32_t>(metadata_.Current()->LiveBrokerIds().size());
  topic->set_replication_factor(std::max(1, std::min(options_.replication_factor, live)));
  (*topic->mutable_configs())["cleanup.policy"] = "delete";
  controller_.Forward<metadata::CreateTopicsRequest, metadata::CreateTopicsResponse>(
      metadata::CREATE_TOPICS, create, [weak = weak_from_this()](absl::StatusOr<metadata::CreateTopicsResponse> created) {
        auto self = weak.lock();
        if (!self || self->stopped_) return;
        const auto code = created.ok() && created->results_size() == 1
                              ? static_cast<kafka::ErrorCode>(created->results(0).error_code())
                              : kafka::ErrorCode::kUnknownServerError;
        if (code != kafka::ErrorCode::kNone && code != kafka::ErrorCode::kTopicAlreadyExists) {
          log::Warn("audit topic {}: cannot create it: {}", self->options_.topic,
                    created.ok() ? std::string(kafka::ErrorName(code)) : created.status().ToString());
          return self->RetryLater();
        }
        self->metadata_.WhenApplied(created->metadata_offset(), [weak] {
          if (auto self = weak.lock()) {
            asio::post(self->io_, [self] {
              self->busy_ = false;
              self->Pump();
            });
          }
        });
      });
}

void AuditTopic::Send(const metadata::BrokerInfo& leader, int32_t partition) {
  busy_ = true;
  kafka::RecordBatchBuilder builder;
  const std::string key = std::to_string(options_.broker_id);
  const int64_t now = SystemClock::Instance().NowMs();
  for (const std::string& line : in_flight_) builder.Add(key, line, now);
  absl::StatusOr<std::string> batch = builder.Build();
  if (!batch.ok()) {
    log::Error("audit topic {}: cannot build a record batch: {}", options_.topic, batch.status());
    in_flight_.clear();
    busy_ = false;
    return;
  }
  kafka::ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = kProduceTimeoutMs;
  request.transactional_id = std::nullopt;
  request.topic_data.push_back(
      {.name = options_.topic, .partition_data = {{.index = partition, .records = kafka::Records::Borrow(*batch)}}});
  const int32_t correlation_id = next_correlation_id_++;
  kafka::OutboundMessage encoded = kafka::EncodeRequest(correlation_id, "sluice-audit", kProduceVersion, request);
  connection_->Call(leader.host, static_cast<uint16_t>(leader.port), std::move(encoded.bytes),
                    kProduceTimeoutMs + 5000,
                    [weak = weak_from_this(), correlation_id](absl::StatusOr<std::string_view> frame) {
                      if (auto self = weak.lock()) self->OnProduced(std::move(frame), correlation_id);
                    });
}

void AuditTopic::OnProduced(absl::StatusOr<std::string_view> frame, int32_t correlation_id) {
  if (stopped_) return;
  absl::Status status = frame.status();
  if (status.ok()) {
    kafka::Reader reader(*frame);
    kafka::ResponseHeader header;
    kafka::ProduceResponse response;
    status = header.Decode(reader, kafka::ResponseHeaderVersion<kafka::ProduceResponse>(kProduceVersion));
    if (status.ok() && header.correlation_id != correlation_id) status = absl::DataLossError("answer to another request");
    if (status.ok()) status = response.Decode(reader, kProduceVersion);
    if (status.ok() && (response.responses.size() != 1 || response.responses[0].partition_responses.size() != 1)) {
      status = absl::DataLossError("a Produce answer for other partitions");
    }
    if (status.ok()) {
      const auto code = static_cast<kafka::ErrorCode>(response.responses[0].partition_responses[0].error_code);
      if (code != kafka::ErrorCode::kNone) status = absl::UnavailableError(ToAbsl(kafka::ErrorName(code)));
    }
  }
  if (!status.ok()) {
    log::Warn("audit topic {}: produce failed ({}); retrying", options_.topic, status);
    return RetryLater();
  }
  in_flight_.clear();
  busy_ = false;
  Pump();
}

void AuditTopic::RetryLater() {
  busy_ = true;
  retry_.expires_after(kRetryDelay);
  retry_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    self->busy_ = false;
    self->Pump();
  });
}

}  // namespace sluice::broker::audit
