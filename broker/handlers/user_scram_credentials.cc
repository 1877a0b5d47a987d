// DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554): SCRAM users are listed
// from this broker's metadata image (never a secret, only mechanisms and iteration counts), and
// changed by the controller. The broker turns each salted password into StoredKey and ServerKey
// first, so neither the password nor the salted password leaves it.

#include <map>
#include <set>

#include "broker/handlers/authorization.h"
#include "broker/handlers/controller_forward.h"
#include "broker/handlers/handlers.h"
#include "broker/security/scram_credential.h"
#include "protocol/kafka/messages/alter_user_scram_credentials.h"
#include "protocol/kafka/messages/describe_user_scram_credentials.h"

namespace sluice::broker {
namespace {

using kafka::ErrorCode;
using DescribeResult = kafka::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult;

DescribeResult Described(const std::string& user, const std::map<int32_t, metadata::ScramCredentialInfo>& mechanisms) {
  DescribeResult result{.user = user, .error_message = std::nullopt};
  for (const auto& [mechanism, credential] : mechanisms) {
    result.credential_infos.push_back(
        {.mechanism = static_cast<int8_t>(mechanism), .iterations = credential.iterations});
  }
  return result;
}

DescribeResult Failed(const std::string& user, ErrorCode code, std::string message) {
  return DescribeResult{.user = user, .error_code = static_cast<int16_t>(code), .error_message = std::move(message)};
}

// The controller's form of an upsertion; keys stay empty when the mechanism or the salted
// password's size is wrong, which the controller refuses.
metadata::UserScramCredential Upsertion(const kafka::AlterUserScramCredentialsRequest::ScramCredentialUpsertion& in) {
  metadata::UserScramCredential out;
  out.set_name(in.name);
  out.set_mechanism(in.mechanism);
  out.set_iterations(in.iterations);
  out.set_salt(in.salt);
  const std::optional<security::ScramMechanism> mechanism = security::ScramMechanismOfType(in.mechanism);
  if (mechanism.has_value() && in.salted_password.size() == security::ScramKeySize(*mechanism)) {
    const security::ScramCredential credential =
        security::CredentialFromSaltedPassword(*mechanism, in.salt, in.salted_password, in.iterations);
    out.set_stored_key(credential.stored_key);
    out.set_server_key(credential.server_key);
  }
  return out;
}

}  // namespace

void HandleDescribeUserScramCredentials(BrokerContext& broker, RequestPtr request) {
  kafka::DescribeUserScramCredentialsRequest body;
  if (!request->Decode(body)) return;
  const auto image = broker.metadata.Current();
  const metadata::ScramCredentialMap& credentials = image->scram_credentials();
  kafka::DescribeUserScramCredentialsResponse response;
  response.error_message = std::nullopt;
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kDescribe)) {
    response.error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed);
    response.error_message = "Cluster authorization failed.";
    return request->Respond(response);
  }
  // Null or empty: every user, as Kafka's Admin.describeUserScramCredentials documents.
  if (!body.users.has_value() || body.users->empty()) {
    for (const auto& [user, mechanisms] : credentials) response.results.push_back(Described(user, mechanisms));
    return request->Respond(response);
  }
  std::map<std::string, int> asked;
  for (const auto& user : *body.users) ++asked[user.name];
  std::set<std::string> answered;
  for (const auto& user : *body.users) {
    if (!answered.insert(user.name).second) continue;
    auto found = credentials.find(user.name);
    if (asked[user.name] > 1) {
      response.results.push_back(Failed(user.name, ErrorCode::kDuplicateResource,
                                        "Cannot describe SCRAM credentials for the same user twice in a single request"));
    } else if (found == credentials.end()) {
      response.results.push_back(
          Failed(user.name, ErrorCode::kResourceNotFound, "Attempt to describe a user credential that does not exist"));
    } else {
      response.results.push_back(Described(user.name, found->second));
    }
  }
  request->Respond(response);
}

void HandleAlterUserScramCredentials(BrokerContext& broker, RequestPtr request) {
  kafka::AlterUserScramCredentialsRequest body;
  if (!request->Decode(body)) return;
  metadata::AlterUserScramCredentialsRequest alter;
  std::vector<std::string> users;  // in order of first appearance, for an answer without the controller
  std::set<std::string> seen;
  for (const auto& deletion : body.deletions) {
    auto* out = alter.add_deletions();
    out->set_name(deletion.name);
    out->set_mechanism(deletion.mechanism);
    if (seen.insert(deletion.name).second) users.push_back(deletion.name);
  }
  for (const auto& upsertion : body.upsertions) {
    *alter.add_upsertions() = Upsertion(upsertion);
    if (seen.insert(upsertion.name).second) users.push_back(upsertion.name);
  }
  if (!RequestAuthorizer(broker, *request).CheckCluster(AclOperation::kAlter)) {
    kafka::AlterUserScramCredentialsResponse refused;
    for (const std::string& user : users) {
      refused.results.push_back({.user = user,
                                 .error_code = static_cast<int16_t>(ErrorCode::kClusterAuthorizationFailed),
                                 .error_message = "Cluster authorization failed."});
    }
    return request->Respond(refused);
  }
  ForwardToController<metadata::AlterUserScramCredentialsRequest, metadata::AlterUserScramCredentialsResponse>(
      broker, request, metadata::ALTER_USER_SCRAM_CREDENTIALS, alter,
      [request, users = std::move(users)](const absl::StatusOr<metadata::AlterUserScramCredentialsResponse>& altered) {
        kafka::AlterUserScramCredentialsResponse response;
        if (altered.ok()) {
          for (const auto& r : altered->results()) {
            response.results.push_back({.user = r.user(),
                                        .error_code = static_cast<int16_t>(r.error_code()),
                                        .error_message = r.error_message().empty()
                                                             ? std::nullopt
                                                             : std::optional<std::string>(r.error_message())});
          }
        } else {
          for (const std::string& user : users) {
            response.results.push_back({.user = user,
                                        .error_code = static_cast<int16_t>(ErrorCode::kRequestTimedOut),
                                        .error_message = "the controller could not be reached"});
          }
        }
        request->Respond(response);
      });
}

}  // namespace sluice::broker
