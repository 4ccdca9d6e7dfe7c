// Packed sequences: PyTorch's layout for the documented examples, round
// trips through pack and pad, the recurrent layers on packed input against
// the lengths path and each sequence alone, gradients, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::expect_error;
using testing::host_values;
using testing::random_tensor;

Tensor int64_tensor(const std::vector<std::int64_t>& values, const Shape& shape) {
  return from_vector(values, shape, {kInt64});
}

// torch.nn.utils.rnn.pack_sequence's documented example:
//   pack_sequence([tensor([1, 2, 3]), tensor([4, 5]), tensor([6])])
//   PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1]), sorted_indices=None, ...)
TEST(PackedSequence, PackSequenceMatchesPyTorchsExample) {
  const nn::PackedSequence packed = nn::pack_sequence(
      {int64_tensor({1, 2, 3}, {3}), int64_tensor({4, 5}, {2}), int64_tensor({6}, {1})});
  EXPECT_EQ(packed.data.dtype(), kInt64);
  EXPECT_EQ(host_values(packed.data), (std::vector<double>{1, 4, 6, 2, 5, 3}));
  EXPECT_EQ(packed.batch_sizes.dtype(), kInt64);
  EXPECT_TRUE(packed.batch_sizes.device().is_cpu());
  EXPECT_EQ(host_values(packed.batch_sizes), (std::vector<double>{3, 2, 1}));
  EXPECT_FALSE(packed.sorted_indices.defined());
  EXPECT_FALSE(packed.unsorted_indices.defined());
}

// pad_packed_sequence's documented example:
//   seq = tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]]); lens = [2, 1, 3]
//   pack_padded_sequence(seq, lens, batch_first=True, enforce_sorted=False)
//   PackedSequence(data=tensor([4, 1, 3, 5, 2, 6]), batch_sizes=tensor([3, 2, 1]),
//                  sorted_indices=tensor([2, 0, 1]), unsorted_indices=tensor([1, 2, 0]))
//   pad_packed_sequence(packed, batch_first=True) -> seq, tensor([2, 1, 3])
TEST(PackedSequence, UnsortedBatchFirstMatchesPyTorchsExample) {
  const Tensor seq = int64_tensor({1, 2, 0, 3, 0, 0, 4, 5, 6}, {3, 3});
  const nn::PackedSequence packed = nn::pack_padded_sequence(seq, {2, 1, 3}, true, false);
  EXPECT_EQ(host_values(packed.data), (std::vector<double>{4, 1, 3, 5, 2, 6}));
  EXPECT_EQ(host_values(packed.batch_sizes), (std::vector<double>{3, 2, 1}));
  ASSERT_TRUE(packed.sorted_indices.defined());
  EXPECT_EQ(packed.sorted_indices.dtype(), kInt64);
  EXPECT_EQ(host_values(packed.sorted_indices), (std::vector<double>{2, 0, 1}));
  EXPECT_EQ(host_values(packed.unsorted_indices), (std::vector<double>{1, 2, 0}));

  const nn::PaddedSequence unpacked = nn::pad_packed_sequence(packed, true);
  EXPECT_EQ(unpacked.padded.shape(), (Shape{3, 3}));
  EXPECT_EQ(host_values(unpacked.padded), host_values(seq));
  EXPECT_EQ(unpacked.lengths, (std::vector<std::int64_t>{2, 1, 3}));
}

// The docs' lengths [3, 2, 1], time-major with features: step by step, the
// longest sequence first. Then the same sequences in the order [2, 3, 1].
TEST(PackedSequence, TimeMajorLayoutWithFeatures) {
  // Sequence n, step t, feature f holds 100 n + 10 t + f.
  const auto value = [](std::int64_t n, std::int64_t t, std::int64_t f) {
    return static_cast<double>(100 * n + 10 * t + f);
  };
  const auto padded_of = [&](const std::vector<std::int64_t>& lengths) {
    std::vector<double> values;
    for (std::int64_t t = 0; t < 3; ++t) {
      for (std::int64_t n = 0; n < 3; ++n) {
        for (std::int64_t f = 0; f < 2; ++f) {
          values.push_back(t < lengths[static_cast<std::size_t>(n)] ? value(n, t, f) : -1.0);
        }
      }
    }
    return from_vector(values, {3, 3, 2}, {kFloat64});
  };

  const nn::PackedSequence sorted = nn::pack_padded_sequence(padded_of({3, 2, 1}), {3, 2, 1});
  EXPECT_EQ(sorted.data.shape(), (Shape{6, 2}));
  EXPECT_EQ(host_values(sorted.data), (std::vector<double>{0, 1, 100, 101, 200, 201,  // step 0: a, b, c
                                                           10, 11, 110, 111,          // step 1: a, b
                                                           20, 21}));                 // step 2: a
  EXPECT_EQ(host_values(sorted.batch_sizes), (std::vector<double>{3, 2, 1}));
  EXPECT_FALSE(sorted.sorted_indices.defined());

  const nn::PackedSequence unsorted = nn::pack_padded_sequence(padded_of({2, 3, 1}), {2, 3, 1}, false, false);
  EXPECT_EQ(host_values(unsorted.data), (std::vector<double>{100, 101, 0, 1, 200, 201,  // step 0: seq 1, 0, 2
                                                             110, 111, 10, 11,          // step 1: seq 1, 0
                                                             120, 121}));               // step 2: seq 1
  EXPECT_EQ(host_values(unsorted.batch_sizes), (std::vector<double>{3, 2, 1}));
  EXPECT_EQ(host_values(unsorted.sorted_indices), (std::vector<double>{1, 0, 2}));
  EXPECT_EQ(host_values(unsorted.unsorted_indices), (std::vector<double>{1, 0, 2}));

  // Sorted lengths with enforce_sorted = false still give (identity) indices, as PyTorch.
  const nn::PackedSequence explicit_order = nn::pack_padded_sequence(padded_of({3, 2, 1}), {3, 2, 1}, false, false);
  EXPECT_EQ(host_values(explicit_order.data), host_values(sorted.data));
  EXPECT_EQ(host_values(explicit_order.sorted_indices), (std::vector<double>{0, 1, 2}));
}

// Equal lengths keep their batch order when sorting.
TEST(PackedSequence, TiesKeepTheirOrder) {
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}, {kFloat64});
  const nn::PackedSequence packed = nn::pack_padded_sequence(x, {1, 2, 1, 2}, false, false);
  EXPECT_EQ(host_values(packed.sorted_indices), (std::vector<double>{1, 3, 0, 2}));
  EXPECT_EQ(host_values(packed.data), (std::vector<double>{2, 4, 1, 3, 6, 8}));
  EXPECT_EQ(host_values(packed.batch_sizes), (std::vector<double>{4, 2}));
}

// pad_packed_sequence(pack_padded_sequence(x)) gives x at the valid steps
// and padding_value elsewhere, for both layouts, sorted and not.
TEST(PackedSequence, PackThenPadRoundTrips) {
  const std::int64_t steps = 5, batch = 4, features = 3;
  std::uint64_t seed = 10;
  for (const std::vector<std::int64_t>& lengths :
       {std::vector<std::int64_t>{5, 4, 2, 1}, std::vector<std::int64_t>{2, 5, 1, 4},
        std::vector<std::int64_t>{3, 3, 3, 3}}) {
    for (bool batch_first : {false, true}) {
      for (bool enforce_sorted : {false, true}) {
        const bool sorted_input = lengths[0] >= lengths[1] && lengths[1] >= lengths[2] && lengths[2] >= lengths[3];
        if (enforce_sorted && !sorted_input) continue;
        SCOPED_TRACE(std::string(batch_first ? "batch_first" : "time-major") +
                     (enforce_sorted ? " enforce_sorted" : "") + " lengths[1]=" + std::to_string(lengths[1]));
        const Tensor x = random_tensor(batch_first ? Shape{batch, steps, features} : Shape{steps, batch, features},
                                       seed++, {kFloat64});
        const nn::PackedSequence packed = nn::pack_padded_sequence(x, lengths, batch_first, enforce_sorted);
        std::int64_t total = 0;
        for (std::int64_t length : lengths) total += length;
        EXPECT_EQ(packed.data.shape(), (Shape{total, features}));

        for (std::int64_t total_length : {std::int64_t{0}, std::int64_t{7}}) {
          const nn::PaddedSequence unpacked =
              total_length == 0 ? nn::pad_packed_sequence(packed, batch_first, -2.5)
                                : nn::pad_packed_sequence(packed, batch_first, -2.5, total_length);
          const std::int64_t longest = *std::max_element(lengths.begin(), lengths.end());
          const std::int64_t out_steps = total_length == 0 ? longest : total_length;
          EXPECT_EQ(unpacked.lengths, lengths);
          EXPECT_EQ(unpacked.padded.shape(), batch_first ? (Shape{batch, out_steps, features})
                                                         : (Shape{out_steps, batch, features}));
          const Tensor got = batch_first ? unpacked.padded.transpose(0, 1) : unpacked.padded;  // (T', N, F)
          const Tensor want = batch_first ? x.transpose(0, 1) : x;
          for (std::int64_t n = 0; n < batch; ++n) {
            const std::int64_t length = lengths[static_cast<std::size_t>(n)];
            EXPECT_TRUE(all_close(got.select(1, n).narrow(0, 0, length), want.select(1, n).narrow(0, 0, length), 0, 0));
            if (length < out_steps) {
              EXPECT_TRUE(all_close(got.select(1, n).narrow(0, length, out_steps - length),
                                    full({out_steps - length, features}, -2.5, {kFloat64}), 0, 0));
            }
          }
        }
      }
    }
  }
}

TEST(PackedSequence, PadSequenceValues) {
  const std::vector<Tensor> sequences{from_vector(std::vector<double>{1, 2, 3}, {3}, {kFloat64}),
                                      from_vector(std::vector<double>{4, 5}, {2}, {kFloat64}),
                                      from_vector(std::vector<double>{6}, {1}, {kFloat64})};
  const Tensor time_major = nn::pad_sequence(sequences, false, -1.0);
  EXPECT_EQ(time_major.shape(), (Shape{3, 3}));
  EXPECT_EQ(host_values(time_major), (std::vector<double>{1, 4, 6, 2, 5, -1, 3, -1, -1}));
  const Tensor batch_first = nn::pad_sequence(sequences, true);
  EXPECT_EQ(host_values(batch_first), (std::vector<double>{1, 2, 3, 4, 5, 0, 6, 0, 0}));

  // Features after the first dim; an empty sequence is all padding (as PyTorch allows).
  const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, {kFloat64});
  const Tensor b = zeros({0, 2}, {kFloat64});
  const Tensor c = from_vector(std::vector<double>{5, 6}, {1, 2}, {kFloat64});
  const Tensor padded = nn::pad_sequence({a, b, c}, true, 9.0);
  EXPECT_EQ(padded.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(host_values(padded), (std::vector<double>{1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 9, 9}));
}

TEST(PackedSequence, PackSequenceUnsortedWithFeatures) {
  const Tensor a = from_vector(std::vector<double>{1, 2}, {1, 2}, {kFloat64});
  const Tensor b = from_vector(std::vector<double>{3, 4, 5, 6, 7, 8}, {3, 2}, {kFloat64});
  const Tensor c = from_vector(std::vector<double>{9, 10, 11, 12}, {2, 2}, {kFloat64});
  const nn::PackedSequence packed = nn::pack_sequence({a, b, c}, false);
  EXPECT_EQ(packed.data.shape(), (Shape{6, 2}));
  EXPECT_EQ(host_values(packed.data), (std::vector<double>{3, 4, 9, 10, 1, 2, 5, 6, 11, 12, 7, 8}));
  EXPECT_EQ(host_values(packed.batch_sizes), (std::vector<double>{3, 2, 1}));
  EXPECT_EQ(host_values(packed.sorted_indices), (std::vector<double>{1, 2, 0}));
  EXPECT_EQ(host_values(packed.unsorted_indices), (std::vector<double>{2, 0, 1}));
  const nn::PaddedSequence unpacked = nn::pad_packed_sequence(packed, true);
  EXPECT_EQ(unpacked.lengths, (std::vector<std::int64_t>{1, 3, 2}));
  EXPECT_EQ(host_values(unpacked.padded), (std::vector<double>{1, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                                0, 0}));
}

// ---- recurrent layers ----

enum class Kind { Lstm, Gru, Rnn };

struct PaddedRun {
  Tensor output, h_n, c_n;  // output padded (T, N, D*H) or batch first; c_n only for the LSTM
};

struct PackedRun {
  nn::PackedSequence output;
  Tensor h_n, c_n;
};

// One of the layers, in float64, run on a padded batch with lengths or on a
// packed batch.
class Layer {
 public:
  Layer(Kind kind, const nn::RecurrentOptions& options, std::int64_t input, std::int64_t hidden) : kind_(kind) {
    switch (kind) {
      case Kind::Lstm:
        module_ = std::make_unique<nn::LSTM>(input, hidden, options);
        break;
      case Kind::Gru:
        module_ = std::make_unique<nn::GRU>(input, hidden, options);
        break;
      case Kind::Rnn:
        module_ = std::make_unique<nn::RNN>(input, hidden,
                                            nn::RNNOptions{options.num_layers, options.batch_first, options.bias,
                                                           options.dropout, options.bidirectional});
        break;
    }
    module_->to(kFloat64);
  }

  PaddedRun padded(const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<std::int64_t>& lengths) {
    switch (kind_) {
      case Kind::Lstm: {
        const nn::LSTM::Result r = static_cast<nn::LSTM&>(*module_).forward_with_state(x, h0, c0, lengths);
        return {r.output, r.h_n, r.c_n};
      }
      case Kind::Gru: {
        const nn::GRU::Result r = static_cast<nn::GRU&>(*module_).forward_with_state(x, h0, lengths);
        return {r.output, r.h_n, Tensor()};
      }
      case Kind::Rnn: {
        const nn::RNN::Result r = static_cast<nn::RNN&>(*module_).forward_with_state(x, h0, lengths);
        return {r.output, r.h_n, Tensor()};
      }
    }
    return {};
  }

  PackedRun packed(const nn::PackedSequence& x, const Tensor& h0, const Tensor& c0) {
    switch (kind_) {
      case Kind::Lstm: {
        const nn::LSTM::PackedResult r = static_cast<nn::LSTM&>(*module_).forward_with_state(x, h0, c0);
        return {r.output, r.h_n, r.c_n};
      }
      case Kind::Gru: {
        const nn::GRU::PackedResult r = static_cast<nn::GRU&>(*module_).forward_with_state(x, h0);
        return {r.output, r.h_n, Tensor()};
      }
      case Kind::Rnn: {
        const nn::RNN::PackedResult r = static_cast<nn::RNN&>(*module_).forward_with_state(x, h0);
        return {r.output, r.h_n, Tensor()};
      }
    }
    return {};
  }

  bool is_lstm() const { return kind_ == Kind::Lstm; }

 private:
  Kind kind_;
  std::unique_ptr<nn::RecurrentBase> module_;
};

std::string kind_name(Kind kind) {
  return kind == Kind::Lstm ? "LSTM" : kind == Kind::Gru ? "GRU" : "RNN";
}

// The packed path equals the lengths path and each sequence run alone; h0,
// c0 and h_n, c_n in the original batch order.
TEST(PackedRecurrent, MatchesTheLengthsPathAndEachSequenceAlone) {
  const std::vector<std::int64_t> lengths{2, 5, 1, 4};  // unsorted on purpose
  const std::int64_t steps = 5, batch = 4, input = 3, hidden = 4;
  std::uint64_t seed = 300;
  for (Kind kind : {Kind::Lstm, Kind::Gru, Kind::Rnn}) {
    for (bool bidirectional : {false, true}) {
      for (bool batch_first : {false, true}) {
        SCOPED_TRACE(kind_name(kind) + (bidirectional ? " bidirectional" : "") + (batch_first ? " batch_first" : ""));
        const std::int64_t directions = bidirectional ? 2 : 1;
        Layer layer(kind, {.num_layers = 2, .batch_first = batch_first, .bidirectional = bidirectional}, input,
                    hidden);
        const Tensor x = random_tensor(batch_first ? Shape{batch, steps, input} : Shape{steps, batch, input}, seed++,
                                       {kFloat64});
        const Tensor h0 = random_tensor({2 * directions, batch, hidden}, seed++, {kFloat64});
        const Tensor c0 = layer.is_lstm() ? random_tensor({2 * directions, batch, hidden}, seed++, {kFloat64})
                                          : Tensor();
        const nn::PackedSequence packed = nn::pack_padded_sequence(x, lengths, batch_first, false);
        const PackedRun r = layer.packed(packed, h0, c0);
        const PaddedRun reference = layer.padded(x, h0, c0, lengths);

        EXPECT_EQ(r.output.data.shape(), (Shape{12, directions * hidden}));
        EXPECT_EQ(host_values(r.output.batch_sizes), host_values(packed.batch_sizes));
        EXPECT_EQ(host_values(r.output.sorted_indices), host_values(packed.sorted_indices));
        EXPECT_EQ(host_values(r.output.unsorted_indices), host_values(packed.unsorted_indices));
        EXPECT_TRUE(all_close(r.h_n, reference.h_n, 1e-12, 1e-12));
        if (layer.is_lstm()) {
          EXPECT_TRUE(all_close(r.c_n, reference.c_n, 1e-12, 1e-12));
        }
        const nn::PaddedSequence unpacked = nn::pad_packed_sequence(r.output, batch_first);
        EXPECT_EQ(unpacked.lengths, lengths);
        // The lengths path outputs zeros past each end, as the padding here.
        EXPECT_TRUE(all_close(unpacked.padded, reference.output, 1e-12, 1e-12));
        // Packing the lengths path's output gives the same packed data.
        EXPECT_TRUE(all_close(r.output.data,
                              nn::pack_padded_sequence(reference.output, lengths, batch_first, false).data, 1e-12,
                              1e-12));

        for (std::int64_t n = 0; n < batch; ++n) {
          SCOPED_TRACE("sequence " + std::to_string(n));
          const std::int64_t length = lengths[static_cast<std::size_t>(n)];
          const Tensor alone_x =
              batch_first ? x.narrow(0, n, 1).narrow(1, 0, length) : x.narrow(1, n, 1).narrow(0, 0, length);
          const PaddedRun alone =
              layer.padded(alone_x, h0.narrow(1, n, 1), layer.is_lstm() ? c0.narrow(1, n, 1) : Tensor(), {});
          const Tensor alone_output = batch_first ? alone.output.select(0, 0) : alone.output.select(1, 0);
          const Tensor packed_output =
              batch_first ? unpacked.padded.select(0, n).narrow(0, 0, length)
                          : unpacked.padded.select(1, n).narrow(0, 0, length);
          EXPECT_TRUE(all_close(packed_output, alone_output, 1e-12, 1e-12));
          EXPECT_TRUE(all_close(r.h_n.narrow(1, n, 1), alone.h_n, 1e-12, 1e-12));
          if (layer.is_lstm()) {
            EXPECT_TRUE(all_close(r.c_n.narrow(1, n, 1), alone.c_n, 1e-12, 1e-12));
          }
        }
      }
    }
  }
}

// A sorted packed batch (no indices) and missing initial states (zeros).
TEST(PackedRecurrent, SortedBatchWithoutInitialStates) {
  for (Kind kind : {Kind::Lstm, Kind::Gru}) {
    SCOPED_TRACE(kind_name(kind));
    Layer layer(kind, {.bidirectional = true}, 2, 3);
    const std::vector<Tensor> sequences{random_tensor({4, 2}, 41, {kFloat64}), random_tensor({3, 2}, 42, {kFloat64}),
                                        random_tensor({1, 2}, 43, {kFloat64})};
    const nn::PackedSequence packed = nn::pack_sequence(sequences);
    ASSERT_FALSE(packed.sorted_indices.defined());
    const PackedRun r = layer.packed(packed, Tensor(), Tensor());
    EXPECT_FALSE(r.output.sorted_indices.defined());
    EXPECT_EQ(r.h_n.shape(), (Shape{2, 3, 3}));
    for (std::size_t n = 0; n < sequences.size(); ++n) {
      const PaddedRun alone = layer.padded(sequences[n].unsqueeze(1), Tensor(), Tensor(), {});
      EXPECT_TRUE(all_close(r.h_n.narrow(1, static_cast<std::int64_t>(n), 1), alone.h_n, 1e-12, 1e-12));
    }
  }
}

// ---- gradients ----

TEST(PackedSequenceGradcheck, PackAndPad) {
  const Tensor x = random_tensor({4, 3, 2}, 51, {kFloat64});  // (T, N, F)
  for (bool batch_first : {false, true}) {
    SCOPED_TRACE(batch_first ? "batch_first" : "time-major");
    const Tensor input = batch_first ? x.transpose(0, 1).contiguous() : x;
    const GradcheckResult pack = redes::gradcheck(
        [&](const std::vector<Tensor>& in) { return nn::pack_padded_sequence(in[0], {2, 4, 1}, batch_first, false).data; },
        {input});
    EXPECT_TRUE(pack.ok) << pack.message;
    const GradcheckResult round_trip = redes::gradcheck(
        [&](const std::vector<Tensor>& in) {
          return nn::pad_packed_sequence(nn::pack_padded_sequence(in[0], {2, 4, 1}, batch_first, false), batch_first,
                                         0.5, 6)
              .padded;
        },
        {input});
    EXPECT_TRUE(round_trip.ok) << round_trip.message;
  }
  // The padding gets no gradient; the valid steps get exactly theirs.
  Tensor leaf = x.clone().requires_grad_();
  nn::pad_packed_sequence(nn::pack_padded_sequence(leaf, {2, 4, 1}, false, false)).padded.sum().backward();
  std::vector<double> expected;
  for (std::int64_t t = 0; t < 4; ++t) {
    for (std::int64_t length : {2, 4, 1}) {
      for (int f = 0; f < 2; ++f) expected.push_back(t < length ? 1.0 : 0.0);
    }
  }
  EXPECT_EQ(host_values(leaf.grad()), expected);
}

TEST(PackedSequenceGradcheck, PackSequenceAndPadSequence) {
  const std::vector<Tensor> inputs{random_tensor({2, 3}, 61, {kFloat64}), random_tensor({4, 3}, 62, {kFloat64}),
                                   random_tensor({1, 3}, 63, {kFloat64})};
  const GradcheckResult pad = redes::gradcheck(
      [](const std::vector<Tensor>& in) { return nn::pad_sequence(in, true, 3.0); }, inputs);
  EXPECT_TRUE(pad.ok) << pad.message;
  const GradcheckResult pack = redes::gradcheck(
      [](const std::vector<Tensor>& in) { return nn::pack_sequence(in, false).data; }, inputs);
  EXPECT_TRUE(pack.ok) << pack.message;
}

// Through a bidirectional LSTM on packed input: the data and h0, c0.
TEST(PackedSequenceGradcheck, BidirectionalLstmOnPackedInput) {
  nn::LSTM lstm(2, 2, {.bidirectional = true});
  lstm.to(kFloat64);
  const std::vector<Tensor> inputs{random_tensor({3, 3, 2}, 71, {kFloat64}), random_tensor({2, 3, 2}, 72, {kFloat64}),
                                   random_tensor({2, 3, 2}, 73, {kFloat64})};
  const GradcheckResult check = redes::gradcheck(
      [&](const std::vector<Tensor>& in) {
        const nn::LSTM::PackedResult r =
            lstm.forward_with_state(nn::pack_padded_sequence(in[0], {1, 3, 2}, false, false), in[1], in[2]);
        return cat({r.output.data.reshape({-1}), r.h_n.reshape({-1}), r.c_n.reshape({-1})}, 0);
      },
      inputs);
  EXPECT_TRUE(check.ok) << check.message;
}

// ---- devices ----

class PackedSequenceOnDevice : public ::testing::TestWithParam<Device> {};

TEST_P(PackedSequenceOnDevice, GruRoundTripStaysOnTheDevice) {
  const Device device = GetParam();
  REDES_REQUIRE_DEVICE(device);
  nn::GRU gru(2, 3, {.batch_first = true});
  gru.to(kFloat64);
  const Tensor x = random_tensor({3, 4, 2}, 81, {kFloat64});
  const nn::GRU::PackedResult cpu = gru.forward_with_state(nn::pack_padded_sequence(x, {3, 4, 2}, true, false));
  gru.to(device);
  const nn::PackedSequence packed = nn::pack_padded_sequence(x.to(device), {3, 4, 2}, true, false);
  EXPECT_EQ(packed.data.device(), device);
  EXPECT_EQ(packed.sorted_indices.device(), device);
  EXPECT_TRUE(packed.batch_sizes.device().is_cpu());
  const nn::GRU::PackedResult r = gru.forward_with_state(packed);
  EXPECT_EQ(r.output.data.device(), device);
  EXPECT_TRUE(all_close(r.output.data, cpu.output.data, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(r.h_n, cpu.h_n, 1e-12, 1e-12));
  const nn::PackedSequence back = packed.to(Device::cpu());
  EXPECT_TRUE(back.data.device().is_cpu());
  EXPECT_TRUE(back.unsorted_indices.device().is_cpu());
  EXPECT_EQ(nn::pad_packed_sequence(back, true).lengths, (std::vector<std::int64_t>{3, 4, 2}));
}

REDES_INSTANTIATE_FOR_DEVICES(PackedSequenceOnDevice);

// ---- errors ----

TEST(PackedSequenceErrors, SayWhatWasExpectedAndWhatWasGiven) {
  const Tensor x = zeros({5, 3, 2});
  expect_error([&] { nn::pack_padded_sequence(x, {5, 2}); },
               {"pack_padded_sequence: expected 3 lengths", "got 2"});
  expect_error([&] { nn::pack_padded_sequence(x, {5, 2, 0}); },
               {"expected every length in [1, 5]", "lengths[2] = 0"});
  expect_error([&] { nn::pack_padded_sequence(x, {6, 2, 1}); }, "lengths[0] = 6");
  expect_error([&] { nn::pack_padded_sequence(x, {2, 5, 1}); },
               {"lengths must be in decreasing order", "lengths[0] = 2 < lengths[1] = 5", "enforce_sorted = false"});
  expect_error([&] { nn::pack_padded_sequence(zeros({5}), {5}); },
               {"expected a padded input of shape (T, N, *)", "got (5,)"});
  expect_error([&] { nn::pack_padded_sequence(zeros({5, 0, 2}), {}); }, "the batch is empty");

  const nn::PackedSequence packed = nn::pack_padded_sequence(x, {2, 4, 1}, false, false);
  expect_error([&] { nn::pad_packed_sequence(packed, false, 0.0, 3); },
               {"pad_packed_sequence: total_length = 3", "longest sequence (4 steps)"});
  nn::PackedSequence bad = packed;
  bad.batch_sizes = int64_tensor({3, 1, 2, 1}, {4});
  expect_error([&] { nn::pad_packed_sequence(bad); },
               {"batch_sizes positive and non-increasing", "batch_sizes[2] = 2 after 1"});
  bad = packed;
  bad.data = zeros({6, 2});
  expect_error([&] { nn::pad_packed_sequence(bad); }, {"packed data has 6 rows", "add up to 7"});
  bad = packed;
  bad.batch_sizes = from_vector(std::vector<double>{3, 2, 1, 1}, {4}, {kFloat64});
  expect_error([&] { nn::pad_packed_sequence(bad); }, {"expected batch_sizes as a non-empty 1-D int64", "float64"});
  bad = packed;
  bad.unsorted_indices = Tensor();
  expect_error([&] { nn::pad_packed_sequence(bad); }, "both defined or both undefined");
  bad = packed;
  bad.unsorted_indices = int64_tensor({0, 1, 2}, {3});
  expect_error([&] { nn::pad_packed_sequence(bad); }, "not the inverse permutation of sorted_indices");
  bad = packed;
  bad.sorted_indices = int64_tensor({0, 1}, {2});
  expect_error([&] { nn::pad_packed_sequence(bad); }, {"expected sorted_indices of int64 and shape (3,)", "of shape (2,)"});

  expect_error([] { nn::pad_sequence({}); }, "pad_sequence: expected at least one sequence, got none");
  expect_error([] { nn::pack_sequence({}); }, "pack_sequence: expected at least one sequence");
  expect_error([] { nn::pad_sequence({zeros({3, 2}), zeros({2, 4})}); },
               {"pad_sequence: sequences[1] has shape (2, 4)", "sequences[0] has (3, 2)"});
  expect_error([] { nn::pack_sequence({zeros({3, 2}), zeros({2, 2, 1})}); },
               "pack_sequence: sequences[1] has shape (2, 2, 1)");
  expect_error([] { nn::pad_sequence({zeros({3}), zeros({2}, {kFloat64})}); },
               {"sequences[1] is float64", "sequences[0] is float32"});
  expect_error([] { nn::pad_sequence({zeros({3}), Tensor()}); }, "sequences[1] undefined");
  expect_error([] { nn::pack_sequence({zeros({3}), zeros({0})}); },
               "pack_sequence: sequences[1] is empty; every sequence needs at least one step");
  expect_error([] { nn::pack_sequence({zeros({1}), zeros({3})}); }, "enforce_sorted = false");

  nn::GRU gru(4, 3);
  expect_error([&] { gru.forward_with_state(nn::pack_sequence({zeros({3, 2}), zeros({2, 2})})); },
               {"GRU: expected packed data of shape (sum(lengths), 4)", "got (5, 2)"});
  const nn::PackedSequence good = nn::pack_sequence({zeros({3, 4}), zeros({2, 4})});
  expect_error([&] { gru.forward_with_state(good, zeros({1, 3, 3})); },
               {"GRU: initial state h0 should have shape (1, 2, 3)", "got (1, 3, 3)"});
  nn::PackedSequence broken = good;
  broken.batch_sizes = int64_tensor({2, 2, 2}, {3});
  expect_error([&] { gru.forward_with_state(broken); }, {"GRU: the packed data has 5 rows", "add up to 6"});
}

}  // namespace
}  // namespace redes
