#include "protocol/net/tls_config.h"

#include "absl/strings/ascii.h"

namespace sluice::net {

void DefineTlsProperties(config::Schema& schema) {
  using config::Type;
  auto def = [&schema](std::string name, std::string default_value, std::string doc,
                       std::vector<std::string> allowed = {}, Type type = Type::kString) {
    schema.Define({.name = std::move(name), .type = type, .default_value = std::move(default_value),
                   .doc = std::move(doc), .allowed_values = std::move(allowed)});
  };
  def("ssl.keystore.type", "PEM", "format of ssl.keystore.location (PEM)", {"PEM"});
  def("ssl.keystore.location", "", "PEM file with this process's private key and certificate chain, for TLS");
  def("ssl.key.password", "", "password of an encrypted private key in ssl.keystore.location");
  def("ssl.truststore.type", "PEM", "format of ssl.truststore.location (PEM)", {"PEM"});
  def("ssl.truststore.location", "", "PEM file with the CA certificates peers' certificates are checked against");
  def("ssl.client.auth", "none", "client certificates on TLS listeners: none, requested, required",
      {"none", "requested", "required"});
  def("ssl.enabled.protocols", "TLSv1.2,TLSv1.3", "TLS versions accepted (TLSv1.2, TLSv1.3)", {}, Type::kList);
  def("ssl.endpoint.identification.algorithm", "https",
      "https: a TLS client checks that the server's certificate names the host it connects to; empty: no check");
}

absl::StatusOr<TlsOptions> TlsOptionsFromConfig(const config::Properties& config) {
  absl::StatusOr<ClientAuth> client_auth = ParseClientAuth(config.GetString("ssl.client.auth"));
  if (!client_auth.ok()) return client_auth.status();
  return TlsOptions{.keystore_location = config.GetString("ssl.keystore.location"),
                    .key_password = config.GetString("ssl.key.password"),
                    .truststore_location = config.GetString("ssl.truststore.location"),
                    .client_auth = *client_auth,
                    .protocols = config.GetList("ssl.enabled.protocols")};
}

bool VerifiesServerHost(const config::Properties& config) {
  return absl::AsciiStrToLower(config.GetString("ssl.endpoint.identification.algorithm")) == "https";
}

}  // namespace sluice::net
