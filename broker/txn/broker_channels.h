#pragma once
// Requests from the transaction coordinator to other brokers (WriteTxnMarkers to partition
// leaders, AddPartitionsToTxn VerifyOnly to coordinators), over each broker's inter-broker
// listener with the security replication uses. One connection per broker; its calls queue and
// go out one at a time. Runs on one io_context (the coordinator's thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/leader_connection.h"
#include "broker/replication/replication_options.h"
#include "protocol/kafka/message_headers.h"

namespace sluice::broker::txn {

class BrokerChannels {
 public:
  BrokerChannels(asio::io_context& io, MetadataCache& metadata, ReplicationOptions::InterBrokerSecurity security)
      : io_(io), metadata_(metadata), security_(std::move(security)) {}

  // On the io_context's thread. `done` runs there with the decoded response, or why there is
  // none (the broker is unknown or fenced, the connection failed, the answer was malformed).
  template <class Request, class Response>
  void Call(int32_t broker_id, int16_t version, const Request& request, int64_t timeout_ms,
            std::function<void(absl::StatusOr<Response>)> done) {
    const int32_t correlation_id = next_correlation_id_++;
    std::string bytes = kafka::EncodeRequest(correlation_id, "sluice-txn-coordinator", version, request).bytes;
    Enqueue(broker_id, {.bytes = std::move(bytes), .timeout_ms = timeout_ms,
                        .done = [correlation_id, version, done = std::move(done)](absl::StatusOr<std::string_view> frame) {
                          if (!frame.ok()) return done(frame.status());
                          kafka::Reader reader(*frame);
                          kafka::ResponseHeader header;
                          absl::Status status = header.Decode(reader, kafka::ResponseHeaderVersion<Response>(version));
                          if (status.ok() && header.correlation_id != correlation_id) {
                            status = absl::DataLossError("an answer to another request");
                          }
                          Response response;
                          if (status.ok()) status = response.Decode(reader, version);
                          if (!status.ok()) return done(status);
                          done(std::move(response));
                        }});
  }

  // Drops queued calls unanswered and closes the connections.
  void Stop();

 private:
  struct Pending {
    std::string bytes;
    int64_t timeout_ms;
    std::function<void(absl::StatusOr<std::string_view>)> done;
  };
  struct Channel {
    std::shared_ptr<LeaderConnection> connection;
    std::deque<Pending> queue;
    bool busy = false;
  };

  void Enqueue(int32_t broker_id, Pending pending);
  void Pump(int32_t broker_id);

  asio::io_context& io_;
  MetadataCache& metadata_;
  const ReplicationOptions::InterBrokerSecurity security_;
  std::map<int32_t, Channel> channels_;
  int32_t next_correlation_id_ = 1;
  bool stopped_ = false;
};

}  // namespace sluice::broker::txn
