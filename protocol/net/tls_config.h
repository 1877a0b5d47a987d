#pragma once
// The ssl.* properties under Kafka's names, defined once for every process that speaks TLS (the
// broker's listeners and both ends of the controller RPC), and read into TlsOptions.

#include "absl/status/statusor.h"
#include "common/config.h"
#include "protocol/net/tls_context.h"

namespace sluice::net {

// ssl.keystore.type/location, ssl.key.password, ssl.truststore.type/location, ssl.client.auth,
// ssl.enabled.protocols, ssl.endpoint.identification.algorithm.
void DefineTlsProperties(config::Schema& schema);
absl::StatusOr<TlsOptions> TlsOptionsFromConfig(const config::Properties& config);
// ssl.endpoint.identification.algorithm=https: a TLS client checks the server's host name.
bool VerifiesServerHost(const config::Properties& config);

}  // namespace sluice::net
