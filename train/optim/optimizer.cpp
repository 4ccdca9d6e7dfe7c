#include "train/optim/optimizer.h"

#include "core/error.h"

namespace redes::optim {

Optimizer::Optimizer(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& p = parameters_[i];
    REDES_CHECK(p.defined(), "optimizer: parameter ", i, " is undefined");
    REDES_CHECK(p.is_leaf() && p.requires_grad(), "optimizer: parameter ", i, " (shape ", shape_str(p.shape()),
                ") must be a leaf that requires grad");
  }
}

Optimizer::~Optimizer() = default;

void Optimizer::follow_parameter(const Tensor& parameter, std::initializer_list<Tensor*> state) {
  for (Tensor* tensor : state) {
    if (!tensor->defined()) continue;
    if (tensor->device() != parameter.device()) *tensor = tensor->to(parameter.device());
    if (tensor->dtype() != parameter.dtype()) *tensor = tensor->to(parameter.dtype());
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) p.zero_grad();
}

}  // namespace redes::optim
