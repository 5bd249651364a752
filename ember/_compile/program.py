"""A recording turned into two Python functions over arrays, and their replay.

``Program`` writes the tape's steps out as source, as ``torch.fx`` does: the forward is
one line per kernel (an op's ``forward`` on arrays, a random draw, an in-place write),
and the backward one call per node of the region, newest first, as the engine would run
them, with the engine's own rules written out: a gradient is brought to its input's
shape and dtype, gradients that meet are summed in arrival order, a node none of whose
outputs got a gradient is skipped. The pieces of a split hand their gradients to one array
(the same numbers as the sum of their paddings). Steps whose results nothing reads are
left out.

A replay runs the forward and puts one node in the autograd graph for the whole region,
``CompiledFunctionBackward`` (PyTorch's name), whose backward runs the written backward.
"""

from __future__ import annotations

import functools
import itertools
import linecache

from ember._backend import asarray, float_errors_off, float_errors_restore, ndarray, xp
from ember._compile import chains, fusion
from ember._compile.small import offer as offer_small
from ember._compile.tape import Slot, gradient_flow, receiver, slots_read
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.engine import (
    _accumulate_array,
    _backward_on_arrays,
    _conform_array,
    _replace_grad,
)
from ember.autograd.function import (
    BackwardNode,
    Function,
    _sequence,
    edge_of,
    grad_accumulator,
    keep_saved,
)
from ember.ops._function import OUTPUT, _Scratch
from ember.ops.shape.slices import Slice
from ember.optim.optimizer import Optimizer

_programs = itertools.count()
_ZERO_GRAD = Optimizer.zero_grad.__wrapped__  # what a compiled call records (``_tape``)
_SET, _MAYBE = "set", "maybe"  # what the writer knows of a gradient variable


class _ArrayContext:
    """The ctx of a replayed op: what its forward saves is kept as arrays.

    ``saved_arrays`` is a plain attribute here, not the node's property that checks each
    saved value's version: the recording already saw every in-place write, and copied a
    saved value before one (a snapshot step), so a replay has nothing to check.
    """

    saved_arrays = ()

    def save_for_backward(self, *arrays) -> None:
        self.saved_arrays = arrays


class _TensorContext:
    """The ctx of a replayed op whose backward is written with tensors only."""

    def save_for_backward(self, *arrays) -> None:
        self._saved_data = arrays
        self._saved = tuple(None if a is None else Tensor._make(asarray(a)) for a in arrays)


def _function_context(node_class, attributes):
    """``F<n>(*saved)``: a ctx for a custom ``Function``'s backward on a replay, made as
    ``Function.apply`` makes one: of its node class, with the attributes its forward gave
    the recorded ctx, and the replay's arrays as what it saved."""

    def context(*arrays):
        ctx = node_class()
        ctx.__dict__.update(attributes)
        keep_saved(ctx, [None if array is None else Tensor._make(array) for array in arrays])
        return ctx

    return context


def _tensor_backward(ctx, *grads):
    """A backward written with tensors (a custom ``Function``'s, a few ops') on a replay's
    arrays, as the engine runs it: under no_grad, zeros for outputs that got no gradient
    (unless ``set_materialize_grads(False)``), its results checked, one per argument of
    forward; arrays back."""
    with grad_mode.no_grad():
        results = _backward_on_arrays(ctx, grads)
    return tuple(r._data if isinstance(r, Tensor) else r for r in results)


def _literal(value) -> str | None:
    """Python source for a simple constant, or None when it needs a name."""
    if value is None or type(value) in (bool, int, str):
        return repr(value)
    if type(value) is float:
        text = repr(value)
        return text if text not in ("inf", "-inf", "nan") else f"float({text!r})"
    if type(value) in (tuple, list) and all(type(v) in (bool, int) or v is None for v in value):
        return repr(value)
    return None


def _describe(slot) -> str:
    return f"{tuple(slot.shape)} {_dtype_text(slot.dtype)}"


@functools.cache
def _dtype_text(dtype) -> str:
    """``str(dtype)``, once per dtype: NumPy writes it in Python each time."""
    return str(dtype)


class Program:
    """The forward and backward source of one recording, compiled with ``exec``."""

    def __init__(self, tape, outputs, small=False):
        self.number = next(_programs)
        self.outputs = outputs  # per region output: its Slot
        self.sources = [s for s in tape.slots if s.kind in ("input", "captured")]
        self.steps = _live_steps(tape.steps, outputs)
        # optimizer.zero_grad() calls folded into the backward() after them: step number ->
        # optimizer, and backward step number -> the slots whose first accumulation replaces
        self.zero_grads, self.replaced = _folded_zero_grads(self.steps, self.sources)
        read = {s.index for s in outputs} | {s.index for step in self.steps
                                             for s in slots_read(step)}
        self.constants = [s for s in tape.slots if s.kind == "constant" and s.index in read]
        self.namespace = {"xp": xp, "asarray": asarray, "copyto": xp.copyto, "arrive": _arrive,
                          "pieces": _pieces_gradient,
                          "scratch": _Scratch(),
                          "zeros": xp.zeros, "tensor_backward": _tensor_backward,
                          # the same, named for a custom Function in the printed program
                          "function_backward": _tensor_backward}
        for slot in self.constants:
            self.namespace[slot.name] = slot.tensor._data
        # A region that ran backward() itself hands out no graph: its outputs are constants.
        inline = any(step.kind == "backward" for step in self.steps)
        self.grad_outputs = [] if inline else [
            s for s in dict.fromkeys(outputs) if s.kind == "step" and s.requires_grad]
        self.lowered = {}  # step number -> its Lowered form, for the steps that have one
        # softmax step number -> the Chain of scale, mask and softmax written as one step
        self.chains = chains.find(self.steps, outputs, self._lower)
        self.folded = {n: c.softmax for c in self.chains.values() for n in c.folded}
        self.contexts = []  # what the forward hands its separate backward, by name
        self.small_mode = small
        self.results = set()  # names that hold a written backward's results a while
        self.rewritten = set()  # slots that hold a captured tensor after an in-place write
        self.forward_source = self._write_forward()
        self.flows = gradient_flow(self.steps, self.grad_outputs)
        self.grad_sources = [s for s in self.sources if s.index in self.flows]
        self.backward_source = self._write_backward() if self.grad_outputs else ""
        self.forward = self._compile(self.forward_source, "forward")
        # mode="reduce-overhead": the forward through one numba function (small.py), its
        # source and, once compiled, the function
        self.small_source, self.small = "", None
        if small:
            offer_small(self)
        self.backward = self._compile(self.backward_source, "backward") \
            if self.backward_source else None
        self.node_class = type("CompiledFunctionBackward", (BackwardNode,), {
            "_forward_cls": CompiledRegion,
            "_backward_arrays": staticmethod(self.backward) if self.backward else None,
            "_num_args": len(self.grad_sources),
            "_output_meta": tuple((s.shape, s.dtype) for s in self.grad_outputs),
            "program": self,
        })

    # ------------------------------------------------------------ writing the source
    def _write_forward(self) -> str:
        parameters = ", ".join(s.name for s in self.sources)
        lines = [f"def forward(inputs, {parameters}):"]
        if self.constants:
            lines.append("    # constants: " + ", ".join(
                f"{s.name} {_describe(s)}" for s in self.constants))
        contexts = self.contexts
        for number, step in enumerate(self.steps):
            lines += self._forward_lines(number, step, contexts)
        returned = "".join(f"{s.name}, " for s in self.outputs)
        lines.append(f"    return ({returned}), ({''.join(c + ', ' for c in contexts)})")
        return "\n".join(lines) + "\n"

    def _forward_lines(self, number, step, contexts) -> list:
        if step.kind != "op":
            return self._step_lines(number, step)
        if number in self.folded:
            return [f"    # {step.name}: in the softmax chain of step {self.folded[number]}"]
        if number in self.chains:
            return self._chain_forward_lines(number, step, contexts)
        lowered = self._lower(number, step)
        if lowered is not None:
            return self._lowered_forward_lines(number, step, lowered, contexts)
        return self._op_lines(number, step, contexts)

    def _step_lines(self, number, step) -> list:
        """The lines of a step that is not an op: a call replayed whole, ``backward()``, a
        random draw, a copy before an in-place write, the write."""
        outputs = ", ".join(s.name for s in step.outputs)
        shapes = "; ".join(_describe(s) for s in step.outputs)
        if step.kind == "call" and number in self.zero_grads:
            return ["    # Optimizer.zero_grad(): folded into the accumulations (replace_grad)"]
        if step.kind == "call":
            self.namespace[f"call{number}"] = step.op
            comment = f"  # {step.op.func.__qualname__}, replayed whole"
            fused = fusion.offer(self.namespace, f"call{number}", step)
            if fused:
                comment += f" ({fused})"
            if step.outputs:
                return [f"    {outputs} = call{number}()._data{comment}"]
            return [f"    call{number}(){comment}"]
        if step.kind == "backward":
            return self._inline_backward(number, step)
        if step.kind == "function":
            return self._function_lines(number, step)
        if step.kind == "draw":
            self.namespace[f"draw{number}"] = step.op
            arguments = ", ".join(slot.name for slot in step.args)
            return [f"    {outputs} = draw{number}({arguments})  # random draw: {shapes}"]
        if step.kind == "snapshot":
            (source,) = step.args
            return [f"    {outputs} = {source.name}.copy()  # before an in-place write"]
        if step.kind == "clear":
            (leaf,) = step.args
            return [f"    {self._leaf(leaf)}._grad = None  # .grad = None"]
        if step.kind == "grad":
            (leaf,) = step.args
            return [f"    {outputs} = {self._leaf(leaf)}._grad._data  # its .grad: {shapes}"]
        if step.kind == "write":
            target, value = step.args
            written = target.name
            lines = []
            if target.kind == "constant":  # the program's own array stays as it is
                written = outputs
                lines.append(f"    {outputs} = {target.name}.copy()  # a constant, written")
            lines += [f"    copyto({written}, {value.name}, casting='unsafe')  # in-place "
                      f"write: {_describe(target)}"]
            if target.kind != "constant":
                lines.append(f"    {outputs} = {target.name}")
            if target.kind == "captured" or target.index in self.rewritten:
                # the tensor's own counter, at each write (``b.mul_(0.9).add_(x)``: two)
                self.rewritten.add(step.outputs[0].index)
                self.namespace[f"version{number}"] = step.op
                lines.append(f"    version{number}[0] += 1")
            return lines
        raise AssertionError(f"a step of kind {step.kind!r}")

    def _function_lines(self, number, step) -> list:
        """``c<n> = F<n>(saved)``: the ctx of a custom ``Function`` whose forward's ops the
        lines before ran, for its own ``backward`` (``_function_context``)."""
        call = step.op
        self.namespace[f"F{number}"] = _function_context(step.node, call.attributes)
        self.contexts.append(f"c{number}")
        saved = ", ".join("None" if slot is None else slot.name for slot in call.saved)
        made = ", ".join(slot.name for slot in step.outputs)
        return [f"    c{number} = F{number}({saved})  # {step.name}, a custom autograd.Function:"
                f" the ctx of its backward, for {made}  <- {_short(step.where)}"]

    def _op_lines(self, number, step, contexts) -> list:
        """``<Op>_<n>(ctx, args)``: an op's own forward, with a ctx where it has a backward."""
        outputs = ", ".join(s.name for s in step.outputs)
        shapes = "; ".join(_describe(s) for s in step.outputs)
        kernel = f"{step.op.__name__}_{number}"
        self.namespace[kernel] = step.op.forward
        fused = fusion.offer(self.namespace, kernel, step)
        context, lines = self._context(number, step, contexts)
        arguments = [context] + [self._argument(a, number, i) for i, a in enumerate(step.args)]
        call = f"{kernel}({', '.join(arguments)})"
        where = f"{shapes}  <- {_short(step.where)}" + (f"  ({fused})" if fused else "")
        if len(step.outputs) == 1 and not step.as_array[0]:
            lines.append(f"    {outputs} = {call}  # {where}")
        elif len(step.outputs) == 1:
            lines.append(f"    {outputs} = asarray({call})  # {where}")
        else:
            lines.append(f"    {outputs}, = {call}  # {where}")
            for slot, wrap in zip(step.outputs, step.as_array):
                if wrap:
                    lines.append(f"    {slot.name} = asarray({slot.name})")
        for index, array in enumerate(step.handed):
            self.namespace[f"version{number}_{index}"] = self.owner_of(array)._version_counter
            lines.append(f"    version{number}_{index}[0] += 1  # the op wrote a buffer")
        return lines

    def _context(self, number, step, contexts) -> tuple:
        """(the ctx a whole step's forward gets, the line that makes it): a new ``cN`` of
        its node's class where it has a backward, handed on by name; else ``scratch``."""
        if step.node is None:
            return "scratch", []
        context = f"c{number}"
        contexts.append(context)
        self.namespace[f"C{number}"] = _context_class(step)
        return context, [f"    {context} = C{number}()"]

    def _chain_forward_lines(self, number, step, contexts) -> list:
        """``Chain_<n>(ctx, x, mask)``: a softmax with the masked_fill (and scale) before it,
        as one step (``chains.py``)."""
        chain, (output,) = self.chains[number], step.outputs
        kernel = f"Chain_{number}"
        self.namespace[kernel] = chain.forward
        fused = fusion.offer(self.namespace, kernel, chain)
        context, lines = self._context(number, step, contexts)
        folded = " and ".join(self.steps[n].name for n in chain.folded)
        lines.append(f"    {output.name} = {kernel}({context}, {chain.source.name}, "
                     f"{chain.mask.name})  # {_describe(output)}: Softmax after {folded}  "
                     f"<- {_short(step.where)}" + (f"  ({fused})" if fused else ""))
        return lines

    def _lower(self, number, step):
        """The op's lowered form (``Op.lower``) where it has one for these arguments."""
        if step.kind != "op" or len(step.outputs) != 1 or step.handed:
            return None
        needs = step.needs or (False,) * len(step.args)
        lowered = step.op.lower(needs, step.outputs[0], *step.args)
        if lowered is None or any(type(saved) is int and not isinstance(step.args[saved], Slot)
                                  for saved in lowered.saves):
            return None
        self.lowered[number] = lowered
        return lowered

    def _lowered_forward_lines(self, number, step, lowered, contexts) -> list:
        """``<Op>_<n>(args)``: the op's arithmetic alone; what its backward takes is kept by
        name (a context of the region when the backward is a function of its own)."""
        (output,) = step.outputs
        kernel = f"{step.op.__name__}_{number}"
        self.namespace[kernel] = lowered.forward
        fused = fusion.offer(self.namespace, kernel, step, role="lowered forward")
        arguments = [self._argument(a, number, i) for i, a in enumerate(step.args)]
        where = f"{_describe(output)}  <- {_short(step.where)}"
        written = self._written(lowered.written_forward, fused, output.name, *arguments)
        if written and not lowered.kept:  # the kernels themselves, in the program's lines
            del self.namespace[kernel]
            lines = [f"    {written[0]}  # {step.name}: {where}"] + \
                [f"    {line}" for line in written[1:]]
            if step.as_array[0]:
                lines.append(f"    {output.name} = asarray({output.name})")
            self._saved_contexts(number, step, contexts)
            return lines
        call = f"{kernel}({', '.join(arguments)})"
        targets, wrap = output.name, step.as_array[0]
        if lowered.kept and step.node is not None:  # the values its backward reuses
            targets = ", ".join([output.name] + _kept_names(number, lowered))
        elif lowered.kept:
            call = f"{call}[0]"
        if wrap and not lowered.kept:
            call, wrap = f"asarray({call})", False
        comment = f"  # {where}" + (f"  ({fused})" if fused else "")
        lines = [f"    {targets} = {call}{comment}"]
        if wrap:
            lines.append(f"    {output.name} = asarray({output.name})")
        self._saved_contexts(number, step, contexts)
        return lines

    def _written(self, writer, fused, *names) -> list | None:
        """A lowered step's lines as its op writes them (``Lowered.written_forward`` or
        ``written_backward``), or None where it is called instead: the op writes none for
        these arguments, a fused kernel binds its name, or ``mode="reduce-overhead"`` reads
        the lines (``small.py`` knows the calls)."""
        if writer is None or fused or self.small_mode:
            return None
        return writer(*names)

    def _saved_contexts(self, number, step, contexts) -> None:
        """What a lowered step's backward takes, handed to a separate backward by name."""
        if step.node is not None:
            for name in self._saved_names(number, step):
                if name != "None" and name not in contexts:
                    contexts.append(name)

    def _saved_names(self, number, step) -> list:
        """The names of what a lowered step's backward takes after the gradient."""
        names = []
        for saved in self.lowered[number].saves:
            if saved is None:
                names.append("None")
            elif saved == OUTPUT:
                names.append(step.outputs[0].name)
            else:
                names.append(step.args[saved].name)
        return names + _kept_names(number, self.lowered[number])

    def owner_of(self, array):
        """The captured tensor whose storage ``array`` is (a buffer an op writes)."""
        return next(s.tensor for s in self.sources if s.kind == "captured"
                    and s.tensor._data is array)

    def _argument(self, value, number, position) -> str:
        if isinstance(value, Slot):
            return value.name
        text = _literal(value)
        if text is None:
            text = f"k{number}_{position}"
            self.namespace[text] = value
        return text

    def _write_backward(self) -> str:
        outputs = [f"grad{i}" for i in range(len(self.grad_outputs))]
        lines = [f"def backward(node, {', '.join(outputs)}):"]
        if self.contexts:
            lines.append(f"    {''.join(c + ', ' for c in self.contexts)}= node.contexts")
        seeds = list(zip(self.grad_outputs, outputs))
        # the engine may pass None for an output that got no gradient
        lines += self._gradient_lines(seeds, len(self.steps), self.flows, seeded=_MAYBE)
        returned = "".join(f"g{s.index}, " for s in self.grad_sources)
        lines.append(f"    return ({returned})")
        return "\n".join(lines) + "\n"

    def _inline_backward(self, number, step) -> list:
        """``backward()`` inside the region: the gradient program over the steps before it,
        then each leaf's ``.grad`` accumulated as the engine does."""
        seeds = []
        for root, seed in step.args:
            if seed is None:  # a copy of a ones array made once: cheaper than ``ones`` anew
                self.namespace[f"ones{root.index}"] = xp.ones(root.shape, root.dtype)
                seeds.append((root, f"ones{root.index}.copy()"))
            else:
                seeds.append((root, seed.name))
        flows = gradient_flow(self.steps[:number], [root for root, _ in step.args])
        lines = [f"    # backward() of {', '.join(root.name for root, _ in step.args)}"]
        lines += self._gradient_lines(seeds, number, flows)
        self.namespace["accumulate"] = _accumulate_array
        # As the engine: leaves last, newest accumulator first, once nothing else holds
        # the gradients, so that a ``.grad`` takes over an array only it would hold.
        lines.append(f"    {' = '.join(['r', *sorted(self.results)])} = None")
        leaves = [s for s in self.sources if s.index in flows]
        leaves.sort(key=lambda s: -grad_accumulator(s.tensor)._sequence_nr)
        for slot in leaves:
            leaf = self._leaf(slot)
            if slot.index not in self.replaced.get(number, ()):
                lines.append(f"    accumulate({leaf}, g{slot.index}, 1)")
            elif slot.kind != "input" and type(slot.tensor).grad is Tensor.grad:
                self.namespace["replace_grad"] = _replace_grad
                lines.append(f"    replace_grad({leaf}, g{slot.index}, 1)")
            else:
                lines.append(f"    accumulate({leaf}, g{slot.index}, 1, replace=True)")
            lines.append(f"    g{slot.index} = None")
        return lines

    def _leaf(self, slot) -> str:
        """How the program names a leaf: the argument of this call, or a captured tensor."""
        if slot.kind == "input":
            return f"inputs[{self.sources.index(slot)}]"
        self.namespace[f"leaf{slot.index}"] = slot.tensor
        return f"leaf{slot.index}"

    def _gradient_lines(self, seeds, upto, flows, seeded=_SET) -> list:
        """The engine's walk over steps ``[0, upto)``, newest first, from ``seeds`` (slot,
        expression) pairs: what reaches slot ``i`` is summed in ``g{i}``.

        ``known`` follows what the writer can tell of each ``g{i}`` as the walk goes: set
        for sure (a seed, or a lowered step's gradient on a path that surely ran), maybe
        set, or still None (absent). A lowered step whose gradient is surely set runs
        without a test, and what it hands on is assigned or added without ``arrive``.
        """
        lines = [f"    {' = '.join(f'g{i}' for i in sorted(flows))} = None"]
        known = {}
        for slot, expression in seeds:
            target = f"g{slot.index}"
            if slot.index in known:
                lines.append(f"    {target} = {target} + {expression}")
            else:
                lines.append(f"    {target} = {expression}")
            known[slot.index] = seeded
        splits = _splits(self.steps[:upto], flows)  # step number -> its split's steps
        merged = set()  # the step numbers a merged split took care of
        for number in range(upto - 1, -1, -1):
            step = self.steps[number]
            if number in merged or number in self.folded or \
                    not any(s.index in flows for s in step.outputs):
                continue
            if number in self.chains and step.node is not None:
                lines += self._chain_backward_lines(number, step, flows)
                _arrived(known, self.chains[number].source, _MAYBE)
            elif number in splits and known.get(step.args[0].index) is None:
                lines += self._split_backward_lines(splits[number], known)
                merged.update(splits[number])
            elif step.kind in ("write", "snapshot"):
                lines += self._write_backward_lines(step)
                _arrived(known, receiver(step), _MAYBE)
            elif number in self.lowered and step.node is not None:
                lines += self._lowered_backward_lines(number, step, flows, known)
            elif step.node is not None:
                lines += self._backward_lines(number, step, flows)
                for arg, need in zip(step.args, step.needs):
                    if need and isinstance(arg, Slot) and arg.index in flows:
                        _arrived(known, arg, _MAYBE)
        return lines

    def _chain_backward_lines(self, number, step, flows) -> list:
        """A softmax chain's backward in one step: the gradient of its input."""
        chain, (output,) = self.chains[number], step.outputs
        if chain.source.index not in flows:
            return []
        kernel = f"ChainB{number}"
        self.namespace[kernel] = chain.backward
        fusion.offer(self.namespace, kernel, chain, role="backward")
        return [f"    if g{output.index} is not None:  # {step.name} and its chain"] + \
            self._arrival(f"{kernel}(c{number}, g{output.index})", chain.source, "None", 0)

    def _split_backward_lines(self, numbers, known) -> list:
        """The gradient of a tensor split into pieces (``split``, ``chunk``: ``Slice`` steps
        of one source along one dim, none overlapping) from its pieces' gradients, in one
        zeroed array, rather than one per piece summed by ``arrive``."""
        steps = [self.steps[n] for n in sorted(numbers, reverse=True)]  # arrival order
        source, dim = steps[0].args[:2]
        pieces = ", ".join(f"({start}, {stop}, g{step.outputs[0].index})"
                           for step in steps for _, _, start, stop in [step.args])
        dtype = _dtype_name(self, source.dtype)
        states = [known.get(step.outputs[0].index) for step in steps]
        _arrived(known, source, _SET if _SET in states else _MAYBE)
        return [f"    g{source.index} = pieces({source.shape!r}, {dtype}, {dim}, {pieces})"
                f"  # Slice x{len(steps)}: the pieces of a split"]

    def _lowered_backward_lines(self, number, step, flows, known) -> list:
        (output,) = step.outputs
        state = known.get(output.index)
        if state is None:
            return []  # nothing reaches it
        indent = "    " if state is _SET else "        "
        lines = [] if state is _SET else [f"    if g{output.index} is not None:  # {step.name}"]
        lowered = self.lowered[number]
        self.namespace[f"B{number}"] = lowered.backward
        fused = fusion.offer(self.namespace, f"B{number}", step, role="lowered backward")
        saved = self._saved_names(number, step)
        call = f"B{number}({', '.join([f'g{output.index}'] + saved)})"
        wanted = [(position, arg) for position, (arg, need) in enumerate(zip(step.args, step.needs))
                  if need and isinstance(arg, Slot) and arg.index in flows]
        # a gradient that is the first and only one to reach its argument is written
        # straight into that ``g<i>``; any other into ``r<position>``, then summed
        indices = [arg.index for _, arg in wanted]
        names = [None] * len(step.args)
        for position, arg in wanted:
            alone = state is _SET and position not in lowered.broadcast and \
                known.get(arg.index) is None and indices.count(arg.index) == 1
            names[position] = f"g{arg.index}" if alone else f"r{position}"
        written = self._written(lowered.written_backward, fused, names, f"g{output.index}",
                                *saved)
        if written:
            del self.namespace[f"B{number}"]
            named = f"  # {step.name}" if state is _SET else ""
            lines += [f"{indent}{written[0]}{named}"] + [f"{indent}{line}" for line in written[1:]]
            results = {position: names[position] for position, _ in wanted}
            self.results.update(name for name in results.values() if name.startswith("r"))
            comment = ""
        elif len(wanted) == 1:
            (position, _), = wanted
            results = {position: f"{call}[{position}]"}
            comment = f"  # {step.name}" if state is _SET else ""
        else:
            lines.append(f"{indent}r = {call}" + (f"  # {step.name}" if state is _SET else ""))
            results = {position: f"r[{position}]" for position, _ in wanted}
            comment = ""
        broadcast = lowered.broadcast
        for position, arg in wanted:
            target, value = f"g{arg.index}", results[position]
            before = known.get(arg.index)
            if value == target:  # written there
                pass
            elif before is _SET and position not in broadcast:
                lines.append(f"{indent}{target} = {target} + {value}{comment}")
            elif before is None and state is _SET and position not in broadcast:
                lines.append(f"{indent}{target} = {value}{comment}")
            else:  # it may hold a gradient yet, or this one is to be summed to a
                # broadcast argument's shape: the engine's rule decides
                dtype = _dtype_name(self, arg.dtype)
                lines.append(f"{indent}{target} = arrive({target}, {value}, {arg.shape!r}, "
                             f"{dtype}, None, {position}){comment}")
            comment = ""
            _arrived(known, arg, state)
        return lines

    def _backward_lines(self, number, step, flows) -> list:
        grads = [f"g{s.index}" if s.index in flows else "None" for s in step.outputs]
        arrived = [g for g in grads if g != "None"]
        lines = [f"    if {' is not None or '.join(arrived)} is not None:  # {step.name}"]
        if step.kind == "function":  # as the engine runs it, zeros for missing gradients too
            lines.append(f"        r = function_backward(c{number}, {', '.join(grads)})")
        else:
            lines += self._op_backward_lines(number, step, grads)
        for position, (arg, need) in enumerate(zip(step.args, step.needs)):
            if need and isinstance(arg, Slot) and arg.index in flows:
                lines += self._arrival(f"r[{position}]", arg, f"c{number}", position)
        return lines

    def _op_backward_lines(self, number, step, grads) -> list:
        """``r = `` an op's backward on its outputs' gradients (``grads``, names or None)."""
        lines = []
        if len(grads) > 1:  # the engine's zeros for outputs that got no gradient
            for slot, grad in zip(step.outputs, grads):
                if grad == "None":
                    continue
                lines.append(f"        if {grad} is None: {grad} = zeros({slot.shape!r}, "
                             f"{_dtype_name(self, slot.dtype)})")
            grads = [g if g != "None" else
                     f"zeros({s.shape!r}, {_dtype_name(self, s.dtype)})"
                     for g, s in zip(grads, step.outputs)]
        backward = step.node._backward_arrays
        if backward is None:
            return lines + [f"        r = tensor_backward(c{number}, {', '.join(grads)})"]
        self.namespace[f"B{number}"] = backward
        fusion.offer(self.namespace, f"B{number}", step, role="backward")
        return lines + [f"        r = B{number}(c{number}, {', '.join(grads)})"]

    def _write_backward_lines(self, step) -> list:
        """An in-place write passes its gradient on to the value written (under no_grad, to
        the target as it was); a copy, to its source (``receiver``)."""
        written = step.outputs[0]
        return [f"    if g{written.index} is not None:  # {step.kind}"] + self._arrival(
            f"g{written.index}", receiver(step), "None", 0)

    def _arrival(self, grad, slot, node, position) -> list:
        """A gradient reaching ``slot``: brought to its shape and dtype, then summed."""
        dtype = _dtype_name(self, slot.dtype)
        target = f"g{slot.index}"
        return [f"        {target} = arrive({target}, {grad}, {slot.shape!r}, {dtype}, {node}, "
                f"{position})"]

    def _compile(self, source, name):
        filename = f"<ember.compile program {self.number} {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace[name]

    @property
    def code(self) -> str:
        return "\n".join(s for s in (self.forward_source, self.backward_source,
                                      self.small_source) if s)

    # ------------------------------------------------------------ replay
    def run(self, sources):
        """The forward on the sources (tensors; the program reads their arrays): the output
        arrays and the replayed contexts."""
        token = float_errors_off()
        try:
            return self.forward(sources, *[t._data for t in sources])
        finally:
            float_errors_restore(token)

    def connect(self, outputs, contexts, source_tensors) -> None:
        """Make one ``CompiledFunctionBackward`` node the creator of the outputs that
        carry a gradient, linked to the sources that receive one."""
        node = self.node_class()
        node.contexts = contexts
        node.sources = source_tensors
        meta = []
        for position, slot in enumerate(self.grad_sources):
            tensor = source_tensors[self.sources.index(slot)]
            next_node, output_nr = edge_of(tensor) if tensor._requires_grad else (None, 0)
            data = tensor._data
            meta.append((position, data.shape, data.dtype, next_node, output_nr))
        node._input_meta = tuple(meta)
        node.needs_input_grad = tuple(m[3] is not None for m in meta)
        node._sequence_nr = next(_sequence)
        for tensor, slot in zip(outputs, self.outputs):
            if slot in self.grad_outputs and tensor.grad_fn is None:
                tensor._requires_grad, tensor.grad_fn = True, node
                tensor._output_nr = self.grad_outputs.index(slot)

    def run_on_tensors(self, sources):
        """The program again with ember's ops on tensors, recording a graph (double backward)."""
        values = {slot.index: tensor for slot, tensor in zip(self.sources, sources)}
        for slot in self.constants:
            values[slot.index] = slot.tensor
        for step in self.steps:
            if step.kind == "draw":
                raise RuntimeError(
                    "ember.compile: a double backward (create_graph=True) through a compiled "
                    "region that draws random numbers is not supported; run it uncompiled"
                )
            if step.kind == "write" and step.needs[0]:  # under no_grad, as eagerly
                target, value = values[step.args[0].index], values[step.args[1].index]
                if target.grad_fn is None:
                    target = value.detach()
                else:  # the target keeps its graph and takes the value's numbers
                    with grad_mode.no_grad():
                        target.copy_(value)
                values[step.outputs[0].index] = target
                continue
            if step.kind in ("write", "snapshot"):
                values[step.outputs[0].index] = values[step.args[-1].index]
                continue
            if step.kind == "clear":  # the forward cleared it already
                continue
            # an argument that took no gradient when recorded (one detached, one the op
            # got under no_grad) takes none here either
            needs = itertools.chain(step.needs, itertools.repeat(False))
            args = [(values[a.index] if need else values[a.index].detach())
                    if isinstance(a, Slot) else a for a, need in zip(step.args, needs)]
            # a custom Function anew, over the results (without a graph) of its forward's ops
            results = (step.op.function if step.kind == "function" else step.op).apply(*args)
            results = results if type(results) is tuple else (results,)
            for slot, tensor in zip(step.outputs, results):
                values[slot.index] = tensor
        return [values[slot.index] for slot in self.grad_outputs]


class CompiledRegion(Function):
    """The region's ``Function`` (its node is ``CompiledFunctionBackward``, PyTorch's name):
    its tensor backward serves ``create_graph=True``."""

    @staticmethod
    def backward(ctx, *grads):
        from ember.autograd._differentiate import grad  # the package runs the engine

        program = ctx.program
        sources = ctx.sources
        wanted = [sources[program.sources.index(slot)] for slot in program.grad_sources]
        with grad_mode.enable_grad():
            outputs = program.run_on_tensors(sources)
            found = grad(outputs, wanted, grads, create_graph=True, allow_unused=True)
        return tuple(found)


def _arrived(known, slot, state) -> None:
    """A gradient reached ``slot`` in a block that ran for sure (``_SET``) or maybe."""
    if known.get(slot.index) is not _SET:
        known[slot.index] = _SET if state is _SET else _MAYBE


def _arrive(total, grad, shape, dtype, node, position):
    """The engine's handling of one gradient reaching an input: brought to the input's
    shape and dtype (``_conform_array``), then added to what reached it before."""
    if grad is None:
        return total
    if type(grad) is not ndarray or grad.shape != shape or grad.dtype != dtype:
        grad = _conform_array(grad, shape, dtype, node, position)
    return grad if total is None else total + grad


def _pieces_gradient(shape, dtype, dim, *pieces):
    """The gradient of a split tensor from ``(start, stop, gradient)`` of its pieces along
    ``dim``, in the order they arrive (a gradient may be None), as the engine sums each
    piece's ``Slice`` gradient (the piece's gradient padded with zeros): one piece alone is
    its padding; two or more are added onto zeros, where a -0 turns +0, as when paddings
    are summed. Pieces that tile the whole dim are joined, then have 0 added."""
    arrived = sorted((start, stop, grad) for start, stop, grad in pieces if grad is not None)
    if len(arrived) >= 2 and arrived[0][0] == 0 and arrived[-1][1] == shape[dim] and all(
            a[1] == b[0] for a, b in zip(arrived, arrived[1:])):
        total = xp.concatenate([grad for _, _, grad in arrived], axis=dim)
        total += 0
        return total
    if not arrived:
        return None
    total = xp.zeros(shape, dtype)
    lead = (slice(None),) * dim
    if len(arrived) == 1:
        (start, stop, grad), = arrived
        total[lead + (slice(start, stop),)] = grad
        return total
    for start, stop, grad in arrived:
        total[lead + (slice(start, stop),)] += grad
    return total


def _splits(steps, flows) -> dict:
    """Step number -> the numbers of the consecutive ``Slice`` steps it is one of, for the
    pieces of one source along one dim, none overlapping, two or more of them reached by
    the gradient (``split``, ``chunk``)."""
    groups, run = {}, []
    for number, step in enumerate(steps + [None]):
        if run and step is not None and _piece_of(step, run[0][1]):
            run.append((number, step))
            continue
        reached = [n for n, s in run if s.outputs[0].index in flows]
        ranges = sorted((s.args[2], s.args[3]) for n, s in run if n in reached)
        if len(reached) >= 2 and all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:])) \
                and run[0][1].args[0].index in flows:
            for n in reached:
                groups[n] = reached
        run = [(number, step)] if step is not None and _piece_of(step, None) else []
    return groups


def _piece_of(step, first) -> bool:
    """Whether ``step`` is a ``Slice`` of float values with a gradient, of the same source
    and dim as ``first`` (any, for None)."""
    if step.kind != "op" or step.op is not Slice or step.node is None or not step.needs[0]:
        return False
    return first is None or (step.args[0] is first.args[0] and step.args[1] == first.args[1])


def _context_class(step):
    """The ctx class of a replayed step: the op's node class, saving arrays on replay."""
    node = step.node
    base = _ArrayContext if node._backward_arrays is not None else _TensorContext
    return type(node.__name__, (base, node), {"needs_input_grad": step.needs,
                                              "_num_args": len(step.args)})


def _kept_names(number, lowered) -> list:
    """The names of the values a lowered step's forward keeps for its backward."""
    return [f"keep{number}_{i}" for i in range(lowered.kept)]


def _short(where: str) -> str:
    """``file:line`` with the file's name only."""
    return where.rsplit("/", 1)[-1]


def _dtype_name(program, dtype) -> str:
    name = _dtype_variable(dtype)
    program.namespace[name] = dtype
    return name


@functools.cache
def _dtype_variable(dtype) -> str:
    """The program's name for ``dtype`` (``float32_``), once per dtype, as ``_dtype_text``."""
    return f"{dtype.name}_"


def _folded_zero_grads(steps, sources) -> tuple:
    """``optimizer.zero_grad()`` (to None) whose very next call or ``backward()`` is a
    ``backward()`` that reaches every parameter of the optimizer: the zeroing is folded
    into that backward, whose first accumulation into each parameter then replaces
    ``.grad``. So it costs nothing per parameter. The optimizer's parameter groups are
    guarded (``compiled._guards``)."""
    zero_grads, replaced = {}, {}
    captured = {id(s.tensor): s for s in sources if s.kind == "captured"}
    for number, step in enumerate(steps):
        if not _zeroes_to_none(step):
            continue
        later = next((n for n in range(number + 1, len(steps))
                      if steps[n].kind in ("call", "backward")), None)
        if later is None or steps[later].kind != "backward":
            continue
        optimizer = step.op.args[0]
        slots = [captured.get(id(p)) for group in optimizer.param_groups
                 for p in group["params"]]
        flows = gradient_flow(steps[:later], [root for root, _ in steps[later].args])
        if any(slot is None or slot.index not in flows for slot in slots):
            continue  # a parameter the backward does not reach keeps the call
        zero_grads[number] = optimizer
        replaced.setdefault(later, set()).update(slot.index for slot in slots)
    return zero_grads, replaced


def _zeroes_to_none(step) -> bool:
    """Whether ``step`` is ``Optimizer.zero_grad`` (the base's own) setting grads to None."""
    if step.kind != "call" or step.op.func is not _ZERO_GRAD:
        return False
    args, keywords = step.op.args, step.op.keywords
    set_to_none = args[1] if len(args) > 1 else keywords.get("set_to_none", True)
    return set_to_none is True


def _live_steps(steps, outputs) -> list:
    """The steps something depends on: draws, writes and clears of ``.grad`` always (the
    generator's position, the buffers and gradients are state), checks that may raise
    (``Check``), ops when an output of theirs is read."""
    read = {s.index for s in outputs}
    live = []
    for step in reversed(steps):
        keep = step.kind in ("draw", "write", "call", "backward", "clear") or bool(step.handed) \
            or any(s.index in read for s in step.outputs) \
            or step.kind == "op" and getattr(step.op, "effect", False)
        if keep:
            live.append(step)
            read.update(a.index for a in slots_read(step))
    return live[::-1]
