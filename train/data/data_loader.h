// DataLoader: batches of a Dataset, shuffled reproducibly from a seed, built
// by background worker threads a few batches ahead of the training loop and
// delivered in order.
//
//   DataLoader loader(std::make_shared<TensorDataset>(cars.train), {.batch_size = 32, .shuffle = true, .seed = 1});
//   DataLoader decoding(std::make_shared<MyImages>(), {.batch_size = 64, .num_workers = 4});  // a slow get()
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
  // Batches waiting ready for the caller (1 or 2 are typical); each worker
  // may build one more beyond them, so at most prefetch + num_workers
  // batches exist that the caller has not taken.
  std::int64_t prefetch = 2;
  // Threads that build batches (Dataset::get, the device copy) concurrently,
  // batch b by whichever worker is free when b is next. Batches still arrive
  // in order, and a batch's content depends on its index alone, so any count
  // gives the same batches as 1. In [0, 64]; more than 1 pays off when get()
  // is slow (decoding, per-sample work) rather than a row copy. 0: no thread;
  // next() builds each batch itself (PyTorch's num_workers=0), which is
  // fastest where a batch is a gather of a few rows in memory, cheaper than
  // waking a thread to hand it over.
  std::int64_t num_workers = 1;
  // Data-parallel training (redes::dist): this process takes shard
  // shard_rank of shard_count of every epoch's order, the samples at
  // positions shard_rank, shard_rank + shard_count, ...; the order is first
  // padded by repeating its start to a multiple of shard_count, so every
  // shard has ceil(n / shard_count) samples (torch's DistributedSampler).
  // The shards of one batch index together are the batch a single process
  // with shard_count times the batch size would take.
  std::int64_t shard_rank = 0;
  std::int64_t shard_count = 1;
  // Batches are moved here by the workers.
  Device device = Device::cpu();
  // CUDA targets: the workers stage each batch in page-locked memory and
  // queue its copy without waiting for it (the fast DMA path);
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

// One pass over the data set; owns the worker threads. Destroying it
// mid-epoch stops and joins them (a get() already running is finished first).
class REDES_API Epoch {
 public:
  ~Epoch();
  Epoch(Epoch&& other) noexcept;
  Epoch& operator=(Epoch&& other) noexcept;
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  // The next batch, waiting for the workers if needed; nothing at the end of
  // the epoch. An exception thrown while preparing a batch (by the data set,
  // the batch-size check or the device copy) is rethrown here, after the
  // batches before it; the epoch then reads as ended. Every tensor get()
  // returns must have the batch's sample count as dim 0, else a redes::Error
  // names the tensor, the expected count and the shape it got.
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
  std::vector<std::thread> workers_;
};

class REDES_API DataLoader {
 public:
  // Throws unless batch_size >= 1, 1 <= prefetch <= 16 and 0 <= num_workers <= 64.
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options = {});

  // Of this process's shard (the whole set unless sharded).
  std::int64_t batches_per_epoch() const;
  // The order of epoch `epoch`: 0..n-1, or with shuffle a Fisher-Yates
  // permutation whose k-th swap uses Philox draw k at (seed, offset
  // epoch * ceil(n / 4)), so epochs use disjoint parts of the seed's stream.
  std::vector<std::int64_t> order(std::uint64_t epoch) const;
  // Starts the workers on epoch `epoch`. Several epochs may run at once;
  // Dataset::get is called from several threads at a time.
  Epoch epoch(std::uint64_t epoch) const;
  // The epoch from sample `first_sample` of its order on (samples before it
  // are skipped unread; sharding applies to the rest): where a run stopped
  // mid-epoch continues, at any shard count.
  Epoch epoch(std::uint64_t epoch, std::int64_t first_sample) const;
  // The dataset indices this process visits in epoch `epoch`, in order.
  std::vector<std::int64_t> shard_order(std::uint64_t epoch, std::int64_t first_sample = 0) const;

  const LoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

 private:
  std::int64_t batches_of(std::int64_t samples) const;

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
};

}  // namespace redes::data
