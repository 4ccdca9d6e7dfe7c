// Runs one op with autograd on every device this redes build and machine
// offer; exits non-zero on a wrong answer. Compiled without any CUDA include path.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <redes.h>

int main() {
  using namespace redes;
  std::vector<Device> devices{Device::cpu()};
  if (cuda::is_available()) {
    devices.push_back(Device::cuda(0));
  } else if (build_info().cuda) {
    std::printf("cuda: compiled in, not usable here (%s)\n", cuda::unavailable_reason().c_str());
  }
  int failures = 0;
  for (const Device& device : devices) {
    Tensor x = ones({3, 4}, {kFloat32, device, /*requires_grad=*/true});
    Tensor y = (x * 2.0 + 1.0).sum();
    y.backward();
    const double value = y.item(), grad = x.grad().sum().item();
    const bool ok = value == 36.0 && grad == 24.0;
    std::printf("%s: sum(2x + 1) = %g, sum(dy/dx) = %g: %s\n", device.str().c_str(), value, grad, ok ? "ok" : "WRONG");
    failures += ok ? 0 : 1;
  }
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
