// The snippets of docs/guide.md, "Devices and kernel selection", with checks
// of what the text says. Runs on the CPU alone when CUDA is absent.
// [guide:devices_includes]
#include <redes.h>  // includes kernels/kernel_settings.h: set_kernel_impl, set_allow_tf32, set_deterministic
using namespace redes;
// [guide:end]

#include <cstdlib>
#include <iostream>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

void query() {
  // [guide:devices_query]
  if (cuda::is_available()) {
    cuda::DeviceProperties properties = cuda::properties(0);
    std::cout << cuda::device_count() << " CUDA device(s); cuda:0 is " << properties.name << "\n";
  } else {
    std::cout << "no CUDA device: " << cuda::unavailable_reason() << "\n";  // never throws
  }
  Device device = Device::best();               // cuda:0 when available, else cpu
  Device chosen = Device::parse("cuda:1");      // "cpu", "cuda", "cuda:N", e.g. from a flag
  BuildInfo build = build_info();               // build.cuda, build.cudnn, build.onednn: what is compiled in
  std::cout << "redes " << build.version << " on " << device << "\n";
  // [guide:end]
  check(device == (cuda::is_available() ? Device::cuda(0) : Device::cpu()), "Device::best()");
  check(chosen.is_cuda() && chosen.index == 1, "Device::parse");
  check(cuda::is_available() == (cuda::device_count() > 0), "is_available and device_count agree");
  check(cuda::is_available() == cuda::unavailable_reason().empty(), "a reason exactly when unavailable");
  if (!cuda::is_available()) {
    bool refused = false;
    try {
      zeros({2}, {.device = Device::cuda(0)});
    } catch (const Error&) {
      refused = true;
    }
    check(refused, "using an absent CUDA device throws a redes::Error");
  }
}

void kernels() {
  Generator generator(5);
  // [guide:devices_kernels]
  Device device = Device::best();
  Tensor input = randn({2, 3, 16, 16}, {.device = device}, &generator);
  Tensor weight = randn({8, 3, 3, 3}, {.device = device}, &generator);

  KernelImpl before = kernel_impl();          // auto unless REDES_KERNEL_IMPL says otherwise
  set_kernel_impl(KernelImpl::Hand);          // the hand-written kernels
  Tensor by_hand = conv2d(input, weight, {}, {.padding = 1});
  set_kernel_impl(parse_kernel_impl("vendor"));  // cuDNN on CUDA, oneDNN on the CPU ("cudnn" also works)
  Tensor by_vendor = conv2d(input, weight, {}, {.padding = 1});
  set_kernel_impl(before);
  // by_hand and by_vendor agree to float32 rounding

  set_allow_tf32(true);        // float32 GEMMs and convolutions on CUDA may round through TF32
  set_allow_tf32(false);       // exact float32, the default
  set_deterministic(true);     // only bitwise-reproducible algorithms
  set_deterministic(false);
  // [guide:end]
  check(before == KernelImpl::Hand, "REDES_KERNEL_IMPL=hand set before the first use (main) is read");
  check(parse_kernel_impl("cudnn") == KernelImpl::Vendor, "cudnn is vendor");
  const double difference = max(abs(by_hand - by_vendor)).item();
  const double scale = max(abs(by_hand)).item();
  check(difference <= 1e-4 * scale, "hand and vendor agree");
  check(!allow_tf32() && !deterministic(), "settings restored");
  bool refused = false;
  try {
    parse_kernel_impl("fast");
  } catch (const Error&) {
    refused = true;
  }
  check(refused, "an unknown implementation name throws");
}

}  // namespace

int main() {
  // As if run as `REDES_KERNEL_IMPL=hand guide_devices`: the variable is read
  // when the setting is first used.
  setenv("REDES_KERNEL_IMPL", "hand", 1);
  return guide::run("guide_devices", [] {
    query();
    kernels();
  });
}
