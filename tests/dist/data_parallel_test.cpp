// Data-parallel training across the ranks of an MPI job: the replicas start
// equal, gradients are averaged in buckets, and a run of W ranks with batch
// B each takes the steps one process takes with batch W x B. ctest runs this
// program alone and under `mpirun -np 2`.
#include <gtest/gtest.h>

#include <redes.h>

#include "support/test_support.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace redes {
namespace {

int world() { return dist::world_size(); }
int me() { return dist::rank(); }

std::vector<double> values_of(const Tensor& tensor) { return tensor.to(kFloat64).contiguous().to_vector<double>(); }

// Every parameter of `model`, flattened into one float64 vector.
Tensor flat_parameters(nn::Module& model) {
  std::vector<double> all;
  for (const Tensor& parameter : model.parameters()) {
    const std::vector<double> values = values_of(parameter);
    all.insert(all.end(), values.begin(), values.end());
  }
  return from_vector<double>(all, {static_cast<std::int64_t>(all.size())}, {.dtype = kFloat64});
}

nn::Sequential small_model(std::uint64_t seed) {
  manual_seed(seed);
  return nn::Sequential(nn::Linear(5, 7), nn::Tanh(), nn::Linear(7, 3));
}

TEST(DataParallel, ReplicasStartFromRankZerosParameters) {
  nn::Sequential model = small_model(100 + static_cast<std::uint64_t>(me()));  // different on every rank
  const dist::DataParallel replicas(model);
  const Tensor everyone = dist::all_gather(flat_parameters(model));
  for (int r = 1; r < world(); ++r) EXPECT_EQ(values_of(everyone.select(0, r)), values_of(everyone.select(0, 0)));
}

// On the CPU, and on CUDA where it runs (through host copies and MPI, or NCCL).
class DataParallelOnDevices : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override { REDES_REQUIRE_DEVICE(GetParam()); }
};

TEST_P(DataParallelOnDevices, GradientsAreTheAverageOverRanksInSeveralBuckets) {
  nn::Sequential model = small_model(7);
  model.to(GetParam());
  dist::DataParallel replicas(model, {.bucket_bytes = 64});  // a bucket per tensor or two
  EXPECT_GT(replicas.bucket_count(), 1);
  for (int step = 0; step < 2; ++step) {
    manual_seed(1000 + 10 * static_cast<std::uint64_t>(me()) + static_cast<std::uint64_t>(step));
    const Tensor inputs = randn({4, 5}).to(GetParam());
    for (Tensor parameter : model.parameters()) parameter.zero_grad();
    model(inputs).pow(2).mean().backward();
    // Each rank's own gradients, then their mean: what synchronize must give.
    std::vector<std::vector<double>> expected;
    for (const Tensor& parameter : model.parameters()) {
      const Tensor everyone = dist::all_gather(parameter.grad());
      std::vector<double> mean(static_cast<std::size_t>(parameter.numel()), 0.0);
      for (int r = 0; r < world(); ++r) {
        const std::vector<double> theirs = values_of(everyone.select(0, r));
        for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += theirs[i] / world();
      }
      expected.push_back(mean);
    }
    replicas.synchronize_gradients();
    const std::vector<Tensor> parameters = model.parameters();
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      const std::vector<double> got = values_of(parameters[p].grad());
      for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[p][i], 1e-6) << "parameter " << p;
    }
    EXPECT_EQ(replicas.last_sync().buckets, replicas.bucket_count());
    EXPECT_EQ(replicas.last_sync().bytes, (5 * 7 + 7 + 7 * 3 + 3) * 4);
  }
}

REDES_INSTANTIATE_FOR_DEVICES(DataParallelOnDevices);

TEST(DataParallel, AParameterWithoutAGradientGetsTheAverageOfNone) {
  nn::Sequential model = small_model(8);
  dist::DataParallel replicas(model);
  (*model[0])(randn({2, 5})).sum().backward();  // the last layer gets no gradient
  replicas.synchronize_gradients();
  const std::vector<Tensor> parameters = model.parameters();
  ASSERT_TRUE(parameters[2].grad().defined());
  for (const double g : values_of(parameters[2].grad())) EXPECT_EQ(g, 0.0);
  EXPECT_TRUE(parameters[0].grad().defined());
}

TEST(DataParallel, ASecondBackwardBeforeSynchronizingIsAnError) {
  nn::Sequential model = small_model(9);
  dist::DataParallel replicas(model, {.bucket_bytes = 1 << 20});
  const Tensor inputs = randn({2, 5});
  model(inputs).sum().backward();
  try {
    model(inputs).sum().backward();
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("synchronize_gradients"), std::string::npos) << error.what();
  }
  replicas.synchronize_gradients();  // the buckets sent by the first pass complete on every rank
}

TEST(DataParallel, ModelsThatDifferAcrossRanksAreRefusedOnEveryRank) {
  if (world() == 1) GTEST_SKIP() << "needs two ranks";
  manual_seed(1);
  nn::Linear model(4, 3 + me());
  try {
    const dist::DataParallel replicas(model);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("every rank must build the same model"), std::string::npos)
        << error.what();
  }
}

// Regression data: 48 rows of 5 features.
std::shared_ptr<data::TensorDataset> regression_set(DType dtype) {
  manual_seed(42);
  const Tensor features = randn({48, 5}).to(dtype);
  const Tensor targets = features.sum(std::vector<std::int64_t>{1}, true).tanh();
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{features, targets});
}

nn::Sequential seeded_regression_model(DType dtype) {
  manual_seed(3);
  nn::Sequential model(nn::Linear(5, 8), nn::Tanh(), nn::Linear(8, 1));
  model.to(dtype);
  return model;
}

// A fresh regression model (seed 3) with SGD and a Trainer, as every
// Trainer test here fits it.
struct Regressor {
  Regressor(DType dtype, const optim::SGDOptions& options)
      : model(seeded_regression_model(dtype)),
        sgd(model.parameters(), options),
        trainer(model, sgd, [](const Tensor& y, const Tensor& t) { return nn::mse_loss(y, t); },
                train::Task::Regression) {}
  nn::Sequential model;
  optim::SGD sgd;
  train::Trainer trainer;
};

// Trains a fresh model and returns its parameters.
Tensor train(DType dtype, std::int64_t batch_size, bool data_parallel, std::vector<train::EpochRecord>* history,
             std::int64_t epochs = 3) {
  Regressor regressor(dtype, {.lr = 0.1, .momentum = 0.9});
  const auto set = regression_set(dtype);
  auto records = regressor.trainer.fit(set, {.epochs = epochs, .batch_size = batch_size, .seed = 5, .eval = set,
                                             .data_parallel = data_parallel, .bucket_bytes = 128});
  if (history != nullptr) *history = records;
  return flat_parameters(regressor.model);
}

TEST(DataParallelTrainer, WRanksWithBatchBTakeTheStepsOfOneProcessWithBatchWB) {
  // 48 samples: 2 ranks x batch 4 (or 1 x 8) is 6 steps per epoch.
  for (const DType dtype : {kFloat64, kFloat32}) {
    std::vector<train::EpochRecord> history;
    const std::vector<double> parallel = values_of(train(dtype, 4, true, &history));
    const std::vector<double> alone = values_of(train(dtype, 4 * world(), false, nullptr));
    const std::vector<double> untrained = values_of(train(dtype, 4, false, nullptr, 0));
    double moved = 0;
    for (std::size_t i = 0; i < alone.size(); ++i) moved = std::max(moved, std::abs(alone[i] - untrained[i]));
    EXPECT_GT(moved, 1e-2) << "training must change the parameters for the comparison to mean anything";
    // float64: the same sums in another order; float32 likewise, at its precision.
    const double tolerance = dtype == kFloat64 ? 1e-12 : 1e-5;
    ASSERT_EQ(parallel.size(), alone.size());
    for (std::size_t i = 0; i < parallel.size(); ++i) EXPECT_NEAR(parallel[i], alone[i], tolerance) << i;
    // Metrics count every rank's samples.
    ASSERT_EQ(history.size(), 3U);
    EXPECT_EQ(history.back().train.samples, 48);
    EXPECT_EQ(history.back().eval->samples, 48);
    EXPECT_EQ(history.back().steps, 48 / (4 * world()));
  }
}

// A folder every rank knows: made by rank 0, its name broadcast.
std::filesystem::path shared_folder() {
  Tensor name = zeros({256}, {.dtype = kUInt8});
  if (me() == 0) {
    std::string made = (std::filesystem::temp_directory_path() / "redes_dp_XXXXXX").string();
    EXPECT_NE(::mkdtemp(made.data()), nullptr);
    std::copy(made.begin(), made.end(), name.data<std::uint8_t>());
  }
  dist::broadcast(name, 0);
  return std::filesystem::path(reinterpret_cast<const char*>(name.data<std::uint8_t>()));
}

TEST(DataParallelTrainer, RankZeroAloneWritesAndEveryRankResumes) {
  const std::filesystem::path folder = shared_folder();
  const auto fit = [&](std::int64_t epochs, bool resume) {
    Regressor regressor(kFloat32, {.lr = 0.05});
    return regressor.trainer.fit(regression_set(kFloat32),
                                 {.epochs = epochs, .batch_size = 4,
                                  .checkpoint_path = (folder / "run.safetensors").string(), .resume = resume,
                                  .metrics_path = (folder / "run.jsonl").string(),
                                  .curves_path = (folder / "run.svg").string(), .data_parallel = true});
  };
  EXPECT_EQ(fit(2, false).size(), 2U);
  dist::barrier();
  const auto lines = [&] {
    std::ifstream in(folder / "run.jsonl");
    std::int64_t count = 0;
    for (std::string line; std::getline(in, line);) ++count;
    return count;
  };
  EXPECT_EQ(lines(), 2);  // one line per epoch, not one per rank
  EXPECT_TRUE(std::filesystem::exists(folder / "run.safetensors"));
  dist::barrier();
  EXPECT_EQ(fit(3, true).size(), 1U);  // every rank continues from the checkpoint
  dist::barrier();
  EXPECT_EQ(lines(), 3);
  dist::barrier();
  if (me() == 0) std::filesystem::remove_all(folder);
}

TEST(DataParallelTrainer, AStopMidEpochResumesInOneProcessWhereTheRanksLeftOff) {
  const std::filesystem::path folder = shared_folder();
  const auto fit = [&](std::int64_t batch_size, bool data_parallel, const std::string& checkpoint,
                       std::int64_t stop_after) {
    Regressor regressor(kFloat64, {.lr = 0.1, .momentum = 0.9});
    std::atomic<bool> stop{false};
    std::int64_t batches = 0;
    train::FitOptions options{.epochs = 2, .batch_size = batch_size, .seed = 5, .checkpoint_path = checkpoint,
                              .resume_if_present = !checkpoint.empty(), .stop = &stop,
                              .data_parallel = data_parallel};
    // Asks for a stop after `stop_after` batches of the second epoch.
    options.augment = [&](const Tensor& inputs, const data::Batch& batch) {
      if (batch.epoch == 1 && ++batches == stop_after) stop = true;
      return inputs;
    };
    regressor.trainer.fit(regression_set(kFloat64), options);
    return flat_parameters(regressor.model);
  };
  // The ranks stop after 2 of the second epoch's 6 / world steps (the first
  // 2 x 4 x world samples of its order) ...
  const std::string shared = (folder / "stopped.safetensors").string();
  fit(4, true, shared, 2);
  dist::barrier();
  // ... and each rank, alone with batch 4 x world, continues from there.
  const std::filesystem::path own = folder / ("rank" + std::to_string(me()) + ".safetensors");
  std::filesystem::copy_file(shared, own);
  const std::vector<double> resumed = values_of(fit(4 * world(), false, own.string(), 0));
  const std::vector<double> straight = values_of(fit(4 * world(), false, "", 0));
  ASSERT_EQ(resumed.size(), straight.size());
  for (std::size_t i = 0; i < resumed.size(); ++i) EXPECT_NEAR(resumed[i], straight[i], 1e-12) << i;
  dist::barrier();
  if (me() == 0) std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace redes
