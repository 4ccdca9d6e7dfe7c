#include "layers/sequential.h"

#include "core/error.h"

namespace redes::nn {

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [name, child] : named_children()) x = child->forward(x);
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
