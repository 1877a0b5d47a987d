#include "broker/security/jwks_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/absl_compat.h"
#include "common/log.h"

namespace sluice::broker::security {
namespace {
constexpr auto kCheckInterval = std::chrono::seconds(1);
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
  file->signature_ = file->Signature();
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> keys = file->Load();
  if (!keys.ok()) return keys.status();
  file->keys_ = std::move(*keys);
  file->last_check_ = std::chrono::steady_clock::now();
  return file;
}

std::shared_ptr<const JsonWebKeySet> JwksFile::Current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < kCheckInterval) return keys_;
  last_check_ = now;
  std::string signature = Signature();
  if (signature == signature_) return keys_;
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> keys = Load();
  if (!keys.ok()) {
    log::Warn("oauthbearer: {} changed but does not load, keeping the previous keys: {}", path_, keys.status().ToString());
    return keys_;
  }
  log::Info("oauthbearer: {} changed; logins use its keys now", path_);
  signature_ = std::move(signature);
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

std::string JwksFile::Signature() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return "-";
  return fmt::format("{}:{}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

}  // namespace sluice::broker::security
