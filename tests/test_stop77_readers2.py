"""Two loggers' headers of stop 77 (readers, round 2), on their arithmetic and real logs read in place.

**TensorFlow 0.x's own log header.** Before TensorFlow printed the time, its C++ ``LogMessage``
wrote ``"%c %s:%d] "``: the severity letter, the source file and its line
(``I tensorflow/core/kernels/logging_ops.cc:64] CrossE[472.02966]``, a ``tf.Print``). The header
is a logger's, like glog's with its stamp; only a path under ``tensorflow/`` ending ``.cc`` or
``.h`` is taken, so a record that happens to start with a letter and a file name stays. Before,
the header was read as a column (``i_tensorflow/core/...cc``) and the ``CrossE`` it printed was
refused: ``CrossE`` / ``cross_e`` abbreviates cross-entropy and now reads as ``xent``, a loss word.

**DeepSpeech's level letter.** DeepSpeech's ``util/logging.py`` prints ``"I "`` before each line of
``log_info`` (``prefix_print``): ``I Training of Epoch 18 - loss: 10.78`` and ``I Validation of
Epoch 18 - loss: 44.13``. Unstripped, the validation line was not seen as led by its split, and its
loss was read into the training loss between the training values."""

from __future__ import annotations

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.io.textlog.prefix import strip_prefix
from lrdoctor.names import resolve_aliases, tokens

_TF_CROSSE_NAN = "fresh837/so-33641799-batch205-crossent-nan/paste.log"
_DCGAN_TF_ALLOCATOR = "fresh70/dcgan-tf-issue34-first-steps/train.log"
_DEEPSPEECH_1953 = "fresh18/deepspeech-issue1953-val/issue1953.log"
_DEEPSPEECH_1767 = "fresh30/deepspeech-issue1767-two-epochs/train.log"


def test_tensorflow_0x_header_is_stripped_and_only_tensorflow_sources_count():
    assert strip_prefix("I tensorflow/core/kernels/logging_ops.cc:64] CrossE[472.02966]") == "CrossE[472.02966]"
    assert strip_prefix("W tensorflow/core/common_runtime/bfc_allocator.h:12] msg") == "msg"
    # a record that starts with a letter and a Python file is no TensorFlow header
    assert strip_prefix("I train.py:3] loss 0.5") == "I train.py:3] loss 0.5"


def test_deepspeech_level_letter_is_stripped_before_a_capitalised_word_only():
    assert strip_prefix("I Validation of Epoch 0 - loss: 188.416498") == "Validation of Epoch 0 - loss: 188.416498"
    assert strip_prefix("I Training of Epoch 1 - loss: 224.996908") == "Training of Epoch 1 - loss: 224.996908"
    # a GAN's "D Loss" keeps its player letter, and "I 3 ..." is no header
    assert strip_prefix("D Loss: 0.5, G Loss: 0.3") == "D Loss: 0.5, G Loss: 0.3"
    assert strip_prefix("I 3 loss 0.5") == "I 3 loss 0.5"


def test_crosse_is_the_cross_entropy():
    assert tokens("CrossE") == ["xent"] and tokens("cross_e") == ["xent"]
    assert resolve_aliases(["step", "CrossE"])["loss"][0] == "CrossE"


def _kinds(rel: str) -> dict[str, str]:
    report = lrdoctor.diagnose(lrdoctor.read(real_log(rel)))
    return {f.kind: f.severity.name for f in report.findings if f.severity.rank >= 1}


def test_the_tf_print_cross_entropy_that_blew_up_to_nan_is_read_and_found():
    run = lrdoctor.read(real_log(_TF_CROSSE_NAN))
    loss = run.series("loss").values
    assert abs(loss[0] - 472.02966) < 1e-4
    assert np.isnan(loss[-1]) and len(loss) == 8
    assert not any(n.startswith("i_tensorflow") for n in run.names)
    kinds = _kinds(_TF_CROSSE_NAN)
    assert "divergence" in kinds and "nonfinite" in kinds


def test_the_deepspeech_validation_loss_is_the_validations_and_overfitting_is_found():
    run = lrdoctor.read(real_log(_DEEPSPEECH_1953))
    train = run.series("loss").values
    assert list(np.round(train, 6)) == [10.78296, 10.71987, 10.510714, 10.487166]
    assert "validation_loss" in run.names
    assert [int(s) for s in run.steps] == [18, 19, 20, 21]
    assert "overfitting" in _kinds(_DEEPSPEECH_1953)


def test_healthy_twins_of_the_same_headers_stay_silent():
    # an edge DCGAN whose TF 0.x allocator lines sit between its records: no header column, no finding
    run = lrdoctor.read(real_log(_DCGAN_TF_ALLOCATOR))
    assert not any(n.startswith("i_tensorflow") for n in run.names)
    assert _kinds(_DCGAN_TF_ALLOCATOR) == {}
    # an edge DeepSpeech run of two epochs: its validation read apart, nothing found
    run = lrdoctor.read(real_log(_DEEPSPEECH_1767))
    assert list(np.round(run.series("loss").values, 6)) == [223.102412, 224.996908]
    assert "validation_loss" in run.names
    assert _kinds(_DEEPSPEECH_1767) == {}
