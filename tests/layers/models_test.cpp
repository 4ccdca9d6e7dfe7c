// Conv/pool layers and the model zoo: shapes, PyTorch LeNet-5 weights, and
// small networks that must be able to fit their data.
#include <gtest/gtest.h>

#include <map>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

TEST(ConvLayers, ShapesPrintoutAndDefaults) {
  nn::Conv2d conv(3, 8, 3, {.stride = {2, 2}, .padding = {1, 1}});
  EXPECT_EQ(conv(zeros({2, 3, 9, 9})).shape(), (Shape{2, 8, 5, 5}));
  EXPECT_EQ(conv.str(), "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))");
  EXPECT_EQ(conv.parameter_count(), 8 * 3 * 9 + 8);
  nn::Conv2d depthwise(4, 4, 3, {.groups = 4}, false);
  EXPECT_EQ(depthwise.named_parameters().size(), 1u);
  EXPECT_EQ(depthwise.weight().shape(), (Shape{4, 1, 3, 3}));
  EXPECT_THROW(nn::Conv2d(3, 4, 3, {.groups = 2}), Error);
  EXPECT_EQ(nn::MaxPool2d(2)(zeros({1, 1, 5, 5})).shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(nn::AvgPool2d(3, {.stride = std::array<std::int64_t, 2>{1, 1}})(zeros({1, 2, 5, 5})).shape(),
            (Shape{1, 2, 3, 3}));
  EXPECT_EQ(nn::AdaptiveAvgPool2d({6, 6})(zeros({1, 2, 13, 13})).shape(), (Shape{1, 2, 6, 6}));
}

TEST(Models, ShapesOfTheZoo) {
  EXPECT_EQ(models::lenet5()(zeros({2, 1, 28, 28})).shape(), (Shape{2, 10}));
  EXPECT_EQ(models::lenet5().parameter_count(), 61706);
  nn::Sequential cifar = models::cifar_cnn(100);
  cifar.eval();
  EXPECT_EQ(cifar(zeros({2, 3, 32, 32})).shape(), (Shape{2, 100}));
  EXPECT_EQ(models::mlp({9, 64, 64, 1}, 0.3).str(),
            "Sequential(\n  (0): Linear(in_features=9, out_features=64, bias=true)\n  (1): ReLU()\n  (2): Dropout(p=0.3)\n"
            "  (3): Linear(in_features=64, out_features=64, bias=true)\n  (4): ReLU()\n  (5): Dropout(p=0.3)\n"
            "  (6): Linear(in_features=64, out_features=1, bias=true)\n)");
  models::AlexNet alexnet = models::alexnet(10);
  alexnet.eval();
  EXPECT_EQ(alexnet(zeros({1, 3, 224, 224})).shape(), (Shape{1, 10}));
  EXPECT_EQ(alexnet(zeros({1, 3, 95, 95})).shape(), (Shape{1, 10}));  // the adaptive pool takes any size
  EXPECT_EQ(alexnet.named_parameters()[0].first, "features.0.weight");
  EXPECT_EQ(alexnet.named_parameters().back().first, "classifier.6.bias");
  EXPECT_THROW(models::mlp({3}), Error);
}

TEST(Models, LeNetLoadsPyTorchWeightsAndReproducesItsLogits) {
  std::map<std::string, Tensor> fixture;
  for (auto& [key, value] : load_safetensors(::redes::testing::fixture_path("lenet5.safetensors"))) fixture[key] = value;
  nn::Sequential lenet = models::lenet5();
  nn::StateDict state;
  for (const auto& [key, value] : fixture) {
    if (key.rfind("state.", 0) == 0) state.emplace_back(key.substr(6), value);
  }
  lenet.load_state_dict(state);
  EXPECT_TRUE(all_close(lenet(fixture["input"]), fixture["logits"], 1e-5, 1e-4));
}

}  // namespace
}  // namespace redes
