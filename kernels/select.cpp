#include "kernels/select.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "kernels/registry.h"

namespace redes {

namespace {

// Largest |a - b| allowed between two implementations of one call, relative
// to the largest |reference| value: different summation orders of float32
// products differ by a few ulp of the largest partial sums; TF32 rounds the
// inputs to 10 mantissa bits.
double tolerance(DType dtype, double scale) {
  if (dtype == DType::Float64) return 1e-9 * scale + 1e-12;
  return (allow_tf32() ? 1e-2 : 1e-3) * scale + 1e-5;
}

struct Disagreement {
  bool found = false;
  std::size_t index = 0;
  double difference = 0;
  double allowed = 0;
};

Disagreement compare(const std::vector<double>& actual, const std::vector<double>& reference, DType dtype) {
  Disagreement result;
  if (actual.size() != reference.size()) {
    result.found = true;
    return result;
  }
  double scale = 0;
  for (double value : reference) {
    if (std::isfinite(value)) scale = std::max(scale, std::abs(value));
  }
  result.allowed = tolerance(dtype, scale);
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], r = reference[i];
    if (std::isnan(a) && std::isnan(r)) continue;
    if (std::isinf(r) && a == r) continue;
    const double difference = std::abs(a - r);
    if (!(difference <= result.allowed)) {
      result = {true, i, difference, result.allowed};
      return result;
    }
  }
  return result;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

namespace {
bool named(const std::string& name, const std::string& library) {
  return name == library || name.rfind(library + ".", 0) == 0;
}
}  // namespace

bool is_cudnn_implementation(const std::string& name) { return named(name, "cudnn"); }

bool is_vendor_implementation(const std::string& name) { return named(name, "cudnn") || named(name, "onednn"); }

const KernelEntry* preferred_entry(KernelImpl impl, std::span<const KernelEntry* const> candidates) {
  if (candidates.empty()) return nullptr;
  if (impl == KernelImpl::Hand || impl == KernelImpl::Vendor) {
    const bool want_vendor = impl == KernelImpl::Vendor;
    for (const KernelEntry* entry : candidates) {
      if (is_vendor_implementation(entry->name) == want_vendor) return entry;
    }
  }
  return candidates.front();
}

std::string selection_key(const KernelEntry& entry, const KernelCall& call) {
  if (entry.params_key == nullptr) return {};
  std::ostringstream key;
  key << call.op << " " << call.device.str() << " " << dtype_name(call.dtype) << " det=" << deterministic()
      << " tf32=" << allow_tf32() << " params=" << entry.params_key(call.params);
  for (int i = 0; i < call.nargs; ++i) {
    const TensorArg& arg = call.args[i];
    key << " " << dtype_name(arg.dtype) << "(";
    for (int d = 0; d < arg.ndim; ++d) key << (d ? "," : "") << arg.sizes[d];
    key << ":";
    for (int d = 0; d < arg.ndim; ++d) key << (d ? "," : "") << arg.strides[d];
    key << ")";
  }
  return key.str();
}

KernelSelector::KernelSelector() {
  if (const char* path = std::getenv("REDES_KERNEL_CACHE")) cache_path_ = path;
  // The ops whose kernels overwrite their outputs and read nothing they write.
  for (const char* op :
       {"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "avg_pool2d", "avg_pool2d_backward"}) {
    timed_outputs_[op] = 1;
  }
}

void KernelSelector::set_timed_outputs(const std::string& op, int outputs) {
  if (outputs <= 0) {
    timed_outputs_.erase(op);
  } else {
    timed_outputs_[op] = outputs;
  }
}

const KernelEntry& KernelSelector::choose(const KernelCall& call, const std::vector<const KernelEntry*>& supporting,
                                          TuningDevice* device, const ExecContext* ctx) {
  REDES_CHECK(!supporting.empty(), call.op, ": no implementation to choose from");
  const KernelImpl impl = kernel_impl();
  const KernelEntry& preferred = *preferred_entry(impl, supporting);
  if (impl != KernelImpl::Auto || supporting.size() == 1 || device == nullptr || ctx == nullptr) return preferred;
  const auto outputs = timed_outputs_.find(call.op);
  if (outputs == timed_outputs_.end() || outputs->second > call.nargs) return preferred;
  const std::string key = selection_key(preferred, call);
  if (key.empty()) return preferred;
  const auto [cached, signature] = lookup(key, *device, *ctx);
  if (cached) {
    for (const KernelEntry* entry : supporting) {
      if (entry->name == *cached) return *entry;
    }
  }
  const KernelEntry& chosen = tune(key, call, supporting, outputs->second, *device, *ctx);
  store(key, chosen.name, signature);
  return chosen;
}

std::pair<std::optional<std::string>, std::string> KernelSelector::lookup(const std::string& key, TuningDevice& device,
                                                                          const ExecContext& ctx) {
  std::string signature;
  if (!cache_path_.empty()) {
    signature = device.signature(ctx);
    if (loaded_signatures_.insert(signature).second) load_file(signature);
  }
  const auto cached = cache_.find(key);
  if (cached == cache_.end()) return {std::nullopt, signature};
  return {cached->second, signature};
}

void KernelSelector::store(const std::string& key, const std::string& name, const std::string& signature) {
  cache_[key] = name;
  if (!cache_path_.empty()) append_to_file(signature, key, name);
}

void KernelSelector::set_cache_file(std::string path) {
  cache_path_ = std::move(path);
  loaded_signatures_.clear();
}

// A missing or unreadable file is an empty cache; lines of other signatures
// (another GPU or library version) are skipped.
void KernelSelector::load_file(const std::string& signature) {
  std::ifstream file(cache_path_);
  for (std::string line; std::getline(file, line);) {
    const std::size_t first = line.find('\t');
    const std::size_t second = first == std::string::npos ? first : line.find('\t', first + 1);
    if (second == std::string::npos || line.compare(0, first, signature) != 0 || first != signature.size()) continue;
    cache_[line.substr(first + 1, second - first - 1)] = line.substr(second + 1);
  }
}

// Appending keeps every earlier choice; a failed write costs only the reuse.
void KernelSelector::append_to_file(const std::string& signature, const std::string& key,
                                    const std::string& name) const {
  std::ofstream file(cache_path_, std::ios::app);
  file << signature << '\t' << key << '\t' << name << '\n';
  if (!file) std::fprintf(stderr, "redes: could not write the kernel selection cache %s\n", cache_path_.c_str());
}

std::optional<std::size_t> pick_fastest(
    const std::vector<TimedCandidate>& candidates, DType dtype,
    const std::function<void(const std::string& name, const std::string& why)>& reject) {
  std::vector<std::vector<double>> reference;
  std::optional<std::size_t> reference_index, best;
  double best_ms = 0;
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const TimedCandidate& candidate = candidates[c];
    std::vector<std::vector<double>> values;
    std::vector<double> times;
    try {
      // The first run is checked, and warms up caches and cuDNN's own
      // algorithm search; the next three are timed.
      candidate.run();
      values = candidate.read();
      for (int run = 0; run < 3; ++run) times.push_back(candidate.run());
    } catch (const Error& error) {
      reject(candidate.name, std::string("failed (") + error.what() + ")");
      continue;
    }
    if (!reference_index) {
      reference_index = c;
      reference = std::move(values);
    } else {
      std::string why;
      if (values.size() != reference.size()) {
        why = "gave " + std::to_string(values.size()) + " outputs instead of " + std::to_string(reference.size());
      }
      for (std::size_t i = 0; i < values.size() && why.empty(); ++i) {
        const Disagreement d = compare(values[i], reference[i], dtype);
        if (d.found) {
          std::ostringstream message;
          message << "disagrees with \"" << candidates[*reference_index].name << "\" on output " << i << " (element "
                  << d.index << " differs by " << d.difference << ", tolerance " << d.allowed << ")";
          why = message.str();
        }
      }
      if (!why.empty()) {
        reject(candidate.name, why);
        continue;
      }
    }
    const double ms = median_of(times);
    if (!best || ms < best_ms) {
      best = c;
      best_ms = ms;
    }
  }
  return best;
}

const KernelEntry& KernelSelector::tune(const std::string& key, const KernelCall& call,
                                        const std::vector<const KernelEntry*>& supporting, int outputs,
                                        TuningDevice& device, const ExecContext& ctx) {
  std::vector<TimedCandidate> candidates;
  for (const KernelEntry* entry : supporting) {
    candidates.push_back({entry->name, [&device, entry, &call, &ctx] { return device.run_timed(*entry, call, ctx); },
                          [&device, &call, outputs] {
                            std::vector<std::vector<double>> values;
                            for (int i = 0; i < outputs; ++i) values.push_back(device.read(call.args[i]));
                            return values;
                          }});
  }
  const std::optional<std::size_t> best = pick_fastest(
      candidates, call.dtype,
      [&](const std::string& name, const std::string& why) { warn_once(call.op, name, why + " for " + key); });
  REDES_CHECK(best.has_value(), call.op, ": every implementation failed during automatic selection (",
              supporting.size(), " tried; see the messages above)");
  return *supporting[*best];
}

void KernelSelector::warn_once(const std::string& op, const std::string& name, const std::string& message) {
  if (!warned_.insert(op + "/" + name).second) return;
  std::fprintf(stderr, "redes: automatic kernel selection: %s implementation \"%s\" %s; not using it\n", op.c_str(),
               name.c_str(), message.c_str());
}

std::vector<std::pair<std::string, std::string>> KernelSelector::tuned() const {
  std::vector<std::pair<std::string, std::string>> result(cache_.begin(), cache_.end());
  std::sort(result.begin(), result.end());
  return result;
}

void KernelSelector::clear() {
  cache_.clear();
  warned_.clear();
}

}  // namespace redes
