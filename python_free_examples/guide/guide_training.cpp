// The snippets of docs/guide.md, "Training", with checks of what the text says.
#include <redes.h>
using namespace redes;

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

struct Data {
  std::shared_ptr<data::TensorDataset> train;
  std::shared_ptr<data::TensorDataset> test;
};

// Points in the plane, labelled 1 above the line x0 + 2 x1 = 0.
Data make_data() {
  Generator generator(0);
  Tensor x = randn({320, 2}, {}, &generator);
  Tensor y = ((x.select(1, 0) + x.select(1, 1) * 2.0) > 0.0).to(kFloat32).view({320, 1});
  return {std::make_shared<data::TensorDataset>(std::vector<Tensor>{x.narrow(0, 0, 256), y.narrow(0, 0, 256)}),
          std::make_shared<data::TensorDataset>(std::vector<Tensor>{x.narrow(0, 256, 64), y.narrow(0, 256, 64)})};
}

double accuracy(nn::Module& model, const data::TensorDataset& set) {
  NoGradGuard no_grad;
  model.eval();
  const Tensor logits = model(set.tensors()[0]);
  return ((logits > 0.0) == (set.tensors()[1] > 0.5)).to(kFloat32).mean().item();
}

void plain_loop() {
  const Data sets = make_data();
  const std::shared_ptr<data::TensorDataset> train_set = sets.train;
  manual_seed(0);
  // [guide:training_loop]
  nn::Sequential model(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  optim::SGD sgd(model.parameters(), {.lr = 0.2, .momentum = 0.9});
  optim::StepLR schedule(sgd, /*step_size=*/10, /*gamma=*/0.5);  // halve the rate every 10 epochs
  data::DataLoader loader(train_set, {.batch_size = 32, .shuffle = true, .seed = 1});
  std::vector<double> epoch_losses;
  for (std::uint64_t epoch = 0; epoch < 30; ++epoch) {
    model.train();
    Tensor loss_sum = zeros({});
    for (data::Batch& batch : loader.epoch(epoch)) {
      sgd.zero_grad();
      Tensor loss = nn::bce_with_logits(model(batch[0]), batch[1]);
      loss.backward();
      optim::clip_grad_norm_(model.parameters(), /*max_norm=*/5.0);
      sgd.step();
      loss_sum = loss_sum + loss.detach();  // stays on the device: no wait per step
    }
    schedule.step();                        // per epoch: 0.2, then 0.1 from epoch 10, 0.05 from 20
    epoch_losses.push_back(loss_sum.item() / static_cast<double>(loader.batches_per_epoch()));
  }
  // [guide:end]
  check(near(sgd.learning_rate(), 0.2 * 0.125), "StepLR after 30 epochs: 0.025");
  check(epoch_losses.back() < 0.5 * epoch_losses.front(), "the loss falls");
  check(accuracy(model, *sets.test) > 0.9, "the model learned the line");
}

void with_trainer() {
  const Data sets = make_data();
  const std::shared_ptr<data::TensorDataset> train_set = sets.train, test_set = sets.test;
  std::filesystem::remove_all("guide_run");
  manual_seed(0);
  // [guide:training_trainer]
  nn::Sequential model(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  auto loss = [](const Tensor& output, const Tensor& target) { return nn::bce_with_logits(output, target); };
  train::Trainer trainer(model, adam, loss, train::Task::BinaryClassification);
  std::filesystem::create_directories("guide_run");
  train::FitOptions options{.epochs = 3,
                            .batch_size = 32,
                            .seed = 1,
                            .eval = test_set,                   // evaluated after every epoch
                            .checkpoint_path = "guide_run/checkpoint.safetensors",  // after every epoch
                            .metrics_path = "guide_run/metrics.jsonl",
                            .curves_path = "guide_run/curves.svg"};
  std::vector<train::EpochRecord> records = trainer.fit(train_set, options);
  double test_accuracy = records.back().eval->accuracy.value();  // on test_set, after epoch 3
  // [guide:end]
  check(records.size() == 3 && records.back().epoch == 3, "three epochs");
  check(test_accuracy > 0.8, "eval accuracy after 3 epochs");
  check(std::filesystem::exists("guide_run/checkpoint.safetensors") && std::filesystem::exists("guide_run/curves.svg"),
        "checkpoint and curves written");

  // [guide:training_resume]
  // Later, in another process: the same model and optimizer, freshly made.
  nn::Sequential model2(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  optim::Adam adam2(model2.parameters(), {.lr = 1e-2});
  train::Trainer trainer2(model2, adam2, loss, train::Task::BinaryClassification);
  options.epochs = 5;
  options.resume = true;                                   // an error when there is no checkpoint
  std::vector<train::EpochRecord> more = trainer2.fit(train_set, options);  // epochs 4 and 5
  // [guide:end]
  check(more.size() == 2 && more.front().epoch == 4 && more.back().epoch == 5, "resume trains epochs 4 and 5");
  bool refused = false;
  try {
    options.resume = false;  // a fresh run onto an existing checkpoint needs .overwrite = true
    trainer2.fit(train_set, options);
  } catch (const Error&) {
    refused = true;
  }
  check(refused, "a fresh run does not replace a checkpoint silently");
}

}  // namespace

void mixed_precision() {
  const Data sets = make_data();
  const std::shared_ptr<data::TensorDataset> train_set = sets.train;
  manual_seed(0);
  // [guide:training_mixed_precision]
  nn::Sequential model(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  optim::GradScaler scaler;  // float16 only: bfloat16 has float32's range
  data::DataLoader loader(train_set, {.batch_size = 32, .shuffle = true, .seed = 1});
  std::int64_t skipped = 0;
  Tensor logits, loss;  // the last batch's, read below
  for (std::uint64_t epoch = 0; epoch < 20; ++epoch) {
    for (data::Batch& batch : loader.epoch(epoch)) {
      adam.zero_grad();
      {
        autocast scope(kFloat16);                  // the Linear layers' products in float16
        logits = model(batch[0]);                  // float16
        loss = nn::bce_with_logits(logits, batch[1]);  // float32: losses leave the 16-bit types
      }
      scaler.scale(loss).backward();               // float32 gradients of the float32 parameters
      if (scaler.unscale_(adam.parameters())) {
        adam.step();
      } else {
        ++skipped;                                 // an overflow: no step, and a smaller scale
      }
      scaler.update();
    }
  }
  // [guide:end]
  check(logits.dtype() == kFloat16, "the logits are float16");
  check(loss.dtype() == kFloat32, "the loss is float32");
  check(model.parameters().front().dtype() == kFloat32, "the parameters stay float32");
  check(model.parameters().front().grad().dtype() == kFloat32, "their gradients are float32");
  check(skipped == 0 && scaler.get_scale() == 65536.0, "no overflow on this problem: the scale stays 2^16");
  check(accuracy(model, *sets.test) > 0.9, "the model learned the line");
}

int main() {
  return guide::run("guide_training", [] {
    plain_loop();
    with_trainer();
    mixed_precision();
  });
}
