#pragma once
// Renders docs/compatibility.md from the API registry, so the document cannot drift from what the
// broker advertises (a unit test compares the two).

#include <string>

namespace sluice::kafka {

std::string RenderCompatibilityDoc();

}  // namespace sluice::kafka
