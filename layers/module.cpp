#include "layers/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>

#include "core/error.h"
#include "core/ops.h"
#include "core/tensor_impl.h"

namespace redes::nn {

Module::~Module() = default;

Tensor Module::forward(const Tensor&) {
  detail::fail(type_name(), " has no forward(const Tensor&); call the forward it declares (through a "
               "ModuleHolder, holder(a, b), or directly)");
}

std::string Module::type_name() const {
  // The class name without its namespaces (or template arguments' namespaces).
  std::string name = typeid(*this).name();
  int status = 0;
  if (char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status)) {
    name = demangled;
    std::free(demangled);
  }
  const std::size_t template_start = name.find('<');
  const std::size_t last_scope = name.rfind("::", template_start);
  return last_scope == std::string::npos ? name : name.substr(last_scope + 2);
}

void Module::register_parameter(std::string name, Tensor value) {
  REDES_CHECK(value.defined(), type_name(), ": parameter \"", name, "\" is undefined");
  if (value.is_leaf() && !value.requires_grad() && is_floating(value.dtype())) value.requires_grad_(true);
  parameters_.emplace_back(std::move(name), std::move(value));
}

void Module::register_buffer(std::string name, Tensor value) { buffers_.emplace_back(std::move(name), std::move(value)); }

void Module::add_child(std::string name, std::shared_ptr<Module> child) {
  REDES_CHECK(child != nullptr, type_name(), ": child module \"", name, "\" is null");
  child->train(training_);
  children_.emplace_back(std::move(name), std::move(child));
}

const Tensor& Module::parameter(const std::string& name) const {
  for (const auto& [key, value] : parameters_) {
    if (key == name) return value;
  }
  detail::fail(type_name(), ": no parameter named \"", name, "\"");
}

const Tensor& Module::buffer(const std::string& name) const {
  for (const auto& [key, value] : buffers_) {
    if (key == name) return value;
  }
  detail::fail(type_name(), ": no buffer named \"", name, "\"");
}

void Module::set_buffer(const std::string& name, Tensor value) {
  for (auto& [key, current] : buffers_) {
    if (key == name) {
      current = std::move(value);
      return;
    }
  }
  detail::fail(type_name(), ": no buffer named \"", name, "\"");
}

void Module::collect(const std::string& prefix, bool want_parameters,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, value] : want_parameters ? parameters_ : buffers_) out.emplace_back(prefix + name, value);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", want_parameters, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, value] : named_parameters()) out.push_back(value);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::int64_t Module::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& [name, value] : named_parameters()) count += value.numel();
  return count;
}

void Module::train(bool enabled) {
  training_ = enabled;
  for (auto& [name, child] : children_) child->train(enabled);
}

template <class Transform>
void Module::transform_tensors(const Transform& transform) {
  NoGradGuard no_grad;
  // Parameters change in place, so an optimizer made before model.to(...)
  // keeps updating them (as in libtorch); their gradients move with them.
  for (auto& [name, value] : parameters_) {
    const Tensor moved = transform(value);
    if (moved.impl() == value.impl()) continue;
    const Tensor grad = value.grad();
    set_data(value, moved.detach());
    if (grad.defined()) value.impl()->autograd_meta().grad = transform(grad).impl_ptr();
  }
  for (auto& [name, value] : buffers_) {
    if (value.defined()) value = transform(value);
  }
  for (auto& [name, child] : children_) child->transform_tensors(transform);
}

Module& Module::to(Device device) {
  transform_tensors([device](const Tensor& t) { return t.to(device); });
  return *this;
}

Module& Module::to(DType dtype) {
  transform_tensors([dtype](const Tensor& t) { return is_floating(t.dtype()) ? t.to(dtype) : t; });
  return *this;
}

void Module::zero_grad() {
  for (auto& [name, value] : named_parameters()) value.zero_grad();
}

StateDict Module::state_dict() const {
  StateDict state;
  for (auto& [name, value] : named_parameters()) state.emplace_back(name, value.detach());
  for (auto& [name, value] : named_buffers()) state.emplace_back(name, value.detach());
  return state;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  StateDict own = state_dict();
  std::vector<std::string> problems;
  std::vector<bool> used(state.size(), false);
  for (auto& [name, target] : own) {
    std::size_t found = state.size();
    for (std::size_t i = 0; i < state.size(); ++i) {
      if (state[i].first == name) found = i;
    }
    if (found == state.size()) {
      if (strict) problems.push_back("missing \"" + name + "\"");
      continue;
    }
    used[found] = true;
    const Tensor& source = state[found].second;
    if (source.shape() != target.shape()) {
      problems.push_back("\"" + name + "\" has shape " + shape_str(source.shape()) + ", the model expects " +
                         shape_str(target.shape()));
    } else if (source.dtype() != target.dtype()) {
      problems.push_back("\"" + name + "\" has dtype " + dtype_name(source.dtype()) + ", the model expects " +
                         dtype_name(target.dtype()));
    }
  }
  for (std::size_t i = 0; i < state.size(); ++i) {
    if (!used[i] && strict) problems.push_back("unexpected \"" + state[i].first + "\"");
  }
  if (!problems.empty()) {
    std::ostringstream message;
    message << "load_state_dict: " << problems.size() << " problem" << (problems.size() == 1 ? "" : "s")
            << " with the state for " << type_name() << ":";
    for (const std::string& problem : problems) message << "\n  " << problem;
    throw Error(message.str());
  }
  NoGradGuard no_grad;
  for (auto& [name, target] : own) {
    for (const auto& [key, source] : state) {
      if (key == name) target.copy_(source);
    }
  }
}

void Module::write_tree(std::string& out, int indent) const {
  out += type_name() + "(" + extra_repr();
  if (children_.empty()) {
    out += ")";
    return;
  }
  out += "\n";
  for (const auto& [name, child] : children_) {
    out += std::string(static_cast<std::size_t>(indent + 2), ' ') + "(" + name + "): ";
    child->write_tree(out, indent + 2);
    out += "\n";
  }
  out += std::string(static_cast<std::size_t>(indent), ' ') + ")";
}

std::string Module::str() const {
  std::string out;
  write_tree(out, 0);
  return out;
}

std::ostream& operator<<(std::ostream& out, const Module& module) { return out << module.str(); }

}  // namespace redes::nn
