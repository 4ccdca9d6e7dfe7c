// libFuzzer target: read_csv_column and the windowing on arbitrary bytes
// either succeed or throw redes::Error.
#include <redes.h>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const std::vector<double> series = redes::data::read_csv_column(redes::fuzz::input_file(data, size), "temp");
    redes::data::make_windows(series, {.window = 2, .train_fraction = 0.5});
  } catch (const redes::Error&) {
  }
  return 0;
}
