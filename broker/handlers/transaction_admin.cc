// DescribeTransactions and ListTransactions: the transactions this broker coordinates, for
// admin tools (KIP-664). Transactional ids the principal may not describe are refused by name
// and left out of lists, as Kafka does.

#include <algorithm>
#include <memory>
#include <set>

#include "broker/handlers/authorization.h"
#include "broker/handlers/handlers.h"
#include "common/absl_compat.h"
#include "protocol/kafka/messages/describe_transactions.h"
#include "protocol/kafka/messages/list_transactions.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using kafka::ToInt;

}  // namespace

void HandleDescribeTransactions(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeTransactionsRequest body;
  if (!request->Decode(body)) return;
  const RequestAuthorizer authorizer(broker, *request);
  std::vector<std::string> allowed_ids;
  std::set<std::string> denied;
  for (const auto& id : body.transactional_ids) {
    if (authorizer.Check(AclOperation::kDescribe, ResourceType::kTransactionalId, id,
                         ErrorCode::kTransactionalIdAuthorizationFailed)) {
      allowed_ids.push_back(id);
    } else {
      denied.insert(id);
    }
  }
  // Topics of a transaction the principal may not describe are left out.
  broker.txn_coordinator.Describe(
      allowed_ids, [request, ids = body.transactional_ids, denied = std::move(denied),
                    snapshot = std::make_shared<const RequestAuthorizer>(authorizer)](
                       std::vector<txn::TransactionCoordinator::Described> described) {
        kafka::DescribeTransactionsResponse response;
        size_t next = 0;
        for (const auto& id : ids) {
          kafka::DescribeTransactionsResponse::TransactionState state;
          state.transactional_id = id;
          state.producer_id = -1;
          state.producer_epoch = -1;
          state.transaction_start_time_ms = -1;
          if (denied.count(id) > 0) {
            state.error_code = ToInt(ErrorCode::kTransactionalIdAuthorizationFailed);
          } else {
            const auto& d = described[next++];
            state.error_code = ToInt(d.error);
            if (d.error == ErrorCode::kNone) {
              state.transaction_state = std::string(txn::StateName(d.txn.state));
              state.transaction_timeout_ms = d.txn.timeout_ms;
              state.transaction_start_time_ms = d.txn.start_ms;
              state.producer_id = d.txn.producer_id;
              state.producer_epoch = d.txn.producer_epoch;
              for (const auto& [topic, partition] : d.txn.partitions) {
                if (!snapshot->Allowed(AclOperation::kDescribe, ResourceType::kTopic, topic)) continue;
                if (state.topics.empty() || state.topics.back().topic != topic) state.topics.push_back({.topic = topic});
                state.topics.back().partitions.push_back(partition);
              }
            }
          }
          response.transaction_states.push_back(std::move(state));
        }
        request->Respond(response);
      });
}

void HandleListTransactions(BrokerContext& broker, RequestPtr request) {
  kafka::ListTransactionsRequest body;
  if (!request->Decode(body)) return;
  auto response = std::make_shared<kafka::ListTransactionsResponse>();
  std::set<txn::TxnState> states;
  for (const auto& name : body.state_filters) {
    if (auto state = txn::StateFromName(name)) {
      states.insert(*state);
    } else {
      response->unknown_state_filters.push_back(name);
    }
  }
  // Only unknown state names: nothing can match.
  const bool match_nothing = !body.state_filters.empty() && states.empty();
  const std::set<int64_t> producer_ids(body.producer_id_filters.begin(), body.producer_id_filters.end());
  const int64_t duration = request->version() >= 1 ? body.duration_filter : -1;
  auto authorizer = std::make_shared<const RequestAuthorizer>(broker, *request);
  const int64_t now = broker.clock.NowMs();
  broker.txn_coordinator.List([request, response, authorizer, states = std::move(states), match_nothing,
                               producer_ids, duration, now](ErrorCode error,
                                                            std::vector<txn::TransactionMetadata> txns) {
    response->error_code = ToInt(error);
    for (const auto& t : txns) {
      if (match_nothing || t.state == txn::TxnState::kDead) continue;
      if (!states.empty() && states.count(t.state) == 0) continue;
      if (!producer_ids.empty() && producer_ids.count(t.producer_id) == 0) continue;
      if (duration >= 0 && now - t.start_ms <= duration) continue;
      if (!authorizer->Allowed(AclOperation::kDescribe, ResourceType::kTransactionalId, t.transactional_id)) continue;
      response->transaction_states.push_back({.transactional_id = t.transactional_id,
                                              .producer_id = t.producer_id,
                                              .transaction_state = std::string(txn::StateName(t.state))});
    }
    request->Respond(*response);
  });
}

}  // namespace sluice::broker
