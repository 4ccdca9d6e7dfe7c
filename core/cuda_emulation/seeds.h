// The emulator's seeded choices (the order of a block's threads): SplitMix64,
// small and fast, which is all a scheduling order needs.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace redes::cuda_emulation {

inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t salt) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class SeedSequence {
 public:
  explicit SeedSequence(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix_seed(state_, 0);
  }

  // Fisher-Yates.
  void shuffle(std::vector<unsigned>& values) {
    for (std::size_t i = values.size(); i > 1; --i) {
      const std::size_t j = next() % i;
      std::swap(values[i - 1], values[j]);
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace redes::cuda_emulation
