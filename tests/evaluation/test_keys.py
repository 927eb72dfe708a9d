"""keys.ModelKey: one identity, spelt as the files spell it."""

from lbvae.evaluation import keys


def test_a_key_has_the_file_names_and_stems_of_the_files():
  key = keys.ModelKey.from_row(
    {"phase": 2, "beta": 16, "lambda": 4, "seed": 0, "mig": 0.5}
  )
  assert key == keys.ModelKey(2, 16.0, 4.0, 0)
  assert key.id == "p2_b16_l4_s0" and key.name() == "phase 2, β=16, λ=4, seed 0"
  assert key.as_row() == {"phase": 2, "beta": 16.0, "lambda": 4.0, "seed": 0}
  assert [type(v) for v in key.as_row().values()] == [int, float, float, int]
  assert keys.ModelKey.from_row(key.as_row()) == key
  one = keys.ModelKey(1, 0.5, 0.0, 3)
  assert one.id == "p1_b0.5_l0_s3" and one.name() == "phase 1, β=0.5, seed 3"


def test_keys_sort_as_the_tables_and_every_form_names_one_model():
  grid = [
    keys.ModelKey(p, b, lam, s)
    for p in (2, 1)
    for b in (8, 1)
    for lam in (4, 0)
    for s in (1, 0)
  ]
  assert sorted(grid) == sorted(
    grid, key=lambda k: (k.phase, k.strength, k.lam, k.seed)
  )
  assert sorted(grid)[0] == keys.ModelKey(1, 1, 0, 0)
  key = keys.ModelKey(2, 1.0, 4.0, 0)
  member = keys.PhaseMember(key, index=3)
  assert keys.key_of(key) is key and keys.key_of(member) is key
  assert keys.key_of(key.as_row()) == key and len({key, member.key}) == 1
