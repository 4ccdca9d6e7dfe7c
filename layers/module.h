// Module: the base of every layer and model. It owns named parameters and
// buffers and child modules, and gives the tree-wide operations users expect:
// dotted parameter names, train/eval, moving to a device, state dicts and a
// readable printout.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"
#include "layers/module_holder.h"

namespace redes::nn {

// Parameters and buffers by dotted name, in registration order.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

class REDES_API Module {
 public:
  virtual ~Module();
  Module() = default;
  // Move-only: a copy would silently share parameters with the original.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // The one-input forward that Sequential and the Trainer call. A module
  // whose forward takes other arguments declares its own forward (called
  // through a ModuleHolder or directly) and leaves this one, which throws.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }
  // The name in the printout and in errors: the class name by default
  // ("Linear", "Net"); override to show another.
  virtual std::string type_name() const;
  // The settings shown in the printout ("in_features=9, ...").
  virtual std::string extra_repr() const { return ""; }

  // This module as a T (e.g. seq[0]->as<Linear>()), or null when it is not one.
  template <class T>
  T* as() {
    return dynamic_cast<T*>(this);
  }
  template <class T>
  const T* as() const {
    return dynamic_cast<const T*>(this);
  }

  // Every parameter of this module and its children, depth first.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  std::int64_t parameter_count() const;

  // Training mode (dropout active, batch statistics) for the whole tree.
  void train(bool enabled = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves (or converts) every parameter and buffer in place; parameters stay
  // leaves that require grad, and an optimizer made earlier keeps updating
  // them; the state it built in earlier steps follows at its next step.
  Module& to(Device device);
  Module& to(DType dtype);
  void zero_grad();

  // Parameters and buffers by dotted name (detached handles sharing storage).
  StateDict state_dict() const;
  // Copies values into the existing tensors (keeping their device). Reports
  // every missing, unexpected or mismatched entry in one redes::Error.
  void load_state_dict(const StateDict& state, bool strict = true);

  std::string str() const;

 protected:
  void register_parameter(std::string name, Tensor value);
  void register_buffer(std::string name, Tensor value);
  // Registers a child under `name` (its parameters become "name.weight"...)
  // and returns a handle on it.
  template <class M>
    requires std::is_base_of_v<Module, M>
  ModuleHolder<M> register_module(std::string name, M module) {
    auto child = std::make_shared<M>(std::move(module));
    add_child(std::move(name), child);
    return ModuleHolder<M>(child);
  }
  // Registers a module that already has a handle (it may be shared).
  template <class M>
  ModuleHolder<M> register_module(std::string name, ModuleHolder<M> module) {
    add_child(std::move(name), module.ptr());
    return module;
  }
  template <class M>
  ModuleHolder<M> register_module(std::string name, std::shared_ptr<M> module) {
    return register_module(std::move(name), ModuleHolder<M>(std::move(module)));
  }
  void add_child(std::string name, std::shared_ptr<Module> child);
  // The registered parameter or buffer of this module (not its children).
  const Tensor& parameter(const std::string& name) const;
  const Tensor& buffer(const std::string& name) const;
  void set_buffer(const std::string& name, Tensor value);

 private:
  void collect(const std::string& prefix, bool parameters, std::vector<std::pair<std::string, Tensor>>& out) const;
  template <class Transform>
  void transform_tensors(const Transform& transform);
  void write_tree(std::string& out, int indent) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

REDES_API std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace redes::nn
