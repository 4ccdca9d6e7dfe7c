// W4 seattle-lstm: forecast the next hour's temperature from the last 24
// with an LSTM, next to two baselines on the same test windows: persistence
// (the last observed hour) and a linear least-squares model of the window.
// The LSTM forecasts the change from the last hour and trains 30 epochs
// under a cosine schedule; it ends below both baselines, and
// seattle_lstm_week.svg draws its forecasts for the first test week.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "workloads.h"

namespace redes::examples {

namespace {

// The last hidden state of an LSTM, then a linear layer, added to the last
// value of the window.
class LastStepRegressor : public nn::Module {
 public:
  LastStepRegressor(std::int64_t hidden, std::int64_t outputs)
      : lstm_(register_module("lstm", nn::LSTM(1, hidden, {.batch_first = true}))),
        head_(register_module("head", nn::Linear(hidden, outputs))) {}
  Tensor forward(const Tensor& windows) override {
    const Tensor states = lstm_(windows);  // (N, T, H)
    // The network forecasts the change from the last hour: an hour's change
    // is small and centred, the temperature itself is not.
    return windows.select(1, -1) + head_(states.select(1, -1));
  }

 private:
  nn::ModuleHolder<nn::LSTM> lstm_;
  nn::ModuleHolder<nn::Linear> head_;
};

// Solves the normal equations (X^T X + tiny ridge) w = X^T y by Gaussian
// elimination with partial pivoting; X gets a bias column.
std::vector<double> least_squares(const std::vector<double>& x, const std::vector<double>& y, std::size_t features) {
  const std::size_t n = y.size(), d = features + 1;
  std::vector<double> a(d * d, 0.0), b(d, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < d; ++i) {
      const double xi = i < features ? x[r * features + i] : 1.0;
      b[i] += xi * y[r];
      for (std::size_t j = 0; j < d; ++j) a[i * d + j] += xi * (j < features ? x[r * features + j] : 1.0);
    }
  }
  for (std::size_t i = 0; i < d; ++i) a[i * d + i] += 1e-9;
  for (std::size_t col = 0; col < d; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < d; ++r) {
      if (std::fabs(a[r * d + col]) > std::fabs(a[pivot * d + col])) pivot = r;
    }
    for (std::size_t j = 0; j < d; ++j) std::swap(a[col * d + j], a[pivot * d + j]);
    std::swap(b[col], b[pivot]);
    for (std::size_t r = col + 1; r < d; ++r) {
      const double factor = a[r * d + col] / a[col * d + col];
      for (std::size_t j = col; j < d; ++j) a[r * d + j] -= factor * a[col * d + j];
      b[r] -= factor * b[col];
    }
  }
  std::vector<double> w(d);
  for (std::size_t i = d; i-- > 0;) {
    double total = b[i];
    for (std::size_t j = i + 1; j < d; ++j) total -= a[i * d + j] * w[j];
    w[i] = total / a[i * d + i];
  }
  return w;
}

// The first week of test hours: actual temperatures, the LSTM's forecasts
// and the linear model's, in degrees F.
void write_test_week(nn::Module& model, const data::TensorDataset& test_set, const std::vector<double>& linear,
                     const data::SeriesWindows& series, const std::string& path) {
  const std::int64_t hours = std::min<std::int64_t>(24 * 7, test_set.size());
  NoGradGuard no_grad;
  model.eval();
  const Device device = model.parameters().front().device();
  const Tensor inputs = test_set.tensors()[0].narrow(0, 0, hours).to(device);
  const std::vector<float> forecast = model(inputs).to(kFloat32).to_vector<float>();
  const std::vector<float> actual = test_set.tensors()[1].narrow(0, 0, hours).to_vector<float>();
  const auto degrees = [&](double standardised) { return standardised * series.std + series.mean; };
  train::ChartSeries actual_f{"actual", {}}, lstm_f{"LSTM", {}}, linear_f{"linear least squares", {}};
  for (std::int64_t h = 0; h < hours; ++h) {
    const auto i = static_cast<std::size_t>(h);
    actual_f.values.push_back(degrees(actual[i]));
    lstm_f.values.push_back(degrees(forecast[i]));
    linear_f.values.push_back(degrees(linear[i]));
  }
  train::write_line_chart(path, "next-hour temperature (F), first test week", "hour", {actual_f, lstm_f, linear_f},
                          "temperature (F)");
}

}  // namespace

int seattle_lstm(const WorkloadOptions& options) {
  refuse_inapplicable(options, "seattle", false, false);
  const data::SeriesWindows series =
      options.data.empty() ? data::load_seattle_temps() : data::load_seattle_temps({}, options.data);
  const auto train_set = std::make_shared<data::TensorDataset>(series.train);
  const auto test_set = std::make_shared<data::TensorDataset>(series.test);
  std::printf("seattle: %lld hours, %lld windows (%lld train, %lld test), mean %.2f F, std %.2f F, device %s\n",
              static_cast<long long>(series.values), static_cast<long long>(series.windows),
              static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()), series.mean,
              series.std, options.device.str().c_str());

  // Baselines on the same test windows, in degrees F.
  const std::vector<float> test_x = test_set->tensors()[0].to_vector<float>();
  const std::vector<float> test_y = test_set->tensors()[1].to_vector<float>();
  const std::vector<float> train_x = train_set->tensors()[0].to_vector<float>();
  const std::vector<float> train_y = train_set->tensors()[1].to_vector<float>();
  const std::size_t window = static_cast<std::size_t>(test_set->tensors()[0].size(1));
  const std::vector<double> w = least_squares(std::vector<double>(train_x.begin(), train_x.end()),
                                              std::vector<double>(train_y.begin(), train_y.end()), window);
  double persistence = 0, linear = 0;
  std::vector<double> linear_predictions;
  for (std::size_t i = 0; i < test_y.size(); ++i) {
    const double last = test_x[i * window + window - 1], target = test_y[i];
    double prediction = w[window];
    for (std::size_t j = 0; j < window; ++j) prediction += w[j] * static_cast<double>(test_x[i * window + j]);
    persistence += (last - target) * (last - target);
    linear += (prediction - target) * (prediction - target);
    linear_predictions.push_back(prediction);
  }
  const double count = static_cast<double>(test_y.size());
  const double persistence_rmse = std::sqrt(persistence / count) * series.std;
  const double linear_rmse = std::sqrt(linear / count) * series.std;

  manual_seed(options.seed);
  LastStepRegressor model(64, 1);
  model.to(options.device);
  std::printf("%s\n", model.str().c_str());
  optim::Adam adam(model.parameters(), {.lr = options.lr.value_or(1e-2)});
  train::Trainer trainer(model, adam, [](const Tensor& y, const Tensor& t) { return nn::mse_loss(y, t); },
                         train::Task::Regression);
  train::FitOptions fit = fit_options(options, "seattle_lstm");
  // 30 epochs with a cosine-decayed rate: the slow end of the schedule is
  // what takes the forecast below the linear model's error.
  fit.epochs = options.epochs.value_or(30);
  optim::CosineAnnealingLR schedule(adam, fit.epochs);
  fit.schedule = &schedule;
  fit.batch_size = options.batch_size.value_or(64);
  fit.eval = test_set;
  const std::vector<train::EpochRecord> history = trainer.fit(train_set, fit);
  const double lstm_rmse = *trainer.evaluate(*test_set).rmse * series.std;
  std::printf("test RMSE: LSTM %.3f F | persistence %.3f F | linear least squares %.3f F\n", lstm_rmse,
              persistence_rmse, linear_rmse);
  if (!trainer.stopped() && options.writes_files) write_test_week(model, *test_set, linear_predictions, series, output_path(options, "seattle_lstm_week.svg"));

  const std::string device = options.device.str();
  std::cout << train::result_json("seattle-lstm", device, "test_rmse", lstm_rmse, "degrees_F") << "\n"
            << train::result_json("seattle-lstm", device, "baseline_rmse", persistence_rmse, "degrees_F",
                                  {{"baseline", "\"persistence\""}})
            << "\n"
            << train::result_json("seattle-lstm", device, "baseline_rmse", linear_rmse, "degrees_F",
                                  {{"baseline", "\"linear_least_squares\""}})
            << "\n";
  if (!history.empty()) {
    std::cout << train::result_json("seattle-lstm", device, "epoch_seconds", train::median_epoch_seconds(history),
                                    "seconds")
              << "\n"
              << train::result_json("seattle-lstm", device, "step_milliseconds", 1e3 * train::median_step_seconds(history),
                                    "milliseconds")
              << "\n";
  }
  return 0;
}

}  // namespace redes::examples
