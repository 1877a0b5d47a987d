#include "storage/encryption/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>

namespace sluice::storage {
namespace {

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// One context per thread: creating one per chunk would cost an allocation each time.
EVP_CIPHER_CTX* ThreadContext() {
  thread_local CipherContext context(EVP_CIPHER_CTX_new());
  return context.get();
}

}  // namespace

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

absl::Status SecretKey::Generate(SecretKey& out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) return absl::InternalError("RAND_bytes failed");
  return absl::OkStatus();
}

absl::Status RandomBytes(std::span<char> out) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return absl::OkStatus();
}

absl::Status GcmSeal(const SecretKey& key, std::string_view nonce, std::string_view aad, std::string_view plaintext,
                     char* ciphertext, char* tag) {
  if (nonce.size() != kGcmNonceBytes || plaintext.size() > INT_MAX || aad.size() > INT_MAX) {
    return absl::InvalidArgumentError("bad AES-GCM input sizes");
  }
  EVP_CIPHER_CTX* context = ThreadContext();
  if (context == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  int length = 0;
  auto* out = reinterpret_cast<unsigned char*>(ciphertext);
  if (EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nullptr, key.data(), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(context, nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(context, out, &length, Bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context, out + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes), tag) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return absl::OkStatus();
}

absl::Status GcmOpen(const SecretKey& key, std::string_view nonce, std::string_view aad, std::string_view ciphertext,
                     std::string_view tag, char* plaintext) {
  if (nonce.size() != kGcmNonceBytes || tag.size() != kGcmTagBytes || ciphertext.size() > INT_MAX ||
      aad.size() > INT_MAX) {
    return absl::InvalidArgumentError("bad AES-GCM input sizes");
  }
  EVP_CIPHER_CTX* context = ThreadContext();
  if (context == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  int length = 0;
  auto* out = reinterpret_cast<unsigned char*>(plaintext);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads it.
  void* expected_tag = const_cast<char*>(tag.data());
  if (EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nullptr, key.data(), Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(context, nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(context, out, &length, Bytes(ciphertext), static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes), expected_tag) != 1) {
    return absl::InternalError("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(context, out + length, &length) != 1) {
    return absl::DataLossError("AES-256-GCM authentication failed");
  }
  return absl::OkStatus();
}

}  // namespace sluice::storage
