#include "layers/normalization.h"

#include <algorithm>
#include <sstream>

#include "core/autocast.h"
#include "core/ops.h"
#include "layers/init.h"

namespace redes::nn {

BatchNorm::BatchNorm(std::int64_t features, BatchNormOptions options, std::vector<std::int64_t> allowed_dims)
    : features_(features), options_(options), allowed_dims_(std::move(allowed_dims)) {
  REDES_CHECK(features > 0, "BatchNorm: expected a positive number of features, got ", features);
  REDES_CHECK(options.momentum >= 0 && options.momentum <= 1 && options.eps > 0,
              "BatchNorm: expected momentum in [0, 1] and eps > 0, got ", options.momentum, " and ", options.eps);
  if (options.affine) {
    register_parameter("weight", ones({features}));
    register_parameter("bias", zeros({features}));
  }
  if (options.track_running_stats) {
    register_buffer("running_mean", zeros({features}));
    register_buffer("running_var", ones({features}));
    register_buffer("num_batches_tracked", zeros({}, {kInt64}));
  }
}

// Under autocast both normalisations run in float32 (their statistics need
// its precision) and return float32, as PyTorch's layer_norm does.
Tensor BatchNorm::forward(const Tensor& input_in) {
  const Tensor input = redes::detail::autocast_to_float32(input_in);
  REDES_CHECK(input.defined() &&
                  std::find(allowed_dims_.begin(), allowed_dims_.end(), input.dim()) != allowed_dims_.end() &&
                  input.size(1) == features_,
              type_name(), ": expected input with ", features_, " channels in dim 1 and ",
              allowed_dims_.size() == 1 ? "4 dims" : "2 or 3 dims", ", got shape ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  // Statistics over every dim but the channels.
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  Shape channel_shape(static_cast<std::size_t>(input.dim()), 1);
  channel_shape[1] = features_;

  const bool use_batch = is_training() || !options_.track_running_stats;
  Tensor mean_used, var_used;
  if (use_batch) {
    const std::int64_t count = input.numel() / features_;
    REDES_CHECK(count > 1, type_name(), ": training needs more than one value per channel, got input shape ",
                shape_str(input.shape()));
    mean_used = mean(input, dims, true);
    var_used = var(input, dims, 0, true);
    if (options_.track_running_stats) {
      NoGradGuard no_grad;
      const double m = options_.momentum;
      const Tensor unbiased = var_used.detach().reshape({features_}) * (static_cast<double>(count) / static_cast<double>(count - 1));
      Tensor running_mean = buffer("running_mean"), running_var = buffer("running_var");
      running_mean.mul_(1.0 - m).add_(mean_used.detach().reshape({features_}), m);
      running_var.mul_(1.0 - m).add_(unbiased, m);
      Tensor tracked = buffer("num_batches_tracked");
      tracked.add_(ones({}, {kInt64, tracked.device()}));
    }
  } else {
    mean_used = buffer("running_mean").reshape(channel_shape);
    var_used = buffer("running_var").reshape(channel_shape);
  }
  Tensor out = (input - mean_used) / sqrt(var_used + options_.eps);
  if (options_.affine) out = out * parameter("weight").reshape(channel_shape) + parameter("bias").reshape(channel_shape);
  return out;
}

std::string BatchNorm::extra_repr() const {
  std::ostringstream text;
  text << features_ << ", eps=" << options_.eps << ", momentum=" << options_.momentum;
  if (!options_.affine) text << ", affine=false";
  if (!options_.track_running_stats) text << ", track_running_stats=false";
  return text.str();
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps), affine_(affine) {
  REDES_CHECK(!normalized_shape_.empty() && numel_of(normalized_shape_) > 0, "LayerNorm: expected a non-empty "
              "normalized shape, got ", shape_str(normalized_shape_));
  if (affine) {
    register_parameter("weight", ones(normalized_shape_));
    register_parameter("bias", zeros(normalized_shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& input_in) {
  const Tensor input = redes::detail::autocast_to_float32(input_in);
  const auto trailing = static_cast<std::int64_t>(normalized_shape_.size());
  REDES_CHECK(input.defined() && input.dim() >= trailing &&
                  Shape(input.shape().end() - trailing, input.shape().end()) == normalized_shape_,
              "LayerNorm: expected an input ending in ", shape_str(normalized_shape_), ", got ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  std::vector<std::int64_t> dims;
  for (std::int64_t d = input.dim() - trailing; d < input.dim(); ++d) dims.push_back(d);
  Tensor out = (input - mean(input, dims, true)) / sqrt(var(input, dims, 0, true) + eps_);
  if (affine_) out = out * parameter("weight") + parameter("bias");
  return out;
}

std::string LayerNorm::extra_repr() const {
  std::ostringstream text;
  text << shape_str(normalized_shape_) << ", eps=" << eps_;
  if (!affine_) text << ", affine=false";
  return text.str();
}

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  REDES_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: expected positive sizes, got ", num_embeddings,
              " x ", embedding_dim);
  Tensor weight = empty({num_embeddings, embedding_dim});
  init::normal_(weight, 0.0, 1.0);
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const Tensor& indices) {
  REDES_CHECK(indices.defined() && indices.dtype() == kInt64, "Embedding: expected int64 indices, got ",
              indices.defined() ? dtype_name(indices.dtype()) : "an undefined tensor");
  Shape shape = indices.shape();
  shape.push_back(embedding_dim_);
  return index_select(parameter("weight"), 0, indices.reshape({-1})).reshape(shape);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_);
}

}  // namespace redes::nn
