// Without libFuzzer (gcc builds): replay the seed corpus and fixed mutations of
// it through the fuzz target, so every build exercises the decoder on bad input.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::mt19937 rng(12345);  // fixed: reproducible
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::vector<uint8_t> seed((std::istreambuf_iterator<char>(in)), {});
      LLVMFuzzerTestOneInput(seed.data(), seed.size());
      ++runs;
      for (int m = 0; m < 2000 && !seed.empty(); ++m) {
        std::vector<uint8_t> mutated = seed;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int f = 0; f < flips; ++f)
          mutated[rng() % mutated.size()] = static_cast<uint8_t>(rng());
        if (rng() % 4 == 0) mutated.resize(rng() % (mutated.size() + 1));
        LLVMFuzzerTestOneInput(mutated.data(), mutated.size());
        ++runs;
      }
    }
  }
  std::printf("replayed %zu inputs\n", runs);
  return runs > 0 ? 0 : 1;
}
