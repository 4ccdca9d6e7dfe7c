#include "layers/conv.h"

#include <cmath>

#include "layers/init.h"

namespace redes::nn {

namespace {
std::string pair_str(const std::array<std::int64_t, 2>& value) {
  return "(" + std::to_string(value[0]) + ", " + std::to_string(value[1]) + ")";
}

// PyTorch's default initialisation of a convolution: the weight
// Kaiming-uniform, the bias (out_channels) uniform on +-1/sqrt(fan_in).
Tensor kaiming_weight(const Shape& shape) {
  Tensor weight = empty(shape);
  init::kaiming_uniform_(weight);
  return weight;
}
Tensor fan_in_bias(std::int64_t out_channels, const Tensor& weight) {
  Tensor bias = empty({out_channels});
  const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in(weight)));
  init::uniform_(bias, -bound, bound);
  return bias;
}

void check_layer_sizes(const char* layer, std::int64_t in_channels, std::int64_t out_channels,
                       const std::string& kernel_size, bool kernel_positive, std::int64_t groups) {
  REDES_CHECK(in_channels > 0 && out_channels > 0 && kernel_positive && groups > 0, layer,
              ": expected positive channels, kernel size and groups, got in_channels=", in_channels,
              ", out_channels=", out_channels, ", kernel_size=", kernel_size, ", groups=", groups);
  REDES_CHECK(in_channels % groups == 0 && out_channels % groups == 0, layer, ": groups=", groups,
              " must divide in_channels=", in_channels, " and out_channels=", out_channels);
}
}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size,
               Conv2dOptions options, bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options),
      has_bias_(bias) {
  check_layer_sizes("Conv2d", in_channels, out_channels, pair_str(kernel_size), kernel_size[0] > 0 && kernel_size[1] > 0,
                    options.groups);
  const Tensor weight = kaiming_weight({out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]});
  register_parameter("weight", weight);
  if (bias) register_parameter("bias", fan_in_bias(out_channels, weight));
}

Tensor Conv2d::forward(const Tensor& input) {
  return conv2d(input, weight(), has_bias_ ? parameter("bias") : Tensor(), options_);
}

std::string Conv2d::extra_repr() const {
  std::string text = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                     ", kernel_size=" + pair_str(kernel_size_) + ", stride=" + pair_str(options_.stride);
  if (options_.padding != std::array<std::int64_t, 2>{0, 0}) text += ", padding=" + pair_str(options_.padding);
  if (options_.dilation != std::array<std::int64_t, 2>{1, 1}) text += ", dilation=" + pair_str(options_.dilation);
  if (options_.groups != 1) text += ", groups=" + std::to_string(options_.groups);
  if (!has_bias_) text += ", bias=false";
  return text;
}

Conv1d::Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv1dOptions options,
               bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options),
      has_bias_(bias) {
  check_layer_sizes("Conv1d", in_channels, out_channels, std::to_string(kernel_size), kernel_size > 0, options.groups);
  const Tensor weight = kaiming_weight({out_channels, in_channels / options.groups, kernel_size});
  register_parameter("weight", weight);
  if (bias) register_parameter("bias", fan_in_bias(out_channels, weight));
}

Tensor Conv1d::forward(const Tensor& input) {
  return conv1d(input, weight(), has_bias_ ? parameter("bias") : Tensor(), options_);
}

std::string Conv1d::extra_repr() const {
  std::string text = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                     ", kernel_size=(" + std::to_string(kernel_size_) + ",), stride=(" +
                     std::to_string(options_.stride) + ",)";
  if (options_.padding != 0) text += ", padding=(" + std::to_string(options_.padding) + ",)";
  if (options_.dilation != 1) text += ", dilation=(" + std::to_string(options_.dilation) + ",)";
  if (options_.groups != 1) text += ", groups=" + std::to_string(options_.groups);
  if (!has_bias_) text += ", bias=false";
  return text;
}

ConvTranspose2d::ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size,
                                 ConvTranspose2dOptions options, bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options),
      has_bias_(bias) {
  check_layer_sizes("ConvTranspose2d", in_channels, out_channels, pair_str(kernel_size),
                    kernel_size[0] > 0 && kernel_size[1] > 0, options.groups);
  const Tensor weight = kaiming_weight({in_channels, out_channels / options.groups, kernel_size[0], kernel_size[1]});
  register_parameter("weight", weight);
  if (bias) register_parameter("bias", fan_in_bias(out_channels, weight));
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
  return conv_transpose2d(input, weight(), has_bias_ ? parameter("bias") : Tensor(), options_);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string text = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                     ", kernel_size=" + pair_str(kernel_size_) + ", stride=" + pair_str(options_.stride);
  if (options_.padding != std::array<std::int64_t, 2>{0, 0}) text += ", padding=" + pair_str(options_.padding);
  if (options_.output_padding != std::array<std::int64_t, 2>{0, 0}) {
    text += ", output_padding=" + pair_str(options_.output_padding);
  }
  if (options_.dilation != std::array<std::int64_t, 2>{1, 1}) text += ", dilation=" + pair_str(options_.dilation);
  if (options_.groups != 1) text += ", groups=" + std::to_string(options_.groups);
  if (!has_bias_) text += ", bias=false";
  return text;
}

std::string MaxPool2d::extra_repr() const {
  std::string text = "kernel_size=" + pair_str(kernel_size_) + ", stride=" + pair_str(options_.stride.value_or(kernel_size_));
  if (options_.padding != std::array<std::int64_t, 2>{0, 0}) text += ", padding=" + pair_str(options_.padding);
  if (options_.ceil_mode) text += ", ceil_mode=true";
  return text;
}

std::string AvgPool2d::extra_repr() const {
  std::string text = "kernel_size=" + pair_str(kernel_size_) + ", stride=" + pair_str(options_.stride.value_or(kernel_size_));
  if (options_.padding != std::array<std::int64_t, 2>{0, 0}) text += ", padding=" + pair_str(options_.padding);
  if (options_.ceil_mode) text += ", ceil_mode=true";
  if (!options_.count_include_pad) text += ", count_include_pad=false";
  return text;
}

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + pair_str(output_size_); }
std::string AdaptiveMaxPool2d::extra_repr() const { return "output_size=" + pair_str(output_size_); }

}  // namespace redes::nn
