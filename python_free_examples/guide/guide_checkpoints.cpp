// The snippets of docs/guide.md, "Checkpoints", with checks of what the text says.
#include <redes.h>
using namespace redes;

#include <filesystem>
#include <map>
#include <string>

#include "guide_check.h"

using guide::check;

namespace {

nn::Sequential make_model() { return nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1)); }

void safetensors() {
  manual_seed(0);
  // [guide:checkpoints_safetensors]
  nn::Sequential model(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1));
  save_safetensors(model.state_dict(), "model.safetensors", {{"note", "3-4-1 MLP"}});

  nn::Sequential restored(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1));
  NamedTensors tensors = load_safetensors("model.safetensors");  // "0.weight", "0.bias", "2.weight", "2.bias"
  restored.load_state_dict(tensors);                              // throws naming every mismatch
  std::map<std::string, std::string> metadata = load_safetensors_metadata("model.safetensors");
  // [guide:end]
  check(tensors.size() == 4 && tensors[0].first == "0.weight" && tensors[3].first == "2.bias", "names");
  check(metadata.at("note") == "3-4-1 MLP", "metadata");
  const Tensor x = randn({5, 3});
  check(abs(model(x) - restored(x)).sum().item() == 0.0, "restored computes the same");
}

void training_checkpoint() {
  manual_seed(1);
  nn::Sequential model = make_model();
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  optim::StepLR schedule(adam, 10);
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    pow(model(randn({8, 3})), 2.0).mean().backward();
    adam.step();
    schedule.step();
  }
  // [guide:checkpoints_training]
  // Model, optimizer state, schedule step and position, in one file written atomically:
  train::save_checkpoint("loop.safetensors", model, adam, &schedule, {.epochs_done = 3, .steps_done = 3});

  nn::Sequential model2 = make_model();
  optim::Adam adam2(model2.parameters(), {.lr = 1e-2});
  optim::StepLR schedule2(adam2, 10);
  train::LoadedCheckpoint loaded = train::load_checkpoint("loop.safetensors", model2, adam2, &schedule2);
  // loaded.position.epochs_done == 3; adam2 and schedule2 continue where adam and schedule were
  // [guide:end]
  check(loaded.position.epochs_done == 3 && loaded.position.steps_done == 3, "position");
  check(adam2.steps_taken() == 3 && schedule2.steps_taken() == 3, "optimizer and schedule restored");
  const Tensor x = randn({5, 3});
  check(abs(model(x) - model2(x)).sum().item() == 0.0, "model restored");
  check(train::checkpoint_epochs_done("loop.safetensors") == 3, "checkpoint_epochs_done");
}

}  // namespace

int main() {
  return guide::run("guide_checkpoints", [] {
    safetensors();
    training_checkpoint();
  });
}
