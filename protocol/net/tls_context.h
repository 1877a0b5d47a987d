#pragma once
// TLS contexts built from PEM files as Kafka names them (ssl.keystore.* / ssl.truststore.*),
// for the Kafka listeners (server side) and for brokers' connections to each other (client
// side). A ReloadingTlsContext picks up changed files without a restart: new connections get
// the new certificate, open ones keep theirs.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "common/file_watch.h"

namespace sluice::net {

enum class ClientAuth { kNone, kRequested, kRequired };  // ssl.client.auth

struct TlsOptions {
  // ssl.keystore.location: a PEM file with the private key and the certificate chain (leaf
  // first). Required on a server; a client presents it when set (mTLS).
  std::string keystore_location;
  std::string key_password;  // ssl.key.password, for an encrypted private key
  // ssl.truststore.location: PEM CA certificates. A server verifies client certificates with
  // them; a client verifies the server. Empty: a server accepts no client certificate, a client
  // uses the system's CAs.
  std::string truststore_location;
  ClientAuth client_auth = ClientAuth::kNone;
  std::vector<std::string> protocols = {"TLSv1.2", "TLSv1.3"};  // ssl.enabled.protocols
};

absl::StatusOr<ClientAuth> ParseClientAuth(std::string_view text);

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsOptions& options);
absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsOptions& options);

// The subject of the peer's verified certificate in RFC 2253 form ("CN=alice,O=acme"), as
// Kafka's principal builder reads it; empty when the peer sent none.
std::string PeerSubject(SSL* ssl);

class ReloadingTlsContext {
 public:
  enum class Side { kServer, kClient };
  // Fails when the files do not make a context now.
  static absl::StatusOr<std::shared_ptr<ReloadingTlsContext>> Create(Side side, TlsOptions options);

  // The context for a new connection: rebuilt first when a file changed since the last build
  // (looked at no more than once a second). A change that does not load (a half-written file)
  // keeps the old context, with a log line, and is retried.
  std::shared_ptr<asio::ssl::context> Current();

 private:
  ReloadingTlsContext(Side side, TlsOptions options)
      : side_(side), options_(std::move(options)), watch_({options_.keystore_location, options_.truststore_location}) {}

  const Side side_;
  const TlsOptions options_;
  std::mutex mu_;
  std::shared_ptr<asio::ssl::context> context_;
  FileWatch watch_;
};

}  // namespace sluice::net
