#include "controller/service/scram_changes.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "broker/security/scram_credential.h"
#include "protocol/kafka/error_codes.h"

namespace sluice::controller {
namespace {

using broker::security::ScramMechanism;
using kafka::ErrorCode;

struct Failure {
  ErrorCode code;
  const char* message;
};

std::optional<ScramMechanism> Mechanism(int32_t type) {
  if (type < INT8_MIN || type > INT8_MAX) return std::nullopt;
  return broker::security::ScramMechanismOfType(static_cast<int8_t>(type));
}

std::optional<Failure> CheckDeletion(const metadata::AlterUserScramCredentialsRequest::Deletion& deletion,
                                     const metadata::MetadataImage& image) {
  if (!Mechanism(deletion.mechanism())) return Failure{ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism"};
  auto user = image.scram_credentials().find(deletion.name());
  if (user == image.scram_credentials().end() || user->second.count(deletion.mechanism()) == 0) {
    return Failure{ErrorCode::kResourceNotFound, "Attempt to delete a user credential that does not exist"};
  }
  return std::nullopt;
}

std::optional<Failure> CheckUpsertion(const metadata::UserScramCredential& upsertion) {
  const std::optional<ScramMechanism> mechanism = Mechanism(upsertion.mechanism());
  if (!mechanism) return Failure{ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism"};
  if (upsertion.iterations() < broker::security::kScramMinIterations) {
    return Failure{ErrorCode::kUnacceptableCredential, "Too few iterations"};
  }
  if (upsertion.iterations() > broker::security::kScramMaxIterations) {
    return Failure{ErrorCode::kUnacceptableCredential, "Too many iterations"};
  }
  const size_t key_size = broker::security::ScramKeySize(*mechanism);
  if (upsertion.salt().empty() || upsertion.stored_key().size() != key_size ||
      upsertion.server_key().size() != key_size) {
    return Failure{ErrorCode::kUnacceptableCredential,
                   "The salt is empty or the salted password is not the mechanism's digest size"};
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<metadata::AlterUserScramCredentialsResponse> PlanAlterUserScramCredentials(
    const metadata::AlterUserScramCredentialsRequest& request, PlanContext& ctx) {
  // Each user's one alteration, or why it fails; `order` keeps the users' first appearance.
  struct Alteration {
    const metadata::AlterUserScramCredentialsRequest::Deletion* deletion = nullptr;
    const metadata::UserScramCredential* upsertion = nullptr;
    std::optional<Failure> failure;
  };
  std::map<std::string, Alteration> by_user;
  std::vector<std::string> order;
  auto claim = [&](const std::string& name) -> Alteration* {
    auto [it, inserted] = by_user.try_emplace(name);
    if (inserted) {
      order.push_back(name);
      if (name.empty()) it->second.failure = Failure{ErrorCode::kUnacceptableCredential, "Username must not be empty"};
      return &it->second;
    }
    if (!it->second.failure.has_value()) {
      it->second.failure =
          Failure{ErrorCode::kDuplicateResource, "A user credential cannot be altered twice in the same request"};
    }
    return nullptr;
  };
  for (const auto& deletion : request.deletions()) {
    if (Alteration* alteration = claim(deletion.name()); alteration != nullptr) alteration->deletion = &deletion;
  }
  for (const auto& upsertion : request.upsertions()) {
    if (Alteration* alteration = claim(upsertion.name()); alteration != nullptr) alteration->upsertion = &upsertion;
  }
  metadata::AlterUserScramCredentialsResponse response;
  for (const std::string& name : order) {
    Alteration& alteration = by_user.at(name);
    if (!alteration.failure.has_value()) {
      alteration.failure = alteration.deletion != nullptr ? CheckDeletion(*alteration.deletion, ctx.image)
                                                          : CheckUpsertion(*alteration.upsertion);
    }
    auto* result = response.add_results();
    result->set_user(name);
    if (alteration.failure.has_value()) {
      result->set_error_code(static_cast<int32_t>(alteration.failure->code));
      result->set_error_message(alteration.failure->message);
      continue;
    }
    metadata::Record record;
    if (alteration.deletion != nullptr) {
      record.mutable_remove_user_scram_credential()->set_name(name);
      record.mutable_remove_user_scram_credential()->set_mechanism(alteration.deletion->mechanism());
    } else {
      *record.mutable_user_scram_credential() = *alteration.upsertion;
    }
    ctx.records.push_back(std::move(record));
  }
  return response;
}

void PlanBootstrapScramCredentials(const std::vector<metadata::UserScramCredential>& credentials, PlanContext& ctx) {
  if (!ctx.image.cluster_id().empty()) return;
  for (const metadata::UserScramCredential& credential : credentials) {
    metadata::Record record;
    *record.mutable_user_scram_credential() = credential;
    ctx.records.push_back(std::move(record));
  }
}

}  // namespace sluice::controller
