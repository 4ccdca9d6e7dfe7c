// A training run never loses work silently: explicit resume and overwrite,
// a metrics file that lists every epoch once, NaN guards, a stop in the
// middle of an epoch that resumes bit-identically, the output-folder lock and
// warnings for a checkpoint holding NaN.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.h"

namespace redes {
namespace {

namespace fs = std::filesystem;

// Two Gaussian blobs in 4-D, labels 0/1.
std::shared_ptr<data::TensorDataset> blobs(std::int64_t n, std::uint64_t seed) {
  Generator generator(seed);
  const Tensor labels = bernoulli({n, 1}, 0.5, {}, &generator);
  const Tensor features = randn({n, 4}, {}, &generator) + labels * 2.0;
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{features, labels});
}

train::Trainer::LossFn bce() {
  return [](const Tensor& y, const Tensor& t) { return nn::bce_with_logits(y, t); };
}

// A dropout MLP, Adam and a step schedule: every piece of state a resume must restore.
struct TrainingSetup {
  nn::Sequential model;
  optim::Adam adam;
  optim::StepLR schedule;
  train::Trainer trainer;
  explicit TrainingSetup(std::uint64_t seed)
      : model((manual_seed(seed), nn::Sequential(nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.2), nn::Linear(16, 1)))),
        adam(model.parameters(), {.lr = 0.01}),
        schedule(adam, 2, 0.5),
        trainer(model, adam, bce(), train::Task::BinaryClassification) {}
  std::vector<std::vector<double>> state() const {
    std::vector<std::vector<double>> values;
    for (const Tensor& p : model.parameters()) values.push_back(testing::host_values(p));
    values.push_back({adam.learning_rate()});
    return values;
  }
};

class RunSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("redes_run_safety_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  train::FitOptions options(std::int64_t epochs) const {
    return {.epochs = epochs, .batch_size = 16, .seed = 5, .checkpoint_path = file("run.safetensors"),
            .metrics_path = file("run.jsonl")};
  }

  // The epoch numbers listed in the metrics file, in order.
  std::vector<std::int64_t> listed_epochs() const {
    std::vector<std::int64_t> epochs;
    std::ifstream in(file("run.jsonl"));
    for (std::string line; std::getline(in, line);) epochs.push_back(nlohmann::json::parse(line)["epoch"]);
    return epochs;
  }

  // Runs fit and returns the error message ("" when it succeeded).
  static std::string fit_error(train::Trainer& trainer, const std::shared_ptr<data::TensorDataset>& set,
                               const train::FitOptions& fit) {
    try {
      trainer.fit(set, fit);
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(RunSafetyTest, ResumeWithoutACheckpointIsAnErrorAndResumeIfPresentStartsAfresh) {
  const auto set = blobs(64, 1);
  TrainingSetup run(1);
  train::FitOptions fit = options(2);
  fit.resume = true;
  std::string message = fit_error(run.trainer, set, fit);
  EXPECT_NE(message.find("asked to resume, but " + file("run.safetensors") + " does not exist"), std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(file("run.safetensors")));
  // A dangling link is named as one.
  fs::create_symlink(file("gone.safetensors"), file("run.safetensors"));
  message = fit_error(run.trainer, set, fit);
  EXPECT_NE(message.find("is a link to a file that does not exist"), std::string::npos) << message;
  fs::remove(file("run.safetensors"));
  fit.resume = false;
  fit.resume_if_present = true;
  EXPECT_EQ(run.trainer.fit(set, fit).size(), 2u);
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1, 2}));
  // Now there is one to continue.
  fit.epochs = 3;
  EXPECT_EQ(run.trainer.fit(set, fit).size(), 1u);
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1, 2, 3}));
  // Contradictory and incomplete options.
  fit.overwrite = true;
  EXPECT_NE(fit_error(run.trainer, set, fit).find("contradictory"), std::string::npos);
  EXPECT_NE(fit_error(run.trainer, set, {.epochs = 1, .resume = true}).find("needs a checkpoint_path"),
            std::string::npos);
}

TEST_F(RunSafetyTest, AFreshRunNeverReplacesACheckpointOrMetricsWithoutOverwrite) {
  const auto set = blobs(64, 2);
  TrainingSetup first(2);
  first.trainer.fit(set, options(3));
  const auto size = fs::file_size(file("run.safetensors"));
  const auto time = fs::last_write_time(file("run.safetensors"));
  const std::vector<std::int64_t> before = listed_epochs();
  TrainingSetup second(3);
  const std::string message = fit_error(second.trainer, set, options(1));
  EXPECT_NE(message.find(file("run.safetensors") + " already holds a checkpoint of 3 epochs"), std::string::npos)
      << message;
  EXPECT_EQ(fs::file_size(file("run.safetensors")), size);
  EXPECT_EQ(fs::last_write_time(file("run.safetensors")), time);
  EXPECT_EQ(listed_epochs(), before);
  // Metrics alone are protected too.
  fs::remove(file("run.safetensors"));
  const std::string metrics_message = fit_error(second.trainer, set, options(1));
  EXPECT_NE(metrics_message.find("already holds the metrics of an earlier run"), std::string::npos) << metrics_message;
  train::FitOptions fit = options(1);
  fit.overwrite = true;
  EXPECT_EQ(second.trainer.fit(set, fit).size(), 1u);
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(train::checkpoint_epochs_done(file("run.safetensors")), 1);
}

TEST_F(RunSafetyTest, TheMetricsFileListsEveryEpochOnceAfterAKilledRun) {
  const auto set = blobs(64, 3);
  TrainingSetup run(4);
  run.trainer.fit(set, options(2));
  // What a run killed after writing epoch 3's line but before saving it leaves:
  // the line, and a torn line after it.
  {
    std::ofstream metrics(file("run.jsonl"), std::ios::app);
    metrics << "{\"epoch\":3,\"train_loss\":0.5}\n{\"epoch\":4,\"train_lo";
  }
  train::FitOptions fit = options(4);
  fit.resume = true;
  fit.curves_path = file("run.svg");
  TrainingSetup resumed(4);
  EXPECT_EQ(resumed.trainer.fit(set, fit).size(), 2u);
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1, 2, 3, 4}));
  // The curves cover the epochs of both runs: four points per line.
  std::ifstream svg(file("run.svg"));
  const std::string picture((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  const std::size_t polyline = picture.find("<polyline");
  ASSERT_NE(polyline, std::string::npos);
  const std::string points = picture.substr(polyline, picture.find("/>", polyline) - polyline);
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), 4) << points;
}

TEST_F(RunSafetyTest, ACheckpointBeyondTheRequestedEpochsIsRefused) {
  const auto set = blobs(64, 4);
  TrainingSetup run(5);
  run.trainer.fit(set, options(3));
  train::FitOptions fit = options(2);
  fit.resume = true;
  const std::string message = fit_error(run.trainer, set, fit);
  EXPECT_NE(message.find("holds 3 completed epochs, more than the 2 asked for"), std::string::npos) << message;
  // Exactly as many: nothing to train, said so.
  std::ostringstream log;
  fit.epochs = 3;
  fit.log = &log;
  EXPECT_TRUE(run.trainer.fit(set, fit).empty());
  EXPECT_NE(log.str().find("already holds all 3 epochs; nothing to train"), std::string::npos) << log.str();
}

TEST_F(RunSafetyTest, ABatchSizeBeyondTheDataSetIsOneBatchOrAClearError) {
  const auto set = blobs(40, 5);
  TrainingSetup run(6);
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  const std::vector<train::EpochRecord> history = run.trainer.fit(set, {.epochs = 1, .batch_size = huge});
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].steps, 1);
  EXPECT_EQ(history[0].train.samples, 40);
  const std::string message = fit_error(run.trainer, set, {.epochs = 1, .batch_size = huge, .drop_last = true});
  EXPECT_NE(message.find("the training set's 40 samples make no batch of"), std::string::npos) << message;
}

TEST_F(RunSafetyTest, AStopInTheMiddleOfAnEpochSavesAndResumesBitIdentically) {
  const auto set = blobs(96, 6);  // 6 batches per epoch
  TrainingSetup straight(7);
  train::FitOptions fit = options(3);
  fit.schedule = &straight.schedule;
  fit.checkpoint_path = file("straight.safetensors");
  fit.metrics_path = file("straight.jsonl");
  const std::vector<train::EpochRecord> expected = straight.trainer.fit(set, fit);
  ASSERT_EQ(expected.size(), 3u);

  // The flag goes up during the 9th step: epoch 2, batch 3.
  std::atomic<bool> stop{false};
  int calls = 0;
  TrainingSetup first(7);
  train::Trainer counting(first.model, first.adam,
                          [&](const Tensor& y, const Tensor& t) {
                            if (++calls == 9) stop = true;
                            return nn::bce_with_logits(y, t);
                          },
                          train::Task::BinaryClassification);
  fit = options(3);
  fit.schedule = &first.schedule;
  fit.stop = &stop;
  std::ostringstream log;
  fit.log = &log;
  EXPECT_EQ(counting.fit(set, fit).size(), 1u);
  EXPECT_TRUE(counting.stopped());
  EXPECT_NE(log.str().find("stopped in epoch 2 after batch 3 of 6"), std::string::npos) << log.str();
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1}));

  TrainingSetup second(99);  // other initial weights: all of them must come from the checkpoint
  fit.stop = nullptr;
  fit.resume = true;
  fit.schedule = &second.schedule;
  fit.log = nullptr;
  const std::vector<train::EpochRecord> rest = second.trainer.fit(set, fit);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(second.state(), straight.state());  // same data order, dropout masks, optimizer and schedule state
  EXPECT_EQ(listed_epochs(), (std::vector<std::int64_t>{1, 2, 3}));
  // The interrupted epoch reports all six batches, three of them from before
  // the stop, and so do its step count and seconds.
  EXPECT_EQ(rest[0].steps, 6);
  EXPECT_EQ(rest[0].train.samples, 96);
  EXPECT_NEAR(rest[0].train.loss, expected[1].train.loss, 1e-12);
  EXPECT_EQ(*rest[0].train.accuracy, *expected[1].train.accuracy);
}

TEST_F(RunSafetyTest, NonFiniteLossesStopOrAreSkipped) {
  // One sample with a NaN feature poisons its batch's loss and gradients.
  Generator generator(7);
  Tensor features = randn({64, 4}, {}, &generator);
  features.data<float>()[4 * 20] = std::numeric_limits<float>::quiet_NaN();
  const auto set = std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{features, bernoulli({64, 1}, 0.5, {}, &generator)});
  TrainingSetup stop_run(8);
  train::FitOptions fit = options(2);
  fit.shuffle = false;
  const std::string message = fit_error(stop_run.trainer, set, fit);
  EXPECT_NE(message.find("the training loss is NaN in epoch 1"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(file("run.safetensors")));

  TrainingSetup skip_run(8);
  fit.on_non_finite = train::OnNonFinite::SkipBatch;
  std::ostringstream log;
  fit.log = &log;
  const std::vector<train::EpochRecord> history = skip_run.trainer.fit(set, fit);
  ASSERT_EQ(history.size(), 2u);
  for (const train::EpochRecord& record : history) {
    EXPECT_EQ(record.skipped, 1);
    EXPECT_EQ(record.steps, 3);
    EXPECT_EQ(record.train.samples, 48);
    EXPECT_TRUE(std::isfinite(record.train.loss));
  }
  EXPECT_NE(log.str().find("epoch 1, batch 2: NaN or infinity in the loss or a gradient; batch skipped"),
            std::string::npos)
      << log.str();
  for (const Tensor& p : skip_run.model.parameters()) {
    for (double v : testing::host_values(p)) EXPECT_TRUE(std::isfinite(v));
  }
  std::ifstream metrics(file("run.jsonl"));
  std::string line;
  std::getline(metrics, line);
  EXPECT_EQ(nlohmann::json::parse(line)["skipped_batches"], 1);

  // Every batch bad: the run stops rather than pretend to train.
  Tensor all_bad = full({32, 4}, std::numeric_limits<double>::quiet_NaN());
  const auto bad_set = std::make_shared<data::TensorDataset>(std::vector<Tensor>{all_bad, zeros({32, 1})});
  TrainingSetup bad_run(9);
  const std::string all_message =
      fit_error(bad_run.trainer, bad_set, {.epochs = 1, .batch_size = 16, .on_non_finite = train::OnNonFinite::SkipBatch});
  EXPECT_NE(all_message.find("every batch of epoch 1 had NaN or infinity"), std::string::npos) << all_message;
}

TEST_F(RunSafetyTest, ANonFiniteGradientUnderAFiniteLossStopsTheRun) {
  const auto set = blobs(64, 8);
  TrainingSetup run(10);
  // sqrt'(0) is infinite: the loss stays finite, the gradients become NaN.
  train::Trainer trainer(run.model, run.adam,
                         [](const Tensor& y, const Tensor& t) {
                           return nn::bce_with_logits(y, t) + sqrt((y * 0.0).sum());
                         },
                         train::Task::BinaryClassification);
  // One batch per epoch: the NaN parameters would make the next loss NaN too.
  train::FitOptions fit = options(2);
  fit.batch_size = 64;
  const std::string message = fit_error(trainer, set, fit);
  EXPECT_NE(message.find("NaN or infinity in 0.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("while the loss stayed finite"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(file("run.safetensors")));
}

TEST_F(RunSafetyTest, ResumingACheckpointThatHoldsNaNWarnsNamingTheTensor) {
  const auto set = blobs(64, 9);
  TrainingSetup run(11);
  run.trainer.fit(set, options(1));
  TrainingSetup damaged(11);
  damaged.model.parameters()[2].data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  train::save_checkpoint(file("run.safetensors"), damaged.model, damaged.adam, nullptr, {.epochs_done = 1, .loader_seed = 5});
  TrainingSetup resumed(12);
  train::FitOptions fit = options(1);
  fit.resume = true;
  std::ostringstream log;
  fit.log = &log;
  resumed.trainer.fit(set, fit);
  EXPECT_NE(log.str().find("warning: " + file("run.safetensors") + ": model.3.weight holds NaN or infinity"),
            std::string::npos)
      << log.str();
}

TEST_F(RunSafetyTest, OneRunPerOutputFolder) {
  std::optional<train::OutputLock> held(std::in_place, file("out"));
  try {
    train::OutputLock second(file("out"));
    FAIL() << "a second lock on the folder was granted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("another run (pid " + std::to_string(::getpid()) + ") is writing to " + file("out")),
              std::string::npos)
        << message;
  }
  held.reset();
  EXPECT_NO_THROW(train::OutputLock again(file("out")));
}

}  // namespace
}  // namespace redes
