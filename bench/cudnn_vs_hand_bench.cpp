// Hand-written CUDA kernels against cuDNN on the reference workloads'
// shapes (W2 LeNet-5 at batch 64, W3's CNN at batch 128, W4's and W5's LSTMs).
// Each implementation is chosen in turn: conv forced per op (the implicit
// GEMM, cuDNN), average pool forced per op, max pool and LSTM by the setting
// (the indices kernel and the hand whole-sequence LSTM kernel under hand,
// cuDNN's values-only pooling and the whole sequence through cuDNN's RNN
// under cudnn). Their forward outputs and gradients are checked against each other
// first, then forward and forward + backward are timed (median of 20 after 5
// warm-up runs, each bracketed by CUDA events after a device
// synchronisation). Conv and pool backward passes start from a dense random
// gradient, as in training: the stride-0 gradient of a sum is not what a
// layer sees, and cuDNN's pooling refuses it.
//
// Prints one JSON line per shape and pass with GFLOP/s (conv, LSTM) or GB/s
// (pool) and the hand/cuDNN time ratio; conv and LSTM lines add the hand
// kernels' cost model (FLOPs, the bytes they move, the roofline time on an
// H100; for the LSTM also the steps that must run one after another).
//
// Without a GPU or without cuDNN it says why and exits 0.
#include <cuda_runtime.h>
#include <redes.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend_status.h"
#include "kernels/conv2d_igemm_plan.h"
#include "kernels/kernel_settings.h"
#include "kernels/lstm_sequence_plan.h"
#include "kernels/registry.h"

namespace {

using redes::Tensor;

struct ConvShape {
  const char* name;
  std::int64_t n, c, h, w, k, kernel, padding;
};

const ConvShape kConvShapes[] = {
    {"W2 conv1", 64, 1, 28, 28, 6, 5, 2},
    {"W2 conv2", 64, 6, 14, 14, 16, 5, 0},
    {"W3 block1", 128, 3, 32, 32, 32, 3, 1},
    {"W3 block2", 128, 32, 16, 16, 64, 3, 1},
};

// The implicit GEMM's cost model (kernels/conv2d_igemm_plan.h) for a shape's
// forward pass, or all three passes: FLOPs, the bytes its tiles move, and
// the roofline time on an H100 (67 TFLOP/s float32, 3.35 TB/s), as JSON
// fields to append to a result line.
std::string igemm_model(const ConvShape& s, bool with_backward) {
  redes::Conv2dGeometry g;
  g.batch = s.n, g.in_channels = s.c, g.in_height = s.h, g.in_width = s.w, g.out_channels = s.k;
  g.out_height = s.h + 2 * s.padding - s.kernel + 1, g.out_width = s.w + 2 * s.padding - s.kernel + 1;
  g.window.kernel_height = g.window.kernel_width = s.kernel;
  g.window.pad_height = g.window.pad_width = s.padding;
  redes::KernelCost total;
  for (redes::ConvPass pass :
       {redes::ConvPass::Forward, redes::ConvPass::BackwardData, redes::ConvPass::BackwardWeight}) {
    if (pass != redes::ConvPass::Forward && !with_backward) break;
    const redes::KernelCost cost = redes::igemm_cost(redes::plan_igemm(g, pass), sizeof(float));
    total.flops += cost.flops;
    total.bytes += cost.bytes;
  }
  char fields[160];
  std::snprintf(fields, sizeof fields,
                ", \"igemm_gflop\": %.3f, \"igemm_tile_mbytes\": %.1f, \"h100_roofline_ms\": %.4f", total.flops * 1e-9,
                total.bytes * 1e-6, 1e3 * redes::roofline_seconds(total, 67e12, 3.35e12));
  return fields;
}

struct PoolShape {
  const char* name;
  std::int64_t n, c, h, w;
};

// 2x2 pools after the conv layers above (average and max in turn).
const PoolShape kPoolShapes[] = {
    {"W2 pool1", 64, 6, 28, 28},
    {"W2 pool2", 64, 16, 10, 10},
    {"W3 pool1", 128, 32, 32, 32},
    {"W3 pool2", 128, 64, 16, 16},
};

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw redes::Error(std::string(call) + ": " + cudaGetErrorString(status));
}

// Median milliseconds of `run`, each run between two events on the default
// stream with the device idle before and after.
double median_ms(const std::function<void()>& run) {
  cudaEvent_t start = nullptr, stop = nullptr;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < 5; ++i) run();
  std::vector<double> times;
  for (int i = 0; i < 20; ++i) {
    redes::cuda::synchronize();
    check_cuda(cudaEventRecord(start), "cudaEventRecord");
    run();
    redes::cuda::synchronize();
    check_cuda(cudaEventRecord(stop), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Makes implementation `name` (a hand kernel's name or "cudnn") run; "" restores the default.
using Chooser = std::function<void(const std::string& name)>;

Chooser force_ops(const std::vector<std::string>& ops) {
  return [ops](const std::string& name) {
    for (const std::string& op : ops) redes::KernelRegistry::instance().force(op, name);
  };
}

// max_pool2d and nn::LSTM take their cuDNN paths under the cudnn setting.
Chooser impl_setting() {
  return [](const std::string& name) {
    redes::set_kernel_impl(name == "cudnn" ? redes::KernelImpl::Cudnn : redes::KernelImpl::Hand);
  };
}

struct LstmShape {
  const char* name;
  std::int64_t n, t, f, h;
};

const LstmShape kLstmShapes[] = {
    {"W4 lstm", 64, 24, 1, 64},
    {"W5 lstm", 128, 28, 28, 128},
};

// The hand whole-sequence LSTM's cost model (kernels/lstm_sequence_plan.h)
// as planned for an H100 (132 SMs, 227 KiB of shared memory per block), as
// JSON fields like igemm_model's.
std::string lstm_model(const LstmShape& s, bool with_backward) {
  const redes::LstmSequenceShape shape{.steps = s.t, .batch = s.n, .input_size = s.f, .hidden_size = s.h};
  const redes::LstmRecurrencePlan plan = redes::plan_lstm_recurrence(s.n, s.h, sizeof(float), 132, 227 << 10);
  const redes::KernelCost cost = redes::lstm_sequence_cost(shape, plan, sizeof(float), with_backward);
  char fields[224];
  std::snprintf(fields, sizeof fields,
                ", \"lstm_gflop\": %.3f, \"lstm_mbytes\": %.1f, \"h100_roofline_ms\": %.4f, \"dependent_steps\": %lld, "
                "\"weights_in_shared\": %s",
                cost.flops * 1e-9, cost.bytes * 1e-6, 1e3 * redes::roofline_seconds(cost, 67e12, 3.35e12),
                static_cast<long long>(s.t * (with_backward ? 2 : 1)), plan.weights_in_shared ? "true" : "false");
  return fields;
}

// The largest difference between a and b over the largest magnitude in b
// (at least 1): a weight gradient sums N*OH*OW products into values of 10^4,
// where float32 rounding alone differs by 10^-3 between summation orders.
double relative_difference(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to(redes::Device::cpu()).contiguous().to_vector<float>();
  const std::vector<float> y = b.to(redes::Device::cpu()).contiguous().to_vector<float>();
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, std::abs(double(x[i]) - double(y[i])));
    scale = std::max(scale, std::abs(double(y[i])));
  }
  return worst / scale;
}

struct Timing {
  double forward_ms = 0, forward_backward_ms = 0;
};

// Times `forward` (no autograd) and forward + backward with each
// implementation after checking that their results agree. `work` is
// the FLOPs or bytes of the forward pass; forward + backward does
// `backward_factor` times as much (conv: two more passes of the same size).
bool compare(const std::string& label, const Chooser& choose, const std::function<std::vector<Tensor>()>& results,
             const std::function<void()>& forward, const std::function<void()>& forward_backward, double work,
             double backward_factor, const char* unit, const std::string& hand = "cuda.hand",
             const std::function<std::string(int pass)>& model = nullptr) {
  const std::vector<std::string> names{hand, "cudnn"};
  std::vector<std::vector<Tensor>> outputs;
  for (const std::string& name : names) {
    choose(name);
    outputs.push_back(results());
    choose("");
  }
  for (std::size_t i = 0; i < outputs[0].size(); ++i) {
    const double difference = relative_difference(outputs[0][i], outputs[1][i]);
    if (!(difference <= 1e-5)) {
      std::printf("{\"bench\": \"%s\", \"error\": \"hand and cudnn differ by %g (relative) in result %zu\"}\n",
                  label.c_str(), difference, i);
      return false;
    }
  }
  Timing timing[2];
  for (std::size_t k = 0; k < names.size(); ++k) {
    choose(names[k]);
    timing[k].forward_ms = median_ms(forward);
    timing[k].forward_backward_ms = median_ms(forward_backward);
    choose("");
  }
  for (int pass = 0; pass < 2; ++pass) {
    const double hand_ms = pass == 0 ? timing[0].forward_ms : timing[0].forward_backward_ms;
    const double cudnn_ms = pass == 0 ? timing[1].forward_ms : timing[1].forward_backward_ms;
    const double amount = pass == 0 ? work : backward_factor * work;
    std::printf(
        "{\"bench\": \"%s\", \"pass\": \"%s\", \"hand\": \"%s\", \"hand_ms\": %.4f, \"cudnn_ms\": %.4f, "
        "\"hand_%s\": %.1f, \"cudnn_%s\": %.1f, \"hand_over_cudnn\": %.2f%s}\n",
        label.c_str(), pass == 0 ? "forward" : "forward+backward", names[0].c_str(), hand_ms, cudnn_ms, unit,
        amount / hand_ms * 1e-6, unit, amount / cudnn_ms * 1e-6, hand_ms / cudnn_ms, model ? model(pass).c_str() : "");
  }
  return true;
}

}  // namespace

int main() {
  if (!redes::cuda::is_available()) {
    std::printf("cudnn_vs_hand_bench: skipped, no CUDA device (%s)\n", redes::cuda::unavailable_reason().c_str());
    return 0;
  }
  if (!redes::build_info().cudnn || !redes::cudnn_unusable_reason().empty()) {
    std::printf("cudnn_vs_hand_bench: skipped, cuDNN cannot run (%s)\n", redes::cudnn_unusable_reason().c_str());
    return 0;
  }
  const redes::Device cuda = redes::Device::cuda(0);
  bool ok = true;
  redes::Generator generator(1);
  for (const ConvShape& s : kConvShapes) {
    const Tensor x = redes::rand({s.n, s.c, s.h, s.w}, {}, &generator).to(cuda);
    const Tensor w = redes::rand({s.k, s.c, s.kernel, s.kernel}, {}, &generator).to(cuda);
    const Tensor b = redes::rand({s.k}, {}, &generator).to(cuda);
    const redes::Conv2dOptions options{.padding = {s.padding, s.padding}};
    const std::int64_t oh = s.h + 2 * s.padding - s.kernel + 1, ow = s.w + 2 * s.padding - s.kernel + 1;
    const Tensor grad = redes::rand({s.n, s.k, oh, ow}, {}, &generator).to(cuda);
    const auto results = [&] {
      Tensor xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
      const Tensor out = redes::conv2d(xg, wg, b, options);
      out.backward(grad);
      return std::vector<Tensor>{out, xg.grad(), wg.grad()};
    };
    const auto forward = [&] {
      redes::NoGradGuard no_grad;
      redes::conv2d(x, w, b, options);
    };
    Tensor xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
    const auto forward_backward = [&] {
      xg.zero_grad();
      wg.zero_grad();
      redes::conv2d(xg, wg, b, options).backward(grad);
    };
    const double flops = 2.0 * double(s.n * s.k * oh * ow * s.c * s.kernel * s.kernel);
    ok = compare(s.name, force_ops({"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"}), results,
                 forward, forward_backward, flops, 3.0, "GFLOP/s", "cuda.hand.igemm",
                 [&](int pass) { return igemm_model(s, pass == 1); }) &&
         ok;
  }
  // Average pools forced per op; max pools by the setting (the indices kernel
  // or cuDNN's values-only pooling).
  using Pool = std::function<Tensor(const Tensor&)>;
  const Pool average = [](const Tensor& x) { return redes::avg_pool2d(x, {2, 2}); };
  const Pool maximum = [](const Tensor& x) { return redes::max_pool2d(x, {2, 2}); };
  const std::vector<std::tuple<std::string, Pool, Chooser>> pools{
      {"", average, force_ops({"avg_pool2d", "avg_pool2d_backward"})}, {" max", maximum, impl_setting()}};
  for (const auto& [suffix, pool, chooser] : pools) {
    for (const PoolShape& s : kPoolShapes) {
      const Tensor x = redes::rand({s.n, s.c, s.h, s.w}, {}, &generator).to(cuda);
      const Tensor grad = redes::rand({s.n, s.c, s.h / 2, s.w / 2}, {}, &generator).to(cuda);
      const auto results = [&] {
        Tensor xg = x.clone().requires_grad_(true);
        const Tensor out = pool(xg);
        out.backward(grad);
        return std::vector<Tensor>{out, xg.grad()};
      };
      const auto forward = [&] {
        redes::NoGradGuard no_grad;
        pool(x);
      };
      Tensor xg = x.clone().requires_grad_(true);
      const auto forward_backward = [&] {
        xg.zero_grad();
        pool(xg).backward(grad);
      };
      // Bytes moved by one pass: the input read and a quarter-size output written.
      const double bytes = 4.0 * double(s.n * s.c * s.h * s.w) * 1.25;
      ok = compare(s.name + suffix, chooser, results, forward, forward_backward, bytes, 2.0, "GB/s") && ok;
    }
  }
  for (const LstmShape& s : kLstmShapes) {
    redes::nn::LSTM lstm(s.f, s.h, {.batch_first = true});
    lstm.to(cuda);
    const Tensor x = redes::rand({s.n, s.t, s.f}, {}, &generator).to(cuda);
    const auto results = [&] {
      lstm.zero_grad();
      Tensor xg = x.clone().requires_grad_(true);
      const Tensor out = lstm(xg);
      out.sum().backward();
      return std::vector<Tensor>{out, xg.grad(), lstm.parameters()[0].grad(), lstm.parameters()[1].grad()};
    };
    const auto forward = [&] {
      redes::NoGradGuard no_grad;
      lstm(x);
    };
    const auto forward_backward = [&] {
      lstm.zero_grad();
      lstm(x).sum().backward();
    };
    // The gate GEMMs: 2 * 4H * (F + H) per step and sequence.
    const double flops = 2.0 * 4.0 * double(s.h * (s.f + s.h) * s.t * s.n);
    ok = compare(s.name, impl_setting(), results, forward, forward_backward, flops, 3.0, "GFLOP/s", "cuda.hand",
                 [&s](int pass) { return lstm_model(s, pass == 1); }) &&
         ok;
  }
  return ok ? 0 : 1;
}
