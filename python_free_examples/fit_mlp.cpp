// Fits a small MLP to a noisy curve with autograd and plain gradient descent,
// printing the falling loss. Runs on the GPU when there is one.
//
//   fit_mlp [--device auto|cpu|cuda|cuda:N] [--steps N]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <redes.h>

using namespace redes;

namespace {

struct Options {
  Device device = Device::best();
  int steps = 2000;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw Error("fit_mlp: " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--device") {
      options.device = value == "auto" ? Device::best() : Device::parse(value);
    } else if (flag == "--steps") {
      options.steps = std::stoi(value);
      if (options.steps <= 0) throw Error("fit_mlp: --steps must be positive, got " + value);
    } else {
      throw Error("fit_mlp: unknown flag " + flag + " (expected --device or --steps)");
    }
  }
  return options;
}

// y = sin(3x) + 0.3 x^2 + noise on x in [-2, 2].
void make_data(std::vector<float>& xs, std::vector<float>& ys, int n) {
  Generator generator(7);
  const std::vector<float> noise = normal({n}, 0.0, 0.05, {}, &generator).to_vector<float>();
  for (int i = 0; i < n; ++i) {
    const float x = -2.0f + 4.0f * static_cast<float>(i) / static_cast<float>(n - 1);
    xs.push_back(x);
    ys.push_back(std::sin(3.0f * x) + 0.3f * x * x + noise[static_cast<std::size_t>(i)]);
  }
}

// Kaiming-uniform weights (fan_in) and zero biases.
Tensor init_weight(std::int64_t fan_in, std::int64_t fan_out, const TensorOptions& options, Generator& generator) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in));
  Tensor w = uniform({fan_in, fan_out}, -bound, bound, {options.dtype, Device::cpu()}, &generator).to(options.device);
  return w.requires_grad_();
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  const TensorOptions on_device{kFloat32, options.device};
  std::printf("redes %s: fitting y = sin(3x) + 0.3x^2 with a 1-64-64-1 MLP on %s\n", build_info().version.c_str(),
              options.device.str().c_str());

  constexpr int kPoints = 256;
  std::vector<float> xs, ys;
  make_data(xs, ys, kPoints);
  const Tensor x = from_vector(xs, {kPoints, 1}, on_device);
  const Tensor y = from_vector(ys, {kPoints, 1}, on_device);

  Generator init(42);
  std::vector<Tensor> params{init_weight(1, 64, on_device, init), zeros({64}, on_device).requires_grad_(),
                             init_weight(64, 64, on_device, init), zeros({64}, on_device).requires_grad_(),
                             init_weight(64, 1, on_device, init), zeros({1}, on_device).requires_grad_()};

  const double learning_rate = 0.05;
  double first_loss = 0, loss_value = 0;
  for (int step = 1; step <= options.steps; ++step) {
    const Tensor h1 = relu(matmul(x, params[0]) + params[1]);
    const Tensor h2 = relu(matmul(h1, params[2]) + params[3]);
    const Tensor error = matmul(h2, params[4]) + params[5] - y;
    const Tensor loss = (error * error).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor& p : params) {
        p.add_(p.grad(), -learning_rate);
        p.zero_grad();
      }
    }
    if (step == 1 || step % (options.steps / 10 > 0 ? options.steps / 10 : 1) == 0) {
      loss_value = loss.item();
      if (step == 1) first_loss = loss_value;
      std::printf("step %5d  mse %.5f\n", step, loss_value);
    }
  }
  std::printf("mse fell from %.4f to %.4f (%.1fx lower)\n", first_loss, loss_value, first_loss / loss_value);
  return loss_value < first_loss ? EXIT_SUCCESS : EXIT_FAILURE;
} catch (const Error& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
