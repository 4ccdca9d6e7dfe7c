// The LSTM cell front-end: the two gate projections through addmm, then the
// fused cell kernel. The cell returns h and c as views of one (N, 2H) result,
// so its single autograd node receives both gradients at once.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

// gates (N, 4H) pre-activations, c_prev (N, H) -> hc (N, 2H) with its backward.
Tensor fused_cell(const Tensor& gates, const Tensor& c_prev) {
  const char* op = "lstm_cell";
  const std::int64_t rows = c_prev.size(0), hidden = c_prev.size(1);
  const Tensor gates_dense = gates.contiguous(), c_dense = c_prev.contiguous();
  Tensor hc = empty({rows, 2 * hidden}, {gates.dtype(), gates.device()});
  Tensor activated = empty({rows, 4 * hidden}, {gates.dtype(), gates.device()});
  detail::launch(LstmCellParams{}, gates.device(), gates.dtype(),
                 {detail::kernel_arg(hc, op), detail::kernel_arg(activated, op), detail::kernel_arg(gates_dense, op),
                  detail::kernel_arg(c_dense, op)});
  if (needs_grad({&gates, &c_prev})) {
    record_op("lstm_cell", hc, {&gates, &c_prev}, {activated, c_dense, hc},
              [](const Tensor& g, const std::vector<Tensor>& saved) {
                const Tensor& c_saved = saved[1];
                Tensor d_gates = empty({c_saved.size(0), 4 * c_saved.size(1)}, {g.dtype(), g.device()});
                Tensor dc_prev = empty(c_saved.shape(), {g.dtype(), g.device()});
                const Tensor d_hc = g.contiguous();
                detail::launch(LstmCellBackwardParams{}, g.device(), g.dtype(),
                               {detail::kernel_arg(d_gates, "lstm_cell backward"),
                                detail::kernel_arg(dc_prev, "lstm_cell backward"),
                                detail::kernel_arg(d_hc, "lstm_cell backward"),
                                detail::kernel_arg(saved[0], "lstm_cell backward"),
                                detail::kernel_arg(c_saved, "lstm_cell backward"),
                                detail::kernel_arg(saved[2], "lstm_cell backward")});
                return std::vector<Tensor>{
                    once_differentiable("lstm_cell", d_gates, {&g, &saved[0], &saved[1], &saved[2]}),
                    once_differentiable("lstm_cell", dc_prev, {&g, &saved[0], &saved[1], &saved[2]})};
              });
  }
  return hc;
}

}  // namespace

LstmState lstm_cell_from_gates(const Tensor& gates, const Tensor& c_prev) {
  REDES_CHECK(gates.defined() && c_prev.defined(), "lstm_cell: undefined gates or cell state");
  detail::common_device("lstm_cell", {&gates, &c_prev});
  REDES_CHECK(c_prev.dim() == 2 && gates.dim() == 2 && gates.size(0) == c_prev.size(0) &&
                  gates.size(1) == 4 * c_prev.size(1),
              "lstm_cell: expected gates (N, 4H) and cell state (N, H), got ", shape_str(gates.shape()), " and ",
              shape_str(c_prev.shape()));
  REDES_CHECK(gates.dtype() == c_prev.dtype() && is_floating(gates.dtype()), "lstm_cell: expected floating gates "
              "and cell state of one dtype, got ", dtype_name(gates.dtype()), " and ", dtype_name(c_prev.dtype()));
  const Tensor hc = fused_cell(gates, c_prev);
  const std::int64_t hidden = c_prev.size(1);
  return {hc.narrow(1, 0, hidden), hc.narrow(1, hidden, hidden)};
}

LstmState lstm_cell(const Tensor& x, const LstmState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh) {
  REDES_CHECK(x.defined() && w_ih.defined() && w_hh.defined() && state.h.defined() && state.c.defined(),
              "lstm_cell: undefined input, state or weight");
  REDES_CHECK(x.dim() == 2 && w_ih.dim() == 2 && w_ih.size(1) == x.size(1), "lstm_cell: input ",
              shape_str(x.shape()), " does not match weight_ih ", shape_str(w_ih.shape()), " (expected (4H, ",
              x.dim() == 2 ? x.size(1) : -1, "))");
  REDES_CHECK(w_hh.dim() == 2 && w_hh.size(0) == w_ih.size(0) && w_hh.size(1) * 4 == w_hh.size(0),
              "lstm_cell: weight_hh ", shape_str(w_hh.shape()), " should be (4H, H) with 4H = ", w_ih.size(0));
  const Tensor from_input = b_ih.defined() ? addmm(b_ih, x, w_ih.t()) : matmul(x, w_ih.t());
  const Tensor from_hidden = b_hh.defined() ? addmm(b_hh, state.h, w_hh.t()) : matmul(state.h, w_hh.t());
  return lstm_cell_from_gates(from_input + from_hidden, state.c);
}

}  // namespace redes
