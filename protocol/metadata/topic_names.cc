#include "protocol/metadata/topic_names.h"

#include <fmt/format.h>

namespace sluice::metadata {
namespace {

bool LegalTopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

}  // namespace

std::string TopicNameProblem(std::string_view name) {
  if (name.empty()) return "topic name is empty";
  if (name == "." || name == "..") return fmt::format("topic name '{}' is not allowed", name);
  if (name.size() > kMaxTopicNameLength) return fmt::format("topic name is longer than {} characters", kMaxTopicNameLength);
  for (char c : name) {
    if (LegalTopicChar(c)) continue;
    // The offending byte as a number: the name itself may not be printable or valid UTF-8.
    return fmt::format("topic name contains byte 0x{:02x}: only ASCII letters, digits, '.', '_' and '-' are allowed",
                       static_cast<unsigned char>(c));
  }
  return "";
}

bool IsInternalTopic(std::string_view name) { return name == "__consumer_offsets" || name == "__transaction_state"; }

}  // namespace sluice::metadata
