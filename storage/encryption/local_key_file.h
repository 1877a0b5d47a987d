#pragma once
// The dev cluster's key provider: master keys in a local file, one per line,
//   <key id> <64 hex digits>
// (key ids: 1-64 of [A-Za-z0-9._-]; blank lines and lines starting with '#' are ignored).
// The LAST key listed is the active one: rotation appends a new line, e.g.
//   echo "k2 $(openssl rand -hex 32)" >> master.keys
// and restarts the broker, which rewraps every segment's data key under it. Older keys stay
// in the file until a broker has started with the new one (a crash during rotation may leave a
// segment wrapped under either). Wrapping is AES-256-GCM with a random nonce:
// wrapped = nonce(12) | encrypted data key(32) | tag(16).

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "storage/encryption/key_provider.h"

namespace sluice::storage {

class LocalKeyFile final : public KeyProvider {
 public:
  // kInvalidArgument (naming the file and line) for a malformed file or one without keys.
  static absl::StatusOr<std::shared_ptr<LocalKeyFile>> Load(const std::filesystem::path& path);
  static absl::StatusOr<std::shared_ptr<LocalKeyFile>> Parse(std::string_view contents, std::string_view source);

  std::string active_key_id() const override { return active_; }
  absl::StatusOr<std::string> Wrap(std::string_view key_id, const SecretKey& data_key,
                                   std::string_view context) const override;
  absl::StatusOr<SecretKey> Unwrap(std::string_view key_id, std::string_view wrapped,
                                   std::string_view context) const override;

 private:
  LocalKeyFile() = default;
  absl::StatusOr<const SecretKey*> Find(std::string_view key_id) const;
  std::map<std::string, SecretKey, std::less<>> keys_;
  std::string active_;
  std::string source_;
};

}  // namespace sluice::storage
