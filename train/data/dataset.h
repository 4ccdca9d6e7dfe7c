// Random-access datasets: a dataset has size() samples, and get(indices)
// returns the batch of those samples as tensors whose first dim is the batch
// (for example {features, labels}). The DataLoader batches any of them.
// A data set that is naturally read one sample at a time derives from
// SampleDataset, which stacks the samples into the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::data {

// Which part of a data set a reader returns.
enum class Split : unsigned char { Train, Test };

class REDES_API Dataset {
 public:
  virtual ~Dataset();
  virtual std::int64_t size() const = 0;
  // The samples `indices` (each in [0, size())), in that order. The
  // DataLoader calls this from its worker threads, several at a time, so it
  // must not change shared state without its own locking.
  virtual std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const = 0;
};

// Samples are the rows (first-dim slices) of a few CPU tensors of equal
// first dim, e.g. features (N, F) and labels (N).
class REDES_API TensorDataset final : public Dataset {
 public:
  // The tensors are detached and moved to contiguous CPU memory (a batch is
  // then a row copy); throws if they are empty, 0-d or disagree in dim 0.
  explicit TensorDataset(std::vector<Tensor> tensors);

  std::int64_t size() const override;
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override;
  // The whole data set, e.g. to evaluate on all of it at once.
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
};

// A data set defined one sample at a time: get_sample(i) returns sample i's
// tensors without a batch dim, and get() stacks them (the collate step), so
// tensor t of the batch has shape (indices.size(), sample shape of t...).
// Every sample must return the same number of tensors, with the same shapes,
// dtypes and devices; get() names the first sample that differs. Like get(),
// get_sample is called from several loader threads at once.
//
//   class Squares final : public SampleDataset {
//    public:
//     std::int64_t size() const override { return 100; }
//     std::vector<Tensor> get_sample(std::int64_t i) const override {
//       return {full({2}, static_cast<double>(i)), scalar_tensor(static_cast<double>(i * i))};
//     }
//   };
//   DataLoader loader(std::make_shared<Squares>(), {.batch_size = 8});  // batches: (8, 2) and (8)
class REDES_API SampleDataset : public Dataset {
 public:
  virtual std::vector<Tensor> get_sample(std::int64_t index) const = 0;
  // Stacks get_sample(i) for each index along a new first dim, detached from
  // any graph. Empty `indices` give batches of 0 samples shaped like sample 0
  // (an error when the data set is empty).
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override;
};

}  // namespace redes::data
