// DataLoader: batches of a Dataset, shuffled reproducibly from a seed, built
// by a background thread one or two batches ahead of the training loop.
//
//   DataLoader loader(std::make_shared<TensorDataset>(cars.train), {.batch_size = 32, .shuffle = true, .seed = 1});
//   for (std::uint64_t e = 0; e < epochs; ++e)
//     for (Batch& batch : loader.epoch(e)) step(batch[0], batch[1]);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/device.h"
#include "core/export.h"
#include "core/tensor.h"
#include "train/data/dataset.h"

namespace redes::data {

struct LoaderOptions {
  std::int64_t batch_size = 32;
  // Epoch e visits the samples in a permutation that depends on (seed, e)
  // alone (Philox, see DataLoader::order): never on time or threads.
  bool shuffle = false;
  std::uint64_t seed = 0;
  bool drop_last = false;  // skip a last batch smaller than batch_size
  // Batches the background thread may hold ready (1 or 2 are typical).
  std::int64_t prefetch = 2;
  // Batches are moved here by the background thread.
  Device device = Device::cpu();
  // CUDA targets: the background thread stages each batch in page-locked
  // memory and queues its copy without waiting for it (the fast DMA path);
  // next() makes the caller's current stream wait for that copy. false: a
  // plain synchronous copy from pageable memory.
  bool pin_memory = true;
};

struct Batch {
  std::vector<Tensor> tensors;        // what Dataset::get returned, on the loader's device
  std::vector<std::int64_t> indices;  // the dataset index of each sample: keys its augmentation
  std::uint64_t epoch = 0;
  const Tensor& operator[](std::size_t i) const { return tensors.at(i); }
};

// One pass over the data set; owns the background thread. Destroying it
// mid-epoch stops and joins the thread.
class REDES_API Epoch {
 public:
  ~Epoch();
  Epoch(Epoch&& other) noexcept;
  Epoch& operator=(Epoch&& other) noexcept;
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  // The next batch, waiting for the background thread if needed; nothing at
  // the end of the epoch. An exception thrown while preparing a batch (by the
  // data set or the device copy) is rethrown here, after the batches before it.
  std::optional<Batch> next();

  class Iterator {
   public:
    explicit Iterator(Epoch* epoch);
    Batch& operator*() { return *current_; }
    Iterator& operator++();
    bool operator!=(const Iterator& other) const { return current_.has_value() != other.current_.has_value(); }

   private:
    Epoch* epoch_;
    std::optional<Batch> current_;
  };
  Iterator begin() { return Iterator(this); }
  Iterator end() { return Iterator(nullptr); }

 private:
  friend class DataLoader;
  struct State;
  explicit Epoch(std::unique_ptr<State> state);
  void stop();

  std::unique_ptr<State> state_;
  std::thread worker_;
};

class REDES_API DataLoader {
 public:
  // Throws unless batch_size >= 1 and 1 <= prefetch <= 16.
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options = {});

  std::int64_t batches_per_epoch() const;
  // The order of epoch `epoch`: 0..n-1, or with shuffle a Fisher-Yates
  // permutation whose k-th swap uses Philox draw k at (seed, offset
  // epoch * ceil(n / 4)), so epochs use disjoint parts of the seed's stream.
  std::vector<std::int64_t> order(std::uint64_t epoch) const;
  // Starts the background thread on epoch `epoch`. Several epochs may run at
  // once; each calls Dataset::get from its own thread.
  Epoch epoch(std::uint64_t epoch) const;

  const LoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
};

}  // namespace redes::data
