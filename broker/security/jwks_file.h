#pragma once
// The JWKS that OAUTHBEARER tokens are checked against, from `sasl.oauthbearer.jwks.endpoint.url`
// when it is a file: URL. The file is read again when it changes (looked at no more than once a
// second, at a login), so keys can be rotated without a restart; a change that does not parse
// keeps the previous keys, with a log line.

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "broker/security/jwt_validator.h"
#include "common/file_watch.h"

namespace sluice::broker::security {

class JwksFile {
 public:
  // InvalidArgument for URLs other than file:///PATH, or a file that holds no usable key now.
  static absl::StatusOr<std::shared_ptr<JwksFile>> Open(const std::string& url);

  std::shared_ptr<const JsonWebKeySet> Current();

 private:
  explicit JwksFile(std::string path) : path_(std::move(path)), watch_({path_}) {}
  absl::StatusOr<std::shared_ptr<const JsonWebKeySet>> Load() const;

  const std::string path_;
  std::mutex mu_;
  std::shared_ptr<const JsonWebKeySet> keys_;
  FileWatch watch_;
};

}  // namespace sluice::broker::security
