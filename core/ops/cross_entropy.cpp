// Fused log-softmax + NLL: one forward kernel per batch (each row's max,
// log-sum-exp and picked target) and one backward kernel (softmax - one_hot,
// scaled by the gradient). The forward keeps each row's log-sum-exp (float64,
// N values) so backward recomputes the softmax from the logits instead of
// saving an (N, C) log-softmax as the composite did.
#include "core/ops/cross_entropy.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes::detail {

Tensor cross_entropy_per_sample(const Tensor& logits, const Tensor& targets) {
  const char* op = "cross_entropy";
  check_defined(logits, op, "the logits");
  check_defined(targets, op, "the targets");
  const Device device = common_device(op, {&logits, &targets});
  REDES_CHECK(logits.dim() == 2, op, ": expected logits of shape (N, C), got ", shape_str(logits.shape()));
  REDES_CHECK(is_floating(logits.dtype()), op, ": expected floating-point logits, got ", dtype_name(logits.dtype()));
  REDES_CHECK(targets.dtype() == kInt64 && targets.dim() == 1 && targets.size(0) == logits.size(0), op,
              ": expected int64 targets of shape (", logits.size(0), ",), got ", dtype_name(targets.dtype()), " ",
              shape_str(targets.shape()));
  REDES_CHECK(logits.size(1) > 0 || logits.size(0) == 0, op, ": expected at least one class, got logits of shape ",
              shape_str(logits.shape()));
  const std::int64_t rows = logits.size(0);
  Tensor losses = empty({rows}, {logits.dtype(), device});
  Tensor lse = empty({rows}, {kFloat64, device});
  if (rows > 0) {
    launch(CrossEntropyParams{}, device, logits.dtype(),
           {kernel_arg(losses, op), kernel_arg(lse, op), kernel_arg(logits, op), kernel_arg(targets, op)});
  }
  if (needs_grad({&logits})) {
    record_op(op, losses, {&logits}, {logits, targets, lse}, [](const Tensor& g, const std::vector<Tensor>& saved) {
      const char* name = "cross_entropy backward";
      const Tensor& x = saved[0];
      if (is_grad_enabled() && (g.requires_grad() || x.requires_grad())) {
        // A pass with create_graph: the same formula in differentiable ops.
        const Tensor target_rows = one_hot(saved[1], x.size(1)).to(x.dtype());
        return std::vector<Tensor>{(softmax(x, 1) - target_rows) * g.to(x.dtype()).unsqueeze(1)};
      }
      Tensor grad_logits = empty(x.shape(), {x.dtype(), x.device()});
      if (grad_logits.numel() > 0) {
        launch(CrossEntropyBackwardParams{}, x.device(), x.dtype(),
               {kernel_arg(grad_logits, name), kernel_arg(x, name), kernel_arg(saved[1], name),
                kernel_arg(saved[2], name), kernel_arg(g, name)});
      }
      return std::vector<Tensor>{grad_logits};
    });
  }
  return losses;
}

}  // namespace redes::detail
