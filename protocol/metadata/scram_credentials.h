#pragma once
// SCRAM credentials in the metadata image: per user, per mechanism (Kafka's ScramMechanism type),
// what the UserScramCredential records set and RemoveUserScramCredential records remove.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "protocol/metadata/metadata.pb.h"

namespace sluice::metadata {

inline constexpr int32_t kScramSha256 = 1;
inline constexpr int32_t kScramSha512 = 2;

struct ScramCredentialInfo {
  std::string salt;
  std::string stored_key;
  std::string server_key;
  int32_t iterations = 0;
};

// user -> mechanism -> credential; a user without credentials has no entry.
using ScramCredentialMap = std::map<std::string, std::map<int32_t, ScramCredentialInfo>, std::less<>>;

absl::Status ApplyUserScramCredential(const UserScramCredential& record, ScramCredentialMap& credentials);
absl::Status ApplyRemoveUserScramCredential(const RemoveUserScramCredential& record, ScramCredentialMap& credentials);
// The records that rebuild `credentials` (snapshots).
void AppendScramCredentialRecords(const ScramCredentialMap& credentials, MetadataSnapshot& snapshot);

}  // namespace sluice::metadata
