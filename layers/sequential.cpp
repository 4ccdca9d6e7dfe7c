#include "layers/sequential.h"

#include <optional>
#include <typeinfo>

#include "core/error.h"
#include "core/ops/fused.h"
#include "layers/activations.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace redes::nn {

namespace {

// The activation a module is, where the fused linear op can apply it (the
// exact classes: a subclass may compute something else).
std::optional<Activation> fusable_activation(const Module& module) {
  if (typeid(module) == typeid(ReLU)) return Activation::Relu;
  if (typeid(module) == typeid(Sigmoid)) return Activation::Sigmoid;
  if (typeid(module) == typeid(Tanh)) return Activation::Tanh;
  return std::nullopt;
}

}  // namespace

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

// A Linear followed by ReLU, Sigmoid or Tanh on a 2-D input it accepts, and
// a Conv2d followed by ReLU on a 4-D input, run as one fused op
// (core/ops/fused.h): one kernel call and one autograd node instead of two
// of each, with the same results.
Tensor Sequential::forward(const Tensor& input) {
  const auto& children = named_children();
  Tensor x = input;
  for (std::size_t i = 0; i < children.size(); ++i) {
    Module& module = *children[i].second;
    const std::optional<Activation> next =
        i + 1 < children.size() ? fusable_activation(*children[i + 1].second) : std::nullopt;
    if (next && x.defined() && typeid(module) == typeid(Linear) && x.dim() == 2) {
      const auto& linear = static_cast<const Linear&>(module);
      if (x.size(1) == linear.weight().size(1)) {
        x = detail::linear_activation(x, linear.weight(), linear.has_bias() ? linear.bias() : Tensor(), *next);
        ++i;
        continue;
      }
    }
    if (next == Activation::Relu && x.defined() && typeid(module) == typeid(Conv2d) && x.dim() == 4) {
      const auto& conv = static_cast<const Conv2d&>(module);
      x = detail::conv2d_relu(x, conv.weight(), conv.has_bias() ? conv.bias() : Tensor(), conv.options());
      ++i;
      continue;
    }
    x = module.forward(x);
  }
  return x;
}

std::shared_ptr<Module> Sequential::ptr(std::size_t index) const {
  REDES_CHECK(index < size(), "Sequential: index ", index, " is out of range for ", size(), " modules");
  return named_children()[index].second;
}

void Sequential::wrong_type(std::size_t index) const {
  detail::fail("Sequential: module ", index, " is a ", ptr(index)->type_name(), ", not the type asked for");
}

}  // namespace redes::nn
