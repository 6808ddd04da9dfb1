import csv
import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image
from torch import nn

from timm.data import MultiLabelTarget, create_dataset, create_loader
from timm.data.distributed_sampler import OrderedDistributedSampler
from timm.data.loader import fast_collate
from timm.data.mixup import FastCollateMixup, Mixup, mixup_target
from timm.data.naflex_mixup import NaFlexMixup, pairwise_mixup_target
from timm.loss import (
    AsymmetricLossMultiLabel, AsymmetricLossSingleLabel, BinaryCrossEntropy, DistributionBalancedLoss,
    JsdCrossEntropy, LabelSmoothingCrossEntropy, PolyBinaryCrossEntropy, PolyCrossEntropy,
    SoftTargetCrossEntropy, TwoWayLoss, ZlprLoss,
    compute_class_weights, create_classification_loss, load_class_stats, load_class_weights,
    resolve_class_weights,
)
from timm.task import ClassificationTask, MultiLabelClassificationTask
from timm.task.evaluator import (
    ClassificationEvaluator, MultiLabelClassificationEvaluator, evaluation_sample_limit,
)


def test_multilabel_target_encoding():
    encode = MultiLabelTarget(6)
    torch.testing.assert_close(encode([5, 1, 0, 5]), torch.tensor([1., 1., 0., 0., 0., 1.]))
    torch.testing.assert_close(encode([]), torch.zeros(6))
    torch.testing.assert_close(encode(np.array([2, 4])), torch.tensor([0., 0., 1., 0., 1., 0.]))
    # dense=True takes an already multi-hot vector of any numeric dtype and keeps soft values
    dense = torch.tensor([1., 1., 0., 0., 0., 1.])
    encode_dense = MultiLabelTarget(6, dense=True)
    torch.testing.assert_close(encode_dense(dense.bool()), dense)
    torch.testing.assert_close(encode_dense([1, 1, 0, 0, 0, 1]), dense)  # int multi-hot, ambiguous without the flag
    soft = [1., 0.5, 0., 0., 0., 1.]
    torch.testing.assert_close(encode_dense(np.array(soft)), torch.tensor(soft))
    assert encode_dense(dense.bool()).dtype == torch.float32


@pytest.mark.parametrize('target', [
    2, [-1], [6], [1.5], [True], [[1, 2]], [0.5] * 5, [2.] * 6, [-1.] * 6, [float('nan')] * 6,
])
def test_multilabel_target_rejects_invalid_indices(target):
    with pytest.raises(ValueError):
        MultiLabelTarget(6)(target)


@pytest.mark.parametrize('target', [2, [1, 0, 1], [2] * 6, [-1] * 6, [0.5] * 5, [float('nan')] * 6, [[1] * 6], []])
def test_multilabel_dense_target_rejects_invalid(target):
    with pytest.raises(ValueError):
        MultiLabelTarget(6, dense=True)(target)


def test_fast_collate_casts_scalar_targets_to_int64():
    for scalar in (np.int32(1), np.uint8(2), 3, True, np.bool_(False), 1.0, np.float32(0.)):
        _, targets = fast_collate([(np.zeros((3, 4, 4), np.uint8), scalar)] * 2)
        assert targets.dtype == torch.int64
    _, targets = fast_collate([(np.zeros((3, 4, 4), np.uint8), torch.tensor([1., 0.]))] * 2)
    assert targets.dtype == torch.float32 and targets.shape == (2, 2)


def test_class_map_remap_sequences_and_dense_targets():
    from timm.data.readers.class_map import remap_dense_target, remap_labels, remap_target

    class_map = {i: 5 - i for i in range(6)}
    assert remap_labels(np.array([2, 5]), class_map) == [3, 0]
    assert remap_labels(np.int64(2), class_map) == 3
    assert remap_labels((0, 1), {'a': 5, 'b': 4}, {0: 'a', 1: 'b'}) == [5, 4]
    assert remap_dense_target([0., 0., 1.], {0: 2, 1: 1, 2: 0}) == [1., 0., 0.]
    assert remap_dense_target(np.array([1, 0, 1, 0]), {0: 1, 2: 0}) == [1., 1.]  # unmapped positions are dropped
    assert remap_target([0, 1, 1], {0: 2, 1: 1, 2: 0}, dense=True) == [1., 1., 0.]
    assert remap_target([0, 1, 1], {0: 2, 1: 1, 2: 0}) == [2, 1, 1]
    with pytest.raises(ValueError, match='keyed by source class index'):
        remap_dense_target([0., 1.], {'a': 0, 'b': 1})
    with pytest.raises(ValueError, match='source index'):
        remap_dense_target([0., 1.], {5: 0})


@pytest.mark.parametrize('as_numpy', [False, True])
@pytest.mark.parametrize('num_splits', [1, 2])
@pytest.mark.parametrize('multi_label', [False, True])
def test_fast_collate_preserves_targets(as_numpy, num_splits, multi_label):
    targets = [torch.tensor([1., 0., 1.]), torch.tensor([0., 1., 1.])] if multi_label else [2, 1]
    batch = []
    for i, target in enumerate(targets):
        views = [torch.full((3, 4, 4), i + j * 2, dtype=torch.uint8) for j in range(num_splits)]
        if as_numpy:
            views = [view.numpy() for view in views]
        batch.append((views[0] if num_splits == 1 else tuple(views), target))
    images, actual = fast_collate(batch)
    expected = torch.stack(targets).repeat(num_splits, 1) if multi_label else torch.tensor(targets * num_splits)
    torch.testing.assert_close(actual, expected)
    torch.testing.assert_close(images[:, 0, 0, 0], torch.arange(2 * num_splits, dtype=torch.uint8))


@pytest.mark.parametrize('fast', [False, True])
@pytest.mark.parametrize('mode', ['batch', 'pair', 'elem'])
@pytest.mark.parametrize('cutmix', [False, True])
def test_multilabel_mixup_preserves_shared_labels(monkeypatch, fast, mode, cutmix):
    import timm.data.mixup as mixup_module

    targets = torch.tensor([[1., 0., 1.], [0., 1., 1.]])
    cls = FastCollateMixup if fast else Mixup
    mix = cls(num_classes=3, multi_label=True, label_smoothing=0., mode=mode)
    monkeypatch.setattr(mix, '_params_per_batch', lambda: (0.25, cutmix))
    monkeypatch.setattr(mix, '_params_per_elem',
                        lambda n: (np.full(n, 0.25, dtype=np.float32), np.full(n, cutmix)))
    monkeypatch.setattr(mixup_module, 'cutmix_bbox_and_lam', lambda *a, **kw: ((0, 2, 0, 2), 0.75))
    images = torch.stack([torch.zeros(3, 4, 4), torch.full((3, 4, 4), 200.)])
    if fast:
        _, actual = mix(list(zip(images.byte(), targets)))
    else:
        _, actual = mix(images, targets.clone())
    lam = 0.75 if cutmix else 0.25
    torch.testing.assert_close(actual, targets * lam + targets.flip(0) * (1 - lam))
    torch.testing.assert_close(actual[:, 2], torch.ones(2))


def test_multilabel_naflex_mixup():
    targets = torch.tensor([[1., 0., 1.], [0., 1., 1.], [1., 1., 0.]])
    actual = pairwise_mixup_target(
        targets, {0: 1, 1: 0}, [0.25, 0.75, 1.], num_classes=3, multi_label=True)
    torch.testing.assert_close(actual, torch.tensor([[0.25, 0.75, 1.], [0.25, 0.75, 1.], [1., 1., 0.]]))
    mix = NaFlexMixup(num_classes=3, multi_label=True, mixup_alpha=1., cutmix_alpha=0., mixup_off_epoch=1)
    images = [torch.randn(3, 4 + i, 4 + i) for i in range(3)]
    _, mixed = mix(images, list(targets))
    assert torch.stack(mixed).shape == targets.shape
    _, single = mix(images[:1], list(targets[:1]))
    torch.testing.assert_close(torch.stack(single), targets[:1])
    mix.set_epoch(1)
    _, unmixed = mix(images, list(targets))
    torch.testing.assert_close(torch.stack(unmixed), targets)


def test_bce_smooth_dense():
    x = torch.tensor([[2., -1.], [0.5, 0.5]])
    dense = torch.tensor([[1., 0.], [0., 1.]])
    index = torch.tensor([0, 1])
    bce = nn.functional.binary_cross_entropy_with_logits
    plain = BinaryCrossEntropy(smoothing=0.2)  # dense targets are assumed to be softened upstream
    torch.testing.assert_close(plain(x, dense), bce(x, dense))
    smooth = BinaryCrossEntropy(smoothing=0.2, smooth_dense=True)
    torch.testing.assert_close(smooth(x, dense), bce(x, dense * 0.8 + 0.1))
    torch.testing.assert_close(smooth(x, index), plain(x, index))  # index targets keep one-hot smoothing


@pytest.mark.parametrize('kwargs,expected', [
    ({}, nn.CrossEntropyLoss),
    (dict(smoothing=0.1), LabelSmoothingCrossEntropy),
    (dict(smoothing=0.1, soft_targets=True), SoftTargetCrossEntropy),
    (dict(loss_type='ce', smoothing=0.1), LabelSmoothingCrossEntropy),
    (dict(loss_type='bce'), BinaryCrossEntropy),
    (dict(loss_type='bce', smoothing=0.1), BinaryCrossEntropy),
    (dict(loss_type='bce', smoothing=0.1, soft_targets=True), BinaryCrossEntropy),
    (dict(loss_type='jsd', jsd_splits=2, smoothing=0.1), JsdCrossEntropy),
    (dict(multi_label=True, smoothing=0.1), BinaryCrossEntropy),
    (dict(multi_label=True, smoothing=0.1, soft_targets=True), BinaryCrossEntropy),
    (dict(loss_type='asl', smoothing=0.1), AsymmetricLossSingleLabel),
    (dict(loss_type='asl', multi_label=True, smoothing=0.1), AsymmetricLossMultiLabel),
    (dict(loss_type='asl', multi_label=True, smoothing=0.1, soft_targets=True), AsymmetricLossMultiLabel),
    (dict(loss_type='twoway', multi_label=True), TwoWayLoss),
    (dict(loss_type='zlpr', multi_label=True), ZlprLoss),
    (dict(loss_type='poly', smoothing=0.1), PolyCrossEntropy),
    (dict(loss_type='poly', smoothing=0.1, soft_targets=True), PolyCrossEntropy),
    (dict(loss_type='poly', multi_label=True, smoothing=0.1), PolyBinaryCrossEntropy),
    (dict(loss_type='db', multi_label=True, class_counts=[3, 1], num_samples=4), DistributionBalancedLoss),
    (dict(loss_type='db', multi_label=True, class_counts=[3, 1], num_samples=4, soft_targets=True),
     DistributionBalancedLoss),
])
def test_create_classification_loss_dispatch(kwargs, expected):
    loss = create_classification_loss(**kwargs)
    assert isinstance(loss, expected)
    if isinstance(loss, BinaryCrossEntropy):
        assert loss.smooth_dense == kwargs.get('multi_label', False)
    if isinstance(loss, (BinaryCrossEntropy, AsymmetricLossMultiLabel)):
        assert loss.smoothing == (0. if kwargs.get('soft_targets') else kwargs.get('smoothing', 0.))
    if isinstance(loss, AsymmetricLossSingleLabel):
        assert loss.eps == kwargs['smoothing']


@pytest.mark.parametrize('kwargs,match', [
    (dict(loss_type='focal'), 'Unknown loss type'),
    (dict(loss_type='ce', multi_label=True), 'does not support multi-label'),
    (dict(loss_type='jsd', multi_label=True, jsd_splits=2), 'does not support multi-label'),
    (dict(loss_type='jsd', jsd_splits=0), 'jsd_splits'),
    (dict(loss_type='twoway'), 'requires multi-label'),
    (dict(loss_type='zlpr'), 'requires multi-label'),
    (dict(loss_type='twoway', multi_label=True, soft_targets=True), 'binary targets'),
    (dict(loss_type='zlpr', multi_label=True, smoothing=0.1), 'binary targets'),
    (dict(loss_type='asl', multi_label=True, bce_sum=True), 'only apply to the bce loss'),
    (dict(loss_type='zlpr', multi_label=True, pos_weight=2.), 'only supported by bce'),
    (dict(loss_type='asl', class_weight=[1., 2.]), 'only supported by bce'),
    (dict(loss_type='ce', class_weight=[1., 2.]), 'only supported by bce'),
    (dict(loss_type='asl', soft_targets=True), 'Mixup/CutMix'),
    (dict(loss_type='asl', asl_reduction='sum'), 'batchmean'),
    (dict(loss_type='asl', multi_label=True, asl_reduction='max'), 'Unknown reduction'),
    (dict(loss_type='db', multi_label=True), 'requires class_counts'),
    (dict(loss_type='poly', poly_gamma=2.), 'multi-label'),
    (dict(loss_type='poly', poly_alpha=0.25), 'multi-label'),
    (dict(loss_type='poly', multi_label=True, class_weight=[1., 2.]), 'only supported'),
    (dict(loss_type='db', class_counts=[3, 1], num_samples=4), 'requires multi-label'),
    (dict(loss_type='bce', multi_label=True, class_counts=[3, 1], num_samples=4), 'only used by the db loss'),
    (dict(loss_type='db', multi_label=True, class_counts=[3, 5], num_samples=4), 'class_counts must be'),
    (dict(loss_type='db', multi_label=True, class_counts=[3, 1], num_samples=4, pos_weight=2.), 'only supported'),
])
def test_create_classification_loss_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_classification_loss(**kwargs)


def _reference_asl(x, y, gamma_neg=4., gamma_pos=1., clip=0.05, eps=1e-8):
    # The original ASL formulation and reduction (sum over batch and classes).
    xs_pos = torch.sigmoid(x)
    xs_neg = (1 - xs_pos + clip).clamp(max=1) if clip else 1 - xs_pos
    loss = y * torch.log(xs_pos.clamp(min=eps)) + (1 - y) * torch.log(xs_neg.clamp(min=eps))
    pt = xs_pos * y + xs_neg * (1 - y)
    loss = loss * torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
    return -loss.sum()


def test_asl_multilabel_reduction_and_smoothing():
    torch.manual_seed(0)
    x = torch.randn(4, 6) * 3
    y = (torch.rand(4, 6) > 0.6).float()
    ref = _reference_asl(x, y)
    torch.testing.assert_close(AsymmetricLossMultiLabel(reduction='sum')(x, y), ref)
    torch.testing.assert_close(AsymmetricLossMultiLabel()(x, y), ref / 4)  # default batchmean
    torch.testing.assert_close(AsymmetricLossMultiLabel(reduction='mean')(x, y), ref / 24)
    assert AsymmetricLossMultiLabel(reduction='none')(x, y).shape == (4, 6)
    torch.testing.assert_close(AsymmetricLossMultiLabel(clip=0., reduction='sum')(x, y), _reference_asl(x, y, clip=0.))
    torch.testing.assert_close(
        AsymmetricLossMultiLabel(smoothing=0.2, reduction='sum')(x, y), _reference_asl(x, y * 0.8 + 0.1))


@pytest.mark.parametrize('clip', [0.05, 0.])
def test_asl_multilabel_low_precision_logits(clip):
    # Saturated fp16 probabilities used to underflow the eps clamp, log(0) * 0 -> NaN.
    x = torch.tensor([[-20., -12., 9., 3.], [18., -18., 0.5, -25.]])
    y = torch.tensor([[0., 0., 1., 1.], [1., 0., 0., 0.]])
    ref = AsymmetricLossMultiLabel(clip=clip)(x, y)
    for dtype in (torch.float16, torch.bfloat16):
        xl = x.to(dtype).requires_grad_()
        loss = AsymmetricLossMultiLabel(clip=clip)(xl, y.to(dtype))
        loss.backward()
        assert loss.dtype == torch.float32 and torch.isfinite(xl.grad).all()
        torch.testing.assert_close(loss, ref, atol=1e-2, rtol=1e-2)


def test_multilabel_task_creates_asl():
    model = nn.Linear(2, 3)
    target = torch.tensor([[1., 0., 1.], [0., 1., 1.]])
    task = MultiLabelClassificationTask(
        model, criterion_kwargs=dict(loss_type='asl', smoothing=0.2, asl_reduction='sum'), verbose=False)
    assert isinstance(task.criterion, AsymmetricLossMultiLabel)
    result = task(torch.ones(2, 2), target)
    torch.testing.assert_close(result['loss'], _reference_asl(result['output'], target * 0.8 + 0.1))
    result['loss'].backward()
    assert torch.isfinite(model.weight.grad).all()


def test_bce_and_asl_class_weights():
    torch.manual_seed(0)
    x = torch.randn(4, 3) * 2
    y = (torch.rand(4, 3) > 0.5).float()
    class_weight, pos_weight = torch.tensor([0.5, 1., 2.]), torch.tensor([3., 1., 0.25])
    bce = create_classification_loss(
        loss_type='bce', multi_label=True, class_weight=class_weight.tolist(), pos_weight=pos_weight)
    torch.testing.assert_close(bce(x, y), nn.functional.binary_cross_entropy_with_logits(
        x, y, weight=class_weight, pos_weight=pos_weight))
    asl = create_classification_loss(
        loss_type='asl', multi_label=True, class_weight=class_weight, pos_weight=pos_weight, asl_gamma_pos=0.,
        asl_gamma_neg=0., asl_clip=0., asl_reduction='mean')
    # without focusing and clipping ASL reduces to (weighted) BCE, up to the eps clamp
    torch.testing.assert_close(asl(x, y), nn.functional.binary_cross_entropy_with_logits(
        x, y, weight=class_weight, pos_weight=pos_weight), atol=1e-6, rtol=1e-5)


def _reference_two_way(x, y, tp=4., tn=1.):
    # Direct loops over the paper formulation, one softplus(hard negative - hard positive) term per
    # class (over samples) and per sample (over classes) that has at least one positive.
    def terms(x, y):
        out = []
        for xi, yi in zip(x, y):
            pos, neg = xi[yi > 0.5], xi[yi <= 0.5]
            if not len(pos):
                continue
            hard_pos = -tp * torch.logsumexp(-pos / tp, 0)
            hard_neg = tn * torch.logsumexp(neg / tn, 0) if len(neg) else torch.tensor(-float('inf'))
            out.append(nn.functional.softplus(hard_neg - hard_pos))
        return torch.stack(out).mean() if out else torch.tensor(0.)
    return terms(x.t(), y.t()) + terms(x, y)


def test_two_way_loss():
    torch.manual_seed(0)
    x = torch.randn(6, 5) * 3
    y = (torch.rand(6, 5) > 0.6).float()
    y[0] = 0  # a sample without positives
    y[:, 1] = 1  # a class without negatives
    y[:, 2] = 0  # a class without positives
    for tp, tn in ((4., 1.), (1., 2.)):
        torch.testing.assert_close(TwoWayLoss(tp, tn)(x, y), _reference_two_way(x, y, tp, tn))
    xl = x.half().requires_grad_()
    loss = TwoWayLoss()(xl, y)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(xl.grad).all()
    # no positives in the batch at all, zero loss that is still attached to the graph
    xz = x.clone().requires_grad_()
    loss = TwoWayLoss()(xz, torch.zeros_like(y))
    loss.backward()
    assert loss.item() == 0. and torch.equal(xz.grad, torch.zeros_like(x))


def test_zlpr_loss():
    torch.manual_seed(0)
    x = torch.randn(4, 6) * 3
    y = (torch.rand(4, 6) > 0.6).float()
    y[0], y[1] = 0, 1  # no positives, no negatives
    ref = torch.stack([
        torch.log1p(torch.exp(xi[yi == 0]).sum()) + torch.log1p(torch.exp(-xi[yi == 1]).sum())
        for xi, yi in zip(x, y)
    ]).mean()
    torch.testing.assert_close(ZlprLoss()(x, y), ref)
    xl = (x * 10).half().requires_grad_()
    loss = ZlprLoss()(xl, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(xl.grad).all()


def test_compute_class_weights():
    counts, num_samples = [2, 8, 0, 5], 10
    kind, weights = compute_class_weights(counts, num_samples)
    assert kind == 'pos_weight'
    torch.testing.assert_close(weights, torch.tensor([4., 0.25, 9., 1.]))  # zero positives treated as one
    _, weights = compute_class_weights(counts, num_samples, power=0.5, max_weight=2.)
    torch.testing.assert_close(weights, torch.tensor([2., 0.5, 2., 1.]))
    kind, weights = compute_class_weights(counts, num_samples, method='inv_freq')
    assert kind == 'class_weight'
    raw = torch.tensor([5., 1.25, 10., 2.])
    torch.testing.assert_close(weights, raw / raw.mean())
    kind, weights = compute_class_weights(counts, num_samples, method='effective_num', beta=0.9)
    raw = 0.1 / (1 - 0.9 ** torch.tensor([2., 8., 1., 5.], dtype=torch.float64))
    assert kind == 'class_weight'
    torch.testing.assert_close(weights, (raw / raw.mean()).float())
    with pytest.raises(ValueError, match='Unknown class weight method'):
        compute_class_weights(counts, num_samples, method='median')
    with pytest.raises(ValueError, match='num_samples'):
        compute_class_weights(counts, 4)


def test_load_class_weights(tmp_path):
    assert load_class_weights(None) is None and load_class_weights(' ') is None
    assert load_class_weights('2.5') == 2.5 and load_class_weights(2) == 2.
    torch.testing.assert_close(load_class_weights('1, 2,3'), torch.tensor([1., 2., 3.]))
    (tmp_path / 'w.txt').write_text('1 2\n3\n')
    torch.testing.assert_close(load_class_weights(str(tmp_path / 'w.txt')), torch.tensor([1., 2., 3.]))
    (tmp_path / 'list.json').write_text('[0.5, 4]')
    torch.testing.assert_close(load_class_weights(str(tmp_path / 'list.json')), torch.tensor([0.5, 4.]))
    (tmp_path / 'cw.json').write_text(json.dumps(dict(class_weight=[1., 2.], pos_counts=[3, 1])))
    torch.testing.assert_close(load_class_weights(str(tmp_path / 'cw.json'), 'class_weight'), torch.tensor([1., 2.]))
    with pytest.raises(ValueError, match="no 'pos_weight' entry"):
        load_class_weights(str(tmp_path / 'cw.json'), 'pos_weight')
    for bad in ('1,-2', 'nan', True):
        with pytest.raises(ValueError):
            load_class_weights(bad)


def _reference_db(x, y, counts, num_samples, map_alpha=0.1, map_beta=10., map_mu=0.2, neg_scale=2.,
                  init_bias=0.05, gamma=2., balance=2.):
    # The reference formulation for binary targets, switching logits and weights by label.
    freq_inv = 1. / counts
    repeat_rate = (y * freq_inv).sum(1, keepdim=True)
    weight = torch.sigmoid(map_beta * (freq_inv / repeat_rate - map_mu)) + map_alpha
    z = x - torch.log(num_samples / counts - 1) * init_bias / neg_scale
    z = torch.where(y > 0, z, z * neg_scale)
    weight = torch.where(y > 0, weight, weight / neg_scale)
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(z, y, weight=weight, reduction='none')
    if gamma:
        pt = torch.exp(-bce(z, y, reduction='none'))
        loss = balance * (1 - pt) ** gamma * loss
    return loss.mean()


@pytest.mark.parametrize('kwargs', [
    {},
    dict(neg_scale=5., init_bias=0.1),
    dict(gamma=0.),
    dict(map_alpha=0.3, map_beta=4., map_mu=0.5, neg_scale=1., init_bias=0.),
])
def test_distribution_balanced_loss(kwargs):
    torch.manual_seed(0)
    x = torch.randn(8, 5) * 3
    y = (torch.rand(8, 5) > 0.6).float()
    y[:, 0] = 1  # every sample has a positive, as in the reference datasets
    counts, num_samples = torch.tensor([900., 40., 7., 300., 120.]), 1000
    db_kwargs = dict(kwargs)
    if 'gamma' in db_kwargs:
        db_kwargs['focal_gamma'] = db_kwargs.pop('gamma')
    loss = DistributionBalancedLoss(counts, num_samples, **db_kwargs)
    torch.testing.assert_close(loss(x, y), _reference_db(x, y, counts, num_samples, **kwargs))


def test_distribution_balanced_loss_edge_cases():
    counts, num_samples = [0, 5, 10], 10  # never and always positive classes are clamped
    loss_fn = DistributionBalancedLoss(counts, num_samples)
    assert torch.isfinite(loss_fn.freq_inv).all() and torch.isfinite(loss_fn.logit_bias).all()
    x = (torch.randn(4, 3) * 20).half().requires_grad_()
    y = torch.tensor([[0., 0., 0.], [1., 0., 1.], [0.3, 0.7, 0.], [0., 1., 1.]])  # empty and soft targets
    loss = loss_fn(x, y)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and torch.isfinite(x.grad).all()
    per_elem = DistributionBalancedLoss(counts, num_samples, reduction='none')(x.detach(), y)
    assert per_elem.shape == (4, 3)
    torch.testing.assert_close(DistributionBalancedLoss(counts, num_samples, reduction='sum')(x.detach(), y),
                               per_elem.sum())


def test_load_class_stats(tmp_path):
    assert load_class_stats(None) is None
    path = tmp_path / 'stats.json'
    path.write_text(json.dumps(dict(pos_counts=[3, 0, 1], num_samples=4, class_names=None)))
    counts, num_samples = load_class_stats(str(path))
    torch.testing.assert_close(counts, torch.tensor([3., 0., 1.]))
    assert num_samples == 4
    path.write_text(json.dumps(dict(pos_weight=[1., 1.])))
    with pytest.raises(ValueError, match='pos_counts'):
        load_class_stats(str(path))


def test_resolve_class_weights():
    stats = (torch.tensor([2., 8., 0., 5.]), 10)
    torch.testing.assert_close(
        resolve_class_weights('neg_pos', 'pos_weight', stats), torch.tensor([4., 0.25, 9., 1.]))
    torch.testing.assert_close(
        resolve_class_weights('neg_pos', 'pos_weight', stats, power=0.5, max_weight=2.),
        torch.tensor([2., 0.5, 2., 1.]),
    )
    _, expected = compute_class_weights(*stats, method='effective_num', beta=0.9)
    torch.testing.assert_close(resolve_class_weights('effective_num', 'class_weight', stats, beta=0.9), expected)
    # explicit weights pass through, stats unused
    torch.testing.assert_close(resolve_class_weights('1,2', 'class_weight', stats), torch.tensor([1., 2.]))
    assert resolve_class_weights(None, 'pos_weight', stats) is None
    with pytest.raises(ValueError, match='computes class_weight values'):
        resolve_class_weights('inv_freq', 'pos_weight', stats)
    with pytest.raises(ValueError, match='computes pos_weight values'):
        resolve_class_weights('neg_pos', 'class_weight', stats)
    with pytest.raises(ValueError, match='requires class stats'):
        resolve_class_weights('neg_pos', 'pos_weight')


def _reference_poly_ce(x, labels, epsilon, smoothing=0.):
    # The paper's softmax Poly-1 with label smoothing, one_minus_pt from the smoothed labels.
    num_classes = labels.shape[-1]
    smooth = labels * (1 - smoothing) + smoothing / num_classes
    ce = -(smooth * x.log_softmax(-1)).sum(-1)
    one_minus_pt = (smooth * (1 - x.softmax(-1))).sum(-1)
    return (ce + epsilon * one_minus_pt).mean()


def _reference_poly_focal(x, labels, epsilon, gamma=2., alpha=None):
    # The paper's sigmoid Poly-1 focal loss, optionally alpha balanced.
    p = torch.sigmoid(x)
    pt = labels * p + (1 - labels) * (1 - p)
    fl = nn.functional.binary_cross_entropy_with_logits(x, labels, reduction='none') * (1 - pt) ** gamma
    poly = epsilon * (1 - pt) ** (gamma + 1)
    if alpha is not None:
        weight = labels * alpha + (1 - labels) * (1 - alpha)
        fl, poly = fl * weight, poly * weight
    return (fl + poly).mean()


def test_poly_cross_entropy():
    torch.manual_seed(0)
    x = torch.randn(6, 5) * 2
    index = torch.randint(0, 5, (6,))
    onehot = nn.functional.one_hot(index, 5).float()
    for epsilon, smoothing in ((2., 0.), (1., 0.1), (-1., 0.2)):
        loss = PolyCrossEntropy(epsilon=epsilon, smoothing=smoothing)
        torch.testing.assert_close(loss(x, index), _reference_poly_ce(x, onehot, epsilon, smoothing))
    # epsilon 0 is cross-entropy / label smoothing cross-entropy
    torch.testing.assert_close(PolyCrossEntropy(epsilon=0.)(x, index), nn.functional.cross_entropy(x, index))
    torch.testing.assert_close(
        PolyCrossEntropy(epsilon=0., smoothing=0.1)(x, index), LabelSmoothingCrossEntropy(0.1)(x, index))
    # dense (Mixup) targets are used as given
    soft = mixup_target(index, 5, lam=0.7, smoothing=0.1)
    torch.testing.assert_close(PolyCrossEntropy(smoothing=0.1)(x, soft), _reference_poly_ce(x, soft, 2.))
    assert PolyCrossEntropy(reduction='none')(x, index).shape == (6,)
    xl = (x * 20).half().requires_grad_()
    loss = PolyCrossEntropy()(xl, index)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(xl.grad).all()


def test_poly_binary_cross_entropy():
    torch.manual_seed(0)
    x = torch.randn(4, 6) * 3
    y = (torch.rand(4, 6) > 0.6).float()
    for epsilon, gamma, alpha in ((2., 0., None), (-1., 2., None), (1., 2., 0.25)):
        loss = PolyBinaryCrossEntropy(epsilon=epsilon, gamma=gamma, alpha=alpha)
        torch.testing.assert_close(loss(x, y), _reference_poly_focal(x, y, epsilon, gamma, alpha))
    torch.testing.assert_close(
        PolyBinaryCrossEntropy(epsilon=0.)(x, y), nn.functional.binary_cross_entropy_with_logits(x, y))
    torch.testing.assert_close(
        PolyBinaryCrossEntropy(smoothing=0.2)(x, y), _reference_poly_focal(x, y * 0.8 + 0.1, 2., gamma=0.))
    torch.testing.assert_close(
        PolyBinaryCrossEntropy(reduction='batchmean')(x, y), PolyBinaryCrossEntropy(reduction='sum')(x, y) / 4)
    xl = (x * 10).half().requires_grad_()
    loss = PolyBinaryCrossEntropy(gamma=2.)(xl, y)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(xl.grad).all()


def test_loss_factory_task_reexport():
    import timm.loss
    import timm.task
    assert timm.task.create_classification_loss is timm.loss.create_classification_loss
    assert timm.task.LOSS_TYPES is timm.loss.LOSS_TYPES
    assert timm.task.MULTI_LABEL_LOSS_TYPES is timm.loss.MULTI_LABEL_LOSS_TYPES


def test_classification_task_criterion_kwargs_validation():
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match='not both'):
        ClassificationTask(model, nn.CrossEntropyLoss(), criterion_kwargs=dict(smoothing=0.1), verbose=False)
    with pytest.raises(TypeError):  # loss options are not accepted as bare task kwargs
        ClassificationTask(model, smoothing=0.1, verbose=False)
    with pytest.raises(TypeError):  # and typos inside criterion_kwargs reach the factory
        ClassificationTask(model, criterion_kwargs=dict(smoothin=0.1), verbose=False)
    with pytest.raises(ValueError, match='multi-label'):
        MultiLabelClassificationTask(model, criterion_kwargs=dict(loss_type='jsd', jsd_splits=2), verbose=False)
    with pytest.raises(ValueError, match='threshold'):
        MultiLabelClassificationTask(model, threshold=1.5, verbose=False)
    assert isinstance(ClassificationTask(model, verbose=False).criterion, nn.CrossEntropyLoss)


def test_multilabel_task_creates_bce_with_dense_smoothing():
    model = nn.Linear(2, 3)
    target = torch.tensor([[1., 0., 1.], [0., 1., 1.]])
    bce = nn.functional.binary_cross_entropy_with_logits
    task = MultiLabelClassificationTask(model, criterion_kwargs=dict(smoothing=0.2), verbose=False)
    assert isinstance(task.criterion, BinaryCrossEntropy) and task.criterion.smooth_dense
    result = task(torch.ones(2, 2), target)
    torch.testing.assert_close(result['loss'], bce(result['output'], target * 0.8 + 0.1))
    result['loss'].backward()
    assert torch.isfinite(model.weight.grad).all()
    # Mixup applies the smoothing itself, so the criterion created for soft targets must not smooth again.
    mixed = mixup_target(target, 3, lam=0.25, smoothing=0.2, multi_label=True)
    torch.testing.assert_close(mixed, (target * 0.25 + target.flip(0) * 0.75) * 0.8 + 0.1)
    soft_task = MultiLabelClassificationTask(
        model, criterion_kwargs=dict(smoothing=0.2, soft_targets=True), verbose=False)
    result = soft_task(torch.ones(2, 2), mixed)
    torch.testing.assert_close(result['loss'], bce(result['output'], mixed))
    with pytest.raises(ValueError, match='dense floating-point'):
        task(torch.ones(2, 2), target.argmax(-1))
    task.setup_ema(decay=0.)
    task.update_ema()
    torch.testing.assert_close(task.get_eval_model()(torch.ones(2, 2)), task.get_eval_model(ema=True)(torch.ones(2, 2)))
    assert isinstance(task.create_evaluator(), MultiLabelClassificationEvaluator)


def _metric_examples():
    output = torch.tensor([[2., 2., -1.], [1., -2., 3.], [-1., 1., 0.], [1., -1., -2.]])
    target = torch.tensor([[1., 0., 0.], [1., 0., 1.], [0., 1., 1.], [0., 1., 0.]])
    return output, target


def test_multilabel_metrics_global_reduction_and_ties():
    output, target = _metric_examples()
    evaluator = MultiLabelClassificationEvaluator()
    evaluator.update(output[:1], target[:1])
    evaluator.update(output[1:], target[1:])
    metrics = evaluator.compute()
    assert metrics['loss'] == pytest.approx(nn.functional.binary_cross_entropy_with_logits(output, target).item())
    assert metrics['map'] == pytest.approx(100 * (5 / 6 + 7 / 12 + 1) / 3)
    assert metrics['micro_f1'] == pytest.approx(100 * 10 / 13)
    assert metrics['macro_f1'] == pytest.approx(100 * (0.8 + 0.5 + 1) / 3)
    assert metrics['sample_f1'] == pytest.approx(100 * (2 / 3 + 1 + 1) / 4)
    evaluator.reset()
    evaluator.update(output.flip(0), target.flip(0))
    assert evaluator.compute() == pytest.approx(metrics)
    from timm.task.evaluator import _average_precision
    torch.testing.assert_close(
        _average_precision(output, target.bool(), chunk_elements=1), _average_precision(output, target.bool()))
    with pytest.raises(ValueError, match='class indices'):
        ClassificationEvaluator().update(output, target)


def test_multilabel_metrics_empty_classes_and_threshold(caplog):
    evaluator = MultiLabelClassificationEvaluator(threshold=0.8)
    output = torch.tensor([[1., -1.], [3., -2.]])
    target = torch.tensor([[1., 0.], [1., 0.]])
    evaluator.update(output, target)
    metrics = evaluator.compute()
    assert metrics['map'] == 50.
    assert metrics['micro_f1'] == pytest.approx(200 / 3)
    assert metrics['macro_f1'] == pytest.approx(100 / 3)
    assert metrics['sample_f1'] == 50.
    assert evaluator.counts.dtype == torch.int64 and evaluator.loss_sum.dtype == torch.float64
    # soft targets are used as given for the loss and binarized at 0.5 for the ranking / F1 metrics
    soft = MultiLabelClassificationEvaluator(threshold=0.8)
    with caplog.at_level(logging.WARNING):
        soft.update(output, target * 0.6)
    soft_metrics = soft.compute()
    assert 'binarizes soft targets' in caplog.text
    for name in ('map', 'micro_f1', 'macro_f1', 'sample_f1'):
        assert soft_metrics[name] == pytest.approx(metrics[name])
    assert soft_metrics['loss'] == pytest.approx(
        nn.functional.binary_cross_entropy_with_logits(output, target * 0.6).item())


@pytest.mark.parametrize('evaluator_cls', [ClassificationEvaluator, MultiLabelClassificationEvaluator])
def test_evaluator_metric_names_match_compute(evaluator_cls):
    output, target = _metric_examples()
    if evaluator_cls is ClassificationEvaluator:
        target = target.argmax(-1)
    evaluator = evaluator_cls()
    evaluator.update(output, target)
    assert tuple(evaluator.compute()) == evaluator.metric_names
    assert tuple(evaluator.summary()) == evaluator.metric_names[:len(evaluator.summary())]
    assert evaluator.default_metric in evaluator.metric_names


def test_single_label_evaluator_matches_accuracy_and_handles_small_head():
    output, target = _metric_examples()
    target = target.argmax(-1)
    evaluator = ClassificationTask(nn.Identity(), nn.CrossEntropyLoss(), verbose=False).create_evaluator()
    evaluator.update(output[:3], target[:3])
    evaluator.update(output[3:], target[3:])
    metrics = evaluator.compute()
    assert metrics['loss'] == pytest.approx(nn.functional.cross_entropy(output, target).item())
    assert metrics['top1'] == 50.
    assert metrics['top5'] == 100.


def _distributed_metrics_worker(rank, init_file, output_dir, size, multi_label):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    try:
        output, target = _metric_examples()
        if not multi_label:
            target = target.argmax(-1)
        sampler = OrderedDistributedSampler(list(range(size)), num_replicas=2, rank=rank)
        evaluator_cls = MultiLabelClassificationEvaluator if multi_label else ClassificationEvaluator
        evaluator = evaluator_cls(max_samples=evaluation_sample_limit(SimpleNamespace(sampler=sampler)))
        indices = list(sampler)
        evaluator.update(output[indices], target[indices])
        metrics = evaluator.compute(distributed=True)
        Path(output_dir, f'{rank}.json').write_text(json.dumps(metrics))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason='requires Gloo')
@pytest.mark.parametrize('size', [1, 3])
@pytest.mark.parametrize('multi_label', [False, True])
def test_distributed_metrics_exclude_padding(tmp_path, size, multi_label):
    torch.multiprocessing.spawn(
        _distributed_metrics_worker,
        args=(str(tmp_path / 'init'), str(tmp_path), size, multi_label),
        nprocs=2,
        join=True,
    )
    output, target = _metric_examples()
    if not multi_label:
        target = target.argmax(-1)
    evaluator = MultiLabelClassificationEvaluator() if multi_label else ClassificationEvaluator()
    evaluator.update(output[:size], target[:size])
    expected = evaluator.compute()
    for rank in range(2):
        assert json.loads((tmp_path / f'{rank}.json').read_text()) == pytest.approx(expected)


_FIXTURE_LABELS = ([5, 1, 0], [2], [], [4], [1, 5], [3], [0, 3], [2])


class _FixtureBuilder:
    """Stands in for a datasets builder, picklable for loader workers w/ spawn / forkserver (Python 3.14 default)."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.info = dataset.info

    def as_streaming_dataset(self, **kwargs):
        return self.dataset.to_iterable_dataset()

    def as_dataset(self, **kwargs):
        return self.dataset

    def download_and_prepare(self):
        pass


@pytest.fixture
def hf_dataset(monkeypatch):
    datasets = pytest.importorskip('datasets')
    data = io.BytesIO()
    Image.new('RGB', (12, 12), color=(80, 120, 160)).save(data, format='PNG')
    names = ['complex', 'frog_eye_leaf_spot', 'healthy', 'powdery_mildew', 'rust', 'scab']
    features = datasets.Features({
        'image': datasets.Image(),
        'labels': datasets.Sequence(datasets.ClassLabel(names=names)),
        # one binary field per label, in a mix of feature types
        'person': datasets.ClassLabel(names=['no', 'yes']),
        'dark': datasets.Value('bool'),
        'far': datasets.Value('int64'),
        # nested, bee_dataset style
        'output': {'pollen': datasets.Value('float64'), 'wasps': datasets.Value('float64')},
        'multihot': datasets.Sequence(datasets.Value('int64')),  # dense multi-hot with int values
    })
    info = datasets.DatasetInfo(features=features, splits=datasets.SplitDict({
        name: datasets.SplitInfo(name=name, num_examples=8) for name in ('train', 'validation')
    }))
    dataset = datasets.Dataset.from_dict({
        'image': [{'bytes': data.getvalue(), 'path': f'{i}.png'} for i in range(8)],
        'labels': list(_FIXTURE_LABELS),
        'multihot': [[int(c in labels) for c in range(6)] for labels in _FIXTURE_LABELS],
        'person': [1, 0, 1, 0, 1, 0, 1, 0],
        'dark': [False, False, True, True, False, False, True, True],
        'far': [0, 1, 0, 1, 0, 1, 0, 1],
        'output': [{'pollen': float(i % 3 == 0), 'wasps': float(i >= 6)} for i in range(8)],
    }, info=info)
    monkeypatch.setattr(datasets, 'load_dataset', lambda *a, **kw: dataset)
    builder = _FixtureBuilder(dataset)
    monkeypatch.setattr(datasets, 'load_dataset_builder', lambda *a, **kw: builder)
    return dataset


def test_hfds_split_expression_uses_loaded_sample_count(hf_dataset, monkeypatch):
    datasets = pytest.importorskip('datasets')

    def load_dataset(name, split, **kwargs):
        return hf_dataset.select(range(2)) if split == 'train[:2]' else hf_dataset

    monkeypatch.setattr(datasets, 'load_dataset', load_dataset)
    full = create_dataset('hfds/fixture', split='train', target_key='labels')
    assert full.reader.num_samples == 8

    sliced = create_dataset('hfds/fixture', split='train[:2]', target_key='labels')
    assert len(sliced) == sliced.reader.num_samples == 2
    assert [sliced[index][1] for index in range(len(sliced))] == [[5, 1, 0], [2]]


@pytest.mark.parametrize('reader', ['hfds', 'hfids'])
@pytest.mark.parametrize('prefetch', [False, True])
def test_hf_multilabel_readers_and_loader(hf_dataset, reader, prefetch):
    dataset = create_dataset(
        f'{reader}/fixture', split='validation', target_key='labels', target_transform=MultiLabelTarget(6))
    assert dataset.reader.class_to_idx['scab'] == 5
    loader = create_loader(dataset, input_size=(3, 8, 8), batch_size=3, num_workers=0,
                           device=torch.device('cpu'), use_prefetcher=prefetch)
    batches = list(loader)
    assert len(loader) == len(batches)
    assert sum(len(target) for _, target in batches) == 8
    torch.testing.assert_close(batches[0][1][0], torch.tensor([1., 1., 0., 0., 0., 1.]))
    assert batches[0][1].dtype == torch.float32


def test_hfids_more_workers_than_shards_fails_fast_when_training(hf_dataset):
    """A worker with no shard yields nothing; training must not loop on that forever (datasets>=5 shuffle reports 1)."""
    dataset = create_dataset('hfids/fixture', split='train', target_key='labels', target_transform=MultiLabelTarget(6),
                             is_training=True, batch_size=2, num_samples=8)
    loader = create_loader(dataset, input_size=(3, 8, 8), batch_size=2, is_training=True, num_workers=2,
                           device=torch.device('cpu'), use_prefetcher=False, no_aug=True)
    with pytest.raises(RuntimeError, match='would receive no data'):
        next(iter(loader))
    dataset = create_dataset('hfids/fixture', split='validation', target_key='labels', target_transform=MultiLabelTarget(6))
    loader = create_loader(dataset, input_size=(3, 8, 8), batch_size=2, num_workers=2, device=torch.device('cpu'),
                           use_prefetcher=False)
    assert sum(len(target) for _, target in loader) == 8  # eval: the extra worker idles (warning logged in the worker)


@pytest.mark.parametrize('reader', ['hfds', 'hfids'])
@pytest.mark.parametrize('named_map', [False, True])
def test_hf_multilabel_class_map(hf_dataset, reader, named_map):
    names = hf_dataset.features['labels'].feature.names
    class_map = {name if named_map else i: 5 - i for i, name in enumerate(names)}
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='labels', class_map=class_map)
    assert next(iter(dataset))[1] == [0, 4, 5]


@pytest.mark.parametrize('reader', ['hfds', 'hfids'])
def test_hf_multi_field_binary_targets(hf_dataset, reader):
    keys = 'person,far,dark'
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key=keys)
    assert dataset.reader.class_to_idx == {'person': 0, 'far': 1, 'dark': 2}
    assert [target for _, target in dataset] == [[0], [1], [0, 2], [1, 2], [0], [1], [0, 2], [1, 2]]
    dataset = create_dataset(
        f'{reader}/fixture', split='validation', target_key=keys, target_transform=MultiLabelTarget(3))
    torch.testing.assert_close(next(iter(dataset))[1], torch.tensor([1., 0., 0.]))
    dataset = create_dataset(
        f'{reader}/fixture', split='validation', target_key=keys, class_map={'person': 2, 'far': 1, 'dark': 0})
    assert [target for _, target in dataset][:3] == [[2], [1], [2, 0]]
    with pytest.raises(ValueError, match='not found in dataset features'):
        create_dataset(f'{reader}/fixture', split='validation', target_key='person,nope')
    # '/' paths address fields nested in sub-dicts, for multi-field and single targets alike
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='output/pollen,person,output/wasps')
    assert dataset.reader.class_to_idx == {'output/pollen': 0, 'person': 1, 'output/wasps': 2}
    assert [target for _, target in dataset] == [[0, 1], [], [1], [0], [1], [], [0, 1, 2], [2]]
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='output/wasps')
    assert [target for _, target in dataset] == [0., 0., 0., 0., 0., 0., 1., 1.]
    with pytest.raises(ValueError, match='not found in dataset features'):
        create_dataset(f'{reader}/fixture', split='validation', target_key='person,output/nope')
    with pytest.raises(ValueError, match='unique'):
        create_dataset(f'{reader}/fixture', split='validation', target_key='person,person')


@pytest.mark.parametrize('reader', ['hfds', 'hfids'])
@pytest.mark.parametrize('kind', ['Sequence', 'List'])
def test_hf_sequence_of_dicts_path_yields_label_list(monkeypatch, reader, kind):
    """Detection style 'objects/category': Sequence stores a dict of lists, List a list of dicts."""
    datasets = pytest.importorskip('datasets')
    labels = datasets.ClassLabel(names=['coverall', 'gloves', 'mask'])
    fields = {'area': datasets.Value('int64'), 'category': labels}
    per_sample = [([1, 2], [2, 0]), ([], []), ([3], [1])]
    if kind == 'Sequence':
        objects_feature = datasets.Sequence(fields)
        objects = [{'area': areas, 'category': cats} for areas, cats in per_sample]
    else:
        objects_feature = datasets.List(fields)
        objects = [[{'area': a, 'category': c} for a, c in zip(areas, cats)] for areas, cats in per_sample]
    features = datasets.Features({'image': datasets.Image(), 'objects': objects_feature})
    data = io.BytesIO()
    Image.new('RGB', (8, 8)).save(data, format='PNG')
    hf_dataset = datasets.Dataset.from_dict({
        'image': [{'bytes': data.getvalue(), 'path': f'{i}.png'} for i in range(3)],
        'objects': objects,
    }, info=datasets.DatasetInfo(features=features, splits=datasets.SplitDict({
        'train': datasets.SplitInfo(name='train', num_examples=3)})))
    monkeypatch.setattr(datasets, 'load_dataset', lambda *a, **kw: hf_dataset)
    monkeypatch.setattr(datasets, 'load_dataset_builder', lambda *a, **kw: _FixtureBuilder(hf_dataset))
    name = f'{reader}/fixture'
    dataset = create_dataset(name, split='train', target_key='objects/category')
    assert dataset.reader.class_to_idx == {'coverall': 0, 'gloves': 1, 'mask': 2}
    assert [target for _, target in dataset] == [[2, 0], [], [1]]
    dataset = create_dataset(
        name, split='train', target_key='objects/category', target_transform=MultiLabelTarget(3))
    torch.testing.assert_close(torch.stack([target for _, target in dataset]),
                               torch.tensor([[1., 0., 1.], [0., 0., 0.], [0., 1., 0.]]))
    dataset = create_dataset(name, split='train', target_key='objects/category',
                             class_map={'coverall': 2, 'gloves': 1, 'mask': 0})
    assert next(iter(dataset))[1] == [0, 2]


def test_hf_remote_code_kwargs():
    from timm.data.readers._hfds import remote_code_kwargs

    assert remote_code_kwargs(False) == {}
    datasets = pytest.importorskip('datasets')
    import inspect
    if 'trust_remote_code' in inspect.signature(datasets.load_dataset).parameters:
        assert remote_code_kwargs(True) == {'trust_remote_code': True}
    else:
        with pytest.raises(ValueError, match='datasets 4.0'):
            remote_code_kwargs(True)


@pytest.mark.parametrize('reader', ['hfds', 'hfids'])
def test_hf_multihot_target_format(hf_dataset, reader):
    expected = torch.stack([MultiLabelTarget(6)(labels) for labels in _FIXTURE_LABELS])
    dense = MultiLabelTarget(6, dense=True)
    dataset = create_dataset(
        f'{reader}/fixture', split='validation', target_key='multihot', target_format='multihot',
        target_transform=dense)
    torch.testing.assert_close(torch.stack([target for _, target in dataset]), expected)
    # without the format flag an int multi-hot list is read as class indices, by design
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='multihot')
    assert next(iter(dataset))[1] == [1, 1, 0, 0, 0, 1]
    # class maps remap dense targets by position and must be keyed by source index
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='multihot', target_format='multihot',
                             class_map={i: 5 - i for i in range(6)}, target_transform=dense)
    torch.testing.assert_close(next(iter(dataset))[1], expected[0].flip(0))
    dataset = create_dataset(f'{reader}/fixture', split='validation', target_key='multihot', target_format='multihot',
                             class_map={'a': 0})
    with pytest.raises(ValueError, match='keyed by source class index'):
        next(iter(dataset))
    with pytest.raises(ValueError, match='own target format'):
        create_dataset(f'{reader}/fixture', split='validation', target_key='person,dark', target_format='multihot')
    with pytest.raises(ValueError, match='Unknown target format'):
        create_dataset(f'{reader}/fixture', split='validation', target_key='multihot', target_format='dense')


def test_hf_class_metadata_with_custom_column():
    datasets = pytest.importorskip('datasets')
    from timm.data.readers._hfds import get_class_labels

    labels = datasets.ClassLabel(names=['a', 'b'])
    for feature in (labels, datasets.Sequence(labels)):
        info = datasets.DatasetInfo(features=datasets.Features({'custom': feature}))
        assert get_class_labels(info, 'custom') == {'a': 0, 'b': 1}
        assert get_class_labels(info) == {}
    assert get_class_labels(datasets.DatasetInfo()) == {}
    info = datasets.DatasetInfo(features=datasets.Features({'meta': {'cls': labels}}))
    assert get_class_labels(info, 'meta/cls') == {'a': 0, 'b': 1}
    assert get_class_labels(info, 'meta/nope') == {}
    # detection style: a ClassLabel inside a Sequence of dicts (e.g. cppe-5 'objects/category')
    objects = datasets.Sequence({'bbox': datasets.Sequence(datasets.Value('float32')), 'category': labels})
    info = datasets.DatasetInfo(features=datasets.Features({'objects': objects}))
    assert get_class_labels(info, 'objects/category') == {'a': 0, 'b': 1}
    assert get_class_labels(info, 'objects/nope') == {}


def test_target_field_paths_prefer_literal_keys():
    from timm.data.readers.targets import get_field, has_field, multi_field_target

    sample = {'a/b': 1, 'a': {'b': 2, 'c': {'d': 0}}, 'e': 3}
    assert get_field(sample, 'a/b') == 1 and get_field(sample, 'a/c/d') == 0 and get_field(sample, 'e') == 3
    assert has_field(sample, 'a/c') and not has_field(sample, 'a/x') and not has_field(sample, 'e/x')
    assert multi_field_target(sample, ('a/c/d', 'a/b', 'e')) == [1, 2]
    with pytest.raises(KeyError):
        get_field(sample, 'a/x')
    # a list of dicts (HF List of dicts, JSON arrays of objects) maps the remaining path over its items
    boxes = {'objects': [{'category': 0, 'tag': {'v': 1}}, {'category': 2, 'tag': {'v': 3}}], 'empty': []}
    assert get_field(boxes, 'objects/category') == [0, 2]
    assert get_field(boxes, 'objects/tag/v') == [1, 3]
    assert get_field(boxes, 'empty/category') == []
    assert has_field(boxes, 'objects/category') and has_field(boxes, 'empty/category')
    assert not has_field(boxes, 'objects/nope')
    assert not has_field({'objects': [{'category': 0}, {}]}, 'objects/category')  # every item needs the key


@pytest.mark.parametrize('prefetch', [False, True])
@pytest.mark.parametrize('is_training', [False, True])
def test_naflex_multilabel_loader(hf_dataset, prefetch, is_training):
    from timm.data import create_naflex_loader

    dataset = create_dataset('hfds/fixture', target_key='labels', target_transform=MultiLabelTarget(6))
    mixup = NaFlexMixup(num_classes=6, multi_label=True, mixup_alpha=1., cutmix_alpha=0.)
    loader = create_naflex_loader(
        dataset, patch_size=4, train_seq_lens=(4, 9), max_seq_len=9, batch_size=8,
        is_training=is_training, mixup_fn=mixup if is_training else None, no_aug=True,
        num_workers=0, use_prefetcher=prefetch, device=torch.device('cpu'),
    )
    batches = list(loader)
    assert batches
    for _, targets in batches:
        assert targets.ndim == 2 and targets.shape[1] == 6
        assert targets.dtype == torch.float32
        assert torch.all((targets >= 0) & (targets <= 1))
    if not is_training:
        torch.testing.assert_close(batches[0][1][0], MultiLabelTarget(6)([5, 1, 0]))


@pytest.mark.usefixtures('isolate_cli_backend_flags')
def test_train_cli_rejects_metric_the_evaluator_does_not_produce(monkeypatch, tmp_path, hf_dataset):
    import train

    monkeypatch.setattr(train, 'create_model', lambda *a, **kw: _TinyClassifier(kw['num_classes']))
    monkeypatch.setattr('sys.argv', [
        'train.py', '--task', 'multilabel', '--dataset', 'hfds/fixture', '--target-key', 'labels',
        '--num-classes', '6', '--device', 'cpu', '--workers', '0', '--batch-size', '2', '--img-size', '8',
        '--epochs', '1', '--eval-metric', 'top1', '--output', str(tmp_path),
    ])
    with pytest.raises(ValueError, match='eval-metric'):
        train.main()


@pytest.mark.usefixtures('isolate_cli_backend_flags')
def test_multilabel_train_cli_multihot(monkeypatch, tmp_path, hf_dataset):
    import train

    monkeypatch.setattr(train, 'create_model', lambda *a, **kw: _TinyClassifier(kw['num_classes']))
    common = ['--dataset', 'hfds/fixture', '--target-key', 'multihot', '--target-format', 'multihot',
              '--num-classes', '6', '--device', 'cpu', '--workers', '0', '--batch-size', '2', '--img-size', '8']
    monkeypatch.setattr('sys.argv', ['train.py', '--task', 'classification', *common])
    with pytest.raises(SystemExit):
        train._parse_args()
    monkeypatch.setattr('sys.argv', [
        'train.py', '--task', 'multilabel', *common, '--epochs', '1', '--warmup-epochs', '0', '--opt', 'sgd',
        '--lr', '0.01', '--no-aug', '--output', str(tmp_path), '--experiment', 'multihot',
    ])
    train.main()
    summary = list(csv.DictReader((tmp_path / 'multihot' / 'summary.csv').open()))
    assert 0. <= float(summary[0]['eval_map']) <= 100.


class _TinyClassifier(nn.Module):
    def __init__(self, num_classes=6):
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(3, num_classes)
        self.pretrained_cfg = dict(input_size=(3, 8, 8), mean=(0.5,) * 3, std=(0.5,) * 3,
                                   interpolation='bilinear', crop_pct=1.)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


@pytest.mark.parametrize('reader,prefetch,device', [
    ('hfds', True, 'cpu'), ('hfds', False, 'cpu'), ('hfids', True, 'cpu'),
    pytest.param('hfds', True, 'cuda', marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason='requires CUDA')),
])
@pytest.mark.usefixtures('isolate_cli_backend_flags')
def test_multilabel_train_and_validate_cli(monkeypatch, tmp_path, hf_dataset, reader, prefetch, device):
    import train
    import validate

    monkeypatch.setattr(train, 'create_model', lambda *a, **kw: _TinyClassifier(kw['num_classes']))
    monkeypatch.setattr(validate, 'create_model', lambda *a, **kw: _TinyClassifier(kw['num_classes']))
    args = [
        '--task', 'multilabel', '--dataset', f'{reader}/fixture', '--target-key', 'labels',
        '--num-classes', '6', '--device', device, '--workers', '0', '--batch-size', '2', '--img-size', '8',
    ]
    if device == 'cuda':
        args.append('--amp')
    if not prefetch:
        args.append('--no-prefetcher')
    monkeypatch.setattr('sys.argv', ['train.py', *args, '--epochs', '1', '--warmup-epochs', '0',
                                    '--opt', 'sgd', '--lr', '0.01', '--no-aug', '--mixup', '0.4', '--smoothing', '0.1',
                                    '--model-ema', '--output', str(tmp_path), '--experiment', 'smoke'])
    train.main()
    summary = list(csv.DictReader((tmp_path / 'smoke' / 'summary.csv').open()))
    assert len(summary) == 1
    for name in ('map', 'micro_f1', 'macro_f1', 'sample_f1'):
        assert 0. <= float(summary[0][f'eval_{name}']) <= 100.
    assert 'eval_top1' not in summary[0]
    checkpoint = tmp_path / 'smoke' / 'model_best.pth.tar'
    assert checkpoint.is_file()
    val_args = validate.parser.parse_args([*args, '--checkpoint', str(checkpoint), '--use-ema'])
    results = validate.validate(val_args)
    assert 'map' in results and 'top1' not in results
    assert results['map'] == pytest.approx(float(summary[0]['eval_map']), abs=1e-3)


def test_class_weights_script(monkeypatch, tmp_path, hf_dataset):
    import class_weights

    output = tmp_path / 'stats.json'
    monkeypatch.setattr('sys.argv', [
        'class_weights.py', '--dataset', 'hfds/fixture', '--task', 'multilabel', '--target-key', 'labels',
        '--num-classes', '6', '--output', str(output), '--method', 'neg_pos',  # the preview is only logged
    ])
    class_weights.main()
    stats = json.loads(output.read_text())
    assert stats['num_samples'] == 8 and stats['pos_counts'] == [2, 2, 2, 2, 1, 2]
    assert stats['class_names'][5] == 'scab' and 'pos_weight' not in stats
    torch.testing.assert_close(
        resolve_class_weights('neg_pos', 'pos_weight', load_class_stats(str(output))),
        torch.tensor([3., 3., 3., 3., 7., 3.]))

    # single-label targets from a ClassLabel field, stats printed to stdout without --output
    monkeypatch.setattr('sys.argv', ['class_weights.py', '--dataset', 'hfds/fixture', '--target-key', 'person'])
    printed = []
    monkeypatch.setattr('builtins.print', lambda *a, **kw: printed.append(' '.join(map(str, a))))
    class_weights.main()
    stats = json.loads(printed[0])
    assert stats['pos_counts'] == [4, 4] and stats['class_names'] == ['no', 'yes']


@pytest.mark.usefixtures('isolate_cli_backend_flags')
def test_train_cli_loss_flags(monkeypatch, tmp_path, hf_dataset):
    import train

    common = ['--dataset', 'hfds/fixture', '--target-key', 'labels', '--num-classes', '6', '--device', 'cpu']
    (tmp_path / 'stats.json').write_text(json.dumps(dict(pos_counts=[2, 2, 2, 2, 1, 2], num_samples=8)))
    monkeypatch.setattr(
        'sys.argv', ['train.py', '--task', 'multilabel', '--bce-loss', '--bce-pos-weight', '2', *common])
    args, _ = train._parse_args()
    assert args.loss == 'bce' and args.loss_pos_weight == '2.0'
    monkeypatch.setattr('sys.argv', ['train.py', '--jsd-loss', '--aug-splits', '3', *common])
    assert train._parse_args()[0].loss == 'jsd'
    for bad in (
            ['--task', 'multilabel', '--bce-loss', '--loss', 'asl'],
            ['--task', 'multilabel', '--loss', 'twoway', '--mixup', '0.5'],
            ['--task', 'multilabel', '--loss', 'zlpr', '--loss-pos-weight', '2'],
            ['--jsd-loss'],  # no augmentation splits
            ['--loss', 'zlpr'],  # single-label
            ['--task', 'multilabel', '--loss-class-weight', str(tmp_path / 'missing.json')],
            ['--task', 'multilabel', '--loss', 'db'],  # no class stats
            ['--task', 'multilabel', '--loss-pos-weight', 'neg_pos'],  # no class stats
            ['--task', 'multilabel', '--class-stats', str(tmp_path / 'stats.json'), '--loss-pos-weight', 'inv_freq'],
    ):
        monkeypatch.setattr('sys.argv', ['train.py', *bad, *common])
        with pytest.raises(SystemExit):
            train._parse_args()

    monkeypatch.setattr(train, 'create_model', lambda *a, **kw: _TinyClassifier(kw['num_classes']))
    run = ['--task', 'multilabel', *common, '--workers', '0', '--batch-size', '2', '--img-size', '8', '--epochs', '1',
           '--warmup-epochs', '0', '--opt', 'sgd', '--lr', '0.01', '--no-aug', '--output', str(tmp_path)]
    stats = str(tmp_path / 'stats.json')
    (tmp_path / 'pos_weight.json').write_text(json.dumps(dict(pos_weight=[3., 3., 3., 3., 7., 3.])))
    for loss in ('bce', 'asl', 'poly', 'twoway', 'zlpr', 'db'):
        extra = {
            # both weight kinds from the same stats, and an explicit weight file
            'bce': ['--class-stats', stats, '--loss-pos-weight', 'neg_pos', '--loss-class-weight', 'effective_num',
                    '--loss-weight-power', '0.5'],
            'asl': ['--loss-pos-weight', str(tmp_path / 'pos_weight.json')],
            'db': ['--class-stats', stats],
            'poly': ['--poly-gamma', '2', '--poly-epsilon', '-1'],
        }.get(loss, [])
        monkeypatch.setattr('sys.argv', ['train.py', *run, '--loss', loss, '--experiment', loss, *extra])
        train.main()
        summary = list(csv.DictReader((tmp_path / loss / 'summary.csv').open()))
        assert 0. <= float(summary[0]['eval_map']) <= 100.
    # single-label Poly-1 from a ClassLabel field
    single = ['--dataset', 'hfds/fixture', '--target-key', 'person', '--num-classes', '2', '--device', 'cpu',
              *run[len(common) + 2:]]
    monkeypatch.setattr('sys.argv', ['train.py', *single, '--loss', 'poly', '--experiment', 'poly_single'])
    train.main()
    summary = list(csv.DictReader((tmp_path / 'poly_single' / 'summary.csv').open()))
    assert 0. <= float(summary[0]['eval_top1']) <= 100.
    monkeypatch.setattr('sys.argv', ['train.py', *run, '--loss-class-weight', '1,2,3', '--experiment', 'bad'])
    with pytest.raises(ValueError, match='has 3 entries but the model has 6 classes'):
        train.main()
