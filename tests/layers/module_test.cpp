// Module trees: names, counts, modes, devices, state dicts, printing.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

// A model with nesting, a buffer and a parameter of its own.
class Block : public nn::Module {
 public:
  Block() {
    register_module("body", nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2, false)));
    register_parameter("scale", ones({2}));
    register_buffer("calls", zeros({1}, {kInt64}));
  }
  Tensor forward(const Tensor& x) override { return named_children()[0].second->forward(x) * parameter("scale"); }
  std::string type_name() const override { return "Block"; }
};

TEST(Module, DottedNamesAndCounts) {
  Block block;
  std::vector<std::string> names;
  for (const auto& [name, value] : block.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"scale", "body.0.weight", "body.0.bias", "body.2.weight"}));
  EXPECT_EQ(block.parameter_count(), 2 + 12 + 4 + 8);
  EXPECT_EQ(block.named_buffers().size(), 1u);
  EXPECT_EQ(block.named_buffers()[0].first, "calls");
  for (const Tensor& p : block.parameters()) EXPECT_TRUE(p.requires_grad() && p.is_leaf());
}

TEST(Module, TrainEvalReachesEveryChild) {
  nn::Sequential model(nn::Linear(2, 2), nn::Dropout(0.5), nn::Sequential(nn::ReLU()));
  EXPECT_TRUE(model[1]->is_training());
  model.eval();
  EXPECT_FALSE(model[1]->is_training());
  EXPECT_FALSE(model.at<nn::Sequential>(2)[0]->is_training());
  model.train();
  EXPECT_TRUE(model[2]->is_training());
  EXPECT_THROW(model[3], Error);
}

// A module written as a libtorch user would: holders for its children, a
// forward of two inputs, no type_name override.
class TwoTower : public nn::Module {
 public:
  TwoTower()
      : left(register_module("left", nn::Linear(3, 2))), right(register_module("right", nn::Linear(4, 2))) {}
  using nn::Module::forward;  // the one-input forward stays visible (and throws)
  Tensor forward(const Tensor& a, const Tensor& b) { return left(a) + right(b); }

  nn::ModuleHolder<nn::Linear> left;
  nn::ModuleHolder<nn::Linear> right;
};

TEST(ModuleHolder, CallsForwardWithAnyArgumentsAndReachesTheModule) {
  auto model = nn::ModuleHolder<TwoTower>(TwoTower());
  const Tensor a = testing::random_tensor({5, 3}, 1), b = testing::random_tensor({5, 4}, 2);
  const Tensor out = model(a, b);
  const Tensor expected = addmm(model->left->bias(), a, model->left->weight().t()) +
                          addmm(model->right->bias(), b, model->right->weight().t());
  EXPECT_TRUE(all_close(out, expected, 1e-6, 1e-6));
  // The default name is the class name, here and in the printout.
  EXPECT_EQ(model->type_name(), "TwoTower");
  EXPECT_EQ(model->str().rfind("TwoTower(", 0), 0u) << model->str();
  // Sequential and the Trainer call forward(x): a two-input module says so.
  testing::expect_error([&] { model->nn::Module::forward(a); }, {"TwoTower", "forward"});
  nn::ModuleHolder<nn::Linear> empty;
  EXPECT_TRUE(empty.is_empty());
  testing::expect_error([&] { empty(a); }, "before a module was assigned");
}

TEST(ModuleHolder, SequentialIndexingReadsAsInLibtorch) {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU());
  nn::Linear* first = seq[0]->as<nn::Linear>();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->weight().shape(), (Shape{4, 3}));
  EXPECT_EQ(seq[1]->as<nn::Linear>(), nullptr);
  EXPECT_EQ(&seq.at<nn::Linear>(0), first);
  testing::expect_error([&] { seq.at<nn::Linear>(1); }, {"module 1", "ReLU"});
}

TEST(ModuleHolder, AModuleBuiltBeforeItsParentIsRegisteredAsItIs) {
  class Wrapper : public nn::Module {
   public:
    explicit Wrapper(nn::ModuleHolder<nn::Linear> inner) : inner_(register_module("inner", std::move(inner))) {}
    Tensor forward(const Tensor& x) override { return inner_(x); }
    nn::ModuleHolder<nn::Linear> inner_;
  };
  nn::ModuleHolder<nn::Linear> linear(nn::Linear(2, 3));
  Wrapper wrapper(linear);
  EXPECT_EQ(wrapper.inner_.ptr(), linear.ptr());
  ASSERT_EQ(wrapper.named_parameters().size(), 2u);
  EXPECT_EQ(wrapper.named_parameters()[0].first, "inner.weight");
  EXPECT_EQ(wrapper.type_name(), "Wrapper");
}

TEST(Module, ZeroGradDropsEveryGradient) {
  Block block;
  block(ones({5, 3})).sum().backward();
  for (const Tensor& p : block.parameters()) EXPECT_TRUE(p.grad().defined());
  block.zero_grad();
  for (const Tensor& p : block.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, StateDictRoundTripsIntoAFreshModel) {
  manual_seed(1);
  Block source;
  manual_seed(2);
  Block target;
  const Tensor x = testing::random_tensor({4, 3}, 5);
  EXPECT_FALSE(all_close(source(x), target(x), 1e-6, 0));
  target.load_state_dict(source.state_dict());
  EXPECT_TRUE(all_close(source(x), target(x), 0, 0));
  EXPECT_EQ(source.state_dict().size(), 5u);  // 4 parameters + 1 buffer
  EXPECT_FALSE(source.state_dict()[0].second.requires_grad());
}

TEST(Module, LoadStateDictReportsEveryProblemAtOnce) {
  Block block;
  nn::StateDict state = block.state_dict();
  state.erase(state.begin());                                           // missing "scale"
  state[0].second = zeros({9, 9});                                      // wrong shape of body.0.weight
  state[1].second = zeros({4}, {kFloat64});                             // wrong dtype of body.0.bias
  state.emplace_back("extra.weight", zeros({1}));                       // unexpected
  try {
    block.load_state_dict(state);
    FAIL() << "expected redes::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("4 problems"), std::string::npos) << message;
    EXPECT_NE(message.find("missing \"scale\""), std::string::npos) << message;
    EXPECT_NE(message.find("\"body.0.weight\" has shape (9, 9), the model expects (4, 3)"), std::string::npos) << message;
    EXPECT_NE(message.find("\"body.0.bias\" has dtype float64"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected \"extra.weight\""), std::string::npos) << message;
  }
}

TEST(Module, PrintsLikeATree) {
  nn::Sequential model(nn::Linear(9, 64), nn::ReLU(), nn::Dropout(0.3), nn::Linear(64, 1));
  EXPECT_EQ(model.str(),
            "Sequential(\n"
            "  (0): Linear(in_features=9, out_features=64, bias=true)\n"
            "  (1): ReLU()\n"
            "  (2): Dropout(p=0.3)\n"
            "  (3): Linear(in_features=64, out_features=1, bias=true)\n"
            ")");
}

TEST(Module, ToDtypeKeepsLeavesThatRequireGrad) {
  nn::Linear layer(2, 3);
  layer.to(kFloat64);
  EXPECT_EQ(layer.weight().dtype(), kFloat64);
  EXPECT_TRUE(layer.weight().requires_grad());
  EXPECT_TRUE(layer.weight().is_leaf());
  EXPECT_EQ(layer(ones({1, 2}, {kFloat64})).dtype(), kFloat64);
}

class ModuleDevices : public ::testing::TestWithParam<Device> {};

TEST_P(ModuleDevices, ToDeviceMovesParametersAndBuffers) {
  REDES_REQUIRE_DEVICE(GetParam());
  Block block;
  const Tensor x = testing::random_tensor({2, 3}, 3);
  const Tensor expected = block(x);
  block.to(GetParam());
  for (const auto& [name, value] : block.state_dict()) EXPECT_EQ(value.device(), GetParam()) << name;
  EXPECT_TRUE(all_close(block(x.to(GetParam())), expected, 1e-6, 1e-6));
}

REDES_INSTANTIATE_FOR_DEVICES(ModuleDevices);

}  // namespace
}  // namespace redes
