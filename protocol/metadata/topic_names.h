#pragma once
// Kafka's rules for topic names, shared by the broker (which refuses a bad name before it
// reaches the controller, or a protobuf string field, which must hold UTF-8) and by the
// controller (which checks again, since it decides).

#include <string>
#include <string_view>

namespace sluice::metadata {

inline constexpr size_t kMaxTopicNameLength = 249;

// Why `name` cannot name a topic (Kafka: 1 to 249 of [a-zA-Z0-9._-], not "." or ".."); empty
// when it can. Any byte outside that set, so any non-ASCII or invalid UTF-8, is refused.
std::string TopicNameProblem(std::string_view name);

// Topics only the broker itself writes and that clients may not produce to.
bool IsInternalTopic(std::string_view name);

}  // namespace sluice::metadata
