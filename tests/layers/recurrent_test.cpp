// GRU, RNN and the LSTM's bidirectional, dropout and variable-length
// options: against a step-by-step reference written from PyTorch's
// formulas, gradient checks, PyTorch's parameter names, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::expect_error;
using testing::host_values;
using testing::random_tensor;

enum class Kind { Lstm, Gru, RnnTanh, RnnRelu };

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::Lstm:
      return "LSTM";
    case Kind::Gru:
      return "GRU";
    case Kind::RnnTanh:
      return "RNN(tanh)";
    case Kind::RnnRelu:
      return "RNN(relu)";
  }
  return "?";
}

struct Config {
  std::int64_t input = 3, hidden = 4, layers = 1;
  bool batch_first = false, bias = true, bidirectional = false;
  double dropout = 0.0;
};

struct Outputs {
  Tensor output, h_n, c_n;  // c_n only for the LSTM
};

// Any of the three layers behind one call, in float64.
class AnyRecurrent {
 public:
  AnyRecurrent(Kind kind, const Config& c) : kind_(kind) {
    const nn::RecurrentOptions options{c.layers, c.batch_first, c.bias, c.dropout, c.bidirectional};
    switch (kind) {
      case Kind::Lstm:
        module_ = std::make_unique<nn::LSTM>(c.input, c.hidden, options);
        break;
      case Kind::Gru:
        module_ = std::make_unique<nn::GRU>(c.input, c.hidden, options);
        break;
      case Kind::RnnTanh:
      case Kind::RnnRelu:
        module_ = std::make_unique<nn::RNN>(
            c.input, c.hidden,
            nn::RNNOptions{c.layers, c.batch_first, c.bias, c.dropout, c.bidirectional,
                           kind == Kind::RnnTanh ? nn::RNNNonlinearity::Tanh : nn::RNNNonlinearity::ReLU});
        break;
    }
    module_->to(kFloat64);
  }

  Outputs forward(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                  const std::vector<std::int64_t>& lengths = {}) {
    switch (kind_) {
      case Kind::Lstm: {
        const nn::LSTM::Result r = static_cast<nn::LSTM&>(*module_).forward_with_state(x, h0, c0, lengths);
        return {r.output, r.h_n, r.c_n};
      }
      case Kind::Gru: {
        const nn::GRU::Result r = static_cast<nn::GRU&>(*module_).forward_with_state(x, h0, lengths);
        return {r.output, r.h_n, Tensor()};
      }
      case Kind::RnnTanh:
      case Kind::RnnRelu: {
        const nn::RNN::Result r = static_cast<nn::RNN&>(*module_).forward_with_state(x, h0, lengths);
        return {r.output, r.h_n, Tensor()};
      }
    }
    return {};
  }

  nn::RecurrentBase& module() { return *module_; }
  bool is_lstm() const { return kind_ == Kind::Lstm; }

 private:
  Kind kind_;
  std::unique_ptr<nn::RecurrentBase> module_;
};

using Parameters = std::map<std::string, Tensor>;

Parameters parameters_of(const nn::Module& module) {
  Parameters parameters;
  for (const auto& [name, value] : module.named_parameters()) parameters[name] = value.detach();
  return parameters;
}

// One step of the cell from PyTorch's formulas, with plain ops.
std::vector<Tensor> reference_step(Kind kind, const Tensor& x, const std::vector<Tensor>& state,
                                   const Parameters& p, const std::string& suffix, bool bias) {
  const Tensor& h = state[0];
  Tensor gi = matmul(x, p.at("weight_ih" + suffix).t());
  Tensor gh = matmul(h, p.at("weight_hh" + suffix).t());
  if (bias) {
    gi = gi + p.at("bias_ih" + suffix);
    gh = gh + p.at("bias_hh" + suffix);
  }
  switch (kind) {
    case Kind::Lstm: {
      const std::vector<Tensor> gates = chunk(gi + gh, 4, 1);
      const Tensor i = sigmoid(gates[0]), f = sigmoid(gates[1]), g = tanh(gates[2]), o = sigmoid(gates[3]);
      const Tensor c = f * state[1] + i * g;
      return {o * tanh(c), c};
    }
    case Kind::Gru: {
      const std::vector<Tensor> xs = chunk(gi, 3, 1), hs = chunk(gh, 3, 1);
      const Tensor r = sigmoid(xs[0] + hs[0]);
      const Tensor z = sigmoid(xs[1] + hs[1]);
      const Tensor n = tanh(xs[2] + r * hs[2]);
      return {(1.0 - z) * n + z * h};
    }
    case Kind::RnnTanh:
      return {tanh(gi + gh)};
    case Kind::RnnRelu:
      return {relu(gi + gh)};
  }
  return {};
}

// The whole stack over one batch of full sequences, one step at a time;
// x (T, N, F) or (N, T, F) as c.batch_first says.
Outputs reference_forward(Kind kind, const Config& c, const Parameters& p, const Tensor& x_in, const Tensor& h0,
                          const Tensor& c0) {
  const Tensor x = c.batch_first ? x_in.transpose(0, 1) : x_in;
  const std::int64_t steps = x.size(0), directions = c.bidirectional ? 2 : 1;
  Tensor layer_input = x;
  std::vector<Tensor> final_h, final_c;
  for (std::int64_t layer = 0; layer < c.layers; ++layer) {
    std::vector<Tensor> per_direction;
    for (std::int64_t direction = 0; direction < directions; ++direction) {
      const std::string suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
      const std::int64_t index = layer * directions + direction;
      std::vector<Tensor> state{h0.select(0, index)};
      if (kind == Kind::Lstm) state.push_back(c0.select(0, index));
      std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
      for (std::int64_t s = 0; s < steps; ++s) {
        const std::int64_t t = direction == 0 ? s : steps - 1 - s;
        state = reference_step(kind, layer_input.select(0, t), state, p, suffix, c.bias);
        outputs[static_cast<std::size_t>(t)] = state[0];
      }
      per_direction.push_back(stack(outputs, 0));
      final_h.push_back(state[0]);
      if (kind == Kind::Lstm) final_c.push_back(state[1]);
    }
    layer_input = cat(per_direction, 2);
  }
  return {c.batch_first ? layer_input.transpose(0, 1) : layer_input, stack(final_h, 0),
          kind == Kind::Lstm ? stack(final_c, 0) : Tensor()};
}

const std::vector<Kind> kAllKinds{Kind::Lstm, Kind::Gru, Kind::RnnTanh, Kind::RnnRelu};

TEST(Recurrent, MatchesTheStepByStepReference) {
  struct Case {
    Config config;
    std::int64_t batch, steps;
  };
  const std::vector<Case> cases{
      {{.input = 3, .hidden = 4}, 1, 5},
      {{.input = 5, .hidden = 7, .layers = 2, .batch_first = true}, 3, 4},
      {{.input = 4, .hidden = 3, .layers = 2, .bias = false, .bidirectional = true}, 2, 3},
      {{.input = 1, .hidden = 5, .batch_first = true, .bidirectional = true}, 1, 6},
      {{.input = 6, .hidden = 2, .layers = 3, .bidirectional = true}, 5, 1},
  };
  std::uint64_t seed = 100;
  for (Kind kind : kAllKinds) {
    for (const Case& test : cases) {
      const Config& c = test.config;
      SCOPED_TRACE(kind_name(kind) + " layers=" + std::to_string(c.layers) + " hidden=" + std::to_string(c.hidden) +
                   " batch=" + std::to_string(test.batch) + (c.batch_first ? " batch_first" : "") +
                   (c.bidirectional ? " bidirectional" : "") + (c.bias ? "" : " no bias"));
      AnyRecurrent layer(kind, c);
      const std::int64_t directions = c.bidirectional ? 2 : 1;
      const Shape x_shape = c.batch_first ? Shape{test.batch, test.steps, c.input}
                                          : Shape{test.steps, test.batch, c.input};
      const Shape state_shape{c.layers * directions, test.batch, c.hidden};
      const Tensor x = random_tensor(x_shape, seed++, {kFloat64});
      const Tensor h0 = random_tensor(state_shape, seed++, {kFloat64});
      const Tensor c0 = random_tensor(state_shape, seed++, {kFloat64});
      const Outputs actual = layer.forward(x, h0, layer.is_lstm() ? c0 : Tensor());
      const Outputs expected = reference_forward(kind, c, parameters_of(layer.module()), x, h0, c0);
      const Shape output_shape = c.batch_first ? Shape{test.batch, test.steps, directions * c.hidden}
                                               : Shape{test.steps, test.batch, directions * c.hidden};
      EXPECT_EQ(actual.output.shape(), output_shape);
      EXPECT_EQ(actual.h_n.shape(), state_shape);
      EXPECT_TRUE(all_close(actual.output, expected.output, 1e-12, 1e-12));
      EXPECT_TRUE(all_close(actual.h_n, expected.h_n, 1e-12, 1e-12));
      if (layer.is_lstm()) {
        EXPECT_TRUE(all_close(actual.c_n, expected.c_n, 1e-12, 1e-12));
      }
    }
  }
}

// Without h0 the layers start from zeros.
TEST(Recurrent, MissingInitialStateMeansZeros) {
  for (Kind kind : kAllKinds) {
    SCOPED_TRACE(kind_name(kind));
    const Config c{.input = 2, .hidden = 3, .layers = 2, .bidirectional = true};
    AnyRecurrent layer(kind, c);
    const Tensor x = random_tensor({4, 2, 2}, 7, {kFloat64});
    const Tensor zero = zeros({4, 2, 3}, {kFloat64});
    const Outputs actual = layer.forward(x);
    const Outputs expected = reference_forward(kind, c, parameters_of(layer.module()), x, zero, zero);
    EXPECT_TRUE(all_close(actual.output, expected.output, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(actual.h_n, expected.h_n, 1e-12, 1e-12));
  }
}

// Sequence n of a padded batch, alone: (length, 1, F) or (1, length, F).
Tensor sequence_alone(const Tensor& padded, std::int64_t n, std::int64_t length, bool batch_first) {
  return batch_first ? padded.narrow(0, n, 1).narrow(1, 0, length) : padded.narrow(1, n, 1).narrow(0, 0, length);
}

TEST(Recurrent, PaddedBatchMatchesEachSequenceAlone) {
  const std::vector<std::int64_t> lengths{5, 2, 4, 1};
  const std::int64_t steps = 5, batch = 4;
  std::uint64_t seed = 500;
  for (Kind kind : {Kind::Lstm, Kind::Gru, Kind::RnnTanh}) {
    for (bool bidirectional : {false, true}) {
      for (bool batch_first : {false, true}) {
        SCOPED_TRACE(kind_name(kind) + (bidirectional ? " bidirectional" : "") + (batch_first ? " batch_first" : ""));
        const Config c{.input = 3, .hidden = 4, .layers = 2, .batch_first = batch_first, .bidirectional = bidirectional};
        AnyRecurrent layer(kind, c);
        const std::int64_t directions = bidirectional ? 2 : 1;
        // The padding holds values too: they must not leak into any result.
        const Tensor x = random_tensor(batch_first ? Shape{batch, steps, 3} : Shape{steps, batch, 3}, seed++, {kFloat64});
        const Tensor h0 = random_tensor({2 * directions, batch, 4}, seed++, {kFloat64});
        const Tensor c0 = random_tensor({2 * directions, batch, 4}, seed++, {kFloat64});
        const Outputs padded = layer.forward(x, h0, layer.is_lstm() ? c0 : Tensor(), lengths);
        const Tensor output = batch_first ? padded.output.transpose(0, 1) : padded.output;  // (T, N, D*H)
        for (std::int64_t n = 0; n < batch; ++n) {
          SCOPED_TRACE("sequence " + std::to_string(n));
          const std::int64_t length = lengths[static_cast<std::size_t>(n)];
          const Outputs alone = layer.forward(sequence_alone(x, n, length, batch_first), h0.narrow(1, n, 1),
                                              layer.is_lstm() ? c0.narrow(1, n, 1) : Tensor());
          const Tensor alone_output = batch_first ? alone.output.transpose(0, 1) : alone.output;
          EXPECT_TRUE(all_close(output.narrow(1, n, 1).narrow(0, 0, length), alone_output, 1e-12, 1e-12));
          if (length < steps) {
            EXPECT_TRUE(all_close(output.narrow(1, n, 1).narrow(0, length, steps - length),
                                  zeros({steps - length, 1, directions * 4}, {kFloat64}), 0, 0))
                << "outputs past the end are zero";
          }
          EXPECT_TRUE(all_close(padded.h_n.narrow(1, n, 1), alone.h_n, 1e-12, 1e-12));
          if (layer.is_lstm()) {
            EXPECT_TRUE(all_close(padded.c_n.narrow(1, n, 1), alone.c_n, 1e-12, 1e-12));
          }
        }
      }
    }
  }
}

// Lengths equal to the padded length change nothing.
TEST(Recurrent, FullLengthsMatchNoLengths) {
  for (Kind kind : {Kind::Lstm, Kind::Gru}) {
    SCOPED_TRACE(kind_name(kind));
    AnyRecurrent layer(kind, {.input = 3, .hidden = 2, .bidirectional = true});
    const Tensor x = random_tensor({4, 3, 3}, 61, {kFloat64});
    const Outputs with = layer.forward(x, Tensor(), Tensor(), {4, 4, 4});
    const Outputs without = layer.forward(x);
    EXPECT_TRUE(all_close(with.output, without.output, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(with.h_n, without.h_n, 1e-12, 1e-12));
  }
}

// No gradient reaches the padding of a padded batch; the valid steps get one.
TEST(Recurrent, PaddingGetsNoGradient) {
  nn::GRU gru(2, 3, {.num_layers = 2, .bidirectional = true});
  gru.to(kFloat64);
  Tensor x = random_tensor({4, 2, 2}, 71, {kFloat64}).requires_grad_();
  const nn::GRU::Result r = gru.forward_with_state(x, Tensor(), {4, 2});
  (r.output.sum() + r.h_n.sum()).backward();
  const Tensor grad = x.grad();
  EXPECT_TRUE(all_close(grad.narrow(1, 1, 1).narrow(0, 2, 2), zeros({2, 1, 2}, {kFloat64}), 0, 0));
  for (double value : host_values(grad.narrow(1, 1, 1).narrow(0, 0, 2))) EXPECT_NE(value, 0.0);
  for (double value : host_values(grad.narrow(1, 0, 1))) EXPECT_NE(value, 0.0);
}

// Compares autograd's gradient of every parameter of `module` with central
// differences of the same objective, perturbing the parameters in place.
::testing::AssertionResult parameter_gradients_match(nn::Module& module, const std::function<Tensor()>& objective) {
  module.zero_grad();
  objective().backward();
  const double eps = 1e-6;
  for (const auto& [name, parameter] : module.named_parameters()) {
    if (!parameter.grad().defined()) return ::testing::AssertionFailure() << name << " got no gradient";
    const std::vector<double> analytic = host_values(parameter.grad());
    NoGradGuard no_grad;
    const Tensor flat = parameter.detach().reshape({-1});
    for (std::int64_t i = 0; i < flat.numel(); ++i) {
      Tensor element = flat.select(0, i);
      const double original = element.item();
      element.fill_(original + eps);
      const double plus = objective().item();
      element.fill_(original - eps);
      const double minus = objective().item();
      element.fill_(original);
      const double numeric = (plus - minus) / (2 * eps);
      const double autograd = analytic[static_cast<std::size_t>(i)];
      if (std::abs(autograd - numeric) > 1e-6 + 1e-5 * std::abs(numeric)) {
        return ::testing::AssertionFailure() << name << "[" << i << "]: autograd " << autograd
                                             << ", finite differences " << numeric;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// The layer's results flattened into one vector, for the gradient checks.
Tensor flat_results(const Outputs& r) {
  std::vector<Tensor> parts{r.output.reshape({-1}), r.h_n.reshape({-1})};
  if (r.c_n.defined()) parts.push_back(r.c_n.reshape({-1}));
  return cat(parts, 0);
}

void check_gradients(Kind kind, const Config& c, std::int64_t steps, std::int64_t batch,
                     const std::vector<std::int64_t>& lengths) {
  AnyRecurrent layer(kind, c);
  const std::int64_t directions = c.bidirectional ? 2 : 1;
  const Shape x_shape = c.batch_first ? Shape{batch, steps, c.input} : Shape{steps, batch, c.input};
  const Shape state_shape{c.layers * directions, batch, c.hidden};
  std::vector<Tensor> inputs{random_tensor(x_shape, 31, {kFloat64}), random_tensor(state_shape, 32, {kFloat64})};
  if (layer.is_lstm()) inputs.push_back(random_tensor(state_shape, 33, {kFloat64}));
  // Input and initial states through redes::gradcheck.
  const GradcheckResult check = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return flat_results(layer.forward(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), lengths));
      },
      inputs);
  EXPECT_TRUE(check.ok) << check.message;
  // Every parameter, by finite differences of the same kind of objective.
  const Tensor weights = random_tensor(flat_results(layer.forward(inputs[0], inputs[1],
                                                                  inputs.size() > 2 ? inputs[2] : Tensor(), lengths))
                                           .shape(),
                                       34, {kFloat64});
  EXPECT_TRUE(parameter_gradients_match(layer.module(), [&] {
    return (flat_results(layer.forward(inputs[0], inputs[1], inputs.size() > 2 ? inputs[2] : Tensor(), lengths)) *
            weights)
        .sum();
  }));
}

TEST(RecurrentGradcheck, Gru) {
  check_gradients(Kind::Gru, {.input = 3, .hidden = 2, .layers = 2}, 3, 2, {});
}

TEST(RecurrentGradcheck, BidirectionalGruWithLengths) {
  check_gradients(Kind::Gru, {.input = 2, .hidden = 2, .layers = 2, .batch_first = true, .bidirectional = true}, 3,
                  2, {3, 2});
}

TEST(RecurrentGradcheck, RnnTanh) {
  check_gradients(Kind::RnnTanh, {.input = 3, .hidden = 3, .layers = 2, .batch_first = true}, 3, 2, {});
}

TEST(RecurrentGradcheck, BidirectionalRnnRelu) {
  check_gradients(Kind::RnnRelu, {.input = 2, .hidden = 3, .bidirectional = true}, 3, 2, {});
}

TEST(RecurrentGradcheck, BidirectionalLstm) {
  check_gradients(Kind::Lstm, {.input = 3, .hidden = 2, .layers = 2, .bidirectional = true}, 3, 2, {});
}

TEST(RecurrentGradcheck, BidirectionalLstmWithLengths) {
  check_gradients(Kind::Lstm, {.input = 2, .hidden = 2, .bidirectional = true}, 3, 3, {1, 3, 2});
}

// With dropout 1 every output of layer 0 is dropped in training, so layer 1
// reads zeros; the last layer's output is never dropped; in eval mode the
// layer is the one without dropout.
TEST(RecurrentDropout, DropsBetweenLayersInTrainingOnly) {
  for (Kind kind : {Kind::Lstm, Kind::Gru, Kind::RnnTanh}) {
    SCOPED_TRACE(kind_name(kind));
    const Config c{.input = 3, .hidden = 4, .layers = 2, .dropout = 1.0};
    AnyRecurrent layer(kind, c);
    Config without = c;
    without.dropout = 0.0;
    AnyRecurrent reference(kind, without);
    reference.module().load_state_dict(layer.module().state_dict());
    // Layer 1 alone, as a one-layer module.
    AnyRecurrent second(kind, {.input = 4, .hidden = 4});
    nn::StateDict second_state;
    for (const auto& [name, value] : layer.module().state_dict()) {
      if (name.ends_with("_l1")) second_state.emplace_back(name.substr(0, name.size() - 1) + "0", value);
    }
    second.module().load_state_dict(second_state);

    const Tensor x = random_tensor({5, 2, 3}, 81, {kFloat64});
    const Tensor h0 = random_tensor({2, 2, 4}, 82, {kFloat64});
    const Tensor c0 = random_tensor({2, 2, 4}, 83, {kFloat64});
    const Tensor lstm_c0 = layer.is_lstm() ? c0 : Tensor();
    const Outputs expected = reference.forward(x, h0, lstm_c0);

    ASSERT_TRUE(layer.module().is_training());
    const Outputs trained = layer.forward(x, h0, lstm_c0);
    const Outputs second_alone = second.forward(zeros({5, 2, 4}, {kFloat64}), h0.narrow(0, 1, 1),
                                                layer.is_lstm() ? c0.narrow(0, 1, 1) : Tensor());
    EXPECT_TRUE(all_close(trained.output, second_alone.output, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(trained.h_n.narrow(0, 1, 1), second_alone.h_n, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(trained.h_n.narrow(0, 0, 1), expected.h_n.narrow(0, 0, 1), 1e-12, 1e-12))
        << "layer 0 itself is not dropped";
    EXPECT_FALSE(all_close(trained.output, expected.output, 1e-6, 1e-6)) << "dropout changed nothing";

    layer.module().eval();
    const Outputs evaluated = layer.forward(x, h0, lstm_c0);
    EXPECT_TRUE(all_close(evaluated.output, expected.output, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(evaluated.h_n, expected.h_n, 1e-12, 1e-12));
  }
}

// p = 0.5 draws new masks on every training call; eval mode is deterministic.
TEST(RecurrentDropout, HalfDropoutIsRandomInTrainingAndOffInEval) {
  manual_seed(5);
  nn::GRU gru(3, 4, {.num_layers = 2, .dropout = 0.5, .bidirectional = true});
  gru.to(kFloat64);
  const Tensor x = random_tensor({6, 3, 3}, 91, {kFloat64});
  const Tensor first = gru(x), second = gru(x);
  EXPECT_FALSE(all_close(first, second, 1e-6, 1e-6)) << "two training calls drew the same mask";
  gru.eval();
  const Tensor third = gru(x), fourth = gru(x);
  EXPECT_TRUE(all_close(third, fourth, 0, 0));
  EXPECT_FALSE(all_close(first, third, 1e-6, 1e-6));
}

// One layer has no layer after it: dropout never applies (as in PyTorch).
TEST(RecurrentDropout, OneLayerIsNeverDropped) {
  nn::RNN rnn(3, 4, {.dropout = 0.9});
  rnn.to(kFloat64);
  const Tensor x = random_tensor({4, 2, 3}, 95, {kFloat64});
  const Tensor training = rnn(x);
  rnn.eval();
  EXPECT_TRUE(all_close(training, rnn(x), 0, 0));
}

TEST(RecurrentNames, BidirectionalTwoLayerGruStateDictMatchesPyTorch) {
  nn::GRU gru(5, 6, {.num_layers = 2, .bidirectional = true});
  std::vector<std::pair<std::string, Shape>> actual;
  for (const auto& [name, value] : gru.state_dict()) actual.emplace_back(name, value.shape());
  const std::vector<std::pair<std::string, Shape>> expected{
      {"weight_ih_l0", {18, 5}},          {"weight_hh_l0", {18, 6}},          {"bias_ih_l0", {18}},
      {"bias_hh_l0", {18}},               {"weight_ih_l0_reverse", {18, 5}},  {"weight_hh_l0_reverse", {18, 6}},
      {"bias_ih_l0_reverse", {18}},       {"bias_hh_l0_reverse", {18}},       {"weight_ih_l1", {18, 12}},
      {"weight_hh_l1", {18, 6}},          {"bias_ih_l1", {18}},               {"bias_hh_l1", {18}},
      {"weight_ih_l1_reverse", {18, 12}}, {"weight_hh_l1_reverse", {18, 6}},  {"bias_ih_l1_reverse", {18}},
      {"bias_hh_l1_reverse", {18}}};
  EXPECT_EQ(actual, expected);
  // Initialised uniformly on +-1/sqrt(6), as PyTorch.
  for (const auto& [name, value] : gru.state_dict()) {
    for (double v : host_values(value)) {
      EXPECT_LE(std::abs(v), 1.0 / std::sqrt(6.0)) << name;
    }
  }
}

TEST(RecurrentNames, ShapesWithoutBiasAndPrintouts) {
  nn::RNN rnn(4, 3, {.num_layers = 2, .bias = false, .nonlinearity = nn::RNNNonlinearity::ReLU});
  std::vector<std::pair<std::string, Shape>> actual;
  for (const auto& [name, value] : rnn.named_parameters()) actual.emplace_back(name, value.shape());
  EXPECT_EQ(actual, (std::vector<std::pair<std::string, Shape>>{{"weight_ih_l0", {3, 4}},
                                                                 {"weight_hh_l0", {3, 3}},
                                                                 {"weight_ih_l1", {3, 3}},
                                                                 {"weight_hh_l1", {3, 3}}}));
  EXPECT_EQ(rnn.str(), "RNN(4, 3, num_layers=2, bias=false, nonlinearity=relu)");
  EXPECT_EQ(nn::GRU(5, 6, {.num_layers = 2, .dropout = 0.25, .bidirectional = true}).str(),
            "GRU(5, 6, num_layers=2, dropout=0.25, bidirectional=true)");
  EXPECT_EQ(nn::LSTM(2, 3, {.batch_first = true, .bidirectional = true}).str(),
            "LSTM(2, 3, batch_first=true, bidirectional=true)");
  nn::LSTM lstm(2, 3, {.bidirectional = true});
  EXPECT_EQ(lstm.named_parameters()[4].first, "weight_ih_l0_reverse");
  EXPECT_EQ(lstm.named_parameters()[4].second.shape(), (Shape{12, 2}));
}

TEST(RecurrentErrors, SayWhatWasExpectedAndWhatWasGiven) {
  nn::GRU gru(5, 6, {.num_layers = 2, .bidirectional = true});
  expect_error([&] { gru(zeros({7, 5})); }, {"GRU: expected input of shape (T, N, 5)", "got (7, 5)"});
  expect_error([&] { gru(zeros({7, 3, 4})); }, {"GRU: expected input of shape (T, N, 5)", "got (7, 3, 4)"});
  expect_error([&] { gru(Tensor()); }, {"GRU: expected input", "(undefined)"});
  expect_error([&] { gru(zeros({0, 3, 5})); }, "GRU: the input sequence is empty");
  expect_error([&] { gru(zeros({7, 3, 5}, {kFloat64})); }, {"GRU: expected input of float32", "got float64"});
  expect_error([&] { gru.forward_with_state(zeros({7, 3, 5}), zeros({2, 3, 6})); },
               {"GRU: initial state h0 should have shape (4, 3, 6)", "(num_layers * 2, N, hidden_size)", "got (2, 3, 6)"});
  expect_error([&] { gru.forward_with_state(zeros({7, 3, 5}), zeros({4, 3, 6}, {kFloat64})); },
               {"h0 should be float32", "got float64"});
  expect_error([&] { gru.forward_with_state(zeros({7, 3, 5}), Tensor(), {7, 2}); },
               {"GRU: expected 3 lengths", "got 2"});
  expect_error([&] { gru.forward_with_state(zeros({7, 3, 5}), Tensor(), {7, 8, 1}); },
               {"expected every length in [1, 7]", "lengths[1] = 8"});
  expect_error([&] { gru.forward_with_state(zeros({7, 3, 5}), Tensor(), {7, 2, 0}); }, "lengths[2] = 0");

  nn::LSTM lstm(4, 2, {.batch_first = true});
  expect_error([&] { lstm(zeros({3, 7, 5})); }, {"LSTM: expected input of shape (N, T, 4)", "got (3, 7, 5)"});
  expect_error([&] { lstm.forward_with_state(zeros({3, 7, 4}), zeros({1, 3, 2}), zeros({1, 2, 2})); },
               {"LSTM: initial state c0 should have shape (1, 3, 2)", "(num_layers, N, hidden_size)", "got (1, 2, 2)"});

  expect_error([] { nn::RNN(3, 0); }, {"RNN: expected positive sizes", "hidden_size=0"});
  expect_error([] { nn::GRU(3, 2, {.num_layers = 0}); }, {"GRU: expected positive sizes", "num_layers=0"});
  expect_error([] { nn::LSTM(3, 2, {.dropout = 1.5}); }, {"LSTM: expected dropout in [0, 1]", "got 1.5"});
}

}  // namespace
}  // namespace redes
