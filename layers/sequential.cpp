#include "layers/sequential.h"

#include <optional>
#include <typeinfo>

#include "core/error.h"
#include "core/ops/linear.h"
#include "layers/activations.h"
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

// A Linear followed by ReLU, Sigmoid or Tanh, on a 2-D input it accepts, runs
// as one fused op (core/ops/linear.h): one kernel call and one autograd node
// instead of two of each, with the same results.
Tensor Sequential::forward(const Tensor& input) {
  const auto& children = named_children();
  Tensor x = input;
  for (std::size_t i = 0; i < children.size(); ++i) {
    Module& module = *children[i].second;
    if (i + 1 < children.size() && typeid(module) == typeid(Linear) && x.defined() && x.dim() == 2) {
      const auto& linear = static_cast<const Linear&>(module);
      const std::optional<Activation> activation = fusable_activation(*children[i + 1].second);
      if (activation && x.size(1) == linear.weight().size(1)) {
        x = detail::linear_activation(x, linear.weight(), linear.has_bias() ? linear.bias() : Tensor(), *activation);
        ++i;
        continue;
      }
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
