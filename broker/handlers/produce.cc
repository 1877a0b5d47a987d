#include "broker/handlers/handlers.h"
#include "broker/handlers/partition_lookup.h"
#include "protocol/kafka/api_registry.h"
#include "protocol/kafka/messages/produce.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ProduceRequest;
using kafka::ProduceResponse;

ProduceResponse::PartitionProduceResponse Refused(int32_t index, ErrorCode error, std::string message = {}) {
  ProduceResponse::PartitionProduceResponse out;
  out.index = index;
  out.error_code = static_cast<int16_t>(error);
  out.base_offset = -1;
  if (!message.empty()) out.error_message = std::move(message);
  return out;
}

}  // namespace

void HandleProduce(BrokerContext& broker, RequestPtr request) {
  ProduceRequest body;
  if (!request->Decode(body)) return;
  // Message formats v0/v1 (Produce v0-v2) are advertised for librdkafka's feature detection
  // but never accepted.
  ErrorCode request_error = ErrorCode::kNone;
  std::string request_message;
  if (request->version() < kafka::AcceptedMinVersion(ProduceRequest::kApiKey)) {
    request_error = ErrorCode::kUnsupportedVersion;
  } else if (body.acks != 0 && body.acks != 1 && body.acks != -1) {
    request_error = ErrorCode::kInvalidRequiredAcks;
  } else if (body.transactional_id) {
    request_error = ErrorCode::kTransactionalIdAuthorizationFailed;
    request_message = "transactions are not supported yet";
  }
  auto image = broker.metadata.Current();
  ProduceResponse response;
  for (auto& topic : body.topic_data) {
    ProduceResponse::TopicProduceResponse topic_response;
    topic_response.name = topic.name;
    for (auto& data : topic.partition_data) {
      if (request_error != ErrorCode::kNone) {
        topic_response.partition_responses.push_back(Refused(data.index, request_error, request_message));
        continue;
      }
      LeaderLookup lookup = FindLeaderPartition(broker, *image, topic.name, data.index);
      if (lookup.error != ErrorCode::kNone) {
        topic_response.partition_responses.push_back(Refused(data.index, lookup.error));
        continue;
      }
      if (body.acks == -1 && static_cast<int32_t>(lookup.info->isr.size()) < lookup.partition->min_insync_replicas()) {
        topic_response.partition_responses.push_back(Refused(data.index, ErrorCode::kNotEnoughReplicas));
        continue;
      }
      std::string_view bytes = data.records.contiguous();
      // The decoded records borrow this request's private frame; offsets are patched in place.
      std::span<char> batches(const_cast<char*>(bytes.data()), bytes.size());
      AppendOutcome outcome = lookup.partition->Append(batches);
      ProduceResponse::PartitionProduceResponse out;
      out.index = data.index;
      out.error_code = static_cast<int16_t>(outcome.error);
      out.base_offset = outcome.base_offset;
      out.log_append_time_ms = outcome.log_append_time_ms;
      out.log_start_offset = lookup.partition->log().log_start_offset();
      if (!outcome.message.empty()) out.error_message = outcome.message;
      topic_response.partition_responses.push_back(std::move(out));
    }
    response.responses.push_back(std::move(topic_response));
  }
  if (body.acks == 0) return request->responder.NoResponse();
  request->Respond(response);
}

}  // namespace sluice::broker
