// The whole LSTM sequence (all steps, all layers) through cuDNN's v8 RNN API:
// cudnnRNNForward, then cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8.
//
// cuDNN keeps its weights in one "weight space"; each call packs redes'
// PyTorch-layout tensors into it (cudnnGetRNNWeightParams gives each gate
// matrix's and bias's address; cuDNN's LSTM gate order i, f, g, o and its
// double bias match PyTorch's), and the backward call unpacks the weight
// gradients the same way. Math type CUDNN_FMA_MATH unless TF32 is allowed.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <vector>

#include "core/cuda/check.h"
#include "kernels/cudnn/descriptors.h"
#include "kernels/cudnn/handle.h"
#include "kernels/kernel_settings.h"
#include "kernels/lstm_sequence_params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using RnnDescriptor = cudnn::Descriptor<cudnnRNNDescriptor_t, &cudnn::Api::cudnnCreateRNNDescriptor,
                                        &cudnn::Api::cudnnDestroyRNNDescriptor>;
using RnnDataDescriptor = cudnn::Descriptor<cudnnRNNDataDescriptor_t, &cudnn::Api::cudnnCreateRNNDataDescriptor,
                                            &cudnn::Api::cudnnDestroyRNNDataDescriptor>;
using DropoutDescriptor = cudnn::Descriptor<cudnnDropoutDescriptor_t, &cudnn::Api::cudnnCreateDropoutDescriptor,
                                            &cudnn::Api::cudnnDestroyDropoutDescriptor>;

// Everything the three calls share: the RNN, its sequence and state
// descriptors, the sequence lengths on the device and the space sizes.
struct RnnSetup {
  RnnDescriptor rnn;
  DropoutDescriptor dropout;
  RnnDataDescriptor x, y;
  cudnn::TensorDescriptor state;  // h and c: (L, N, H)
  int32_t* device_lengths = nullptr;
  std::size_t weight_bytes = 0, work_bytes = 0, reserve_bytes = 0;

  RnnSetup(const LstmSequenceShape& s, cudnnDataType_t type, cudnnHandle_t handle, cudnnForwardMode_t mode,
           const ExecContext& ctx, const char* op)
      : rnn(op), dropout(op), x(op), y(op), state(op) {
    // No dropout between layers; cuDNN wants a descriptor all the same.
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetDropoutDescriptor(dropout.get(), handle, 0.0f, nullptr, 0, 0), op);
    const bool tensor_ops = allow_tf32() && type == CUDNN_DATA_FLOAT;
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnSetRNNDescriptor_v8(
            rnn.get(), CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, s.bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS,
            CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, type, type, tensor_ops ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH,
            int32_t(s.input_size), int32_t(s.hidden_size), int32_t(s.hidden_size), int32_t(s.layers), dropout.get(),
            CUDNN_RNN_PADDED_IO_DISABLED),
        op);
    // Every sequence of the batch has all T steps.
    const std::vector<int> lengths(static_cast<std::size_t>(s.batch), int(s.steps));
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnSetRNNDataDescriptor(x.get(), type, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, int(s.steps),
                                               int(s.batch), int(s.input_size), lengths.data(), nullptr),
        op);
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnSetRNNDataDescriptor(y.get(), type, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, int(s.steps),
                                               int(s.batch), int(s.hidden_size), lengths.data(), nullptr),
        op);
    const int dims[3] = {int(s.layers), int(s.batch), int(s.hidden_size)};
    const int strides[3] = {int(s.batch * s.hidden_size), int(s.hidden_size), 1};
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetTensorNdDescriptor(state.get(), type, 3, dims, strides), op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnGetRNNWeightSpaceSize(handle, rnn.get(), &weight_bytes), op);
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnGetRNNTempSpaceSizes(handle, rnn.get(), mode, x.get(), &work_bytes, &reserve_bytes), op);
    // The calls also want the lengths in device memory; the synchronous
    // copy keeps `lengths` alive until it is done.
    const std::size_t length_bytes = lengths.size() * sizeof(int32_t);
    device_lengths = static_cast<int32_t*>(ctx.workspace->request(length_bytes));
    REDES_CUDA_CHECK(cudaMemcpyAsync(device_lengths, lengths.data(), length_bytes, cudaMemcpyHostToDevice,
                                     static_cast<cudaStream_t>(ctx.stream)),
                     op);
    REDES_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(ctx.stream)), op);
  }
};

// Copies between redes' weight tensors (`tensors`, in the order of
// lstm_sequence_weight_count) and cuDNN's weight space: to the space when
// `pack`, from it otherwise. linLayerID 0-3 are the input matrices of gates
// i, f, g, o, 4-7 the recurrent ones; each gate is H rows of the PyTorch
// (4H, in) matrix and H entries of its bias.
void copy_weights(const LstmSequenceShape& s, const RnnSetup& setup, cudnnHandle_t handle, void* space,
                  const TensorArg* tensors, std::size_t element, bool pack, const ExecContext& ctx, const char* op) {
  cudnn::TensorDescriptor matrix(op), bias(op);
  const auto stream = static_cast<cudaStream_t>(ctx.stream);
  const std::int64_t per_layer = s.bias ? 4 : 2, hidden = s.hidden_size;
  for (std::int64_t layer = 0; layer < s.layers; ++layer) {
    const TensorArg* w = tensors + layer * per_layer;  // w_ih, w_hh[, b_ih, b_hh]
    for (int id = 0; id < 8; ++id) {
      void* matrix_address = nullptr;
      void* bias_address = nullptr;
      REDES_CUDNN_CHECK(
          cudnn::api().cudnnGetRNNWeightParams(handle, setup.rnn.get(), int32_t(layer), setup.weight_bytes, space, id,
                                               matrix.get(), &matrix_address, bias.get(), &bias_address),
          op);
      const bool recurrent = id >= 4;
      const std::int64_t gate = id % 4;
      const TensorArg& m = w[recurrent ? 1 : 0];
      const std::int64_t columns = m.sizes[1];
      const std::size_t matrix_bytes = static_cast<std::size_t>(hidden * columns) * element;
      char* matrix_tensor = static_cast<char*>(m.data) + static_cast<std::size_t>(gate * hidden * columns) * element;
      REDES_CUDA_CHECK(cudaMemcpyAsync(pack ? matrix_address : matrix_tensor, pack ? matrix_tensor : matrix_address,
                                       matrix_bytes, cudaMemcpyDeviceToDevice, stream),
                       op);
      if (!s.bias) continue;
      const TensorArg& b = w[recurrent ? 3 : 2];
      char* bias_tensor = static_cast<char*>(b.data) + static_cast<std::size_t>(gate * hidden) * element;
      REDES_CUDA_CHECK(cudaMemcpyAsync(pack ? bias_address : bias_tensor, pack ? bias_tensor : bias_address,
                                       static_cast<std::size_t>(hidden) * element, cudaMemcpyDeviceToDevice, stream),
                       op);
    }
  }
}

bool fits(const LstmSequenceShape& s) {
  for (std::int64_t v : {s.steps, s.batch, s.input_size, s.hidden_size, s.layers, s.steps * s.batch * s.input_size,
                         s.steps * s.batch * s.hidden_size, 4 * s.hidden_size * (s.input_size + s.hidden_size)}) {
    if (!cudnn::fits_int(v) || v < 1) return false;
  }
  return true;
}

bool supports_forward(const void* params, const TensorArg*, int nargs) {
  const auto& p = *static_cast<const LstmSequenceParams*>(params);
  return fits(p.shape) && nargs == 6 + lstm_sequence_weight_count(p.shape) && cudnn::usable();
}

bool supports_backward(const void* params, const TensorArg*, int nargs) {
  const auto& p = *static_cast<const LstmSequenceBackwardParams*>(params);
  return fits(p.shape) && nargs == 3 + 8 + 2 * lstm_sequence_weight_count(p.shape) && cudnn::usable();
}

// args: see LstmSequenceParams.
template <class T>
void forward(const LstmSequenceParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = LstmSequenceParams::op;
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  const cudnnHandle_t handle = cudnn::handle(ctx, op);
  const cudnnForwardMode_t mode = p.reserve != nullptr ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  const RnnSetup setup(p.shape, type, handle, mode, ctx, op);
  void* weights = ctx.workspace->request(setup.weight_bytes);
  copy_weights(p.shape, setup, handle, weights, args + 6, sizeof(T), true, ctx, op);
  void* work = setup.work_bytes > 0 ? ctx.workspace->request(setup.work_bytes) : nullptr;
  void* reserve = p.reserve != nullptr && setup.reserve_bytes > 0 ? p.reserve->request(setup.reserve_bytes) : nullptr;
  REDES_CUDNN_CHECK(
      cudnn::api().cudnnRNNForward(handle, setup.rnn.get(), mode, setup.device_lengths, setup.x.get(), args[3].data,
                                   setup.y.get(), args[0].data, setup.state.get(), args[4].data, args[1].data,
                                   setup.state.get(), args[5].data, args[2].data, setup.weight_bytes, weights,
                                   setup.work_bytes, work, p.reserve != nullptr ? setup.reserve_bytes : 0, reserve),
      op);
}

// args: see LstmSequenceBackwardParams.
template <class T>
void backward(const LstmSequenceBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = LstmSequenceBackwardParams::op;
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  const std::int64_t count = lstm_sequence_weight_count(p.shape);
  const TensorArg* grads = args + 3;
  const TensorArg* in = args + 3 + count;  // y, dy, dh_n, dc_n, x, h0, c0, reserve
  const TensorArg* weight_args = in + 8;
  const cudnnHandle_t handle = cudnn::handle(ctx, op);
  const RnnSetup setup(p.shape, type, handle, CUDNN_FWD_MODE_TRAINING, ctx, op);
  const auto reserve_bytes = static_cast<std::size_t>(in[7].numel());
  REDES_CHECK(reserve_bytes == setup.reserve_bytes, op, ": the reserve space from the forward call has ", reserve_bytes,
              " bytes, cuDNN expects ", setup.reserve_bytes);
  void* weights = ctx.workspace->request(setup.weight_bytes);
  copy_weights(p.shape, setup, handle, weights, weight_args, sizeof(T), true, ctx, op);
  void* work = setup.work_bytes > 0 ? ctx.workspace->request(setup.work_bytes) : nullptr;
  // Backward data first: it updates the reserve space backward weights reads.
  REDES_CUDNN_CHECK(cudnn::api().cudnnRNNBackwardData_v8(
                        handle, setup.rnn.get(), setup.device_lengths, setup.y.get(), in[0].data, in[1].data,
                        setup.x.get(), args[0].data, setup.state.get(), in[5].data, in[2].data, args[1].data,
                        setup.state.get(), in[6].data, in[3].data, args[2].data, setup.weight_bytes, weights,
                        setup.work_bytes, work, setup.reserve_bytes, in[7].data),
                    op);
  // CUDNN_WGRAD_MODE_ADD accumulates: start from zero.
  void* weight_grads = ctx.workspace->request(setup.weight_bytes);
  REDES_CUDA_CHECK(cudaMemsetAsync(weight_grads, 0, setup.weight_bytes, static_cast<cudaStream_t>(ctx.stream)), op);
  REDES_CUDNN_CHECK(cudnn::api().cudnnRNNBackwardWeights_v8(
                        handle, setup.rnn.get(), CUDNN_WGRAD_MODE_ADD, setup.device_lengths, setup.x.get(), in[4].data,
                        setup.state.get(), in[5].data, setup.y.get(), in[0].data, setup.weight_bytes, weight_grads,
                        setup.work_bytes, work, setup.reserve_bytes, in[7].data),
                    op);
  copy_weights(p.shape, setup, handle, weight_grads, grads, sizeof(T), false, ctx, op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<LstmSequenceParams, &forward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_forward));
  registry.add(
      make_kernel<LstmSequenceBackwardParams, &backward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_backward));
}

}  // namespace

void register_cudnn_lstm_sequence(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
}

}  // namespace redes
