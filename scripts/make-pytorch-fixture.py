#!/usr/bin/env python3
"""Writes the PyTorch-exported fixtures that the serving tests load: small models exported with torch.onnx.export,
each with the outputs PyTorch itself computes for a few inputs, so that tests can check that a model trained
elsewhere serves unchanged (names, shapes, numbers) with no Python at test time.

- pytorch-mlp: one FP32 input "input" [batch, 6] -> "output" [batch, 3], class probabilities.
- pytorch-two-inputs: "features" FP32 [batch, 4] and "category" INT64 [batch] (an embedding lookup) -> "scores"
  [batch, 2]: a model with more than one input, one of them INT64.

Run with Debian's interpreter, which has python3-torch (`apt-get install python3-torch`):
    /usr/bin/python3 scripts/make-pytorch-fixture.py [OUT_DIR]    (default: test/fixtures)
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME.expected.json for each. Deterministic: fixed seed, fixed inputs, and
exact float32 values in the JSON (Python's float repr of a float32 round-trips exactly), so a rerun with the same
torch writes the same bytes.
"""
import inspect
import json
import os
import sys

import torch
from torch import nn

OPSET = 17
SEED = 20240517


class TinyClassifier(nn.Module):
    """An MLP whose output is class probabilities (softmax inside the graph, as a served classifier has)."""

    FEATURES, HIDDEN, CLASSES = 6, 16, 3

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(self.FEATURES, self.HIDDEN)
        self.out = nn.Linear(self.HIDDEN, self.CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.out(torch.tanh(self.hidden(x))), dim=1)


class TwoInputs(nn.Module):
    """Dense features plus a category id looked up in an embedding table, scored by one linear layer."""

    FEATURES, CATEGORIES, EMBEDDING, OUTPUTS = 4, 5, 3, 2

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(self.CATEGORIES, self.EMBEDDING)
        self.score = nn.Linear(self.FEATURES + self.EMBEDDING, self.OUTPUTS)

    def forward(self, features: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        return self.score(torch.cat([features, self.embedding(category)], dim=1))


def grid(rows: int, cols: int) -> torch.Tensor:
    """Inputs on a coarse grid (multiples of 1/8 in [-3, 3]): exact in float32, so they read back bit for bit."""
    return torch.randint(-24, 25, (rows, cols)).to(torch.float32) / 8


def export(model: nn.Module, example: tuple, path: str, inputs: list, outputs: list) -> str:
    """Exports with a dynamic batch axis on every input and output; returns a note of the exporter used."""
    kwargs = dict(
        input_names=inputs,
        output_names=outputs,
        dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
        opset_version=OPSET,
        do_constant_folding=True,
    )
    # torch >= 2.5 has a `dynamo` switch, and its dynamo exporter needs the onnx and onnxscript packages; the
    # TorchScript exporter needs neither, and is the only one torch 1.x has.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    torch.onnx.export(model, example, path, **kwargs)
    return f"torch.onnx.export (TorchScript exporter{', dynamo=False' if 'dynamo' in kwargs else ''}), opset {OPSET}"


def write(out_dir: str, name: str, model: nn.Module, feeds: dict, signature: dict) -> None:
    """Exports `model` as NAME.onnx and writes NAME.expected.json: the signature, `feeds` and PyTorch's outputs."""
    output_names = list(signature["outputs"])
    with torch.no_grad():
        result = model(*feeds.values())
    results = result if isinstance(result, tuple) else (result,)
    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    exporter = export(model, tuple(t[:1] for t in feeds.values()), onnx_path, list(feeds), output_names)
    expected = {
        "generatedBy": "scripts/make-pytorch-fixture.py",
        "torch": torch.__version__,
        "exporter": exporter,
        "inputs": {k: {**signature["inputs"][k], "data": t.tolist()} for k, t in feeds.items()},
        "outputs": {k: {**signature["outputs"][k], "data": t.tolist()} for k, t in zip(output_names, results)},
    }
    with open(os.path.join(out_dir, f"{name}.expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes) with {exporter}")


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "test", "fixtures")
    os.makedirs(out_dir, exist_ok=True)

    torch.manual_seed(SEED)
    mlp = TinyClassifier().eval()
    write(
        out_dir,
        "pytorch-mlp",
        mlp,
        {"input": grid(4, mlp.FEATURES)},
        {
            "inputs": {"input": {"datatype": "FP32", "shape": [-1, mlp.FEATURES]}},
            "outputs": {"output": {"datatype": "FP32", "shape": [-1, mlp.CLASSES]}},
        },
    )

    torch.manual_seed(SEED + 1)
    two = TwoInputs().eval()
    write(
        out_dir,
        "pytorch-two-inputs",
        two,
        {"features": grid(3, two.FEATURES), "category": torch.tensor([4, 0, 2], dtype=torch.int64)},
        {
            "inputs": {
                "features": {"datatype": "FP32", "shape": [-1, two.FEATURES]},
                "category": {"datatype": "INT64", "shape": [-1]},
            },
            "outputs": {"scores": {"datatype": "FP32", "shape": [-1, two.OUTPUTS]}},
        },
    )


if __name__ == "__main__":
    main()
