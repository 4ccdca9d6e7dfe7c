// The Trainer: learning, evaluation, metrics files, curves, and resuming
// from a checkpoint bit-identically.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "support/test_support.h"

namespace redes {
namespace {

namespace fs = std::filesystem;
using testing::all_close;

// Two Gaussian blobs in 4-D, labels 0/1, with a dropout MLP to classify them.
std::shared_ptr<data::TensorDataset> blobs(std::int64_t n, std::uint64_t seed) {
  Generator generator(seed);
  const Tensor labels = bernoulli({n, 1}, 0.5, {}, &generator);
  const Tensor features = randn({n, 4}, {}, &generator) + labels * 2.0;
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{features, labels});
}

nn::Sequential classifier() {
  return nn::Sequential(nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.2), nn::Linear(16, 1));
}

train::Trainer::LossFn bce() {
  return [](const Tensor& y, const Tensor& t) { return nn::bce_with_logits(y, t); };
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("redes_trainer_" + std::to_string(::getpid()) + "_" +
                                                  std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Several loader threads change how fast batches are built, never which:
// the trained weights are bit-identical to one thread's.
TEST_F(TrainerTest, LoaderWorkersDoNotChangeTheRun) {
  std::vector<std::vector<double>> weights;
  for (const std::int64_t workers : {0, 1, 3}) {
    manual_seed(4);
    nn::Sequential model = classifier();
    optim::Adam adam(model.parameters(), {.lr = 0.01});
    train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
    trainer.fit(blobs(200, 3), {.epochs = 2, .batch_size = 16, .seed = 9, .num_workers = workers});
    std::vector<double> values;
    for (const Tensor& p : model.parameters()) {
      const std::vector<double> v = testing::host_values(p);
      values.insert(values.end(), v.begin(), v.end());
    }
    weights.push_back(values);
  }
  EXPECT_EQ(weights[0], weights[1]);
}

// FitOptions::cuda_graph: every step after the first replays the captured
// step, with the parameters a run without a graph reaches (SGD with
// momentum, and Adam with its step count on the device), also across a
// learning-rate change (captured again) and a short last batch (run
// without the graph).
std::vector<double> trained_weights(const std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>& make,
                                    bool graph, Device device, std::int64_t* replays = nullptr,
                                    std::string* said = nullptr) {
  manual_seed(5);
  nn::Sequential model(nn::Linear(4, 16), nn::ReLU(), nn::Linear(16, 1));
  model.to(device);
  const std::unique_ptr<optim::Optimizer> optimizer = make(model.parameters());
  optim::StepLR schedule(*optimizer, 2, 0.5);
  train::Trainer trainer(model, *optimizer, bce(), train::Task::BinaryClassification);
  std::ostringstream log;
  trainer.fit(blobs(200, 3), {.epochs = 4, .batch_size = 32, .seed = 9, .schedule = &schedule, .log = &log,
                              .cuda_graph = graph});
  if (replays != nullptr) *replays = trainer.graph_replays();
  if (said != nullptr) *said = log.str();
  std::vector<double> values;
  for (const Tensor& p : model.parameters()) {
    const std::vector<double> v = testing::host_values(p);
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

TEST_F(TrainerTest, CudaGraphStepsTrainAsStepsWithoutAGraph) {
  const Device cuda0 = Device::cuda(0);
  REDES_REQUIRE_DEVICE(cuda0);
  const std::vector<std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>> optimizers{
      [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(std::move(p), optim::SGDOptions{.lr = 0.1, .momentum = 0.9}); },
      [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions{.lr = 0.01}); }};
  for (std::size_t o = 0; o < optimizers.size(); ++o) {
    SCOPED_TRACE(o == 0 ? "SGD" : "Adam");
    std::int64_t replays = 0;
    std::string said;
    const std::vector<double> eager = trained_weights(optimizers[o], false, cuda0);
    const std::vector<double> graphed = trained_weights(optimizers[o], true, cuda0, &replays, &said);
    // 7 batches per epoch (the last one short), 4 epochs: the first step and
    // the short batches run without the graph.
    EXPECT_EQ(replays, 4 * 6 - 1);
    EXPECT_EQ(said.find("cuda graph"), std::string::npos) << said;
    ASSERT_EQ(graphed.size(), eager.size());
    for (std::size_t i = 0; i < eager.size(); ++i) EXPECT_NEAR(graphed[i], eager[i], 1e-5) << i;
  }
}

// A learning rate that changes every epoch is captured again every epoch;
// the memory of the graphs dropped goes back, so what the device holds does
// not grow with the epochs.
TEST_F(TrainerTest, CudaGraphRecapturesDoNotAccumulateMemory) {
  const Device cuda0 = Device::cuda(0);
  REDES_REQUIRE_DEVICE(cuda0);
  const auto reserved_after = [&](std::int64_t epochs) {
    manual_seed(5);
    nn::Sequential model(nn::Linear(4, 256), nn::ReLU(), nn::Linear(256, 1));
    model.to(cuda0);
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    optim::StepLR schedule(sgd, 1, 0.9);
    train::Trainer trainer(model, sgd, bce(), train::Task::BinaryClassification);
    trainer.fit(blobs(256, 3), {.epochs = epochs, .batch_size = 64, .seed = 9, .schedule = &schedule,
                                .cuda_graph = true});
    EXPECT_EQ(trainer.graph_replays(), 4 * epochs - 1);
    return allocator_for(cuda0).stats().reserved_bytes;
  };
  const std::size_t two = reserved_after(2), eight = reserved_after(8);
  EXPECT_LE(eight, two) << "reserved after 2 epochs: " << two << " bytes, after 8: " << eight;
}

// Where a step cannot be captured the fit says why once and trains as
// without a graph: dropout draws random numbers (the failed capture draws
// none, so the run is the same as one without a graph, bit for bit), and
// the CPU has no graphs.
TEST_F(TrainerTest, CudaGraphFallsBackWithAMessage) {
  const auto run = [&](Device device, bool graph, std::string* said, std::int64_t* replays) {
    manual_seed(6);
    nn::Sequential model = classifier();  // with dropout
    model.to(device);
    optim::Adam adam(model.parameters(), {.lr = 0.01});
    train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
    std::ostringstream log;
    trainer.fit(blobs(128, 3), {.epochs = 2, .batch_size = 32, .seed = 9, .log = &log, .cuda_graph = graph});
    *said = log.str();
    *replays = trainer.graph_replays();
    std::vector<double> values;
    for (const Tensor& p : model.parameters()) {
      const std::vector<double> v = testing::host_values(p);
      values.insert(values.end(), v.begin(), v.end());
    }
    return values;
  };
  std::string said;
  std::int64_t replays = -1;
  run(Device::cpu(), true, &said, &replays);
  EXPECT_NE(said.find("cuda graph: the model is on cpu, not a CUDA device; the steps run without a graph"),
            std::string::npos) << said;
  EXPECT_EQ(replays, 0);
  const Device cuda0 = Device::cuda(0);
  REDES_REQUIRE_DEVICE(cuda0);
  const std::vector<double> eager = run(cuda0, false, &said, &replays);
  const std::vector<double> graphed = run(cuda0, true, &said, &replays);
  EXPECT_NE(said.find("random numbers cannot be drawn inside a CUDA graph capture"), std::string::npos) << said;
  EXPECT_EQ(replays, 0);
  EXPECT_EQ(graphed, eager);
}

TEST_F(TrainerTest, LearnsEvaluatesAndWritesMetricsAndCurves) {
  manual_seed(0);
  nn::Sequential model = classifier();
  optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
  const auto train_set = blobs(256, 1), test_set = blobs(64, 2);
  const std::vector<train::EpochRecord> history =
      trainer.fit(train_set, {.epochs = 5, .batch_size = 32, .eval = test_set, .metrics_path = file("metrics.jsonl"),
                              .curves_path = file("curves.svg")});
  ASSERT_EQ(history.size(), 5u);
  EXPECT_LT(history.back().train.loss, history.front().train.loss);
  EXPECT_GT(*history.back().eval->accuracy, 0.85);
  EXPECT_EQ(history.back().steps, 8);
  EXPECT_EQ(history.back().train.samples, 256);
  const train::Metrics test = trainer.evaluate(*test_set);
  EXPECT_EQ(test.samples, 64);
  EXPECT_NEAR(test.loss, history.back().eval->loss, 1e-6);
  std::ifstream metrics(file("metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) {
    EXPECT_NE(line.find("\"test_accuracy\""), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 5);
  std::ifstream svg(file("curves.svg"));
  const std::string picture((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_EQ(picture.rfind("<svg", 0), 0u);
  EXPECT_NE(picture.find("<polyline"), std::string::npos);
}

// Mixed precision: float32 parameters, a float32 loss, and the same learning
// as float32 on this easy problem.
TEST_F(TrainerTest, MixedPrecisionFitsLearn) {
  for (const DType precision : {kBFloat16, kFloat16}) {
    manual_seed(0);
    nn::Sequential model = classifier();
    optim::Adam adam(model.parameters(), {.lr = 0.01});
    train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
    const std::vector<train::EpochRecord> history =
        trainer.fit(blobs(256, 1), {.epochs = 5, .batch_size = 32, .eval = blobs(64, 2), .precision = precision});
    EXPECT_LT(history.back().train.loss, history.front().train.loss) << dtype_name(precision);
    EXPECT_GT(*history.back().eval->accuracy, 0.85) << dtype_name(precision);
    EXPECT_EQ(history.back().skipped, 0) << dtype_name(precision);
    for (const Tensor& parameter : model.parameters()) EXPECT_EQ(parameter.dtype(), kFloat32);
  }
  nn::Sequential model = classifier();
  optim::Adam adam(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
  testing::expect_error([&] { trainer.fit(blobs(32, 1), {.epochs = 1, .precision = kFloat64}); },
                        "precision must be bfloat16 or float16");
}

// float16: a step whose gradients overflow is skipped, and the fit goes on.
TEST_F(TrainerTest, AnOverflowingFloat16StepIsSkipped) {
  manual_seed(0);
  nn::Sequential model = classifier();
  optim::SGD sgd(model.parameters(), {.lr = 0.1});
  train::Trainer trainer(model, sgd, bce(), train::Task::BinaryClassification);
  // The first backward's gradient of the last bias is infinite.
  int calls = 0;
  model.parameters().back().register_hook([&calls](const Tensor& g) {
    return ++calls == 1 ? g * std::numeric_limits<double>::infinity() : g;
  });
  const std::vector<train::EpochRecord> history =
      trainer.fit(blobs(64, 1), {.epochs = 1, .batch_size = 16, .shuffle = false, .precision = kFloat16});
  EXPECT_EQ(history.back().skipped, 1);
  EXPECT_EQ(history.back().steps, 3);
}

// The loss scale a float16 run reached goes into its checkpoint, and a
// resumed run continues from it instead of the initial 2^16.
TEST_F(TrainerTest, AFloat16RunResumesWithItsLossScale) {
  const auto train_set = blobs(64, 1);
  const std::string checkpoint = file("half.safetensors");
  const auto fit = [&](std::int64_t epochs, bool resume, bool overflow_once) {
    manual_seed(0);
    nn::Sequential model = classifier();
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train::Trainer trainer(model, sgd, bce(), train::Task::BinaryClassification);
    auto calls = std::make_shared<int>(0);
    if (overflow_once) {
      model.parameters().back().register_hook([calls](const Tensor& g) {
        return ++*calls == 1 ? g * std::numeric_limits<double>::infinity() : g;
      });
    }
    trainer.fit(train_set, {.epochs = epochs, .batch_size = 16, .checkpoint_path = checkpoint, .resume = resume,
                            .precision = kFloat16});
  };
  fit(1, false, true);
  EXPECT_EQ(load_safetensors_metadata(checkpoint).at("loss_scale"), "32768");
  fit(2, true, false);
  EXPECT_EQ(load_safetensors_metadata(checkpoint).at("loss_scale"), "32768");
  EXPECT_EQ(load_safetensors_metadata(checkpoint).at("loss_scale_growth"), "7");  // 3 + 4 good steps
}

TEST_F(TrainerTest, ResumingContinuesBitIdentically) {
  const auto train_set = blobs(96, 3);
  const auto run = [&](std::int64_t epochs, bool resume, const std::string& checkpoint) {
    manual_seed(7);
    nn::Sequential model = classifier();
    optim::Adam adam(model.parameters(), {.lr = 0.01});
    optim::StepLR schedule(adam, 2, 0.5);
    train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
    trainer.fit(train_set, {.epochs = epochs, .batch_size = 16, .seed = 5, .schedule = &schedule,
                            .checkpoint_path = checkpoint, .resume = resume});
    std::vector<std::vector<double>> values;
    for (const Tensor& p : model.parameters()) values.push_back(testing::host_values(p));
    values.push_back({adam.learning_rate()});
    return values;
  };
  const auto straight = run(4, false, file("straight.safetensors"));
  run(2, false, file("split.safetensors"));
  const auto resumed = run(4, true, file("split.safetensors"));
  EXPECT_EQ(resumed, straight);  // exact equality: same data order, dropout masks and optimizer state
  // A different shuffle seed cannot resume this checkpoint.
  manual_seed(7);
  nn::Sequential model = classifier();
  optim::Adam adam(model.parameters());
  train::Trainer trainer(model, adam, bce(), train::Task::BinaryClassification);
  EXPECT_THROW(trainer.fit(train_set, {.epochs = 5, .seed = 6, .checkpoint_path = file("split.safetensors"),
                                       .resume = true}),
               Error);
}

TEST_F(TrainerTest, ANonFiniteLossStopsTheRunAndKeepsTheLastCheckpoint) {
  const auto train_set = blobs(96, 4);
  manual_seed(3);
  nn::Sequential model = classifier();
  optim::SGD sgd(model.parameters(), {.lr = 0.01});
  train::Trainer trainer(model, sgd, bce(), train::Task::BinaryClassification);
  const std::string checkpoint = file("run.safetensors");
  trainer.fit(train_set, {.epochs = 1, .batch_size = 16, .checkpoint_path = checkpoint});
  const std::uintmax_t good_size = fs::file_size(checkpoint);
  const auto good_time = fs::last_write_time(checkpoint);
  const std::vector<double> good_weights = testing::host_values(model.parameters().front());
  // A learning rate this large sends the weights, then the loss, to infinity or NaN.
  sgd.set_learning_rate(1e30);
  try {
    trainer.fit(train_set, {.epochs = 3, .batch_size = 16, .checkpoint_path = checkpoint, .overwrite = true,
                            .metrics_path = file("metrics.jsonl")});
    FAIL() << "a diverged run finished without an error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("the training loss is "), std::string::npos) << message;
    EXPECT_NE(message.find("in epoch 1 (batch"), std::string::npos) << message;
    EXPECT_NE(message.find(checkpoint + " is left as it was"), std::string::npos) << message;
  }
  EXPECT_EQ(fs::file_size(checkpoint), good_size);
  EXPECT_EQ(fs::last_write_time(checkpoint), good_time);
  EXPECT_FALSE(fs::exists(file("metrics.jsonl")) && fs::file_size(file("metrics.jsonl")) > 0);
  nn::Sequential reloaded = classifier();
  optim::SGD reloaded_sgd(reloaded.parameters());
  train::load_checkpoint(checkpoint, reloaded, reloaded_sgd, nullptr);
  EXPECT_EQ(testing::host_values(reloaded.parameters().front()), good_weights);
}

TEST_F(TrainerTest, TemporariesLeftByAKilledSaveAreRemovedAtStart) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string checkpoint = file("run.safetensors");
  const std::string stale = checkpoint + ".tmp." + std::to_string(child);
  std::ofstream(stale) << "half a checkpoint";
  manual_seed(2);
  nn::Sequential model = classifier();
  optim::SGD sgd(model.parameters());
  train::Trainer trainer(model, sgd, bce(), train::Task::BinaryClassification);
  trainer.fit(blobs(32, 5), {.epochs = 1, .batch_size = 16, .checkpoint_path = checkpoint});
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(checkpoint));
}

TEST_F(TrainerTest, CheckpointOfAnotherModelIsRefused) {
  manual_seed(1);
  nn::Sequential model = classifier();
  optim::SGD sgd(model.parameters());
  train::save_checkpoint(file("a.safetensors"), model, sgd, nullptr, {});
  nn::Sequential other(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 1));
  optim::SGD other_sgd(other.parameters());
  try {
    train::load_checkpoint(file("a.safetensors"), other, other_sgd, nullptr);
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file("a.safetensors")), std::string::npos) << message;
    EXPECT_NE(message.find("has shape (16, 4), the model expects (3, 4)"), std::string::npos) << message;
  }
  save_safetensors({{"x", ones({1})}}, file("not_checkpoint.safetensors"));
  EXPECT_THROW(train::load_checkpoint(file("not_checkpoint.safetensors"), model, sgd, nullptr), Error);
}

TEST(Metrics, AccumulatesAccuracyAndRmse) {
  train::MetricAccumulator classes(train::Task::Classification);
  const Tensor logits = from_vector(std::vector<float>{2, 1, 0, 5, 3, 1}, {3, 2});
  classes.add(scalar_tensor(0.5), logits, from_vector(std::vector<std::int64_t>{0, 1, 1}, {3}, {kInt64}));
  const train::Metrics m = classes.read();
  EXPECT_NEAR(*m.accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.loss, 0.5, 1e-12);
  train::MetricAccumulator regression(train::Task::Regression);
  regression.add(scalar_tensor(1.0), from_vector(std::vector<float>{1, 2}, {2, 1}), from_vector(std::vector<float>{0, 4}, {2, 1}));
  EXPECT_NEAR(*regression.read().rmse, std::sqrt(2.5), 1e-12);
}

}  // namespace
}  // namespace redes
