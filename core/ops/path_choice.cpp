#include "core/ops/path_choice.h"

#include <sstream>

#include "core/cuda_stream.h"
#include "core/ops.h"
#include "core/runtime.h"
#include "kernels/kernel_settings.h"
#include "kernels/registry.h"

namespace redes::detail {

std::string choose_path(const std::string& op, const std::string& key, const std::vector<Tensor>& inputs,
                        const std::vector<ComputePath>& paths) {
  REDES_CHECK(!inputs.empty() && !paths.empty(), op, ": nothing to choose between");
  const Device device = inputs[0].device();
  const DType dtype = inputs[0].dtype();
  // The backward is timed only when the call will have one.
  bool training = false;
  if (is_grad_enabled()) {
    for (const Tensor& input : inputs) training = training || input.requires_grad();
  }
  std::ostringstream full_key;
  full_key << op << " " << device.str() << " " << dtype_name(dtype) << " det=" << deterministic()
           << " tf32=" << allow_tf32() << " " << key << (training ? " forward+backward" : " forward");

  std::vector<Tensor> last;  // outputs and input gradients of the latest run
  std::vector<TimedCandidate> candidates;
  for (const ComputePath& path : paths) {
    const auto run = [&inputs, &last, &path, device, training] {
      std::vector<Tensor> copies;
      for (const Tensor& input : inputs) {
        copies.push_back(input.detach());
        if (training && input.requires_grad()) copies.back().requires_grad_();
      }
      cuda::Event start(device.index, true), end(device.index, true);
      start.record();
      const std::vector<Tensor> outputs = path.run(copies);
      if (training) {
        Tensor total = outputs.at(0).sum();
        for (std::size_t i = 1; i < outputs.size(); ++i) total = total + outputs[i].sum();
        total.backward();
      }
      end.record();
      last = outputs;
      for (const Tensor& copy : copies) {
        if (copy.requires_grad()) last.push_back(copy.grad());
      }
      return static_cast<double>(start.elapsed_ms(end));
    };
    const auto read = [&last] {
      std::vector<std::vector<double>> values;
      for (const Tensor& t : last) {
        values.push_back(t.defined() ? t.to(kFloat64).to_vector<double>() : std::vector<double>());
      }
      return values;
    };
    candidates.push_back({path.name, run, read});
  }
  const ExecContext ctx{device, current_stream(device), nullptr};
  return KernelRegistry::instance().choose_alternative(op, full_key.str(), dtype, candidates, ctx);
}

}  // namespace redes::detail
