#include "broker/security/jwks_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::broker::security {
namespace {
constexpr std::string_view kFileScheme = "file://";
constexpr std::streamsize kMaxJwksBytes = 1 << 20;
}  // namespace

absl::StatusOr<std::shared_ptr<JwksFile>> JwksFile::Open(const std::string& url) {
  if (url.substr(0, kFileScheme.size()) != kFileScheme || url.size() <= kFileScheme.size() ||
      url[kFileScheme.size()] != '/') {
    return absl::InvalidArgumentError(fmt::format(
        "sasl.oauthbearer.jwks.endpoint.url: '{}' is not a file:///PATH URL (HTTP endpoints are not supported; "
        "keep the identity provider's JWKS in a file)", url));
  }
  std::shared_ptr<JwksFile> file(new JwksFile(url.substr(kFileScheme.size())));
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> keys = file->Load();
  if (!keys.ok()) return keys.status();
  file->keys_ = std::move(*keys);
  return file;
}

std::shared_ptr<const JsonWebKeySet> JwksFile::Current() {
  std::lock_guard lock(mu_);
  std::optional<std::string> changed = watch_.Changed();
  if (!changed) return keys_;
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> keys = Load();
  if (!keys.ok()) {
    log::Warn("oauthbearer: {} changed but does not load, keeping the previous keys: {}", path_, keys.status().ToString());
    return keys_;
  }
  log::Info("oauthbearer: {} changed; logins use its keys now", path_);
  watch_.Accept(std::move(*changed));
  keys_ = std::move(*keys);
  return keys_;
}

absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> JwksFile::Load() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(fmt::format("sasl.oauthbearer.jwks.endpoint.url: cannot read {}", path_));
  std::string text(static_cast<size_t>(kMaxJwksBytes) + 1, '\0');
  in.read(text.data(), kMaxJwksBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (static_cast<std::streamsize>(text.size()) > kMaxJwksBytes) {
    return absl::InvalidArgumentError(fmt::format("{}: a JWKS of more than 1 MiB", path_));
  }
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> keys = JsonWebKeySet::Parse(text);
  if (!keys.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", path_, ToStd(keys.status().message())));
  return keys;
}

}  // namespace sluice::broker::security
