// W1 cars-mlp: is a car eco-friendly? A 9-64-64-1 MLP with binary
// cross-entropy, trained without and with dropout to show the overfitting
// that dropout reduces. With both settings (the default, no --dropout),
// cars_dropout_test_loss.svg draws their test loss per epoch on one chart:
// without dropout it turns upwards as the network memorises the training set.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "workloads.h"

namespace redes::examples {

namespace {

// The test loss of every epoch listed in a metrics file (JSON lines written by
// train::epoch_json), so a resumed run draws its earlier epochs too.
std::vector<double> test_losses(const std::string& metrics_path) {
  std::vector<double> losses;
  std::ifstream in(metrics_path);
  const std::string key = "\"test_loss\":";
  for (std::string line; std::getline(in, line);) {
    const std::size_t at = line.find(key);
    if (at != std::string::npos) losses.push_back(std::strtod(line.c_str() + at + key.size(), nullptr));
  }
  return losses;
}

}  // namespace

int cars_mlp(const WorkloadOptions& options) {
  refuse_inapplicable(options, "cars", true, false);
  const data::CarsData cars = options.data.empty() ? data::load_cars() : data::load_cars(options.data);
  const auto train_set = std::make_shared<data::TensorDataset>(cars.train);
  const auto test_set = std::make_shared<data::TensorDataset>(cars.test);
  std::printf("cars: %lld rows (%lld train, %lld test), eco = mpg > %.2f, device %s\n",
              static_cast<long long>(cars.rows), static_cast<long long>(train_set->size()),
              static_cast<long long>(test_set->size()), cars.median_mpg, options.device.str().c_str());

  const std::vector<double> dropouts = options.dropout ? std::vector<double>{*options.dropout}
                                                       : std::vector<double>{0.0, 0.3};
  std::vector<std::string> results;
  std::vector<train::ChartSeries> test_loss_curves;
  for (double p : dropouts) {
    manual_seed(options.seed);
    nn::Sequential model(nn::Linear(9, 64), nn::ReLU(), nn::Dropout(p), nn::Linear(64, 64), nn::ReLU(),
                         nn::Dropout(p), nn::Linear(64, 1));
    model.to(options.device);
    optim::Adam adam(model.parameters(), {.lr = options.lr.value_or(1e-3)});
    train::Trainer trainer(model, adam, [](const Tensor& y, const Tensor& t) { return nn::bce_with_logits(y, t); },
                           train::Task::BinaryClassification);
    const std::string tag = "dropout" + std::to_string(static_cast<int>(p * 10 + 0.5));
    std::printf("\n%s\n", model.str().c_str());
    train::FitOptions fit = fit_options(options, "cars_" + tag);
    fit.epochs = options.epochs.value_or(200);
    fit.batch_size = options.batch_size.value_or(32);
    fit.eval = test_set;
    const std::vector<train::EpochRecord> history = trainer.fit(train_set, fit);
    if (trainer.stopped()) return 0;  // run_workload reports the signal
    const train::Metrics train_metrics = trainer.evaluate(*train_set);
    const train::Metrics test_metrics = trainer.evaluate(*test_set);
    std::printf("dropout %.1f: train accuracy %.4f loss %.4f | test accuracy %.4f loss %.4f\n", p,
                *train_metrics.accuracy, train_metrics.loss, *test_metrics.accuracy, test_metrics.loss);
    char variant[32];
    std::snprintf(variant, sizeof variant, "%g", p);
    test_loss_curves.push_back({std::string("dropout ") + variant, test_losses(fit.metrics_path)});
    const std::vector<std::pair<std::string, std::string>> v{{"dropout", variant}};
    const std::string device = options.device.str();
    results.push_back(train::result_json("cars-mlp", device, "train_accuracy", *train_metrics.accuracy, "fraction", v));
    results.push_back(train::result_json("cars-mlp", device, "test_accuracy", *test_metrics.accuracy, "fraction", v));
    results.push_back(train::result_json("cars-mlp", device, "test_loss", test_metrics.loss, "nats", v));
    if (!history.empty()) {
      results.push_back(train::result_json("cars-mlp", device, "step_microseconds",
                                           1e6 * train::median_step_seconds(history), "microseconds", v));
    }
  }
  if (test_loss_curves.size() > 1 && options.writes_files) {
    const std::string path = output_path(options, "cars_dropout_test_loss.svg");
    train::write_line_chart(path, "cars: test loss per epoch, without and with dropout", "epoch", test_loss_curves,
                            "test loss (binary cross-entropy)");
    std::printf("\ntest loss of both dropout settings per epoch: %s\n", path.c_str());
  }
  for (const std::string& line : results) std::cout << line << "\n";
  return 0;
}

}  // namespace redes::examples
