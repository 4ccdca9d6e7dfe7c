#include "train/finite_check.h"

#include <cmath>

#include "core/ops.h"

namespace redes::train {

Tensor non_finite_flag(const std::vector<Tensor>& tensors) {
  NoGradGuard no_grad;
  Tensor flag;
  for (const Tensor& tensor : tensors) {
    if (!tensor.defined() || !is_floating(tensor.dtype()) || tensor.numel() == 0) continue;
    const Tensor zeros = (tensor.detach() * 0.0).sum().to(kFloat64);
    flag = flag.defined() ? flag + zeros : zeros;
  }
  return flag;
}

bool all_finite(const std::vector<Tensor>& tensors) {
  const Tensor flag = non_finite_flag(tensors);
  return !flag.defined() || std::isfinite(flag.item());
}

std::vector<std::string> non_finite_names(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (!all_finite({tensor})) names.push_back(name);
  }
  return names;
}

}  // namespace redes::train
