"""lbvae.accel.targets: what each target is, and the one line when its packages lack."""

import pytest

from lbvae import errors
from lbvae.accel import targets


def test_the_targets_the_command_offers():
  assert {"h100", "h200", "a100", "v5e", "v4", "v6e", "cpu"} <= set(targets.TARGETS)
  for t in targets.TARGETS.values():
    assert t.accel in ("cpu", "cuda12", "tpu")
    assert t.traced_for in ("gpu", "tpu")  # fake host devices: an accelerator's program
    if t.backend == "gpu":
      assert (targets.SPECS / t.spec).is_file()


def test_gpu_specs_name_their_source_and_state_the_device_memory():
  """Each spec file is XLA's, with the device memory the target plans with."""
  for t in targets.TARGETS.values():
    if t.backend == "gpu":
      text = (targets.SPECS / t.spec).read_text()
      assert "Source: github.com/openxla/xla" in text
      assert f"device_memory_size: {int(t.memory_bytes)}" in text
      proto = [line for line in text.splitlines() if not line.startswith("#")]
      assert not any("collective_memory_granularity" in line for line in proto)


def test_usable_memory_and_roofline():
  h100 = targets.TARGETS["h100"]
  assert h100.usable_memory == pytest.approx(0.75 * h100.memory_bytes)
  assert targets.TARGETS["v5e"].usable_memory == 16 * 2**30
  # 1 TFLOP and 1 GB: compute-bound on the H100 (2.0 ms vs 0.3 ms).
  assert h100.roofline_seconds(1e12, 1e9) == pytest.approx(1e12 / 494.7e12)
  assert h100.roofline_seconds(1e9, 1e12) == pytest.approx(1e12 / 3.35e12)
  assert targets.TARGETS["cpu"].roofline_seconds(1.0, 1.0) is None


@pytest.mark.parametrize("name,accel", [("h100", "cuda12"), ("v5e", "tpu")])
def test_missing_packages_are_one_line_naming_the_install(monkeypatch, name, accel):
  monkeypatch.setattr(targets, "_find", lambda module: None)
  with pytest.raises(errors.ConfigError) as e:
    targets.get(name)
  assert str(e.value).endswith(f"run: make install ACCEL={accel}")
  assert "\n" not in str(e.value)


def test_an_unknown_target_is_refused():
  with pytest.raises(
    errors.ConfigError, match="unknown --target 'h300'; choose one of"
  ):
    targets.get("h300")
