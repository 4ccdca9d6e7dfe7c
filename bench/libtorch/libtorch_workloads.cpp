// The training steps of the reference workloads W1-W5 (../shared/WORKLOADS.md)
// in libtorch, for a side-by-side speed comparison with `redes bench`.
// Standalone: built by compare.sh with g++ against Debian's libtorch-dev,
// never part of the redes build.
//
//   libtorch_workloads <workload> [--threads N] [--steps N] [--warmup N] [--epochs E] [--seed N]
//
// The models, losses, optimizers and batch shapes are those of redes'
// python_free_examples/ (layers/models.cpp for the CNNs). Inputs are random
// batches of the workload's shape. A step is what redes' Trainer::fit does
// per batch: take a shuffled batch from the sample pool, forward, loss,
// zero_grad, backward, (W5: clip the gradient norm to 1), optimizer step,
// and add the loss and hits to running sums without reading them back.
//
// Timing: --warmup steps first (not timed), then --steps timed steps. With
// --epochs E the timed steps are cut into E equal "epochs" and the value is
// the median over them of (epoch time / steps) -- exactly what `redes bench`
// reports after its warm-up epoch. Without --epochs every step is its own
// epoch, so the value is the median step time.
//
// stdout: one JSON line in redes' result format; stderr: a human-readable
// summary (model, parameter count, median, mean and min step).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The last hidden state of a batch-first, one-layer LSTM, then a linear layer
// (W4's LastStepRegressor and W5's RowSequenceClassifier).
struct LastStepLSTMImpl : torch::nn::Module {
  LastStepLSTMImpl(std::int64_t input, std::int64_t hidden, std::int64_t outputs)
      : lstm(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(input, hidden).batch_first(true)))),
        head(register_module("head", torch::nn::Linear(hidden, outputs))) {}
  torch::Tensor forward(const torch::Tensor& sequences) {                // (N, T, input)
    const torch::Tensor states = std::get<0>(lstm->forward(sequences));  // (N, T, hidden)
    return head->forward(states.select(1, -1));
  }
  torch::nn::LSTM lstm;
  torch::nn::Linear head;
};
TORCH_MODULE(LastStepLSTM);

// W1: 9 -> 64 ReLU -> 64 ReLU -> 1 logit, dropout p after each hidden layer
// when p > 0 (python_free_examples/cars_mlp.cpp).
torch::nn::Sequential cars_mlp(double dropout) {
  using namespace torch::nn;
  Sequential model(Linear(9, 64), ReLU());
  if (dropout > 0) model->push_back(Dropout(dropout));
  model->push_back(Linear(64, 64));
  model->push_back(ReLU());
  if (dropout > 0) model->push_back(Dropout(dropout));
  model->push_back(Linear(64, 1));
  return model;
}

// W2: conv 1->6 5x5 pad 2, ReLU, maxpool 2 -> conv 6->16 5x5, ReLU, maxpool 2
// -> 400 -> 120 ReLU -> 84 ReLU -> 10.
torch::nn::Sequential lenet5() {
  using namespace torch::nn;
  return Sequential(Conv2d(Conv2dOptions(1, 6, 5).padding(2)), ReLU(), MaxPool2d(2), Conv2d(Conv2dOptions(6, 16, 5)),
                    ReLU(), MaxPool2d(2), Flatten(), Linear(400, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, 10));
}

// W3: four blocks of conv 3x3 pad 1 + ReLU + maxpool 2 (32, 64, 128, 256
// channels) -> flatten 1024 -> dropout 0.5 -> 512 ReLU -> 100.
torch::nn::Sequential cifar_cnn(std::int64_t classes) {
  using namespace torch::nn;
  Sequential model;
  std::int64_t channels = 3;
  for (std::int64_t width : {32, 64, 128, 256}) {
    model->push_back(Conv2d(Conv2dOptions(channels, width, 3).padding(1)));
    model->push_back(ReLU());
    model->push_back(MaxPool2d(2));
    channels = width;
  }
  model->push_back(Flatten());
  model->push_back(Dropout(0.5));
  model->push_back(Linear(256 * 2 * 2, 512));
  model->push_back(ReLU());
  model->push_back(Linear(512, classes));
  return model;
}

enum class Task { Classification, BinaryClassification, Regression };

struct Workload {
  std::string name;  // as redes reports it
  std::int64_t batch = 0;
  std::string description;
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  Task task = Task::Classification;
  double clip_grad_norm = 0;      // 0: no clipping
  torch::Tensor inputs, targets;  // the sample pool
};

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const torch::Tensor& p : module.parameters()) total += p.numel();
  return total;
}

// A pool of `pool_batches` batches of random samples, scaled like the
// workload's real data.
Workload make_workload(const std::string& which, std::int64_t pool_batches) {
  Workload w;
  if (which == "cars" || which == "cars-mlp" || which == "cars-dropout" || which == "cars-mlp-dropout") {
    const bool dropout = which == "cars-dropout" || which == "cars-mlp-dropout";
    w.name = dropout ? "cars-mlp-dropout" : "cars-mlp";
    w.batch = 32;
    auto model = cars_mlp(dropout ? 0.3 : 0.0);
    w.module = model.ptr();
    w.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
    w.optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    w.task = Task::BinaryClassification;
    const std::int64_t n = w.batch * pool_batches;
    w.inputs = torch::randn({n, 9});  // standardised features
    w.targets = torch::randint(0, 2, {n, 1}).to(torch::kFloat);
    w.description = std::string("MLP 9-64-64-1") + (dropout ? " with dropout 0.3" : "") +
                    ", batch 32, BCE with logits, Adam lr 1e-3";
  } else if (which == "fashion" || which == "fashion-lenet") {
    w.name = "fashion-lenet";
    w.batch = 64;
    auto model = lenet5();
    w.module = model.ptr();
    w.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
    w.optimizer =
        std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const std::int64_t n = w.batch * pool_batches;
    w.inputs = (torch::rand({n, 1, 28, 28}) - 0.2860) / 0.3530;  // [0, 1] images, normalised as in W2
    w.targets = torch::randint(0, 10, {n}, torch::kLong);
    w.description = "LeNet-5, batch 64x1x28x28, cross-entropy, SGD momentum 0.9 lr 0.01";
  } else if (which == "cifar" || which == "cifar-cnn") {
    w.name = "cifar-cnn";
    w.batch = 128;
    auto model = cifar_cnn(100);
    w.module = model.ptr();
    w.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
    w.optimizer =
        std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const std::int64_t n = w.batch * pool_batches;
    w.inputs = torch::rand({n, 3, 32, 32});  // as redes' synthetic_cifar
    w.targets = torch::randint(0, 100, {n}, torch::kLong);
    w.description =
        "4-block CNN (32, 64, 128, 256) + dropout + 512 + 100 classes, batch 128x3x32x32, cross-entropy, "
        "SGD momentum 0.9 lr 0.01";
  } else if (which == "seattle" || which == "seattle-lstm") {
    w.name = "seattle-lstm";
    w.batch = 64;
    LastStepLSTM model(1, 64, 1);
    w.module = model.ptr();
    // W4 forecasts the change from the window's last hour.
    w.forward = [model](const torch::Tensor& x) mutable { return x.select(1, -1) + model->forward(x); };
    w.optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-2));
    w.task = Task::Regression;
    const std::int64_t n = w.batch * pool_batches;
    w.inputs = torch::randn({n, 24, 1});  // standardised temperatures
    w.targets = torch::randn({n, 1});
    w.description = "last hour + LSTM(1, 64) over 24 steps -> Linear(64, 1), batch 64, MSE, Adam lr 1e-2";
  } else if (which == "fashion-seq" || which == "fashion-seq-lstm") {
    w.name = "fashion-seq-lstm";
    w.batch = 128;
    LastStepLSTM model(28, 128, 10);
    w.module = model.ptr();
    // Images (N, 1, 28, 28) read as 28 rows of 28 features, as in W5.
    w.forward = [model](const torch::Tensor& x) mutable {
      return model->forward(x.reshape({x.size(0), x.size(-2), x.size(-1)}));
    };
    w.optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    w.clip_grad_norm = 1.0;
    const std::int64_t n = w.batch * pool_batches;
    w.inputs = (torch::rand({n, 1, 28, 28}) - 0.2860) / 0.3530;
    w.targets = torch::randint(0, 10, {n}, torch::kLong);
    w.description =
        "LSTM(28, 128) over 28 rows -> Linear(128, 10), batch 128, cross-entropy, Adam lr 1e-3, "
        "gradient clipping at norm 1";
  } else {
    throw std::invalid_argument("unknown workload \"" + which +
                                "\" (cars-mlp, cars-mlp-dropout, fashion-lenet, cifar-cnn, seattle-lstm, "
                                "fashion-seq-lstm; or redes' names cars, cars-dropout, fashion, cifar, seattle, "
                                "fashion-seq)");
  }
  return w;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

std::int64_t parse_count(const std::string& flag, const std::string& text, std::int64_t minimum) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < minimum) {
    throw std::invalid_argument(flag + ": expected a whole number >= " + std::to_string(minimum) + ", got \"" + text +
                                "\"");
  }
  return value;
}

const char* kUsage =
    "usage: libtorch_workloads <cars-mlp|cars-mlp-dropout|fashion-lenet|cifar-cnn|seattle-lstm|fashion-seq-lstm> "
    "[options]\n"
    "  --threads N   torch::set_num_threads (default 2)\n"
    "  --steps N     timed training steps (default 40; cifar-cnn 10)\n"
    "  --warmup N    untimed steps first (default 10; cifar-cnn 3)\n"
    "  --epochs E    cut the timed steps into E equal epochs and report the median of their mean step\n"
    "                times, as redes bench does (default: E = steps, i.e. the median step)\n"
    "  --seed N      torch::manual_seed (default 0)\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      (argc < 2 ? std::cerr : std::cout) << kUsage;
      return argc < 2 ? 2 : 0;
    }
    const std::string which = argv[1];
    const bool cifar = which == "cifar" || which == "cifar-cnn";
    std::int64_t threads = 2, steps = cifar ? 10 : 40, warmup = cifar ? 3 : 10, epochs = 0, seed = 0;
    for (int i = 2; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      const std::string value = argv[++i];
      if (flag == "--threads")
        threads = parse_count(flag, value, 1);
      else if (flag == "--steps")
        steps = parse_count(flag, value, 1);
      else if (flag == "--warmup")
        warmup = parse_count(flag, value, 0);
      else if (flag == "--epochs")
        epochs = parse_count(flag, value, 1);
      else if (flag == "--seed")
        seed = parse_count(flag, value, 0);
      else
        throw std::invalid_argument("unknown option \"" + flag + "\"");
    }
    if (epochs == 0) epochs = steps;
    if (epochs > steps) throw std::invalid_argument("--epochs must not exceed --steps");

    torch::set_num_threads(static_cast<int>(threads));
    torch::manual_seed(static_cast<std::uint64_t>(seed));
    const std::int64_t pool_batches = 16;
    Workload w = make_workload(which, pool_batches);
    w.module->train();
    const std::vector<torch::Tensor> parameters = w.module->parameters();
    std::fprintf(stderr,
                 "libtorch %s (oneDNN %s), %s: %s\n%lld parameters, %d threads, %lld warm-up + %lld timed steps\n",
                 TORCH_VERSION, at::hasMKLDNN() ? "yes" : "no", w.name.c_str(), w.description.c_str(),
                 static_cast<long long>(parameter_count(*w.module)), torch::get_num_threads(),
                 static_cast<long long>(warmup), static_cast<long long>(steps));

    // Running sums, as redes' MetricAccumulator keeps them (never read back here).
    torch::Tensor loss_sum = torch::zeros({}, torch::kDouble), hit_sum = torch::zeros({}, torch::kLong),
                  squared_sum = torch::zeros({}, torch::kDouble);
    const std::int64_t pool = w.inputs.size(0);
    torch::Tensor order = torch::randperm(pool, torch::kLong);
    std::int64_t next = 0;
    const auto train_step = [&] {
      if (next + w.batch > pool) {  // a new shuffle of the pool
        order = torch::randperm(pool, torch::kLong);
        next = 0;
      }
      const torch::Tensor indices = order.narrow(0, next, w.batch);
      next += w.batch;
      const torch::Tensor inputs = w.inputs.index_select(0, indices);
      const torch::Tensor targets = w.targets.index_select(0, indices);
      w.optimizer->zero_grad();
      const torch::Tensor output = w.forward(inputs);
      const torch::Tensor loss =
          w.task == Task::Regression               ? torch::mse_loss(output, targets)
          : w.task == Task::BinaryClassification ? torch::binary_cross_entropy_with_logits(output, targets)
                                                   : torch::nn::functional::cross_entropy(output, targets);
      loss.backward();
      if (w.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(parameters, w.clip_grad_norm);
      w.optimizer->step();
      torch::NoGradGuard no_grad;
      loss_sum += loss.detach().to(torch::kDouble) * static_cast<double>(w.batch);
      if (w.task == Task::Regression) {
        const torch::Tensor error = output.detach().to(torch::kDouble) - targets.to(torch::kDouble);
        squared_sum += (error * error).sum();
      } else if (w.task == Task::BinaryClassification) {
        hit_sum += output.detach().gt(0).eq(targets.gt(0.5)).sum();
      } else {
        hit_sum += output.detach().argmax(1).eq(targets).sum();
      }
    };

    for (std::int64_t i = 0; i < warmup; ++i) train_step();
    std::vector<double> step_seconds;
    step_seconds.reserve(static_cast<std::size_t>(steps));
    for (std::int64_t i = 0; i < steps; ++i) {
      const auto start = std::chrono::steady_clock::now();
      train_step();
      step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (!std::isfinite(loss_sum.item<double>())) throw std::runtime_error("the training loss is not finite");

    // Median over epochs of the epoch's mean step (the last epoch takes the remainder).
    std::vector<double> epoch_means;
    const std::int64_t per_epoch = steps / epochs;
    for (std::int64_t e = 0; e < epochs; ++e) {
      const auto first = step_seconds.begin() + e * per_epoch;
      const auto last = e + 1 == epochs ? step_seconds.end() : first + per_epoch;
      epoch_means.push_back(std::accumulate(first, last, 0.0) / static_cast<double>(last - first));
    }
    const double value_ms = 1e3 * median(epoch_means);
    const double mean_ms =
        1e3 * std::accumulate(step_seconds.begin(), step_seconds.end(), 0.0) / static_cast<double>(step_seconds.size());
    const double min_ms = 1e3 * *std::min_element(step_seconds.begin(), step_seconds.end());
    std::fprintf(stderr, "step: %.3f ms (median of %lld epoch means), median step %.3f ms, mean %.3f ms, min %.3f ms\n",
                 value_ms, static_cast<long long>(epochs), 1e3 * median(step_seconds), mean_ms, min_ms);
    std::printf(
        "{\"workload\":\"%s\",\"device\":\"cpu\",\"impl\":\"libtorch\",\"metric\":\"step_milliseconds\","
        "\"value\":%.6g,\"unit\":\"milliseconds\"}\n",
        w.name.c_str(), value_ms);
    return 0;
  } catch (const std::invalid_argument& error) {
    std::cerr << "libtorch_workloads: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "libtorch_workloads: error: " << error.what() << "\n";
    return 1;
  }
}
