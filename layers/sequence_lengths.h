// The per-sequence lengths of a padded, sequence-major batch (T, N, F), as
// the recurrent layers use them: which steps are valid, and each sequence's
// valid steps read backwards; and the conversions between a PackedSequence
// and such a batch. Internal to the layers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/packed_sequence.h"

namespace redes::nn::detail {

class SequenceLengths {
 public:
  // `lengths` is empty (every sequence has all `steps` steps) or holds
  // `batch` values in [1, steps]; anything else throws naming `layer`.
  SequenceLengths(const std::vector<std::int64_t>& lengths, std::int64_t steps, std::int64_t batch,
                  const std::string& layer, Device device);

  // (T, N, 1) bool: step t lies within sequence n; undefined when every
  // sequence is full, so callers can skip masking.
  const Tensor& valid() const { return valid_; }

  // x (T, N, F) with each sequence's valid steps in reverse order and its
  // padding left in place. Applying it twice gives x back.
  Tensor reverse(const Tensor& x) const;

 private:
  Tensor valid_;
  Tensor reverse_index_;  // (T, N, 1) int64: the step each position reads
};

// A PackedSequence as the layers run it: the padded batch in the original
// order, zeros past each end, and its lengths; errors name `layer`.
PaddedSequence unpack(const PackedSequence& sequence, bool batch_first, const std::string& layer);
// `padded` (in the original batch order) packed like `like`: the same
// batch_sizes and indices, so a layer's output lines up with its input.
PackedSequence pack_like(const Tensor& padded, const PackedSequence& like, bool batch_first);

}  // namespace redes::nn::detail
