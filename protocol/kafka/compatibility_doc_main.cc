// Prints docs/compatibility.md (see compatibility_doc.h).
#include <cstdio>

#include "protocol/kafka/compatibility_doc.h"

int main() {
  const std::string doc = sluice::kafka::RenderCompatibilityDoc();
  std::fwrite(doc.data(), 1, doc.size(), stdout);
  return 0;
}
