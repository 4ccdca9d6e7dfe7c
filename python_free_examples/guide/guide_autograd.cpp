// The snippets of docs/guide.md, "Autograd", with checks of what the text says.
#include <redes.h>
using namespace redes;

#include <any>
#include <iostream>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

// [guide:autograd_function]
// out = a * b * scale, with its own backward.
struct ScaledMul : autograd::Function<ScaledMul> {
  static constexpr const char* name = "ScaledMul";  // names it in errors

  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b, double scale) {
    ctx->save_for_backward({a, b});     // checked for in-place changes at backward time
    ctx->saved_data["scale"] = scale;   // anything else, as std::any
    return a * b * scale;
  }

  // One gradient per output in; one per Tensor argument of forward out.
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
    const std::vector<Tensor> saved = ctx->get_saved_variables();
    const double scale = std::any_cast<double>(ctx->saved_data["scale"]);
    Tensor grad_a, grad_b;              // undefined: no gradient
    if (ctx->needs_input_grad(0)) grad_a = grads[0] * saved[1] * scale;
    if (ctx->needs_input_grad(1)) grad_b = grads[0] * saved[0] * scale;
    return {grad_a, grad_b};
  }
};
// [guide:end]

// The same with a wrong backward, for gradcheck to catch.
struct BrokenMul : autograd::Function<BrokenMul> {
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return a * b;
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
    const std::vector<Tensor> saved = ctx->get_saved_variables();
    return {grads[0] * saved[1], grads[0] * saved[1]};  // the second should use saved[0]
  }
};

void backward_basics() {
  // [guide:autograd_backward]
  Tensor x = tensor({1.0, 2.0, 3.0}, {.requires_grad = true});
  Tensor y = (x * x).sum();
  y.backward();                     // x.grad() = 2x = 2, 4, 6
  Tensor first = x.grad().clone();  // (later passes add into x.grad() in place)
  (x * 3.0).sum().backward();       // gradients accumulate: 5, 7, 9
  Tensor second = x.grad();
  x.zero_grad();                    // drops it: x.grad().defined() is false
  {
    NoGradGuard no_grad;            // nothing in this scope records history
    Tensor plain = x * 2.0;         // plain.requires_grad() is false
  }
  // [guide:end]
  check(near(first.to_vector<float>(), {2, 4, 6}), "x.grad() = 2x");
  check(near(second.to_vector<float>(), {5, 7, 9}), "accumulated");
  check(!x.grad().defined(), "zero_grad drops the gradient");
  {
    NoGradGuard no_grad;
    check(!(x * 2.0).requires_grad(), "no history under NoGradGuard");
  }
}

void grad_function() {
  // [guide:autograd_grad]
  Tensor w = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor cube = (w * w * w).sum();
  Tensor dw = autograd::grad({cube}, {w}, {}, {.create_graph = true})[0];  // 3 w^2 = 3, 12
  Tensor d2w = autograd::grad({dw.sum()}, {w})[0];                         // 6 w = 6, 12
  // Neither call touched w.grad(): it is still undefined.
  // [guide:end]
  check(near(dw.to_vector<float>(), {3, 12}), "3 w^2");
  check(dw.requires_grad(), "create_graph gives history");
  check(near(d2w.to_vector<float>(), {6, 12}), "6 w");
  check(!w.grad().defined(), "grad() accumulates nothing");
}

void hooks() {
  // [guide:autograd_hooks]
  Tensor a = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor h = a * 2.0;               // not a leaf: its gradient is not kept...
  h.retain_grad();                  // ...unless asked: h.grad() after backward
  h.register_hook([](const Tensor& grad) { return grad * 10.0; });  // replaces the gradient
  (h * h).sum().backward();
  // The hook runs first: h.grad() = 10 * 2h = 40, 80 and a.grad() = 2 * 40, 80 = 80, 160
  // [guide:end]
  check(near(h.grad().to_vector<float>(), {40, 80}), "h.grad() after the hook");
  check(near(a.grad().to_vector<float>(), {80, 160}), "a.grad() after the hook");
}

void gradient_penalty() {
  manual_seed(3);
  // [guide:autograd_penalty]
  nn::Linear critic(2, 1);
  Tensor inputs = randn({4, 2}).requires_grad_();
  Tensor scores = critic(inputs);
  // d(scores)/d(inputs), itself differentiable thanks to create_graph:
  Tensor input_grad = autograd::grad({scores.sum()}, {inputs}, {}, {.create_graph = true})[0];
  Tensor norms = sqrt((input_grad * input_grad).sum({1}));
  Tensor penalty = pow(norms - 1.0, 2.0).mean();
  penalty.backward();               // reaches critic.weight() through input_grad
  // [guide:end]
  // For a linear critic every row of input_grad is the weight w, so the
  // penalty is (|w| - 1)^2 with gradient 2 (|w| - 1) w / |w|.
  const std::vector<double> w = critic.weight().to(kFloat64).to_vector<double>();
  const double norm = std::sqrt(w[0] * w[0] + w[1] * w[1]);
  check(near(penalty.item(), (norm - 1) * (norm - 1), 1e-5), "penalty value");
  check(critic.weight().grad().defined() &&
            near(critic.weight().grad().to_vector<float>(), {2 * (norm - 1) * w[0] / norm, 2 * (norm - 1) * w[1] / norm},
                 1e-5),
        "penalty gradient on the weight");
}

void custom_function() {
  // [guide:autograd_function_use]
  Tensor a = tensor({1.0, 2.0}, {.requires_grad = true});
  Tensor b = tensor({3.0, 4.0});    // needs no gradient: needs_input_grad(1) is false
  Tensor out = ScaledMul::apply(a, b, 0.5);
  out.sum().backward();             // a.grad() = b * 0.5 = 1.5, 2
  // [guide:end]
  check(near(out.to_vector<float>(), {1.5, 4}), "forward");
  check(near(a.grad().to_vector<float>(), {1.5, 2}), "backward");
  check(!b.grad().defined(), "no gradient for b");
}

void gradient_check() {
  // [guide:autograd_gradcheck]
  Generator generator(1);
  std::vector<Tensor> inputs{randn({3}, {.dtype = kFloat64}, &generator),   // float64: central
                             randn({3}, {.dtype = kFloat64}, &generator)};  // differences need it
  GradcheckResult result = gradcheck(
      [](const std::vector<Tensor>& in) { return ScaledMul::apply(in[0], in[1], 0.5); }, inputs);
  if (!result) std::cerr << result.message << "\n";  // names the elements that differ
  // [guide:end]
  check(result.ok, "gradcheck passes ScaledMul");
  const GradcheckResult broken =
      gradcheck([](const std::vector<Tensor>& in) { return BrokenMul::apply(in[0], in[1]); }, inputs);
  check(!broken.ok && !broken.message.empty(), "gradcheck catches a wrong backward");
}

}  // namespace

int main() {
  return guide::run("guide_autograd", [] {
    backward_basics();
    grad_function();
    hooks();
    gradient_penalty();
    custom_function();
    gradient_check();
  });
}
