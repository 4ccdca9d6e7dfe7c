// The op tables (tests/support/op_table.h): convolution, pooling, matrix
// products, the fused linear layer and the whole-sequence LSTM, each row on
// every device, dtype and implementation against the CPU's hand kernels in
// float64, plus a float64 gradcheck of the reference.
#include <gtest/gtest.h>

#include "core/ops/fused.h"
#include "core/ops/lstm_sequence.h"
#include "support/op_table.h"

namespace redes {
namespace {

using testing::OpCase;

const std::vector<std::string> kConvOps{"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"};

// conv2d(x, w[, b]); a gradcheck only where the inputs are small.
OpCase conv_case(std::string name, Shape input, Shape weight, bool bias, Conv2dOptions options, bool gradcheck = true) {
  std::vector<Shape> inputs{input, weight};
  if (bias) inputs.push_back({weight[0]});
  return {std::move(name), kConvOps, inputs,
          [options](const std::vector<Tensor>& in) {
            return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options);
          },
          1e-4, gradcheck};
}

TEST(OpTable, Conv2d) {
  std::vector<OpCase> table{
      conv_case("plain 3x3", {1, 1, 5, 5}, {1, 1, 3, 3}, false, {}),
      conv_case("odd sizes, stride 2, padding 1", {2, 3, 7, 9}, {4, 3, 3, 3}, true, {.stride = {2, 2}, .padding = {1, 1}}),
      conv_case("groups 2, mixed stride/dilation/padding", {2, 4, 9, 8}, {6, 2, 3, 2}, true,
                {.stride = {1, 2}, .padding = {2, 0}, .dilation = {2, 1}, .groups = 2}),
      conv_case("depthwise", {2, 4, 6, 7}, {4, 1, 3, 3}, true, {.padding = {1, 1}, .groups = 4}),
      conv_case("depthwise, channel multiplier 2", {1, 3, 5, 5}, {6, 1, 3, 3}, false, {.stride = {2, 1}, .groups = 3}),
      conv_case("1x1", {3, 5, 4, 6}, {7, 5, 1, 1}, true, {}),
      conv_case("1x1, stride 2", {2, 3, 5, 5}, {4, 3, 1, 1}, false, {.stride = {2, 2}}),
      conv_case("1x1 with padding", {1, 2, 3, 3}, {2, 2, 1, 1}, true, {.padding = {1, 1}}),
      conv_case("dilation 2", {1, 2, 11, 10}, {3, 2, 3, 3}, false, {.padding = {2, 1}, .dilation = {2, 2}}),
      conv_case("tall kernel, batch 1", {1, 2, 4, 7}, {2, 2, 4, 1}, true, {.padding = {1, 0}}),
      conv_case("kernel as large as the padded input", {2, 1, 3, 4}, {2, 1, 5, 4}, true, {.padding = {1, 0}}),
      conv_case("large stride and dilation", {3, 6, 17, 13}, {4, 3, 3, 2}, true,
                {.stride = {3, 2}, .padding = {2, 1}, .dilation = {2, 3}, .groups = 2}, false),
      conv_case("LeNet conv1", {4, 1, 28, 28}, {6, 1, 5, 5}, true, {.padding = {2, 2}}, false),
      conv_case("CIFAR conv2 size", {8, 32, 16, 16}, {64, 32, 3, 3}, true, {.padding = {1, 1}}, false),
  };
  OpCase strided = conv_case("non-contiguous input", {2, 3, 7, 9}, {4, 3, 3, 3}, true, {.padding = {1, 1}});
  strided.strided_inputs = true;
  table.push_back(strided);
  // The ReLU fused into the convolution where the implementation conv2d
  // would run has it (oneDNN, the hand CPU kernel), the two ops elsewhere.
  OpCase relu = conv_case("conv2d_relu", {2, 3, 7, 9}, {4, 3, 3, 3}, true, {.padding = {1, 1}});
  relu.ops.push_back("conv2d_relu_forward");
  relu.run = [](const std::vector<Tensor>& in) { return detail::conv2d_relu(in[0], in[1], in[2], {.padding = {1, 1}}); };
  table.push_back(relu);
  testing::check_op_table(table);
}

TEST(OpTable, Pooling) {
  const std::vector<std::string> max_ops{"max_pool2d", "max_pool2d_backward"};
  const std::vector<std::string> values_ops{"max_pool2d_values", "max_pool2d_values_backward"};
  const std::vector<std::string> avg_ops{"avg_pool2d", "avg_pool2d_backward"};
  const auto max_case = [&](std::string name, Shape input, Size2d kernel, MaxPool2dOptions options) {
    return OpCase{std::move(name), max_ops, {input}, [kernel, options](const std::vector<Tensor>& in) {
                    return max_pool2d_with_indices(in[0], kernel, options).values;
                  }};
  };
  const auto avg_case = [&](std::string name, Shape input, Size2d kernel, AvgPool2dOptions options,
                            bool gradcheck = true) {
    return OpCase{std::move(name), avg_ops, {input},
                  [kernel, options](const std::vector<Tensor>& in) { return avg_pool2d(in[0], kernel, options); },
                  1e-4, gradcheck};
  };
  std::vector<OpCase> table{
      max_case("max 2x2, odd sizes", {2, 3, 7, 9}, {2, 2}, {}),
      max_case("max 2x2, rows of a block and more", {1, 2, 4, 34}, {2, 2}, {}),
      max_case("max 3x3 stride 2, padding, ceil_mode", {2, 2, 9, 8}, {3, 3},
               {.stride = Size2d{2, 2}, .padding = {1, 1}, .ceil_mode = true}),
      max_case("max overlapping, dilation 2", {1, 2, 7, 7}, {2, 2}, {.stride = Size2d{1, 1}, .dilation = {2, 2}}),
      OpCase{"max values (the vendor path)", values_ops, {{2, 3, 8, 10}},
             [](const std::vector<Tensor>& in) { return max_pool2d(in[0], {2, 2}); }, 1e-4, true, false, max_ops},
      avg_case("average 2x2, odd sizes", {2, 3, 7, 9}, {2, 2}, {}),
      avg_case("average 3x3 stride 2, padding not counted", {2, 2, 9, 8}, {3, 3},
               {.stride = Size2d{2, 2}, .padding = {1, 1}, .count_include_pad = false}),
      avg_case("average 3x2, ceil_mode", {1, 2, 8, 7}, {3, 2}, {.stride = Size2d{2, 2}, .ceil_mode = true}),
      avg_case("average 2x3 stride (1, 2), padding", {1, 1, 5, 7}, {2, 3}, {.stride = Size2d{1, 2}, .padding = {0, 1}}),
      avg_case("average 4x2 stride (3, 1), padding not counted", {2, 2, 9, 8}, {4, 2},
               {.stride = Size2d{3, 1}, .padding = {2, 1}, .count_include_pad = false}),
      avg_case("average 3x3, ceil_mode at the floor size", {1, 2, 7, 7}, {3, 3},
               {.stride = Size2d{2, 2}, .padding = {1, 1}, .ceil_mode = true}),
      // Too large for a numerical gradcheck (two evaluations per input).
      avg_case("average 2x2, a CIFAR block", {4, 32, 32, 32}, {2, 2}, {}, false),
      OpCase{"adaptive average", {"adaptive_avg_pool2d", "adaptive_avg_pool2d_backward"}, {{2, 3, 7, 10}},
             [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {3, 4}); }},
  };
  OpCase strided = max_case("max 2x2, non-contiguous input", {2, 3, 7, 9}, {2, 2}, {});
  strided.strided_inputs = true;
  table.push_back(strided);
  OpCase strided_average = avg_case("average 3x3, non-contiguous input", {2, 3, 7, 9}, {3, 3},
                                    {.stride = Size2d{2, 2}, .padding = {1, 1}});
  strided_average.strided_inputs = true;
  table.push_back(strided_average);
  testing::check_op_table(table);
}

TEST(OpTable, MatmulAndLinear) {
  const auto product = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  const auto linear = [](const std::vector<Tensor>& in) {
    return detail::linear_activation(in[0], in[1], in[2], Activation::Relu);
  };
  std::vector<OpCase> table{
      {"matmul, odd sizes", {"matmul"}, {{17, 33}, {33, 15}}, product},
      {"matmul, 2^18 multiply-adds and more", {"matmul"}, {{70, 90}, {90, 50}}, product, 1e-4, false},
      {"matmul, batched against a shared matrix", {"matmul"}, {{3, 5, 7}, {7, 4}}, product},
      {"linear and ReLU", {"linear", "matmul"}, {{9, 13}, {6, 13}, {6}}, linear},
      {"linear and ReLU, large", {"linear", "matmul"}, {{70, 90}, {50, 90}, {50}}, linear, 1e-4, false},
  };
  OpCase strided{"matmul, transposed operands", {"matmul"}, {{17, 33}, {33, 15}}, product};
  strided.strided_inputs = true;
  table.push_back(strided);
  testing::check_op_table(table);
}

// x (T, N, F), h0 and c0 (L, N, H), then per layer w_ih, w_hh, b_ih, b_hh.
OpCase lstm_case(std::string name, std::int64_t steps, std::int64_t batch, std::int64_t features,
                 std::int64_t hidden, std::int64_t layers, bool gradcheck) {
  std::vector<Shape> inputs{{steps, batch, features}, {layers, batch, hidden}, {layers, batch, hidden}};
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const std::int64_t in = layer == 0 ? features : hidden;
    for (const Shape& shape : {Shape{4 * hidden, in}, Shape{4 * hidden, hidden}, Shape{4 * hidden}, Shape{4 * hidden}}) {
      inputs.push_back(shape);
    }
  }
  return {std::move(name), {"lstm_sequence", "lstm_sequence_backward"}, inputs,
          [layers](const std::vector<Tensor>& in) {
            const detail::LstmSequenceResult r = detail::lstm_sequence(
                in[0], in[1], in[2], std::vector<Tensor>(in.begin() + 3, in.end()), layers, true, "");
            return cat({r.output.reshape({-1}), r.h_n.reshape({-1}), r.c_n.reshape({-1})}, 0);
          },
          2e-4, gradcheck};
}

// Besides small and odd shapes: a batch larger than a GPU has SMs (the hand
// CUDA kernel puts several sequences in a block, the last one part-filled)
// and a hidden size whose recurrent weights do not fit its shared memory.
TEST(OpTable, LstmSequence) {
  testing::check_op_table({lstm_case("two layers", 3, 2, 3, 2, 2, true), lstm_case("batch 1", 5, 1, 4, 3, 1, true),
                           lstm_case("odd sizes, 3 layers", 6, 5, 7, 9, 3, false),
                           lstm_case("batch 270", 3, 270, 4, 5, 2, false),
                           lstm_case("hidden 128", 3, 2, 3, 128, 1, false)});
}

}  // namespace
}  // namespace redes
