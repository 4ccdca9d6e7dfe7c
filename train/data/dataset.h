// Random-access datasets: a dataset has size() samples, and get(indices)
// returns the batch of those samples as tensors whose first dim is the batch
// (for example {features, labels}). The DataLoader batches any of them.
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
  // DataLoader calls this from its background thread, so it must not change
  // shared state without its own locking.
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

}  // namespace redes::data
