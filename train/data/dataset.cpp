#include "train/data/dataset.h"

#include <cstring>
#include <string>

#include "core/ops.h"

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

namespace {

// "(28, 28) float32 on cpu": what a sample tensor must agree on.
std::string describe(const Tensor& tensor) {
  return shape_str(tensor.shape()) + " " + dtype_name(tensor.dtype()) + " on " + tensor.device().str();
}

}  // namespace

std::vector<Tensor> SampleDataset::get(const std::vector<std::int64_t>& indices) const {
  const std::int64_t count = size();
  for (const std::int64_t index : indices) {
    REDES_CHECK(index >= 0 && index < count, "SampleDataset::get: index ", index, " out of range for ", count,
                " samples");
  }
  NoGradGuard no_grad;
  // With no index to read, sample 0 tells the shapes of a batch of none.
  REDES_CHECK(!indices.empty() || count > 0, "SampleDataset::get: the data set is empty, so a batch of 0 samples has "
              "no shape to take");
  const std::vector<std::int64_t> read = indices.empty() ? std::vector<std::int64_t>{0} : indices;
  std::vector<std::vector<Tensor>> samples;
  samples.reserve(read.size());
  for (const std::int64_t index : read) samples.push_back(get_sample(index));

  const std::vector<Tensor>& first = samples[0];
  REDES_CHECK(!first.empty(), "SampleDataset::get: sample ", read[0], " has no tensors");
  for (std::size_t t = 0; t < first.size(); ++t) {
    REDES_CHECK(first[t].defined(), "SampleDataset::get: tensor ", t, " of sample ", read[0], " is undefined");
  }
  for (std::size_t k = 1; k < samples.size(); ++k) {
    const std::vector<Tensor>& sample = samples[k];
    REDES_CHECK(sample.size() == first.size(), "SampleDataset::get: sample ", read[k], " has ", sample.size(),
                " tensors, sample ", read[0], " has ", first.size());
    for (std::size_t t = 0; t < first.size(); ++t) {
      REDES_CHECK(sample[t].defined(), "SampleDataset::get: tensor ", t, " of sample ", read[k], " is undefined");
      REDES_CHECK(sample[t].shape() == first[t].shape() && sample[t].dtype() == first[t].dtype() &&
                      sample[t].device() == first[t].device(),
                  "SampleDataset::get: tensor ", t, " of sample ", read[k], " is ", describe(sample[t]),
                  ", the same tensor of sample ", read[0], " is ", describe(first[t]),
                  "; samples must agree to be stacked into a batch");
    }
  }

  std::vector<Tensor> batch;
  batch.reserve(first.size());
  for (std::size_t t = 0; t < first.size(); ++t) {
    if (indices.empty()) {
      Shape shape = first[t].shape();
      shape.insert(shape.begin(), 0);
      batch.push_back(empty(shape, {first[t].dtype(), first[t].device()}));
      continue;
    }
    std::vector<Tensor> column;
    column.reserve(samples.size());
    for (const std::vector<Tensor>& sample : samples) column.push_back(sample[t].detach());
    batch.push_back(stack(column, 0));
  }
  return batch;
}

}  // namespace redes::data
