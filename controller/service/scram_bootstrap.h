#pragma once
// `scram.bootstrap.credentials`: the first SCRAM users of a new cluster, in the syntax of Kafka's
// `kafka-storage format --add-scram`, entries separated by ';':
//   SCRAM-SHA-512=[name=admin,password=admin-secret];SCRAM-SHA-256=[name=alice,password="a,b",iterations=8192]
// A value in double quotes may hold ',' and ']' (not ';' or '"'). Each entry becomes a credential
// with a fresh random salt; the password itself is kept nowhere.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/metadata/metadata.pb.h"

namespace sluice::controller {

// InvalidArgument naming the entry and what is wrong with it.
absl::StatusOr<std::vector<metadata::UserScramCredential>> ParseScramBootstrap(std::string_view text);

}  // namespace sluice::controller
