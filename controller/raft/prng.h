#pragma once
// Deterministic pseudo-random numbers (SplitMix64). The core takes its seed from the host so a
// simulation replays exactly; std distributions are avoided because their output is not
// specified across standard libraries.

#include <cstdint>

namespace sluice::raft {

class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); bound must be > 0. The modulo bias is negligible for small bounds.
  uint64_t Below(uint64_t bound) { return Next() % bound; }
  // True with probability `percent`/100.
  bool Percent(uint64_t percent) { return Below(100) < percent; }

 private:
  uint64_t state_;
};

}  // namespace sluice::raft
