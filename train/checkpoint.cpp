#include "train/checkpoint.h"

#include <charconv>
#include <cmath>
#include <map>

#include "core/error.h"
#include "train/finite_check.h"
#include "train/io/safetensors.h"

namespace redes::train {

namespace {

constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimizerPrefix = "optimizer.";

std::uint64_t metadata_number(const std::map<std::string, std::string>& metadata, const std::string& key,
                              const std::string& path) {
  auto found = metadata.find(key);
  REDES_CHECK(found != metadata.end(), "checkpoint ", path, ": metadata \"", key, "\" is missing");
  std::uint64_t value = 0;
  const std::string& text = found->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  REDES_CHECK(error == std::errc() && end == text.data() + text.size(), "checkpoint ", path, ": metadata \"", key,
              "\" is not a number: \"", text, "\"");
  return value;
}

double metadata_real(const std::map<std::string, std::string>& metadata, const std::string& key,
                     const std::string& path) {
  auto found = metadata.find(key);
  if (found == metadata.end()) return 0;  // written only for a run stopped mid-epoch
  double value = 0;
  const std::string& text = found->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  REDES_CHECK(error == std::errc() && end == text.data() + text.size() && std::isfinite(value), "checkpoint ", path,
              ": metadata \"", key, "\" is not a finite number: \"", text, "\"");
  return value;
}

// Shortest text that reads back as the same double.
std::string exact_text(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const optim::LrSchedule* schedule, const TrainingPosition& position) {
  NamedTensors tensors;
  for (const auto& [name, value] : model.state_dict()) tensors.emplace_back(kModelPrefix + name, value);
  for (const auto& [name, value] : optimizer.state()) tensors.emplace_back(kOptimizerPrefix + name, value);
  const std::map<std::string, std::string> metadata{
      {"format", "redes-checkpoint-1"},
      {"epochs_done", std::to_string(position.epochs_done)},
      {"steps_done", std::to_string(position.steps_done)},
      {"batch_in_epoch", std::to_string(position.batch_in_epoch)},
      {"samples_in_epoch", std::to_string(position.samples_in_epoch)},
      {"loader_seed", std::to_string(position.loader_seed)},
      {"rng_seed", std::to_string(position.rng_seed)},
      {"rng_offset", std::to_string(position.rng_offset)},
      {"schedule_step", std::to_string(schedule != nullptr ? schedule->steps_taken() : 0)},
      {"partial_loss_sum", exact_text(position.partial_sums.loss_sum)},
      {"partial_hits", std::to_string(position.partial_sums.hits)},
      {"partial_squared_sum", exact_text(position.partial_sums.squared_sum)},
      {"partial_samples", std::to_string(position.partial_sums.samples)},
      {"partial_elements", std::to_string(position.partial_sums.elements)},
      {"partial_seconds", exact_text(position.partial_seconds)},
      {"loss_scale", exact_text(position.loss_scale)},
      {"loss_scale_growth", std::to_string(position.loss_scale_growth)},
  };
  save_safetensors(tensors, path, metadata);
}

LoadedCheckpoint load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                                 optim::LrSchedule* schedule) {
  const std::map<std::string, std::string> metadata = load_safetensors_metadata(path);
  auto format = metadata.find("format");
  REDES_CHECK(format != metadata.end() && format->second == "redes-checkpoint-1", "checkpoint ", path,
              ": not a redes checkpoint (metadata \"format\" is missing or unknown)");
  nn::StateDict model_state;
  optim::OptimizerState optimizer_state;
  for (auto& [name, value] : load_safetensors(path)) {
    if (name.rfind(kModelPrefix, 0) == 0) {
      model_state.emplace_back(name.substr(std::string(kModelPrefix).size()), value);
    } else if (name.rfind(kOptimizerPrefix, 0) == 0) {
      optimizer_state.emplace_back(name.substr(std::string(kOptimizerPrefix).size()), value);
    } else {
      detail::fail("checkpoint ", path, ": unexpected entry \"", name, "\"");
    }
  }
  LoadedCheckpoint loaded;
  for (const auto* tensors : {&model_state, &optimizer_state}) {
    const std::string prefix = tensors == &model_state ? kModelPrefix : kOptimizerPrefix;
    for (const std::string& name : non_finite_names(*tensors)) loaded.non_finite.push_back(prefix + name);
  }
  try {
    model.load_state_dict(model_state);
    optimizer.load_state(optimizer_state);
  } catch (const Error& error) {
    detail::fail("checkpoint ", path, ": ", error.what());
  }
  TrainingPosition& position = loaded.position;
  position.epochs_done = static_cast<std::int64_t>(metadata_number(metadata, "epochs_done", path));
  position.steps_done = static_cast<std::int64_t>(metadata_number(metadata, "steps_done", path));
  position.batch_in_epoch = static_cast<std::int64_t>(metadata_number(metadata, "batch_in_epoch", path));
  position.loader_seed = metadata_number(metadata, "loader_seed", path);
  position.rng_seed = metadata_number(metadata, "rng_seed", path);
  position.rng_offset = metadata_number(metadata, "rng_offset", path);
  // Checkpoints written before mid-epoch stops existed lack these (all 0).
  const auto optional_number = [&](const char* key) {
    return metadata.count(key) != 0 ? static_cast<std::int64_t>(metadata_number(metadata, key, path)) : 0;
  };
  position.samples_in_epoch = optional_number("samples_in_epoch");
  position.partial_sums.loss_sum = metadata_real(metadata, "partial_loss_sum", path);
  position.partial_sums.hits = optional_number("partial_hits");
  position.partial_sums.squared_sum = metadata_real(metadata, "partial_squared_sum", path);
  position.partial_sums.samples = optional_number("partial_samples");
  position.partial_sums.elements = optional_number("partial_elements");
  position.partial_seconds = metadata_real(metadata, "partial_seconds", path);
  position.loss_scale = metadata_real(metadata, "loss_scale", path);
  position.loss_scale_growth = optional_number("loss_scale_growth");
  if (schedule != nullptr) schedule->set_step(static_cast<std::int64_t>(metadata_number(metadata, "schedule_step", path)));
  return loaded;
}

std::optional<std::int64_t> checkpoint_epochs_done(const std::string& path) {
  try {
    const std::map<std::string, std::string> metadata = load_safetensors_metadata(path);
    return static_cast<std::int64_t>(metadata_number(metadata, "epochs_done", path));
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace redes::train
