// W5 fashion-seq-lstm: Fashion-MNIST read row by row, each image a sequence
// of 28 steps of 28 features, classified from the LSTM's last hidden state.
#include <cstdio>
#include <iostream>

#include "workloads.h"

namespace redes::examples {

namespace {

class RowSequenceClassifier : public nn::Module {
 public:
  RowSequenceClassifier(std::int64_t features, std::int64_t hidden, std::int64_t classes)
      : lstm_(register_module("lstm", nn::LSTM(features, hidden, {.batch_first = true}))),
        head_(register_module("head", nn::Linear(hidden, classes))) {}
  Tensor forward(const Tensor& images) override {
    const Tensor rows = images.reshape({images.size(0), images.size(-2), images.size(-1)});  // (N, 28, 28)
    return head_(lstm_(rows).select(1, -1));
  }

 private:
  nn::ModuleHolder<nn::LSTM> lstm_;
  nn::ModuleHolder<nn::Linear> head_;
};

}  // namespace

int fashion_seq_lstm(const WorkloadOptions& options) {
  refuse_inapplicable(options, "fashion-seq", false, false);
  const std::filesystem::path dir = options.data.empty() ? data::fashion_mnist_dir() : std::filesystem::path(options.data);
  const auto train_set = std::make_shared<data::TensorDataset>(data::load_fashion_mnist(data::Split::Train, {}, dir));
  const auto test_set = std::make_shared<data::TensorDataset>(data::load_fashion_mnist(data::Split::Test, {}, dir));
  std::printf("fashion-mnist as sequences of 28 rows: %lld train, %lld test, device %s\n",
              static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()),
              options.device.str().c_str());

  manual_seed(options.seed);
  RowSequenceClassifier model(28, 128, 10);
  model.to(options.device);
  std::printf("%s\n", model.str().c_str());
  optim::Adam adam(model.parameters(), {.lr = options.lr.value_or(1e-3)});
  train::Trainer trainer(model, adam, [](const Tensor& y, const Tensor& t) { return nn::cross_entropy(y, t); },
                         train::Task::Classification);
  train::FitOptions fit = fit_options(options, "fashion_seq_lstm");
  fit.epochs = options.epochs.value_or(3);
  fit.batch_size = options.batch_size.value_or(128);
  fit.eval = test_set;
  fit.clip_grad_norm = 1.0;
  const std::vector<train::EpochRecord> history = trainer.fit(train_set, fit);

  const std::string device = options.device.str();
  for (const train::EpochRecord& r : history) {
    std::cout << train::result_json("fashion-seq-lstm", device, "test_accuracy", *r.eval->accuracy, "fraction",
                                    {{"epoch", std::to_string(r.epoch)}})
              << "\n";
  }
  if (!history.empty()) {
    std::cout << train::result_json("fashion-seq-lstm", device, "epoch_seconds", train::median_epoch_seconds(history),
                                    "seconds")
              << "\n"
              << train::result_json("fashion-seq-lstm", device, "step_milliseconds", 1e3 * train::median_step_seconds(history),
                                    "milliseconds")
              << "\n";
  }
  return 0;
}

}  // namespace redes::examples
