"""What model family a script builds, read from the layers it constructs (AST only)."""

from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

from lrdoctor.lint.pyfacts import CallSite, Ctx, ScriptFacts

__all__ = ["ArchEvidence", "detect_arch", "linked", "is_test_path", "is_test_code", "RECURRENT_LAYERS", "ATTENTION_LAYERS", "SSM_LAYERS"]

RECURRENT_LAYERS = frozenset({"LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"})
ATTENTION_LAYERS = frozenset({"TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoder",
                              "TransformerDecoderLayer", "Transformer", "MultiheadAttention",
                              "scaled_dot_product_attention"})
SSM_LAYERS = frozenset({"Mamba", "Mamba2", "MambaBlock", "S4", "S4D", "S5", "MambaLMHeadModel"})
#: receivers under which those names are torch layers (``nn.LSTM``, ``torch.nn.LSTM``, bare ``LSTM``)
_LAYER_RECEIVERS = ("", "nn", "torch.nn", "F", "torch.nn.functional", "mamba_ssm")
#: pretrained-model loaders: a transformer for all practical purposes
PRETRAINED_LOADERS = frozenset({"from_pretrained"})


@dataclass(frozen=True)
class ArchEvidence:
    family: str
    """'transformer', 'recurrent' or 'ssm'."""
    call: CallSite
    pretrained: bool = False

    @property
    def what(self) -> str:
        return f"{self.call.name}(...) at line {self.call.line}"


def detect_arch(facts: ScriptFacts) -> list[ArchEvidence]:
    """The attention, recurrent and SSM layers a script builds (first evidence per family)."""
    seen: dict[str, ArchEvidence] = {}
    for c in facts.calls:
        a, recv = c.attr, c.receiver
        fam = None
        if recv in _LAYER_RECEIVERS or recv.endswith(".nn"):
            if a in RECURRENT_LAYERS:
                fam = "recurrent"
            elif a in ATTENTION_LAYERS:
                fam = "transformer"
            elif a in SSM_LAYERS:
                fam = "ssm"
        if fam is None and a in PRETRAINED_LOADERS and ("Model" in recv or "GPT" in recv or "Bert" in recv or "T5" in recv or "Llama" in recv):
            fam = "transformer"
            if fam not in seen:
                seen[fam] = ArchEvidence(fam, c, pretrained=True)
            continue
        if fam and fam not in seen:
            seen[fam] = ArchEvidence(fam, c)
    return list(seen.values())


def linked(a: Ctx, b: Ctx) -> bool:
    """Two calls that build parts of the same model/training setup: same function, or methods of
    one class (a LightningModule's ``__init__`` and ``configure_optimizers``)."""
    if a.func is b.func:
        return True
    return a.func.cls is not None and a.func.cls == b.func.cls


def is_test_path(path: str) -> bool:
    """pytest's file naming: ``test_*.py`` or ``*_test.py``. Hyperparameter rules skip tests
    (they set odd LRs on purpose); the test rules look only at them."""
    name = Path(path).name
    return name.startswith("test_") or name.endswith("_test.py")


#: directories that hold test helpers rather than training code (``torch/testing/_internal``)
TEST_DIRS = frozenset({"tests", "test", "testing"})


def is_test_code(path: str) -> bool:
    """A test file, or a helper module inside a test directory: not a training script."""
    return is_test_path(path) or any(part in TEST_DIRS for part in Path(path).parts[:-1])
