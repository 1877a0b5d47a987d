#pragma once
// Where master keys live. Segment data keys are wrapped (encrypted) under a master key named by
// a key id, which each segment file records; the provider never hands out a master key itself,
// so an external KMS can implement it by forwarding Wrap/Unwrap.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/encryption/aes_gcm.h"

namespace sluice::storage {

// The largest wrapped data key a segment header holds (a KMS ciphertext blob must fit).
inline constexpr size_t kMaxWrappedKeyBytes = 256;
inline constexpr size_t kMaxKeyIdBytes = 64;

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  // The key new segments and rotation wrap under.
  virtual std::string active_key_id() const = 0;
  // `data_key` wrapped under master key `key_id`, authenticating `context` (which Unwrap must be
  // given again). kNotFound for an unknown key id.
  virtual absl::StatusOr<std::string> Wrap(std::string_view key_id, const SecretKey& data_key,
                                           std::string_view context) const = 0;
  // kNotFound for an unknown key id, kDataLoss when `wrapped` does not open under that key
  // (a wrong master key or a damaged header).
  virtual absl::StatusOr<SecretKey> Unwrap(std::string_view key_id, std::string_view wrapped,
                                           std::string_view context) const = 0;
};

}  // namespace sluice::storage
