#include "core/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/ops.h"
#include "core/random.h"

namespace redes {

namespace {

std::vector<double> host_values(const Tensor& tensor) {
  return tensor.detach().to(kFloat64).to(Device::cpu()).contiguous().to_vector<double>();
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Tensor> leaves;
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    REDES_CHECK(input.defined(), "gradcheck: input ", i, " is an undefined tensor");
    if (input.dtype() == kFloat32) {
      return {false, "gradcheck: input " + std::to_string(i) + " is float32; finite differences need float64 inputs"};
    }
    if (input.dtype() != kFloat64) {
      leaves.push_back(input);
      continue;
    }
    leaves.push_back(input.detach().clone().requires_grad_(true));
    checked.push_back(i);
  }
  if (checked.empty()) return {false, "gradcheck: no float64 input to check"};
  const Tensor probe = f(leaves);
  REDES_CHECK(probe.defined() && is_floating(probe.dtype()), "gradcheck: f must return a floating-point tensor");
  Generator generator(options.seed);
  const Tensor weights = uniform(probe.shape(), -1.0, 1.0, {kFloat64, Device::cpu()}, &generator).to(probe.device());
  const auto objective = [&](const std::vector<Tensor>& args) { return (f(args).to(kFloat64) * weights).sum(); };
  objective(leaves).backward();

  std::ostringstream failures;
  bool ok = true;
  for (const std::size_t which : checked) {
    const Tensor& leaf = leaves[which];
    const std::vector<double> analytic = leaf.grad().defined()
                                             ? host_values(leaf.grad())
                                             : std::vector<double>(static_cast<std::size_t>(leaf.numel()), 0.0);
    const std::vector<double> base = host_values(leaf);
    NoGradGuard no_grad;
    std::vector<Tensor> shifted(leaves.begin(), leaves.end());
    int shown = 0, differing = 0;
    for (std::size_t i = 0; i < base.size(); ++i) {
      const auto evaluate = [&](double delta) {
        std::vector<double> values = base;
        values[i] += delta;
        shifted[which] = from_vector(values, leaf.shape(), {kFloat64, leaf.device()});
        return objective(shifted).item();
      };
      const double numeric = (evaluate(options.eps) - evaluate(-options.eps)) / (2 * options.eps);
      const double tolerance = options.atol + options.rtol * std::fabs(numeric);
      if (std::fabs(analytic[i] - numeric) <= tolerance) continue;
      ok = false;
      ++differing;
      if (++shown <= 5) {
        failures << "\n  input " << which << " [" << i << "]: autograd " << analytic[i] << ", finite differences "
                 << numeric << " (|diff| " << std::fabs(analytic[i] - numeric) << " > " << tolerance << ")";
      }
    }
    if (differing > 5) failures << "\n  input " << which << ": " << differing - 5 << " more";
  }
  if (ok) return {true, ""};
  return {false, "gradcheck: gradients differ (atol " + std::to_string(options.atol) + ", rtol " +
                     std::to_string(options.rtol) + "):" + failures.str()};
}

}  // namespace redes
