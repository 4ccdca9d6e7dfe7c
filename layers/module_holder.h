// ModuleHolder: a shared handle on a module that reads like libtorch's module
// types — `conv1(x)` calls forward with any arguments, `conv1->weight()`
// reaches the module — and that register_module returns.
//
//   class Net : public nn::Module {
//    public:
//     Net() : conv1(register_module("conv1", nn::Conv2d(1, 8, 3))), fc(register_module("fc", nn::Linear(8, 10))) {}
//     Tensor forward(const Tensor& x) override { return fc(conv1(x).mean({2, 3})); }
//    private:
//     nn::ModuleHolder<nn::Conv2d> conv1;
//     nn::ModuleHolder<nn::Linear> fc;
//   };
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.h"

namespace redes::nn {

class Module;

template <class M>
class ModuleHolder {
 public:
  ModuleHolder() = default;  // empty until assigned
  ModuleHolder(std::nullptr_t) {}
  ModuleHolder(std::shared_ptr<M> module) : module_(std::move(module)) {}
  // Makes a holder of a module built in place: ModuleHolder<Linear>(Linear(3, 4)).
  template <class Value>
    requires std::is_same_v<std::decay_t<Value>, M>
  explicit ModuleHolder(Value&& module) : module_(std::make_shared<M>(std::forward<Value>(module))) {}

  // Calls the module's forward with these arguments (any forward signature).
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return get().forward(std::forward<Args>(args)...);
  }

  M* operator->() const { return &get(); }
  M& operator*() const { return get(); }
  M& get() const {
    REDES_CHECK(module_ != nullptr, "ModuleHolder: used before a module was assigned to it");
    return *module_;
  }
  const std::shared_ptr<M>& ptr() const { return module_; }
  operator std::shared_ptr<M>() const { return module_; }
  template <class Base>
    requires(std::is_base_of_v<Base, M> && !std::is_same_v<Base, M>)
  operator std::shared_ptr<Base>() const {
    return module_;
  }
  bool is_empty() const { return module_ == nullptr; }
  explicit operator bool() const { return module_ != nullptr; }

 private:
  std::shared_ptr<M> module_;
};

}  // namespace redes::nn
