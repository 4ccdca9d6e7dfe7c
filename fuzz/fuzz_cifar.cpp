// libFuzzer target: load_cifar in both formats either reads or throws
// redes::Error, on the raw input and on the input zero-padded to a whole
// number of records (which the fuzzer would rarely find by itself, and
// without which the label and pixel code is never reached).
#include <redes.h>

#include "fuzz/fuzz_input.h"

namespace {

void load(const std::vector<std::uint8_t>& bytes, const redes::data::CifarOptions& options) {
  try {
    redes::data::load_cifar({redes::fuzz::input_file(bytes.data(), bytes.size())}, options);
  } catch (const redes::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> raw(data, data + size);
  for (const redes::data::CifarOptions options :
       {redes::data::CifarOptions{redes::data::CifarFormat::Cifar10, false},
        redes::data::CifarOptions{redes::data::CifarFormat::Cifar100, false},
        redes::data::CifarOptions{redes::data::CifarFormat::Cifar100, true}}) {
    load(raw, options);
    const std::size_t record = options.format == redes::data::CifarFormat::Cifar10 ? 3073 : 3074;
    std::vector<std::uint8_t> padded = raw;
    padded.resize(std::max<std::size_t>(1, (size + record - 1) / record) * record, 0);
    load(padded, options);
  }
  return 0;
}
