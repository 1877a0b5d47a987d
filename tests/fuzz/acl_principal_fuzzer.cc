// Principals and the super.users list as operators and clients write them (broker/security):
// the same bytes as one principal and as a super.users value. Properties: a parsed principal
// rebuilds to its text; every super-user entry parses as a principal, and the list parses
// again to itself when joined.

#include <string>

#include "broker/security/acl_principal.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::broker::security;
  const std::string_view input = sluice::fuzz::AsBytes(data, size);
  if (auto principal = ParsePrincipal(input); principal.ok()) {
    SLUICE_FUZZ_CHECK(principal->type + ":" + principal->name == input);
  }
  if (auto supers = ParseSuperUsers(input); supers.ok()) {
    std::string joined;
    for (const std::string& entry : *supers) {
      SLUICE_FUZZ_CHECK(ParsePrincipal(entry).ok());
      joined += entry + ";";
    }
    auto again = ParseSuperUsers(joined);
    SLUICE_FUZZ_CHECK(again.ok() && *again == *supers);
  }
  return 0;
}
