#include "layers/conv.h"

#include <cmath>

#include "layers/init.h"

namespace redes::nn {

namespace {
std::string pair_str(const std::array<std::int64_t, 2>& value) {
  return "(" + std::to_string(value[0]) + ", " + std::to_string(value[1]) + ")";
}
}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2d kernel_size,
               Conv2dOptions options, bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options),
      has_bias_(bias) {
  REDES_CHECK(in_channels > 0 && out_channels > 0 && kernel_size[0] > 0 && kernel_size[1] > 0 && options.groups > 0,
              "Conv2d: expected positive channels, kernel size and groups, got in_channels=", in_channels,
              ", out_channels=", out_channels, ", kernel_size=", pair_str(kernel_size), ", groups=", options.groups);
  REDES_CHECK(in_channels % options.groups == 0 && out_channels % options.groups == 0, "Conv2d: groups=",
              options.groups, " must divide in_channels=", in_channels, " and out_channels=", out_channels);
  Tensor weight = empty({out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]});
  init::kaiming_uniform_(weight);
  register_parameter("weight", weight);
  if (bias) {
    Tensor b = empty({out_channels});
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in(weight)));
    init::uniform_(b, -bound, bound);
    register_parameter("bias", b);
  }
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

}  // namespace redes::nn
