#include "train/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "train/trainer.h"

namespace redes::train {

namespace {

std::string format_metrics(const Metrics& m, const char* prefix) {
  char text[160];
  int used = std::snprintf(text, sizeof text, "%sloss %.4f", prefix, m.loss);
  if (m.accuracy) used += std::snprintf(text + used, sizeof text - static_cast<std::size_t>(used), "  %sacc %.4f", prefix, *m.accuracy);
  if (m.rmse) std::snprintf(text + used, sizeof text - static_cast<std::size_t>(used), "  %srmse %.4f", prefix, *m.rmse);
  return text;
}

}  // namespace

ProgressDisplay::ProgressDisplay(std::ostream* out)
    : out_(out),
      terminal_((out == &std::cerr && ::isatty(STDERR_FILENO) == 1) || (out == &std::cout && ::isatty(STDOUT_FILENO) == 1)) {}

void ProgressDisplay::batch(std::int64_t epoch, std::int64_t epochs, std::int64_t batch, std::int64_t batches,
                            const Metrics& so_far, double seconds) {
  if (!enabled()) return;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * batch / std::max<std::int64_t>(batches, 1));
  const double rate = static_cast<double>(so_far.samples) / std::max(seconds, 1e-9);
  const double eta = seconds / static_cast<double>(batch) * static_cast<double>(batches - batch);
  char line[256];
  std::snprintf(line, sizeof line, "\repoch %lld/%lld [%s%s] %lld/%lld  %s  %.0f samples/s  ETA %.0fs ",
                static_cast<long long>(epoch), static_cast<long long>(epochs), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), static_cast<long long>(batch),
                static_cast<long long>(batches), format_metrics(so_far, "").c_str(), rate, eta);
  *out_ << line << std::flush;
}

void ProgressDisplay::epoch_done(const EpochRecord& record, std::int64_t epochs) {
  if (out_ == nullptr) return;
  char line[512];
  std::snprintf(line, sizeof line, "%sepoch %lld/%lld  %s%s%s  %.2fs  %.0f samples/s\n", terminal_ ? "\r\033[K" : "",
                static_cast<long long>(record.epoch), static_cast<long long>(epochs),
                format_metrics(record.train, "train ").c_str(), record.eval ? "  " : "",
                record.eval ? format_metrics(*record.eval, "test ").c_str() : "", record.seconds,
                record.samples_per_second);
  *out_ << line << std::flush;
}

}  // namespace redes::train
