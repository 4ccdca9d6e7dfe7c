#include "layers/sequence_lengths.h"

#include <algorithm>

#include "core/ops.h"

namespace redes::nn::detail {

SequenceLengths::SequenceLengths(const std::vector<std::int64_t>& lengths, std::int64_t steps, std::int64_t batch,
                                 const std::string& layer, Device device) {
  if (lengths.empty()) return;
  REDES_CHECK(static_cast<std::int64_t>(lengths.size()) == batch, layer, ": expected ", batch,
              " lengths (one per sequence of the batch), got ", lengths.size());
  for (std::size_t n = 0; n < lengths.size(); ++n) {
    REDES_CHECK(lengths[n] >= 1 && lengths[n] <= steps, layer, ": expected every length in [1, ", steps,
                "] (the padded sequence has ", steps, " steps), got lengths[", n, "] = ", lengths[n]);
  }
  if (std::all_of(lengths.begin(), lengths.end(), [steps](std::int64_t length) { return length == steps; })) return;
  std::vector<std::int64_t> index(static_cast<std::size_t>(steps * batch));
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t n = 0; n < batch; ++n) {
      const std::int64_t length = lengths[static_cast<std::size_t>(n)];
      index[static_cast<std::size_t>(t * batch + n)] = t < length ? length - 1 - t : t;
    }
  }
  reverse_index_ = from_vector(index, {steps, batch, 1}, {kInt64, device});
  const Tensor step = arange(steps, {kInt64, device}).reshape({steps, 1, 1});
  valid_ = step < from_vector(lengths, {1, batch, 1}, {kInt64, device});
}

Tensor SequenceLengths::reverse(const Tensor& x) const {
  if (!reverse_index_.defined()) return flip(x, {0});
  return gather(x, 0, reverse_index_.expand({x.size(0), x.size(1), x.size(2)}));
}

}  // namespace redes::nn::detail
