#include "train/data/dataset.h"

#include <cstring>

namespace redes::data {

// Out of line so the vtable lives in libredes.
Dataset::~Dataset() = default;

TensorDataset::TensorDataset(std::vector<Tensor> tensors) {
  REDES_CHECK(!tensors.empty(), "TensorDataset: expected at least one tensor");
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& tensor = tensors[i];
    REDES_CHECK(tensor.defined(), "TensorDataset: tensor ", i, " is undefined");
    REDES_CHECK(tensor.dim() >= 1, "TensorDataset: tensor ", i, " is 0-d, expected a first dim of samples");
    REDES_CHECK(tensor.size(0) == tensors[0].size(0), "TensorDataset: tensor ", i, " has ", tensor.size(0),
                " samples, tensor 0 has ", tensors[0].size(0));
    tensors_.push_back(tensor.detach().to(Device::cpu()).contiguous());
  }
}

std::int64_t TensorDataset::size() const { return tensors_[0].size(0); }

std::vector<Tensor> TensorDataset::get(const std::vector<std::int64_t>& indices) const {
  const std::int64_t count = size();
  for (const std::int64_t index : indices) {
    REDES_CHECK(index >= 0 && index < count, "TensorDataset::get: index ", index, " out of range for ", count,
                " samples");
  }
  std::vector<Tensor> batch;
  batch.reserve(tensors_.size());
  for (const Tensor& tensor : tensors_) {
    Shape shape = tensor.shape();
    shape[0] = static_cast<std::int64_t>(indices.size());
    Tensor out = empty(shape, {tensor.dtype(), Device::cpu()});
    // Rows are contiguous byte ranges of the same length in source and batch.
    const std::size_t row_bytes =
        count == 0 ? 0 : static_cast<std::size_t>(tensor.numel() / count) * dtype_size(tensor.dtype());
    const auto* source = static_cast<const unsigned char*>(tensor.data_ptr());
    auto* target = static_cast<unsigned char*>(out.data_ptr());
    // Rows of zero bytes (a dim of size 0) copy nothing; memcpy may not see null pointers.
    for (std::size_t row = 0; row_bytes > 0 && row < indices.size(); ++row) {
      std::memcpy(target + row * row_bytes, source + static_cast<std::size_t>(indices[row]) * row_bytes, row_bytes);
    }
    batch.push_back(std::move(out));
  }
  return batch;
}

}  // namespace redes::data
