// Sequential: runs its children in order. Children are named "0", "1", ...
// as in PyTorch, so state dict keys ("0.weight") match.
#pragma once

#include <memory>
#include <type_traits>

#include "layers/module.h"

namespace redes::nn {

class REDES_API Sequential : public Module {
 public:
  Sequential() = default;
  template <class... Modules>
    requires(sizeof...(Modules) > 0 && (std::is_base_of_v<Module, std::decay_t<Modules>> && ...))
  explicit Sequential(Modules&&... modules) {
    (push_back(std::make_shared<std::decay_t<Modules>>(std::forward<Modules>(modules))), ...);
  }

  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }
  std::size_t size() const { return named_children().size(); }
  // Module `index`, as in libtorch: seq[0]->as<Linear>().
  std::shared_ptr<Module> operator[](std::size_t index) const { return ptr(index); }
  std::shared_ptr<Module> ptr(std::size_t index) const;
  // Module `index` as a T; throws if it is another type.
  template <class T>
  T& at(std::size_t index) const {
    T* module = ptr(index)->template as<T>();
    if (module == nullptr) wrong_type(index);
    return *module;
  }

 private:
  [[noreturn]] void wrong_type(std::size_t index) const;
};

}  // namespace redes::nn
