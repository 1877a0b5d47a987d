#include "protocol/net/tls_context.h"

#include <algorithm>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/log.h"

namespace sluice::net {
namespace {

constexpr unsigned char kSessionIdContext[] = "sluice";
constexpr char kTls13Ciphersuites[] = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

absl::StatusOr<int> ProtocolVersion(const std::string& name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return absl::InvalidArgumentError(fmt::format("ssl.enabled.protocols: {} is not supported (TLSv1.2, TLSv1.3)", name));
}

absl::Status SetProtocols(SSL_CTX* ctx, const std::vector<std::string>& protocols) {
  if (protocols.empty()) return absl::InvalidArgumentError("ssl.enabled.protocols is empty");
  int lowest = TLS1_3_VERSION, highest = TLS1_2_VERSION;
  for (const std::string& name : protocols) {
    absl::StatusOr<int> version = ProtocolVersion(name);
    if (!version.ok()) return version.status();
    lowest = std::min(lowest, *version);
    highest = std::max(highest, *version);
  }
  SSL_CTX_set_min_proto_version(ctx, lowest);
  SSL_CTX_set_max_proto_version(ctx, highest);
  return absl::OkStatus();
}

absl::Status FileError(std::string_view what, const std::string& file, const asio::error_code& ec) {
  return absl::InvalidArgumentError(fmt::format("{} {}: {}", what, file, ec.message()));
}

absl::Status LoadKeystore(asio::ssl::context& context, const TlsOptions& options) {
  asio::error_code ec;
  if (!options.key_password.empty()) {
    context.set_password_callback([password = options.key_password](size_t, asio::ssl::context::password_purpose) {
      return password;
    }, ec);
  }
  context.use_certificate_chain_file(options.keystore_location, ec);
  if (ec) return FileError("ssl.keystore.location: no certificate chain in", options.keystore_location, ec);
  context.use_private_key_file(options.keystore_location, asio::ssl::context::pem, ec);
  if (ec) return FileError("ssl.keystore.location: no usable private key in", options.keystore_location, ec);
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("ssl.keystore.location {}: the private key does not match the certificate", options.keystore_location));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> NewContext(asio::ssl::context::method method,
                                                              const TlsOptions& options) {
  auto context = std::make_shared<asio::ssl::context>(method);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                       asio::ssl::context::single_dh_use);
  if (absl::Status status = SetProtocols(context->native_handle(), options.protocols); !status.ok()) return status;
  // AES-128-GCM first: as strong as TLS needs and about a third cheaper than AES-256 per byte,
  // for the broker and its clients alike; the server's order decides.
  SSL_CTX_set_ciphersuites(context->native_handle(), kTls13Ciphersuites);
  SSL_CTX_set_options(context->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  return context;
}

}  // namespace

absl::StatusOr<ClientAuth> ParseClientAuth(std::string_view text) {
  if (text == "none") return ClientAuth::kNone;
  if (text == "requested") return ClientAuth::kRequested;
  if (text == "required") return ClientAuth::kRequired;
  return absl::InvalidArgumentError(fmt::format("ssl.client.auth: {} is not one of none, requested, required", text));
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsOptions& options) {
  if (options.keystore_location.empty()) {
    return absl::InvalidArgumentError("ssl.keystore.location: a TLS listener needs its key and certificate");
  }
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context = NewContext(asio::ssl::context::tls_server, options);
  if (!context.ok()) return context.status();
  if (absl::Status status = LoadKeystore(**context, options); !status.ok()) return status;
  SSL_CTX* ctx = (*context)->native_handle();
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  if (options.client_auth != ClientAuth::kNone) {
    if (options.truststore_location.empty()) {
      return absl::InvalidArgumentError("ssl.truststore.location: ssl.client.auth needs the CAs client certificates come from");
    }
    asio::error_code ec;
    (*context)->load_verify_file(options.truststore_location, ec);
    if (ec) return FileError("ssl.truststore.location: no CA certificates in", options.truststore_location, ec);
    // Tells clients which CAs' certificates are welcome.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.truststore_location.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    asio::ssl::verify_mode mode = asio::ssl::verify_peer;
    if (options.client_auth == ClientAuth::kRequired) mode |= asio::ssl::verify_fail_if_no_peer_cert;
    (*context)->set_verify_mode(mode);
  }
  return context;
}

absl::StatusOr<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsOptions& options) {
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context = NewContext(asio::ssl::context::tls_client, options);
  if (!context.ok()) return context.status();
  asio::error_code ec;
  if (options.truststore_location.empty()) {
    (*context)->set_default_verify_paths(ec);
  } else {
    (*context)->load_verify_file(options.truststore_location, ec);
  }
  if (ec) return FileError("ssl.truststore.location: no CA certificates in", options.truststore_location, ec);
  (*context)->set_verify_mode(asio::ssl::verify_peer);
  if (!options.keystore_location.empty()) {
    if (absl::Status status = LoadKeystore(**context, options); !status.ok()) return status;
  }
  return context;
}

std::string PeerSubject(SSL* ssl) {
  X509* certificate = SSL_get_peer_certificate(ssl);
  if (certificate == nullptr) return "";
  std::string subject;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long size = BIO_get_mem_data(bio, &data);
      if (size > 0) subject.assign(data, static_cast<size_t>(size));
    }
    BIO_free(bio);
  }
  X509_free(certificate);
  return subject;
}

absl::StatusOr<std::shared_ptr<ReloadingTlsContext>> ReloadingTlsContext::Create(Side side, TlsOptions options) {
  std::shared_ptr<ReloadingTlsContext> reloading(new ReloadingTlsContext(side, std::move(options)));
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context =
      side == Side::kServer ? MakeServerTlsContext(reloading->options_) : MakeClientTlsContext(reloading->options_);
  if (!context.ok()) return context.status();
  reloading->context_ = std::move(*context);
  return reloading;
}

std::shared_ptr<asio::ssl::context> ReloadingTlsContext::Current() {
  std::lock_guard lock(mu_);
  std::optional<std::string> changed = watch_.Changed();
  if (!changed) return context_;
  absl::StatusOr<std::shared_ptr<asio::ssl::context>> context =
      side_ == Side::kServer ? MakeServerTlsContext(options_) : MakeClientTlsContext(options_);
  if (!context.ok()) {
    log::Warn("tls: changed certificate files do not load, keeping the previous ones: {}", context.status().ToString());
    return context_;
  }
  log::Info("tls: certificate files changed; new connections use the new ones");
  watch_.Accept(std::move(*changed));
  context_ = std::move(*context);
  return context_;
}

}  // namespace sluice::net
