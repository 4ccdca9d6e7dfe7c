#include "train/optim/state_io.h"

#include <sstream>

#include "core/error.h"

namespace redes::optim::detail {

void read_per_parameter_state(const OptimizerState& state, const char* optimizer, const std::vector<Tensor>& parameters,
                              const std::vector<std::string>& fields, const std::vector<std::vector<Tensor>*>& targets) {
  std::vector<std::string> problems;
  for (const auto& [name, value] : state) {
    if (name == "step") continue;
    const std::size_t dot = name.find('.');
    std::size_t index = parameters.size();
    try {
      if (dot != std::string::npos && dot > 0) index = std::stoul(name.substr(0, dot));
    } catch (const std::exception&) {
      index = parameters.size();
    }
    const std::string field = dot == std::string::npos ? std::string() : name.substr(dot + 1);
    std::size_t which = fields.size();
    for (std::size_t k = 0; k < fields.size(); ++k) {
      if (fields[k] == field) which = k;
    }
    if (index >= parameters.size() || which == fields.size()) {
      problems.push_back("unexpected entry \"" + name + "\"");
      continue;
    }
    const Tensor& parameter = parameters[index];
    if (value.shape() != parameter.shape() || value.dtype() != parameter.dtype()) {
      problems.push_back("\"" + name + "\" is " + shape_str(value.shape()) + " " + dtype_name(value.dtype()) +
                         ", parameter " + std::to_string(index) + " is " + shape_str(parameter.shape()) + " " +
                         dtype_name(parameter.dtype()));
      continue;
    }
    (*targets[which])[index] = value.to(parameter.device()).clone();
  }
  if (!problems.empty()) {
    std::ostringstream message;
    message << optimizer << ": cannot load the optimizer state:";
    for (const std::string& problem : problems) message << "\n  " << problem;
    throw Error(message.str());
  }
}

}  // namespace redes::optim::detail
