// libFuzzer target: read_idx (plain and gzip) on arbitrary bytes either reads
// or throws redes::Error.
#include <redes.h>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    redes::data::read_idx(redes::fuzz::input_file(data, size));
  } catch (const redes::Error&) {
  }
  return 0;
}
