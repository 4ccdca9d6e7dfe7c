// Normalisation layers and Embedding.
#pragma once

#include "layers/module.h"

namespace redes::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;  // running = (1 - momentum) running + momentum batch
  bool affine = true;     // learnable weight (1) and bias (0) per feature
  bool track_running_stats = true;
};

// Normalises each channel (dim 1) over the batch (and spatial dims): in
// training with the batch's mean and biased variance while updating the
// running statistics (unbiased variance), in eval with the running ones.
// Buffers as in PyTorch: running_mean, running_var, num_batches_tracked.
class REDES_API BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 protected:
  BatchNorm(std::int64_t features, BatchNormOptions options, std::vector<std::int64_t> allowed_dims);

 private:
  std::int64_t features_;
  BatchNormOptions options_;
  std::vector<std::int64_t> allowed_dims_;
};

// (N, C) or (N, C, L).
class REDES_API BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t features, BatchNormOptions options = {}) : BatchNorm(features, options, {2, 3}) {}
  std::string type_name() const override { return "BatchNorm1d"; }
};

// (N, C, H, W).
class REDES_API BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t features, BatchNormOptions options = {}) : BatchNorm(features, options, {4}) {}
  std::string type_name() const override { return "BatchNorm2d"; }
};

// Normalises over the trailing dims given by `normalized_shape`.
class REDES_API LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

 private:
  Shape normalized_shape_;
  double eps_;
  bool affine_;
};

// Rows of a (num_embeddings, dim) table picked by int64 indices of any shape.
class REDES_API Embedding : public Module {
 public:
  // Weight N(0, 1), as in PyTorch.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

 private:
  std::int64_t num_embeddings_;
  std::int64_t embedding_dim_;
};

}  // namespace redes::nn
