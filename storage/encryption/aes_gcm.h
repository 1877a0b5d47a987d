#pragma once
// AES-256-GCM over OpenSSL's EVP interface, and the secret types that hold its keys. Used for
// segment data chunks and for wrapping data keys under a master key.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace sluice::storage {

inline constexpr size_t kAesKeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

// A 256-bit key, wiped from memory when destroyed.
class SecretKey {
 public:
  SecretKey() { bytes_.fill(0); }
  ~SecretKey();
  SecretKey(const SecretKey& other) = default;
  SecretKey& operator=(const SecretKey& other) = default;
  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  static constexpr size_t size() { return kAesKeyBytes; }
  // A key from the CSPRNG (RAND_bytes).
  static absl::Status Generate(SecretKey& out);

 private:
  std::array<unsigned char, kAesKeyBytes> bytes_;
};

// Fills `out` from the CSPRNG.
absl::Status RandomBytes(std::span<char> out);

// Encrypts `plaintext` into `ciphertext` (same size) and writes the tag; `aad` is authenticated.
absl::Status GcmSeal(const SecretKey& key, std::string_view nonce, std::string_view aad, std::string_view plaintext,
                     char* ciphertext, char* tag);
// Decrypts and checks the tag: kDataLoss when the ciphertext, nonce, aad or key do not match.
absl::Status GcmOpen(const SecretKey& key, std::string_view nonce, std::string_view aad, std::string_view ciphertext,
                     std::string_view tag, char* plaintext);

}  // namespace sluice::storage
