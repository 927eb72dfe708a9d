"""lbvae.accel.hlo: a step's FLOPs, bytes and collectives read from optimised HLO."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lbvae.accel import hlo

# A while loop whose body all-gathers, and an all-reduce outside it.
TEXT = """HloModule m

%add (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %s = f32[] add(%a, %b)
}

%body (p: (s32[], f32[8])) -> (s32[], f32[8]) {
  %p = (s32[], f32[8]) parameter(0)
  %i = s32[] get-tuple-element(%p), index=0
  %x = f32[8]{0} get-tuple-element(%p), index=1
  %g = f32[32]{0} all-gather(%x), dimensions={0}
  %y = f32[8]{0} slice(%g), slice={[0:8]}
  ROOT %t = (s32[], f32[8]) tuple(%i, %y)
}

%cond (p: (s32[], f32[8])) -> pred[] {
  %p = (s32[], f32[8]) parameter(0)
  %i = s32[] get-tuple-element(%p), index=0
  %n = s32[] constant(3)
  ROOT %lt = pred[] compare(%i, %n), direction=LT
}

ENTRY %main (x: f32[8]) -> f32[8] {
  %x = f32[8]{0} parameter(0)
  %r = f32[8]{0} all-reduce(%x), to_apply=%add
  %z = s32[] constant(0)
  %t = (s32[], f32[8]) tuple(%z, %r)
  %w = (s32[], f32[8]) while(%t), condition=%cond, body=%body, backend_config={"known_trip_count":{"n":"3"}}
  ROOT %o = f32[8]{0} get-tuple-element(%w), index=1
}
"""


def test_collectives_are_counted_inside_the_step_loop_only():
  assert hlo.loop_collectives(TEXT) == 1
  # One body run: the all-gather reads 8 floats and writes 32, the slice 32 and 8.
  assert hlo.step_cost(TEXT).bytes == 4 * (8 + 32 + 32 + 8)


def _compiled(fn, *shapes):
  return (
    jax.jit(fn).lower(*[jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]).compile()
  )


@pytest.mark.parametrize("groups", [1, 2])
def test_convolution_flops_are_twice_output_window_and_input_features(groups):
  """A 4x4 stride-2 convolution (the encoder's), as XLA:CPU compiles it: 2 x output
  elements x 16 taps x input features per group, the padding's taps included (what
  runs); XLA's cost analysis counts the in-bounds taps only: per axis, the 8 outputs
  see 3, 4, 4, 4, 4, 4, 4, 3 input rows."""
  b, h, i, o = 3, 16, 8, 6 * groups

  def conv(x, k):
    return lax.conv_general_dilated(
      x,
      k,
      (2, 2),
      ((1, 1), (1, 1)),
      dimension_numbers=("NHWC", "HWIO", "NHWC"),
      feature_group_count=groups,
    )

  compiled = _compiled(conv, (b, h, h, i), (4, 4, i // groups, o))
  expected = 2 * b * (h // 2) ** 2 * o * 16 * (i // groups)
  assert hlo.step_cost(compiled.as_text()).flops == expected
  in_bounds = 2 * b * o * (i // groups) * (3 + 4 * 6 + 3) ** 2
  assert compiled.cost_analysis()["flops"] == in_bounds


def test_matmul_flops_and_loop_trips():
  """A batched product inside a scan of 5: one body run is one step, and the bytes
  of the step are at least its operands and result."""

  def scanned(a, w):
    def body(c, _):
      return jnp.tanh(jnp.einsum("bij,bjk->bik", c, w)), None

    return lax.scan(body, a, None, length=5)[0]

  compiled = _compiled(scanned, (4, 8, 16), (4, 16, 16))
  cost = hlo.step_cost(compiled.as_text())
  assert cost.flops == 2 * 4 * 8 * 16 * 16
  assert cost.bytes >= 4 * (4 * 8 * 16 * 2 + 4 * 16 * 16)
  assert hlo.loop_collectives(compiled.as_text()) == 0


def test_type_bytes_of_arrays_and_tuples():
  assert hlo.type_bytes("f32[2,3]{1,0}") == 24
  assert hlo.type_bytes("(bf16[4], u8[10], pred[])") == 8 + 10 + 1
  np.testing.assert_equal(hlo.type_bytes("s32[]"), 4)


def test_a_loop_nested_in_the_step_counts_its_trips():
  """A step (scan of 5) that runs a product in a nested loop of 3 (as ``lax.map`` over
  members does): one step is 3 products. XLA names the inner loop's condition before
  its body, and both are followed."""

  def scanned(a, w):
    def step(c, _):
      def inner(i, c):
        return jnp.tanh(c @ w)

      return lax.fori_loop(0, 3, inner, c, unroll=False), None

    return lax.scan(step, a, None, length=5)[0]

  compiled = _compiled(scanned, (8, 16), (16, 16))
  text = compiled.as_text()
  assert text.count(" while(") >= 2
  assert hlo.step_cost(text).flops == 3 * 2 * 8 * 16 * 16
