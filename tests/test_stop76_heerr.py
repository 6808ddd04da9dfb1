"""Two severities of stop 76, each on a really trained run, its twin and real logs read in place.

**A loss that rises across the tasks of a continual-learning run is a divergence warning.** A
continual-learning run trains its tasks in turn and reports the loss at the end of each (van de
Ven's notebooks: "Context: 2/5 | training loss: 1.46 | training accuracy: 0.992"). That loss is
each task's own objective: the new task's cross-entropy plus, where the method guards against
forgetting (LwF, iCaRL), a distillation term over every class learned before, whose floor (the
entropy of the old model's soft targets) grows with their number. Losses of different objectives
are no trajectory of one: their rise proves no blow-up of weights that still answer each task
(an accuracy above 0.6 at every report), so the error became a warning. A loss that rises between
reports of one task is judged as before, and so is a run whose accuracy falls to chance as its loss
rises (stop 32's twin: a digits MLP at Adam 3e-2, accuracy 0.50 on its last two tasks, an error).

**A two-stage detector whose second stage regresses no box, while its first stage does, is a
slow_progress warning.** The no-box-matched error says the detector learns only background, since a
box-regression term that is exactly 0 had no prediction matched to a ground-truth box. But a
two-stage detector regresses boxes twice, and a first-stage term above 0 (CenterPoint's ``loc_loss``,
an RPN's ``loss_rpn_bbox``) shows the labels were found and matched: a second stage at 0 got no
positive proposal, a stage to fix or to watch. Every box term at 0 stays the error."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, write_lines

import lrdoctor
from lrdoctor.finding import Severity
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_LWF = "fresh176/gmvandeven-cl-nb-splitmnist-lwf/example_comparison.output.txt"
_ICARL = "fresh176/gmvandeven-cl-nb-splitmnist-icarl/example_comparison.output.txt"
_CENTERPOINT = "fresh117/centerpoint-92-waymo-twostage-loss-30/train.log"
_YOLO_NO_LABELS = "fresh16/ultralytics-issue1086-coco128/issue1086.log"


def _split_digits_log(tmp_path: Path, distill: bool) -> str:
    """Train the 64-32-10 digits MLP class-incrementally on five tasks of two digits each (0-1, 2-3,
    ... of the first 1400 digits), 150 Adam updates (lr 1e-3) of 50 random examples per task, the
    logits of the classes seen so far in the cross-entropy. With ``distill`` (Learning without
    Forgetting), the loss adds the soft-target cross-entropy (temperature 2, times 4) between the
    model's outputs on the old classes and those of its copy taken at the end of the task before.
    Write the notebook's end-of-task line: the mean loss of the last 10 updates and the last
    batch's accuracy."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    draw = torch.Generator().manual_seed(0)
    old, lines = None, []
    for task in range(5):
        idx = torch.nonzero((y[:1400] == 2 * task) | (y[:1400] == 2 * task + 1)).flatten()
        losses = []
        for _ in range(150):
            b = idx[torch.randint(0, idx.numel(), (50,), generator=draw)]
            logits = model(x[b])[:, :2 * task + 2]
            loss = torch.nn.functional.cross_entropy(logits, y[b])
            if distill and old is not None:
                with torch.no_grad():
                    soft = torch.softmax(old(x[b])[:, :2 * task] / 2.0, 1)
                loss = loss - 4.0 * (soft * torch.log_softmax(logits[:, :2 * task] / 2.0, 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            acc = (logits.argmax(1) == y[b]).float().mean().item()
        lines.append(f"<CLASSIFIER> | Context: {task + 1}/5 | training loss: {sum(losses[-10:]) / 10:.3g} | "
                     f"training accuracy: {acc:.3g} |: 100%|##########| 150/150 [00:01<00:00, 99.00it/s]")
        old = copy.deepcopy(model).eval()
    return write_lines(tmp_path / "example_comparison.output.txt", lines)



def test_a_loss_that_rises_across_distilled_tasks_is_a_divergence_warning(tmp_path):
    """LwF: the end-of-task loss climbs from about 0.03 on the first task to about 4 on the fifth,
    while the accuracy on each task stays about 0.96 or more: a warning that names the task counter."""
    run = lrdoctor.read(_split_digits_log(tmp_path, distill=True))
    loss, acc = run.series("loss").values, run.series("task_metric").values
    assert loss[-1] > 50 * loss[0] and acc.min() > 0.9
    [f] = _divergence(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and "context counts them" in f.summary


def test_the_same_tasks_without_distillation_are_no_divergence(tmp_path):
    """The twin, fine-tuned on each task in turn with no distillation: each task's loss ends near its
    own floor, and the report has nothing to say."""
    run = lrdoctor.read(_split_digits_log(tmp_path, distill=False))
    assert run.series("loss").values.max() < 0.5
    assert lrdoctor.diagnose(run).findings == []


def test_the_lwf_and_icarl_notebooks_are_divergence_warnings():
    """The notebook's own output read in place: LwF's end-of-task loss 3.24e-06, 1.46, 1.97, 2.3, 2.49
    and iCaRL's 0.000369, 0.397, 1.37, 2.95, 4.05, beside training accuracies of 0.86-1.0."""
    for rel, final in ((_LWF, 2.49), (_ICARL, 4.05)):
        [f] = _divergence(lrdoctor.diagnose(real_log(rel)))
        assert f.severity is Severity.WARNING and f.evidence["final_loss"] == final


def _two_stage_log(tmp_path: Path, gt_scale: float) -> str:
    """Train a two-stage detector of digits: each of the first 1400 digits pasted at a random offset
    into a 16x16 canvas (its box the 8x8 square there). A small CNN's features feed a class head
    (``hm_loss``, cross-entropy), a first-stage head regressing the box centre (``loc_loss``, smooth L1,
    in pixels) and an RoI head on the detached proposal: an objectness logit (``roi_cls_loss``, the
    proposal positive when its IoU with the ground-truth box passes 0.5) and a refinement of the
    positives' centres (``roi_reg_loss``, 0 when a batch has none). The sampler reads the ground-truth
    centres times ``gt_scale``: 1/16 is the bug of boxes normalised to the canvas against proposals
    in pixels, so no proposal is ever positive. Adam (lr 2e-3), batches of 50, two epochs, an
    mmdet-style line with each loss's mean every 7 updates."""
    x, y, _ = digits_mlp(0)
    draw = torch.Generator().manual_seed(0)
    offset = torch.randint(0, 9, (1400, 2), generator=draw)
    img = torch.zeros(1400, 1, 16, 16)
    for i in range(1400):
        img[i, 0, offset[i, 1]:offset[i, 1] + 8, offset[i, 0]:offset[i, 0] + 8] = x[i].view(8, 8)
    centre = offset.float() + 4.0
    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten())
    cls_head, loc_head = torch.nn.Linear(1024, 10), torch.nn.Linear(1024, 2)
    roi_head = torch.nn.Sequential(torch.nn.Linear(1026, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.Adam([p for m in (body, cls_head, loc_head, roi_head) for p in m.parameters()], lr=0.002)
    lines, window = [], []
    for epoch in (1, 2):
        order = torch.randperm(1400, generator=draw)
        for it in range(28):
            b = order[it * 50:(it + 1) * 50]
            h = body(img[b])
            hm_loss = torch.nn.functional.cross_entropy(cls_head(h), y[b])
            proposal = loc_head(h) + 8.0
            loc_loss = torch.nn.functional.smooth_l1_loss(proposal, centre[b])
            proposal = proposal.detach()
            out = roi_head(torch.cat([h, proposal / 16.0], 1))
            gap = (proposal - centre[b] * gt_scale).abs().clamp(max=8.0)
            overlap = (8 - gap[:, 0]) * (8 - gap[:, 1])
            positive = overlap / (128 - overlap) > 0.5
            roi_cls_loss = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], positive.float())
            roi_reg_loss = (torch.nn.functional.smooth_l1_loss(proposal[positive] + out[positive, 1:], centre[b][positive])
                            if positive.any() else torch.zeros(()))
            loss = hm_loss + loc_loss + roi_cls_loss + roi_reg_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            window.append(torch.stack([loss, hm_loss, loc_loss, roi_cls_loss, roi_reg_loss]).detach())
            if (it + 1) % 7 == 0:
                m = torch.stack(window).mean(0).tolist()
                lines.append(f"Epoch [{epoch}/2][{it + 1}/28]\tlr: 2.000e-03, loss: {m[0]:.4f}, hm_loss: {m[1]:.4f}, "
                             f"loc_loss: {m[2]:.4f}, roi_cls_loss: {m[3]:.4f}, roi_reg_loss: {m[4]:.4f}")
                window = []
    return write_lines(tmp_path / "train.log", lines)


def _slow(report):
    return [f for f in report.findings if f.kind == "slow_progress"]


def test_a_second_stage_with_no_positive_proposal_is_a_warning(tmp_path):
    """The sampler's frame bug: roi_reg_loss 0.0000 at all 8 reports while loc_loss falls from about
    1.8 to 0.14: the first stage regresses boxes, the second never gets one to refine. A warning that
    names both terms."""
    run = lrdoctor.read(_two_stage_log(tmp_path, gt_scale=1 / 16))
    assert (run.series("roi_reg_loss").values == 0).all() and run.series("loc_loss").values.min() > 0.1
    [f] = _slow(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.evidence["metric"] == "roi_reg_loss"
    assert "while loc_loss is not" in f.summary


def test_a_second_stage_that_gets_positives_is_silent(tmp_path):
    """The twin with the ground truth in the proposals' frame: the RoI head refines positives on
    every report, and the report has nothing to say."""
    run = lrdoctor.read(_two_stage_log(tmp_path, gt_scale=1.0))
    assert (run.series("roi_reg_loss").values > 0).all()
    assert lrdoctor.diagnose(run).findings == []


def test_the_centerpoint_log_is_a_warning_and_a_detector_with_no_box_term_stays_an_error():
    """CenterPoint two-stage read in place: roi_reg_loss 0.0000 on its four reports while loc_loss
    stays near 6.0, a warning. Ultralytics issue 1086, whose box_loss and dfl_loss are both 0 beside
    a cls_loss (no label found at all), keeps the error."""
    [f] = _slow(lrdoctor.diagnose(real_log(_CENTERPOINT)))
    assert f.severity is Severity.WARNING and "loc_loss" in f.evidence["rule"]
    [g] = _slow(lrdoctor.diagnose(real_log(_YOLO_NO_LABELS)))
    assert g.severity is Severity.ERROR and g.evidence["rule"].startswith("no box matched")
