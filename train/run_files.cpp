#include "train/run_files.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "train/checkpoint.h"
#include "train/io/atomic_file.h"
#include "train/report.h"

namespace redes::train {

namespace {

namespace fs = std::filesystem;

bool non_empty_file(const std::string& path) {
  std::error_code error;
  return !path.empty() && fs::is_regular_file(path, error) && fs::file_size(path, error) > 0;
}

// A line written by epoch_json (report.h); nothing for anything else.
std::optional<EpochRecord> parse_epoch_line(const std::string& line) {
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("epoch") || !json["epoch"].is_number_integer() ||
      !json.contains("train_loss") || !json["train_loss"].is_number()) {
    return std::nullopt;
  }
  const auto number = [&](const char* key) -> std::optional<double> {
    if (json.contains(key) && json[key].is_number()) return json[key].get<double>();
    return std::nullopt;
  };
  EpochRecord record;
  record.epoch = json["epoch"].get<std::int64_t>();
  record.train.loss = json["train_loss"].get<double>();
  record.train.accuracy = number("train_accuracy");
  record.train.rmse = number("train_rmse");
  record.seconds = number("seconds").value_or(0);
  record.samples_per_second = number("samples_per_second").value_or(0);
  record.learning_rate = number("learning_rate").value_or(0);
  record.skipped = static_cast<std::int64_t>(number("skipped_batches").value_or(0));
  if (const std::optional<double> test_loss = number("test_loss")) {
    record.eval = Metrics{.loss = *test_loss, .accuracy = number("test_accuracy"), .rmse = number("test_rmse")};
  }
  return record;
}

}  // namespace

bool decide_resume(const FitOptions& options) {
  const std::string& checkpoint = options.checkpoint_path;
  REDES_CHECK(!(options.overwrite && (options.resume || options.resume_if_present)),
              "Trainer::fit: resume and overwrite together are contradictory; choose one");
  if (checkpoint.empty()) {
    REDES_CHECK(!options.resume && !options.resume_if_present,
                "Trainer::fit: resume needs a checkpoint_path to resume from");
  }
  const bool present = !checkpoint.empty() && fs::exists(checkpoint);
  if (options.resume && !present) {
    const bool dangling = fs::is_symlink(checkpoint);
    detail::fail("Trainer::fit: asked to resume, but ", checkpoint,
                 dangling ? " is a link to a file that does not exist" : " does not exist",
                 "; nothing was trained. Check the output folder (and the options that name the file), or use "
                 "resume_if_present (--resume-if-present) to start afresh when there is no checkpoint");
  }
  if (present && (options.resume || options.resume_if_present)) return true;
  if (options.overwrite) return false;
  if (present) {
    const std::optional<std::int64_t> epochs = checkpoint_epochs_done(checkpoint);
    detail::fail("Trainer::fit: ", checkpoint, " already holds a checkpoint",
                 epochs ? " of " + std::to_string(*epochs) + " epochs" : std::string(),
                 "; a fresh run would replace it. Resume it (--resume), or start again with overwrite (--overwrite)");
  }
  // resume_if_present without a checkpoint: the metrics of a run that never
  // saved an epoch describe nothing that survives, so they are cleared.
  if (!options.resume_if_present && non_empty_file(options.metrics_path)) {
    detail::fail("Trainer::fit: ", options.metrics_path, " already holds the metrics of an earlier run; a fresh run "
                 "would replace them. Start again with overwrite (--overwrite), or choose another file");
  }
  return false;
}

std::vector<EpochRecord> keep_metrics_up_to(const std::string& path, std::int64_t epochs_done) {
  // Lines of epochs the checkpoint does not hold (written by a run killed
  // before its save) and a torn line are dropped; an epoch listed twice keeps
  // its last line, the one of the run the checkpoint came from.
  std::map<std::int64_t, std::pair<EpochRecord, std::string>> by_epoch;
  if (epochs_done > 0) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      const std::optional<EpochRecord> record = parse_epoch_line(line);
      if (record && record->epoch >= 1 && record->epoch <= epochs_done) by_epoch[record->epoch] = {*record, line};
    }
  }
  std::vector<EpochRecord> kept;
  std::string text;
  for (const auto& [epoch, entry] : by_epoch) {
    kept.push_back(entry.first);
    text += entry.second + "\n";
  }
  write_text_atomically(path, "Trainer::fit", text);
  return kept;
}

}  // namespace redes::train
