// Convolution and pooling layers over (N, C, H, W) tensors (Conv1d: (N, C, L)).
#pragma once

#include <array>

#include "core/ops.h"
#include "layers/module.h"

namespace redes::nn {

class REDES_API Conv2d : public Module {
 public:
  // Weight (out, in / groups, kh, kw) Kaiming-uniform, bias uniform on
  // +-1/sqrt(fan_in), as in PyTorch.
  // kernel_size: 3, {3} and {3, 3} mean the same (Size2d).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size, Conv2dOptions options = {},
         bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  const Tensor& weight() const { return parameter("weight"); }
  const Tensor& bias() const { return parameter("bias"); }
  bool has_bias() const { return has_bias_; }
  const Conv2dOptions& options() const { return options_; }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Size2d kernel_size_;
  Conv2dOptions options_;
  bool has_bias_;
};

// Conv1d and ConvTranspose2d: PyTorch's parameters ("weight", "bias") and
// default initialisation, as Conv2d (fan_in from the weight's dims 1 onwards,
// so (out / groups) k_h k_w for ConvTranspose2d, as in PyTorch).
class REDES_API Conv1d : public Module {
 public:
  // Weight (out, in / groups, kernel_size), over (N, C, L) inputs.
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv1dOptions options = {},
         bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  const Tensor& weight() const { return parameter("weight"); }
  const Tensor& bias() const { return parameter("bias"); }
  bool has_bias() const { return has_bias_; }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  std::int64_t kernel_size_;
  Conv1dOptions options_;
  bool has_bias_;
};

class REDES_API ConvTranspose2d : public Module {
 public:
  // Weight (in, out / groups, kh, kw).
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size,
                  ConvTranspose2dOptions options = {}, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  const Tensor& weight() const { return parameter("weight"); }
  const Tensor& bias() const { return parameter("bias"); }
  bool has_bias() const { return has_bias_; }

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Size2d kernel_size_;
  ConvTranspose2dOptions options_;
  bool has_bias_;
};

class REDES_API MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2d kernel_size, MaxPool2dOptions options = {})
      : kernel_size_(kernel_size), options_(options) {}
  Tensor forward(const Tensor& input) override { return max_pool2d(input, kernel_size_, options_); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d kernel_size_;
  MaxPool2dOptions options_;
};

class REDES_API AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2d kernel_size, AvgPool2dOptions options = {})
      : kernel_size_(kernel_size), options_(options) {}
  Tensor forward(const Tensor& input) override { return avg_pool2d(input, kernel_size_, options_); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d kernel_size_;
  AvgPool2dOptions options_;
};

class REDES_API AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2d output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size_); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d output_size_;
};

class REDES_API AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(Size2d output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& input) override { return adaptive_max_pool2d(input, output_size_); }
  std::string type_name() const override { return "AdaptiveMaxPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d output_size_;
};

}  // namespace redes::nn
