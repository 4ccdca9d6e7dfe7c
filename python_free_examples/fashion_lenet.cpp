// W2 fashion-lenet: LeNet-5 on Fashion-MNIST, SGD with momentum, optionally
// with on-the-fly augmentation (flip, shift, rotation, noise).
// fashion_augment.svg shows what each augmentation does to a few training
// images, whether or not this run augments.
#include <cstdio>
#include <iostream>
#include <numeric>

#include "workloads.h"

namespace redes::examples {

namespace {

// Rows: the first training images. Columns: the image, each step of the W2
// recipe alone at its full strength, then the whole recipe as epoch 0 of
// this seed draws it for that sample.
void write_augmentation_grid(const data::TensorDataset& train_set, const data::ImageOptions& loaded,
                             std::uint64_t seed, const std::string& path) {
  const std::int64_t rows = std::min<std::int64_t>(6, train_set.size());
  if (rows == 0) return;
  std::vector<std::int64_t> indices(static_cast<std::size_t>(rows));
  std::iota(indices.begin(), indices.end(), 0);
  Tensor images = train_set.get(indices)[0];
  if (loaded.normalize) images = images * loaded.std + loaded.mean;  // back to [0, 1]
  const data::AugmentOptions recipe;
  const data::SampleKeys keys{seed, 0, indices};
  const auto n = static_cast<std::size_t>(rows);
  const std::string shift_label = "shift +" + std::to_string(recipe.max_shift) + ", +" + std::to_string(recipe.max_shift);
  char rotate_label[32], noise_label[32];
  std::snprintf(rotate_label, sizeof rotate_label, "rotate %g deg", recipe.max_degrees);
  std::snprintf(noise_label, sizeof noise_label, "noise std %g", recipe.noise_std);
  train::write_image_grid(
      path, "W2 augmentations: each step alone, then all of them as epoch 0 draws them",
      {{"original", images},
       {"flip", data::flip_horizontal(images, std::vector<bool>(n, true))},
       {shift_label, data::shift(images, std::vector<data::PixelShift>(n, {recipe.max_shift, recipe.max_shift}))},
       {rotate_label, data::rotate(images, std::vector<double>(n, recipe.max_degrees))},
       {noise_label, data::gaussian_noise(images, recipe.noise_std, keys)},
       {"all, random", data::augment(images, recipe, keys)}},
      4);
}

}  // namespace

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
  // After fit, which refuses to start over an earlier run's files without --overwrite.
  if (options.writes_files) {
    const std::string grid_path = output_path(options, "fashion_augment.svg");
    write_augmentation_grid(*train_set, images, options.seed, grid_path);
    std::printf("what the augmentations do: %s\n", grid_path.c_str());
  }

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
