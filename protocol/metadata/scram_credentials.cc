#include "protocol/metadata/scram_credentials.h"

namespace sluice::metadata {
namespace {

bool KnownMechanism(int32_t mechanism) { return mechanism == kScramSha256 || mechanism == kScramSha512; }

}  // namespace

absl::Status ApplyUserScramCredential(const UserScramCredential& record, ScramCredentialMap& credentials) {
  if (record.name().empty() || !KnownMechanism(record.mechanism())) {
    return absl::InvalidArgumentError("SCRAM credential record without a user name or with an unknown mechanism");
  }
  credentials[record.name()][record.mechanism()] = ScramCredentialInfo{.salt = record.salt(),
                                                                       .stored_key = record.stored_key(),
                                                                       .server_key = record.server_key(),
                                                                       .iterations = record.iterations()};
  return absl::OkStatus();
}

absl::Status ApplyRemoveUserScramCredential(const RemoveUserScramCredential& record, ScramCredentialMap& credentials) {
  auto user = credentials.find(record.name());
  if (user == credentials.end() || user->second.erase(record.mechanism()) == 0) {
    return absl::FailedPreconditionError("removal of a SCRAM credential that does not exist");
  }
  if (user->second.empty()) credentials.erase(user);
  return absl::OkStatus();
}

void AppendScramCredentialRecords(const ScramCredentialMap& credentials, MetadataSnapshot& snapshot) {
  for (const auto& [name, mechanisms] : credentials) {
    for (const auto& [mechanism, credential] : mechanisms) {
      auto* r = snapshot.add_records()->mutable_user_scram_credential();
      r->set_name(name);
      r->set_mechanism(mechanism);
      r->set_salt(credential.salt);
      r->set_stored_key(credential.stored_key);
      r->set_server_key(credential.server_key);
      r->set_iterations(credential.iterations);
    }
  }
}

}  // namespace sluice::metadata
