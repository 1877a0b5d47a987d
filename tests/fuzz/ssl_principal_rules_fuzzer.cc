// ssl.principal.mapping.rules text and a certificate subject: parsing and mapping never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/security/ssl_principal_mapper.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  // The first line is the rules, the rest a subject to map.
  const size_t newline = input.find('\n');
  auto mapper = sluice::broker::security::SslPrincipalMapper::Parse(input.substr(0, newline));
  if (mapper.ok() && newline != std::string::npos) (void)mapper->Map(input.substr(newline + 1));
  return 0;
}
