"""What a compiled program does per training step, read from its optimised HLO text.

XLA's GPU compiler gives no ``cost_analysis()``, so the work of a compiled grid step
is counted here from ``compiled.as_text()`` (the same counts serve every backend):

* **the step's loop**: the bodies of the ``while`` loops of the entry computation (a
  call's ``lax.scan`` over its steps), with every computation they reach (fusions,
  calls, nested loops, branches); one body run is one step. A program without such a
  loop (an unrolled call, an evaluation program) is counted whole.
* **collectives**: ``all-gather``, ``all-to-all`` and ``all-reduce`` ops (and their
  asynchronous ``-start`` halves) in those computations.
* **FLOPs**: 2 x multiply-adds of every convolution and matrix product: XLA's own
  ``convolution``/``dot`` ops and the cuDNN / cuBLAS custom calls they become on GPU,
  as 2 x (elements of the forward output) x (kernel window) x (input features per
  group), or 2 x (output elements) x (contracted size). A convolution over a
  zero-dilated input counts its zeros, and every convolution its padding's taps:
  this is the work the program executes (XLA's ``cost_analysis()`` counts the
  in-bounds taps only). Element-wise work is left out. Nested loops count once per
  trip (``known_trip_count``).
* **bytes**: every kernel of the step (each top-level instruction of those
  computations but parameters, tuples, bitcasts and constants) reads its operands
  and writes its result from device memory once: the sum of their sizes. Fusion
  keeps intermediates on chip, so this is the traffic of the fused program.

Synopsis::

  text = compiled.as_text()
  hlo.loop_collectives(text)          # 0 for a grid split over devices
  hlo.step_cost(text)                 # StepCost(flops=..., bytes=...)
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

COLLECTIVES = ("all-gather", "all-to-all", "all-reduce")
_DTYPE_BYTES = {
  "pred": 1,
  "s8": 1,
  "u8": 1,
  "s16": 2,
  "u16": 2,
  "f16": 2,
  "bf16": 2,
  "s32": 4,
  "u32": 4,
  "f32": 4,
  "s64": 8,
  "u64": 8,
  "f64": 8,
  "c64": 8,
  "c128": 16,
  "f8e4m3fn": 1,
  "f8e5m2": 1,
  "s4": 1,
  "u4": 1,
}
_HEADER = re.compile(r"^(ENTRY )?%?([\w.\-]+) \(.*\) -> .* \{$")
_INSTR = re.compile(r"^\s*(ROOT )?%?([\w.\-]+) = (.*?) ([\w\-]+)\((.*)$")
_ARRAY = re.compile(r"\b([a-z]+\d*(?:e\dm\d\w*)?)\[([\d,]*)\]")
_CALLS = re.compile(
  r"\b(?:calls|body|condition|to_apply|branch_computations|"
  r"true_computation|false_computation)=(\{[^}]*\}|%?[\w.\-]+)"
)
_FREE = {
  "parameter",
  "tuple",
  "get-tuple-element",
  "bitcast",
  "constant",
  "after-all",
  "partition-id",
  "replica-id",
  "opt-barrier",
}


@dataclasses.dataclass(frozen=True)
class Instruction:
  """One HLO instruction: its name, result type text, opcode and the rest."""

  name: str
  type: str
  opcode: str
  rest: str

  def operands(self) -> list[str]:
    """Names of the operands (up to the closing parenthesis of the call)."""
    depth, end = 1, 0
    for end, ch in enumerate(self.rest):
      depth += {"(": 1, ")": -1}.get(ch, 0)
      if depth == 0:
        break
    return re.findall(r"%([\w.\-]+)", self.rest[:end])

  def called(self, control: bool = False) -> list[str]:
    """Computations this instruction calls (fusion, reduction, loop body, branch,
    ...); with ``control``, only those whose instructions are kernels of their own
    (a loop's body and condition, a branch, a ``call``)."""
    if control and self.opcode not in ("while", "conditional", "call"):
      return []
    out = []
    for group in _CALLS.findall(self.rest):
      out += [n.strip().lstrip("%") for n in group.strip("{}").split(",") if n.strip()]
    return out

  def trip_count(self) -> int:
    """The known trip count of a ``while`` (1 when XLA does not know it)."""
    m = re.search(r'"known_trip_count":\{"n":"(\d+)"\}', self.rest)
    return int(m.group(1)) if m else 1


@dataclasses.dataclass(frozen=True)
class Module:
  """An HLO module's computations (name -> instructions) and its entry's name."""

  computations: dict[str, list[Instruction]]
  entry: str

  def shapes(self, computation: str) -> dict[str, str]:
    return {i.name: i.type for i in self.computations[computation]}


@dataclasses.dataclass(frozen=True)
class StepCost:
  """Work of one step: FLOPs and bytes to and from device memory (per device)."""

  flops: float
  bytes: float


def parse(text: str) -> Module:
  """Splits ``compiled.as_text()`` into computations of instructions."""
  comps: dict[str, list[Instruction]] = {}
  entry, current = "", None
  for line in text.splitlines():
    head = _HEADER.match(line)
    if head:
      current = head.group(2)
      comps[current] = []
      entry = current if head.group(1) else entry
      continue
    if current is None:
      continue
    if line.startswith("}"):
      current = None
      continue
    m = _INSTR.match(line)
    if m:
      comps[current].append(Instruction(m.group(2), m.group(3), m.group(4), m.group(5)))
  return Module(comps, entry)


def type_bytes(type_text: str) -> int:
  """Bytes of an HLO type (an array, or a tuple: the sum of its arrays)."""
  total = 0
  for dtype, dims in _ARRAY.findall(type_text):
    size = math.prod(int(d) for d in dims.split(",") if d)
    total += size * _DTYPE_BYTES.get(dtype, 4)
  return total


def _dims(type_text: str) -> list[int]:
  """The dimensions of the first array of a type."""
  m = _ARRAY.search(type_text)
  return [int(d) for d in m.group(2).split(",") if d] if m else []


def _step_roots(module: Module) -> list[tuple[str, int]]:
  """(computation, multiplicity): the bodies of the entry's loops, else the entry."""
  bodies = []
  for ins in module.computations[module.entry]:
    if ins.opcode == "while":
      m = re.search(r"body=%?([\w.\-]+)", ins.rest)
      bodies.append((m.group(1), 1))
  return bodies or [(module.entry, 1)]


def _reach(module: Module, roots, control: bool = False) -> dict[str, int]:
  """computation -> times one step runs it (loops nested in a body count their
  trips); with ``control``, only the computations whose instructions are kernels."""
  count: dict[str, int] = {}
  todo = list(roots)
  while todo:
    name, times = todo.pop()
    if name not in module.computations:
      continue
    count[name] = count.get(name, 0) + times
    for ins in module.computations[name]:
      trips = ins.trip_count() if ins.opcode == "while" else 1
      todo += [(c, times * trips) for c in ins.called(control)]
  return count


def loop_collectives(text: str) -> int:
  """All-gather / all-to-all / all-reduce ops in the step's loop (see module doc)."""
  module = parse(text)
  names = {n for n in _reach(module, _step_roots(module))}
  ops = {c for c in COLLECTIVES} | {c + "-start" for c in COLLECTIVES}
  return sum(ins.opcode in ops for n in names for ins in module.computations[n])


def _window(rest: str) -> int:
  m = re.search(r"window=\{size=([\dx]+)", rest)
  return math.prod(int(v) for v in m.group(1).split("x")) if m else 1


def _labels(rest: str) -> tuple[str, str, str] | None:
  m = re.search(r"dim_labels=(\w+)_(\w+)->(\w+)", rest)
  return (m.group(1), m.group(2), m.group(3)) if m else None


def _conv_flops(ins: Instruction, shapes: dict[str, str]) -> float:
  """2 x forward output x window x input features per group, for an XLA
  ``convolution`` or a cuDNN forward / backward-input / backward-filter call."""
  labels = _labels(ins.rest)
  ops = [shapes.get(o, "") for o in ins.operands()]
  if labels is None or len(ops) < 2:
    return 0.0
  kind = re.search(r'custom_call_target="__cudnn\$conv(\w*)"', ins.rest)
  kind = kind.group(1) if kind else "Forward"
  if kind == "BackwardFilter":
    out, kernel = _dims(ops[1]), _dims(ins.type)
  elif kind == "BackwardInput":
    out, kernel = _dims(ops[0]), _dims(ops[1])
  else:
    out, kernel = _dims(ins.type), _dims(ops[1])
  i_axis = labels[1].index("i")
  if not out or len(kernel) <= i_axis:
    return 0.0
  return 2.0 * math.prod(out) * _window(ins.rest) * kernel[i_axis]


def _dot_flops(ins: Instruction, shapes: dict[str, str]) -> float:
  """2 x output elements x contracted size, for ``dot`` or a cuBLAS gemm call."""
  ops = [shapes.get(o, "") for o in ins.operands()]
  if not ops:
    return 0.0
  lhs = _dims(ops[0])
  m = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", ins.rest)
  if m:
    axes = [int(a) for a in m.group(1).split(",") if a]
  else:
    m = re.search(r'"lhs_contracting_dimensions":\[([^\]]*)\]', ins.rest)
    axes = [int(a) for a in json.loads(f"[{m.group(1)}]")] if m else []
  contracted = math.prod(lhs[a] for a in axes if a < len(lhs))
  return 2.0 * math.prod(_dims(ins.type)) * contracted


def _flops(ins: Instruction, shapes: dict[str, str]) -> float:
  if ins.opcode == "convolution" or "__cudnn$conv" in ins.rest:
    return _conv_flops(ins, shapes)
  if ins.opcode == "dot" or "__cublas$gemm" in ins.rest or "__cublas$lt" in ins.rest:
    return _dot_flops(ins, shapes)
  return 0.0


def step_cost(text: str) -> StepCost:
  """FLOPs and bytes of one step of a compiled program (see the module docstring)."""
  module = parse(text)
  roots = _step_roots(module)
  flops = bytes_ = 0.0
  for name, times in _reach(module, roots).items():
    shapes = module.shapes(name)
    flops += times * sum(_flops(ins, shapes) for ins in module.computations[name])
  for name, times in _reach(module, roots, control=True).items():
    shapes = module.shapes(name)
    for ins in module.computations[name]:
      if ins.opcode in _FREE or ins.opcode in ("while", "call", "conditional"):
        continue
      moved = type_bytes(ins.type) + sum(
        type_bytes(shapes.get(o, "")) for o in ins.operands()
      )
      bytes_ += times * moved
  return StepCost(flops=flops, bytes=bytes_)
