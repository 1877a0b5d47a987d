#pragma once
// Kafka listeners as Kafka configures them: `listeners` (NAME://host:port,...),
// `advertised.listeners`, `listener.security.protocol.map` and `inter.broker.listener.name`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/endpoint.h"

namespace sluice {

// Kafka's SecurityProtocol ids.
enum class SecurityProtocol : int32_t { kPlaintext = 0, kSsl = 1, kSaslPlaintext = 2, kSaslSsl = 3 };

std::string_view SecurityProtocolName(SecurityProtocol protocol);
// "NAME://host:port" -> NAME (upper-cased); a bare host:port is PLAINTEXT, as Kafka reads it.
std::string ListenerNameOf(std::string_view endpoint);
// The protocol listener.security.protocol.map (`map`) gives the listener `name`; NotFound
// without an entry.
absl::StatusOr<SecurityProtocol> ListenerSecurityProtocol(const std::string& name, const std::string& map);
inline bool UsesTls(SecurityProtocol p) { return p == SecurityProtocol::kSsl || p == SecurityProtocol::kSaslSsl; }
inline bool UsesSasl(SecurityProtocol p) {
  return p == SecurityProtocol::kSaslPlaintext || p == SecurityProtocol::kSaslSsl;
}

struct Listener {
  std::string name;
  SecurityProtocol protocol = SecurityProtocol::kPlaintext;
  HostPort bind;
  // What Metadata gives clients that came in on this listener; port 0 until bound when both
  // `listeners` and `advertised.listeners` leave it to the system.
  HostPort advertised;
};

struct Listeners {
  std::vector<Listener> all;  // in `listeners` order
  size_t inter_broker = 0;    // index of the one other brokers replicate through
  const Listener& InterBroker() const { return all[inter_broker]; }
};

// Every listener is advertised: one named in `listeners` but not in a non-empty
// `advertised.listeners` is refused, since Metadata could not answer on it. An empty
// `inter.broker.listener.name` picks the first listener.
absl::StatusOr<Listeners> ParseListeners(const config::Properties& config);

}  // namespace sluice
