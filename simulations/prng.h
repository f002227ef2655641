// A fixed, portable pseudo-random generator: the same seed gives the same numbers on every platform.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace platoon::sim {

// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64. The standard library's engines
// are portable but its distributions are not (libstdc++ and libc++ map engine output differently),
// so the simulator draws integers only through UniformBelow and Shuffle here.
class Prng {
 public:
  explicit Prng(std::uint64_t seed);

  std::uint64_t Next();
  // A uniform integer in [0, n), n > 0: Lemire's multiply-shift with rejection, so no modulo bias.
  std::uint64_t UniformBelow(std::uint64_t n);

  // Fisher-Yates from the last element down: element i swaps with UniformBelow(i + 1).
  template <typename T>
  void Shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(UniformBelow(i));
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace platoon::sim
