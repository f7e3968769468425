"""train_epoch / validate on a stand-in TrainData: gradient clipping, AMP dtype handling, metrics."""
import math

import pytest
import torch
from torch import nn

from common.errors import FormatError
from pytorch.losses import MarginScheduler, build_loss
from pytorch.training.distributed import DistInfo
from pytorch.training.loop import DivergedError, SpeakerNet, StepContext, train_epoch, validate
from pytorch.training.schedulers import build_scheduler


class FakeData:
    """Follows the TrainData contract: loader, set_epoch, to_features."""

    def __init__(self, n_batches=3, batch=4, frames=6, dim=3, classes=3):
        g = torch.Generator().manual_seed(0)
        self.loader = [{"feats": torch.randn(batch, frames, dim, generator=g),
                        "label": torch.randint(0, classes, (batch,), generator=g)} for _ in range(n_batches)]
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def to_features(self, batch, device):
        return batch["feats"].to(device), batch["label"].to(device)


class MeanEmb(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_dim = 4
        self.lin = nn.Linear(3, 4)

    def forward(self, x):
        return self.lin(x).mean(dim=1)


def _ctx(loss_cfg, lr=1.0, clip=0.0, amp=None, schedule=None):
    torch.manual_seed(0)
    net = SpeakerNet(MeanEmb(), build_loss(loss_cfg, 4, 3), amp)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    return StepContext(net=net, core=net, optimizer=opt, scheduler=build_scheduler(None, opt, 3, 1),
                       scaler=None, dist=DistInfo(), grad_clip=clip, margin=loss_cfg.get("margin", 0.0),
                       margin_schedule=schedule)


def test_grad_clip_bounds_the_update():
    ctx = _ctx({"name": "softmax"}, lr=1.0, clip=1e-3)
    before = [p.detach().clone() for p in ctx.core.parameters()]
    data = FakeData(n_batches=1)
    stats = train_epoch(ctx, data, epoch=1)
    step = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(ctx.core.parameters(), before)))
    assert step.item() == pytest.approx(1e-3, rel=1e-4)   # one SGD step of a gradient clipped to norm 1e-3
    assert data.epochs == [1] and ctx.step == 1 and stats.samples == 4


def test_margin_schedule_is_applied_per_step_and_validation_uses_margin_zero():
    sched = MarginScheduler(final=0.3, start_epoch=0, end_epoch=1, type="linear")
    ctx = _ctx({"name": "aam_softmax", "margin": 0.3, "scale": 10.0}, schedule=sched)
    seen = []
    orig = ctx.core.loss.set_margin
    ctx.core.loss.set_margin = lambda m: (seen.append(m), orig(m))
    train_epoch(ctx, FakeData(n_batches=3), epoch=1)
    assert seen == pytest.approx([0.0, 0.1, 0.2])  # progress 0, 1/3, 2/3 of epoch 1
    seen.clear()
    orig(0.3)
    va = validate(ctx, FakeData(n_batches=2))
    assert seen == [0.0, 0.3] and ctx.core.loss.margin == 0.3
    assert 0.0 <= va.acc <= 1.0 and va.samples == 8


def test_autocast_model_but_float32_loss():
    net = SpeakerNet(MeanEmb(), build_loss({"name": "aam_softmax"}, 4, 3), torch.bfloat16)
    x, y = torch.randn(2, 5, 3), torch.tensor([0, 1])
    with net.autocast(x.device):
        assert net.model(x).dtype == torch.bfloat16   # autocast is active for the model
    loss, logits = net(x, y)
    assert logits.dtype == torch.float32 and loss.dtype == torch.float32


class NamedData(FakeData):
    """FakeData whose batches carry dataset indices, named like TrainData.utt_ids does."""

    def __init__(self, **kw):
        super().__init__(**kw)
        for k, batch in enumerate(self.loader):
            batch["index"] = torch.arange(k * 4, k * 4 + 4)

    def utt_ids(self, index):
        return [f"utt{int(i)}" for i in index]


def test_nan_input_is_named_not_blamed_on_the_learning_rate():
    ctx = _ctx({"name": "softmax"})
    ctx.log_interval = 10                  # the NaN batch is checked at the epoch's end, two steps later
    data = NamedData(n_batches=3)
    data.loader[0]["feats"][1, 0, 0] = float("nan")
    with pytest.raises(FormatError, match=r"input features are not finite .* utterance\(s\) utt1;") as e:
        train_epoch(ctx, data, epoch=1)
    assert "optim.lr" not in str(e.value)


def test_diverging_loss_stops_with_advice():
    ctx = _ctx({"name": "softmax"}, lr=1e30)
    with pytest.raises(DivergedError, match="with finite input features; lower optim.lr") as e:
        train_epoch(ctx, NamedData(n_batches=3), epoch=1)
    assert isinstance(e.value, FloatingPointError)


def test_training_accuracy_counts_plain_cosines_not_the_margin_handicap():
    # Class centres at 0 and 90 degrees, the embedding at 40 degrees from class 0 (its label): cos 0.766
    # against 0.643, a hit. With AAM margin 0.5 rad the target logit is cos(40 deg + 28.6 deg) = 0.365
    # < 0.643, so counting hits on the margin logits (the old behaviour) reported a miss.
    loss = build_loss({"name": "aam_softmax", "margin": 0.5, "scale": 32.0}, embed_dim=2, num_classes=2)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    net = SpeakerNet(nn.Identity(), loss)
    a = math.radians(40)
    value, logits = net(torch.tensor([[math.cos(a), math.sin(a)]]), torch.tensor([0]))
    assert logits[0].tolist() == pytest.approx([math.cos(a), math.sin(a)], abs=1e-6)
    assert int(logits.argmax(dim=1)) == 0
    expect = -32 * math.cos(a + 0.5) + math.log(math.exp(32 * math.cos(a + 0.5)) + math.exp(32 * math.sin(a)))
    assert value.item() == pytest.approx(expect, rel=1e-5)        # the loss still carries the margin
