#include "common/listeners.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/status_macros.h"

namespace sluice {
namespace {

absl::StatusOr<SecurityProtocol> ParseProtocol(std::string_view name) {
  if (name == "PLAINTEXT") return SecurityProtocol::kPlaintext;
  if (name == "SSL") return SecurityProtocol::kSsl;
  if (name == "SASL_PLAINTEXT") return SecurityProtocol::kSaslPlaintext;
  if (name == "SASL_SSL") return SecurityProtocol::kSaslSsl;
  return absl::InvalidArgumentError(fmt::format(
      "listener.security.protocol.map: {} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)", name));
}

struct NamedEndpoint {
  std::string name;
  HostPort endpoint;
};

// "NAME://host:port,..." ; a bare host:port is the PLAINTEXT listener, as Kafka reads it.
absl::StatusOr<std::vector<NamedEndpoint>> ParseEndpointList(std::string_view key, const std::string& text) {
  std::vector<NamedEndpoint> out;
  std::set<std::string> names;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::string entry(absl::StripAsciiWhitespace(item));
    std::string name = ListenerNameOf(entry);
    absl::StatusOr<HostPort> endpoint = ParseEndpoint(entry);
    if (!endpoint.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", key, ToStd(endpoint.status().message())));
    if (name.empty()) return absl::InvalidArgumentError(fmt::format("{}: {} has an empty listener name", key, entry));
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(fmt::format("{}: listener {} is named twice", key, name));
    }
    out.push_back({std::move(name), std::move(*endpoint)});
  }
  if (out.empty()) return absl::InvalidArgumentError(fmt::format("{}: no listener", key));
  return out;
}

}  // namespace

std::string ListenerNameOf(std::string_view endpoint) {
  const size_t scheme = endpoint.find("://");
  return scheme == std::string_view::npos ? "PLAINTEXT" : absl::AsciiStrToUpper(ToAbsl(endpoint.substr(0, scheme)));
}

absl::StatusOr<SecurityProtocol> ListenerSecurityProtocol(const std::string& name, const std::string& map) {
  for (absl::string_view entry : absl::StrSplit(map, ',', absl::SkipWhitespace())) {
    const size_t colon = entry.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("listener.security.protocol.map: {} is not NAME:PROTOCOL", ToStd(entry)));
    }
    if (absl::AsciiStrToUpper(absl::StripAsciiWhitespace(entry.substr(0, colon))) == name) {
      return ParseProtocol(std::string(absl::StripAsciiWhitespace(entry.substr(colon + 1))));
    }
  }
  return absl::NotFoundError(fmt::format("listener.security.protocol.map has no entry for listener {}", name));
}

std::string_view SecurityProtocolName(SecurityProtocol protocol) {
  switch (protocol) {
    case SecurityProtocol::kPlaintext: return "PLAINTEXT";
    case SecurityProtocol::kSsl: return "SSL";
    case SecurityProtocol::kSaslPlaintext: return "SASL_PLAINTEXT";
    case SecurityProtocol::kSaslSsl: return "SASL_SSL";
  }
  return "PLAINTEXT";
}

absl::StatusOr<Listeners> ParseListeners(const config::Properties& config) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<NamedEndpoint> bound, ParseEndpointList("listeners", config.GetString("listeners")));
  const std::string advertised_text = config.GetString("advertised.listeners");
  std::vector<NamedEndpoint> advertised = bound;
  if (!advertised_text.empty()) {
    SLUICE_ASSIGN_OR_RETURN(advertised, ParseEndpointList("advertised.listeners", advertised_text));
  }
  const std::string map = config.GetString("listener.security.protocol.map");
  Listeners listeners;
  std::set<uint16_t> ports;
  for (NamedEndpoint& listener : bound) {
    auto match = std::find_if(advertised.begin(), advertised.end(), [&](const NamedEndpoint& a) { return a.name == listener.name; });
    if (match == advertised.end()) {
      return absl::InvalidArgumentError(
          fmt::format("advertised.listeners: no address for listener {} (every listener is advertised)", listener.name));
    }
    if (match->endpoint.host == "0.0.0.0" || match->endpoint.host.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "advertised.listeners: set a host clients can reach for listener {} (it binds {})", listener.name,
          listener.endpoint.host.empty() ? "every interface" : listener.endpoint.host));
    }
    if (listener.endpoint.port != 0 && !ports.insert(listener.endpoint.port).second) {
      return absl::InvalidArgumentError(fmt::format("listeners: port {} is used twice", listener.endpoint.port));
    }
    SLUICE_ASSIGN_OR_RETURN(SecurityProtocol protocol, ListenerSecurityProtocol(listener.name, map));
    listeners.all.push_back(
        {.name = listener.name, .protocol = protocol, .bind = listener.endpoint, .advertised = match->endpoint});
  }
  for (const NamedEndpoint& a : advertised) {
    if (std::none_of(bound.begin(), bound.end(), [&](const NamedEndpoint& b) { return b.name == a.name; })) {
      return absl::InvalidArgumentError(fmt::format("advertised.listeners: {} is not in listeners", a.name));
    }
  }
  if (const std::string inter = absl::AsciiStrToUpper(config.GetString("inter.broker.listener.name")); !inter.empty()) {
    auto it = std::find_if(listeners.all.begin(), listeners.all.end(), [&](const Listener& l) { return l.name == inter; });
    if (it == listeners.all.end()) {
      return absl::InvalidArgumentError(fmt::format("inter.broker.listener.name: {} is not in listeners", inter));
    }
    listeners.inter_broker = static_cast<size_t>(it - listeners.all.begin());
  }
  return listeners;
}

}  // namespace sluice
