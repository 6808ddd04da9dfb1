"""Property tests (hypothesis): bounds, monotone phases, continuity at joins, product = product
of values, array = scalar evaluation, resume = uninterrupted."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrdoctor import schedules as S

torch.set_num_threads(1)
SETTINGS = settings(max_examples=60, deadline=None)

totals = st.integers(min_value=20, max_value=5000)
ratios = st.floats(min_value=0.0, max_value=0.9)
fracs = st.floats(min_value=0.01, max_value=0.4)


@st.composite
def any_schedule(draw):
    T = draw(totals)
    kind = draw(st.sampled_from(["cosine", "linear", "wsd", "three_phase", "one_cycle", "poly", "restarts", "invsqrt",
                                 "step", "multistep"]))
    w = int(draw(fracs) * T)
    if kind == "cosine":
        return T, S.warmup(w) * S.cosine(T, min_ratio=draw(ratios), start_step=w)
    if kind == "linear":
        return T, S.warmup(w) * S.linear_decay(T, final=draw(ratios), start_step=w)
    if kind == "wsd":
        return T, S.wsd(T, warmup=w, decay=int(draw(fracs) * T), final=draw(ratios),
                        decay_shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])))
    if kind == "three_phase":
        return T, S.three_phase(T, final_ratio=draw(st.floats(0.001, 0.5)))
    if kind == "one_cycle":
        return T, S.one_cycle(T, pct_start=draw(st.floats(0.1, 0.45)), three_phase=draw(st.booleans()))
    if kind == "poly":
        return T, S.warmup(w) * S.polynomial(T, power=draw(st.floats(0.5, 3.0)), final=draw(ratios), start_step=w)
    if kind == "restarts":
        return T, S.cosine_restarts(max(1, T // draw(st.integers(1, 5))), period_mult=draw(st.integers(1, 3)))
    if kind == "invsqrt":
        return T, S.warmup(max(1, w)) * S.inverse_sqrt(max(1, w))
    if kind == "step":
        return T, S.step_decay(max(1, w), draw(st.floats(0.1, 0.9)))
    return T, S.multistep(sorted({int(T * f) for f in draw(st.lists(fracs, min_size=1, max_size=3))}), 0.5)


@SETTINGS
@given(any_schedule())
def test_bounds_never_above_peak_never_negative(ts):
    T, s = ts
    v = s(np.arange(0, 2 * T))
    assert np.all(v >= 0) and np.all(v <= 1.0 + 1e-12)


@SETTINGS
@given(any_schedule(), st.lists(st.integers(0, 20000), min_size=1, max_size=30))
def test_array_evaluation_equals_scalar_evaluation(ts, steps):
    _, s = ts
    arr = s(np.array(steps))
    scal = np.array([s(k) for k in steps])
    np.testing.assert_allclose(arr, scal, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(totals, fracs, ratios)
def test_warmup_monotone_up_then_decay_monotone_down(T, wf, lo):
    w = int(wf * T)
    s = S.warmup(w) * S.cosine(T, min_ratio=lo, start_step=w)
    v = s(np.arange(T + 1))
    assert np.all(np.diff(v[: w + 1]) >= -1e-15)
    assert np.all(np.diff(v[w:]) <= 1e-15)


@SETTINGS
@given(totals, fracs, fracs, ratios, st.sampled_from(["linear", "cosine", "1-sqrt"]))
def test_wsd_continuous_at_its_joins(T, wf, df, fin, shape):
    w, d = max(1, int(wf * T)), max(1, int(df * T))  # a 0-step phase is a jump by definition
    s = S.wsd(T, warmup=w, decay=d, final=fin, decay_shape=shape)
    for b in (w, T - d):
        left, right = s(b - 1e-9), s(b)
        assert abs(left - right) < 1e-6


@SETTINGS
@given(st.integers(200, 20000), st.floats(0.001, 0.5))
def test_three_phase_continuous_and_monotone_in_each_phase(T, fin):
    s = S.three_phase(T, final_ratio=fin)
    for b in (0.025 * T, 0.25 * T):
        assert abs(s(b - 1e-9) - s(b)) < 1e-6
    v = s(np.arange(T + 1))
    peak = 0.25 * T  # may fall between two steps
    up, down = v[: int(np.floor(peak)) + 1], v[int(np.ceil(peak)):]
    assert np.all(np.diff(up) >= -1e-15) and np.all(np.diff(down) <= 1e-15)


@SETTINGS
@given(any_schedule(), any_schedule())
def test_product_is_product_of_values(a, b):
    (Ta, sa), (Tb, sb) = a, b
    t = np.arange(0, max(Ta, Tb), max(1, max(Ta, Tb) // 97))
    np.testing.assert_allclose((sa * sb)(t), sa(t) * sb(t), rtol=1e-12)
    np.testing.assert_allclose((0.5 * sa)(t), 0.5 * sa(t), rtol=1e-12)


@SETTINGS
@given(st.integers(1, 200), st.integers(1, 200))
def test_join_switches_clock_at_the_boundary(b, n):
    s = S.join([S.constant(0.3), S.linear_decay(n)], [b])
    assert s(b - 1) == 0.3 and s(b) == 1.0 and s(b + n) == 0.0


@settings(max_examples=15, deadline=None)
@given(any_schedule(), st.integers(0, 80))
def test_adapter_resume_equals_uninterrupted(ts, k):
    _, s = ts

    def lrs(stop):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = S.to_torch(opt, s)
        out = []
        for i in range(80):
            if i == stop:
                state = sched.state_dict()
                opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
                sched = S.to_torch(opt, s)
                sched.load_state_dict(state)
                for g, lr in zip(opt.param_groups, sched.get_last_lr()):
                    g["lr"] = lr  # the optimizer's own state_dict carries this in real checkpoints
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    assert lrs(None) == lrs(k)
