// The fused optimizer kernels against the composite updates they replaced
// (kept below as the reference), over several steps, on every compiled device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

// The composite SGD update train/optim/sgd.cpp ran before the fused kernel.
void reference_sgd(Tensor& p, const Tensor& grad, Tensor& buffer, const optim::SGDOptions& o) {
  NoGradGuard no_grad;
  Tensor g = grad;
  if (o.weight_decay != 0) g = add(g, p, o.weight_decay);
  if (o.momentum != 0) {
    if (!buffer.defined()) {
      buffer = g.clone();
    } else {
      buffer.mul_(o.momentum).add_(g, 1.0 - o.dampening);
    }
    g = o.nesterov ? add(g, buffer, o.momentum) : buffer;
  }
  p.add_(g, -o.lr);
}

// The composite Adam update of train/optim/adam.cpp, for step t.
void reference_adam(Tensor& p, const Tensor& grad, Tensor& m, Tensor& v, const optim::AdamOptions& o, int t) {
  NoGradGuard no_grad;
  const double correction1 = 1.0 - std::pow(o.beta1, t), correction2 = 1.0 - std::pow(o.beta2, t);
  Tensor g = grad;
  if (o.weight_decay != 0) {
    if (o.decoupled_weight_decay) {
      p.mul_(1.0 - o.lr * o.weight_decay);
    } else {
      g = add(g, p, o.weight_decay);
    }
  }
  if (!m.defined()) {
    m = zeros_like(p);
    v = zeros_like(p);
  }
  m.mul_(o.beta1).add_(g, 1.0 - o.beta1);
  v.mul_(o.beta2).add_(g * g, 1.0 - o.beta2);
  const Tensor denominator = sqrt(v) / std::sqrt(correction2) + o.eps;
  p.add_(m / denominator, -o.lr / correction1);
}

// A few roundings relative to the values' scale (about 1): float32 1e-6,
// float64 close to exact. The absolute part covers elements near zero, where
// one FMA contracted differently (CUDA) shifts the last bit of an O(1)
// intermediate.
// The 16-bit types round each op's float32 result, so a contraction there
// moves a result by at most one unit in their last place (2^-7, 2^-10).
// On an x86-64 CPU without FMA (the portable baseline redes builds for)
// every rounding is the composite's, so there the tolerance is 0.
double tolerance(DType dtype, Device device) {
#if defined(__x86_64__) && !defined(__FMA__)
  if (device.is_cpu()) return 0;
#endif
  switch (dtype) {
    case kFloat32: return 1e-6;
    case kBFloat16: return 0x1p-7;
    case kFloat16: return 0x1p-10;
    default: return 1e-14;
  }
}

// Random values of `dtype` (drawn in float32 for the 16-bit types).
Tensor random_values(const Shape& shape, std::uint64_t seed, DType dtype, Device device, double low = -1,
                     double high = 1) {
  const DType drawn = is_low_precision(dtype) ? kFloat32 : dtype;
  return testing::random_tensor(shape, seed, {drawn, device}, low, high).to(dtype);
}

Tensor gradient(const Shape& shape, DType dtype, Device device, int step) {
  return random_values(shape, 100 + static_cast<std::uint64_t>(step), dtype, device, -2, 2);
}

// A fresh leaf parameter of `shape`; strided: the transpose of a contiguous tensor.
Tensor make_parameter(const Shape& shape, DType dtype, Device device, bool strided) {
  if (!strided) return random_values(shape, 7, dtype, device).requires_grad_();
  return random_values({shape[1], shape[0]}, 7, dtype, device).transpose(0, 1).requires_grad_();
}

class FusedOptimDevices : public ::testing::TestWithParam<Device> {};

TEST_P(FusedOptimDevices, SgdMatchesTheCompositeOverSeveralSteps) {
  REDES_REQUIRE_DEVICE(GetParam());
  const optim::SGDOptions configs[] = {
      {.lr = 0.1},
      {.lr = 0.05, .momentum = 0.9},
      {.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01},
      {.lr = 0.02, .momentum = 0.8, .weight_decay = 0.1, .nesterov = true},
  };
  const Shape shape{13, 29};
  for (const DType dtype : {kFloat32, kFloat64, kBFloat16, kFloat16}) {
    for (const bool strided : {false, true}) {
      for (const optim::SGDOptions& o : configs) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + (strided ? " strided" : " dense") + " momentum " +
                     std::to_string(o.momentum) + " nesterov " + std::to_string(o.nesterov));
        const double tol = tolerance(dtype, GetParam());
        Tensor p = make_parameter(shape, dtype, GetParam(), strided);
        Tensor expected = p.detach().clone(), buffer;
        optim::SGD sgd({p}, o);
        for (int step = 1; step <= 5; ++step) {
          const Tensor g = gradient(shape, dtype, GetParam(), step);
          p.set_grad(g);
          sgd.step();
          reference_sgd(expected, g, buffer, o);
        }
        EXPECT_TRUE(all_close(p, expected, tol, tol));
        if (o.momentum != 0) {
          ASSERT_EQ(sgd.state().size(), 1u);
          EXPECT_TRUE(all_close(sgd.state()[0].second, buffer, tol, tol));
        }
      }
    }
  }
}

TEST_P(FusedOptimDevices, AdamAndAdamWMatchTheCompositeOverSeveralSteps) {
  REDES_REQUIRE_DEVICE(GetParam());
  const optim::AdamOptions configs[] = {
      {.lr = 0.01},
      {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05},
      {.lr = 0.01, .weight_decay = 0.1, .decoupled_weight_decay = true},
  };
  const Shape shape{17, 11};
  for (const DType dtype : {kFloat32, kFloat64, kBFloat16, kFloat16}) {
    for (const bool strided : {false, true}) {
      for (optim::AdamOptions o : configs) {
        // float16 rounds an eps of 1e-8 to zero (its smallest subnormal is
        // 6e-8) and a small g * g underflows, so m / denominator would be
        // infinite in both updates: a float16 Adam needs a larger eps.
        if (dtype == kFloat16) o.eps = std::max(o.eps, 1e-4);
        SCOPED_TRACE(std::string(dtype_name(dtype)) + (strided ? " strided" : " dense") + " weight_decay " +
                     std::to_string(o.weight_decay) + (o.decoupled_weight_decay ? " decoupled" : ""));
        const double tol = tolerance(dtype, GetParam());
        Tensor p = make_parameter(shape, dtype, GetParam(), strided);
        Tensor expected = p.detach().clone(), m, v;
        optim::Adam adam({p}, o);
        for (int step = 1; step <= 6; ++step) {
          const Tensor g = gradient(shape, dtype, GetParam(), step);
          p.set_grad(g);
          adam.step();
          reference_adam(expected, g, m, v, o, step);
        }
        EXPECT_TRUE(all_close(p, expected, tol, tol));
        const optim::OptimizerState state = adam.state();
        ASSERT_EQ(state.size(), 3u);  // step, exp_avg, exp_avg_sq
        EXPECT_TRUE(all_close(state[1].second, m, tol, tol));
        EXPECT_TRUE(all_close(state[2].second, v, tol, tol));
      }
    }
  }
}

TEST_P(FusedOptimDevices, DeviceMatchesTheCpu) {
  REDES_REQUIRE_DEVICE(GetParam());
  // The same per-element functions on both devices; only FMA contraction may differ.
  Tensor on_cpu = testing::random_tensor({40, 25}, 3, {kFloat32}).requires_grad_();
  Tensor on_device = on_cpu.detach().to(GetParam()).requires_grad_();
  optim::AdamW cpu_opt({on_cpu}, {.lr = 0.01, .weight_decay = 0.02});
  optim::AdamW device_opt({on_device}, {.lr = 0.01, .weight_decay = 0.02});
  for (int step = 1; step <= 4; ++step) {
    const Tensor g = gradient({40, 25}, kFloat32, Device::cpu(), step);
    on_cpu.set_grad(g);
    on_device.set_grad(g.to(GetParam()));
    cpu_opt.step();
    device_opt.step();
  }
  EXPECT_TRUE(all_close(on_device, on_cpu, 1e-6, 1e-6));
}

// The step count kept on the device (for CUDA graphs, Optimizer::
// keep_step_on_device) gives the steps the host's count gives: the kernel
// computes the same bias corrections from it. Switched on mid-run, and
// carried through state() and load_state().
TEST_P(FusedOptimDevices, AdamWithItsStepCountOnTheDeviceMatchesTheHostCount) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const bool decoupled : {false, true}) {
    SCOPED_TRACE(decoupled ? "AdamW" : "Adam");
    const optim::AdamOptions options{.lr = 0.01, .weight_decay = 0.02, .decoupled_weight_decay = decoupled};
    Tensor host_count = testing::random_tensor({7, 13}, 4, {kFloat32, GetParam()}).requires_grad_();
    Tensor device_count = host_count.detach().clone().requires_grad_();
    optim::Adam host_opt({host_count}, options), device_opt({device_count}, options);
    for (int step = 1; step <= 6; ++step) {
      if (step == 3) device_opt.keep_step_on_device();
      const Tensor g = gradient({7, 13}, kFloat32, GetParam(), step);
      host_count.set_grad(g);
      device_count.set_grad(g.clone());
      host_opt.step();
      device_opt.step();
    }
    // Tolerance for the device's pow against the host's; the CPU is exact.
    const double tolerance = GetParam().is_cpu() ? 0.0 : 1e-6;
    EXPECT_TRUE(all_close(device_count, host_count, tolerance, tolerance));
    EXPECT_EQ(device_opt.steps_taken(), 6);
    optim::Adam restored({device_count.detach().clone().requires_grad_()}, options);
    restored.keep_step_on_device();
    restored.load_state(device_opt.state());
    EXPECT_EQ(restored.steps_taken(), 6);
  }
}

// Fifty parameters (more than one CUDA launch takes), of odd and empty
// sizes and both float dtypes, one of them strided and one listed twice: one
// step call updates each as its own composite step would.
TEST_P(FusedOptimDevices, OneStepCallUpdatesManyParametersLikeSeparateSteps) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::vector<Tensor> parameters;
  for (int i = 0; i < 50; ++i) {
    const DType dtype = i % 3 == 0 ? kFloat64 : kFloat32;
    const Shape shape = i == 7 ? Shape{0} : Shape{1 + (i * 37) % 23, 1 + i % 5};
    parameters.push_back(make_parameter(shape, dtype, GetParam(), i == 11 && shape.size() == 2));
  }
  parameters.push_back(parameters[4]);  // the same tensor twice: two updates, one after the other
  for (const bool adam : {false, true}) {
    SCOPED_TRACE(adam ? "adam" : "sgd");
    std::vector<Tensor> live, expected;
    for (const Tensor& p : parameters) live.push_back(p.detach().clone().requires_grad_());
    live.back() = live[4];
    for (const Tensor& p : live) expected.push_back(p.detach().clone());
    expected.back() = expected[4];
    std::vector<Tensor> first(live.size()), second(live.size());
    const optim::SGDOptions sgd_options{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01};
    const optim::AdamOptions adam_options{.lr = 0.01, .weight_decay = 0.02, .decoupled_weight_decay = true};
    std::unique_ptr<optim::Optimizer> optimizer;
    if (adam) {
      optimizer = std::make_unique<optim::Adam>(live, adam_options);
    } else {
      optimizer = std::make_unique<optim::SGD>(live, sgd_options);
    }
    for (int step = 1; step <= 3; ++step) {
      std::vector<Tensor> grads;
      for (std::size_t i = 0; i + 1 < live.size(); ++i) {
        grads.push_back(gradient(live[i].shape(), live[i].dtype(), GetParam(), step + static_cast<int>(i)));
        live[i].set_grad(grads.back());
      }
      grads.push_back(grads[4]);
      optimizer->step();
      for (std::size_t i = 0; i < live.size(); ++i) {
        if (adam) {
          reference_adam(expected[i], grads[i], first[i], second[i], adam_options, step);
        } else {
          reference_sgd(expected[i], grads[i], first[i], sgd_options);
        }
      }
    }
    for (std::size_t i = 0; i < live.size(); ++i) {
      const double tol = tolerance(live[i].dtype(), GetParam());
      EXPECT_TRUE(all_close(live[i], expected[i], tol, tol)) << "parameter " << i;
    }
  }
}

REDES_INSTANTIATE_FOR_DEVICES(FusedOptimDevices);

}  // namespace
}  // namespace redes
