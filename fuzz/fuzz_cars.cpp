// libFuzzer target: load_cars on arbitrary bytes either loads or throws
// redes::Error; anything else (a crash, a sanitizer report) is a bug.
#include <redes.h>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    redes::data::load_cars(redes::fuzz::input_file(data, size));
  } catch (const redes::Error&) {
  }
  return 0;
}
