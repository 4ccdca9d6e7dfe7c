// W3 cifar-cnn: throughput of the deep CNN of the course notes on
// deterministic synthetic 3x32x32 images with 100 classes (no CIFAR-100 copy
// is available offline; --data or $REDES_CIFAR100_DIR reads real CIFAR-100
// binary files instead).
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>

#include "workloads.h"

namespace redes::examples {

int cifar_cnn(const WorkloadOptions& options) {
  refuse_inapplicable(options, "cifar", false, false);
  const std::int64_t batch_size = options.batch_size.value_or(128);
  // Real CIFAR-100 from --data or $REDES_CIFAR100_DIR; otherwise synthetic
  // images, 20 batches per epoch unless --max-batches says otherwise.
  const char* environment_dir = std::getenv("REDES_CIFAR100_DIR");
  const bool real = !options.data.empty() || (environment_dir != nullptr && *environment_dir != '\0');
  const std::int64_t synthetic_batches = options.max_batches > 0 ? options.max_batches : 20;
  const auto train_set = std::make_shared<data::TensorDataset>(
      real ? data::load_cifar100(data::Split::Train, false,
                                 options.data.empty() ? data::cifar_dir(data::CifarFormat::Cifar100)
                                                      : std::filesystem::path(options.data))
           : data::synthetic_cifar(batch_size * synthetic_batches, 100, options.seed));
  std::printf("cifar-cnn: %lld %s images, batch %lld, device %s\n", static_cast<long long>(train_set->size()),
              real ? "CIFAR-100" : "synthetic", static_cast<long long>(batch_size), options.device.str().c_str());

  manual_seed(options.seed);
  nn::Sequential model = models::cifar_cnn(100);
  model.to(options.device);
  std::printf("%s\n%lld parameters\n", model.str().c_str(), static_cast<long long>(model.parameter_count()));
  optim::SGD sgd(model.parameters(), {.lr = options.lr.value_or(0.01), .momentum = 0.9});
  train::Trainer trainer(model, sgd, [](const Tensor& y, const Tensor& t) { return nn::cross_entropy(y, t); },
                         train::Task::Classification);
  // The first epoch is warm-up: the step times below are the median of the others.
  train::FitOptions fit = fit_options(options, "cifar_cnn");
  fit.epochs = options.epochs.value_or(4);
  fit.batch_size = batch_size;
  if (!real) fit.max_batches_per_epoch = synthetic_batches;
  const std::vector<train::EpochRecord> history = trainer.fit(train_set, fit);
  if (history.empty()) return 0;  // nothing trained: resumed at the end, or stopped

  const std::string device = options.device.str();
  const double step_seconds = train::median_step_seconds(history);
  std::printf("forward+backward+step: %.1f ms per batch of %lld, %.1f images/s\n", 1e3 * step_seconds,
              static_cast<long long>(batch_size), static_cast<double>(batch_size) / step_seconds);
  std::cout << train::result_json("cifar-cnn", device, "images_per_second", static_cast<double>(batch_size) / step_seconds,
                                  "images/s")
            << "\n"
            << train::result_json("cifar-cnn", device, "step_milliseconds", 1e3 * step_seconds, "milliseconds") << "\n";
  return 0;
}

}  // namespace redes::examples
