// W2 fashion-lenet: LeNet-5 on Fashion-MNIST, SGD with momentum, optionally
// with on-the-fly augmentation (flip, shift, rotation, noise).
#include <cstdio>
#include <iostream>

#include "workloads.h"

namespace redes::examples {

int fashion_lenet(const WorkloadOptions& options) {
  refuse_inapplicable(options, "fashion", false, true);
  const data::ImageOptions images{.normalize = !options.augment};  // augmentation works on [0, 1] images
  const std::filesystem::path dir = options.data.empty() ? data::fashion_mnist_dir() : std::filesystem::path(options.data);
  const auto train_set = std::make_shared<data::TensorDataset>(data::load_fashion_mnist(data::Split::Train, images, dir));
  // The test set is always normalised the same way.
  const auto test_set = std::make_shared<data::TensorDataset>(data::load_fashion_mnist(data::Split::Test, {}, dir));
  std::printf("fashion-mnist: %lld train, %lld test images, augmentation %s, device %s\n",
              static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()),
              options.augment ? "on" : "off", options.device.str().c_str());

  manual_seed(options.seed);
  nn::Sequential model = models::lenet5();
  model.to(options.device);
  std::printf("%s\n", model.str().c_str());
  optim::SGD sgd(model.parameters(), {.lr = options.lr.value_or(0.01), .momentum = 0.9});
  train::Trainer trainer(model, sgd, [](const Tensor& y, const Tensor& t) { return nn::cross_entropy(y, t); },
                         train::Task::Classification);
  train::FitOptions fit = fit_options(options, "fashion_lenet");
  fit.epochs = options.epochs.value_or(10);
  fit.batch_size = options.batch_size.value_or(64);
  fit.eval = test_set;
  if (options.augment) {
    fit.augment = [seed = options.seed](const Tensor& batch_images, const data::Batch& batch) {
      const data::SampleKeys keys{seed, batch.epoch, batch.indices};
      return data::normalize(data::augment(batch_images, {}, keys), 0.2860, 0.3530);
    };
  }
  const std::vector<train::EpochRecord> history = trainer.fit(train_set, fit);

  const std::string device = options.device.str();
  const std::vector<std::pair<std::string, std::string>> variant{{"augment", options.augment ? "true" : "false"}};
  for (const train::EpochRecord& r : history) {
    std::cout << train::result_json("fashion-lenet", device, "test_accuracy", *r.eval->accuracy, "fraction",
                                    {{"augment", options.augment ? "true" : "false"}, {"epoch", std::to_string(r.epoch)}})
              << "\n";
  }
  if (!history.empty()) {
    std::cout << train::result_json("fashion-lenet", device, "epoch_seconds", train::median_epoch_seconds(history),
                                    "seconds", variant)
              << "\n"
              << train::result_json("fashion-lenet", device, "images_per_second",
                                    train::median_samples_per_second(history), "images/s", variant)
              << "\n"
              << train::result_json("fashion-lenet", device, "step_milliseconds",
                                    1e3 * train::median_step_seconds(history), "milliseconds", variant)
              << "\n";
  }
  return 0;
}

}  // namespace redes::examples
