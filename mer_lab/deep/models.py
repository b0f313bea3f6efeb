"""The networks, written fold-stacked.

Every model here holds ``folds`` independent copies of one network in a single module,
so that the folds of a cross-validation (68 held-out subjects on the MEGC composite)
can train together in one pass: convolutions are grouped by fold (``groups=folds``), batch
normalisation has one set of statistics per fold and channel, fully connected layers
are batched matrix products with one weight matrix per fold. No tensor ever mixes two
folds, and ``folds=1`` is the ordinary network. Every fold starts from the same
initial weights (those of the ``folds=1`` network with the same seed).

Inputs are ``(batch, folds, channels, [time,] size, size)``; outputs are logits
``(batch, folds, n_classes)``. Each model first standardises its input with per-fold,
per-channel ``mean`` and ``scale`` buffers, which the trainer fits on that fold's
training samples only (:func:`mer_lab.deep.training.fit_folds`).

=================  =============================================  ======================
name               input                                          parameters (3 classes)
=================  =============================================  ======================
``"ststnet"``      u, v, strain: (3, 28, 28)                      1,683
``"off_apexnet"``  u, v: (2, 28, 28)                              806,747
``"cnn3d"``        frames (1, T, 28, 28) or flow (2, T, 28, 28)   3,795 / 4,011
``"cnn_lstm"``     per-frame flow (2, T, 28, 28)                  38,411
=================  =============================================  ======================
"""

from __future__ import annotations

import math

from . import require_torch

torch = require_torch()
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

__all__ = ["MODELS", "build_model", "count_parameters", "STSTNet", "OFFApexNet", "CNN3D", "CNNLSTM",
           "FoldLinear", "tile_state"]


# --------------------------------------------------------------------------- fold-stacked layers
def _uniform(shape, bound, gen):
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * bound


class FoldConv(nn.Module):
    """A convolution per fold: ``(B, folds*cin, ...) -> (B, folds*cout, ...)`` (grouped).

    Weights start as PyTorch's default (Kaiming-uniform, a=sqrt(5)) draw of one
    fold's convolution, repeated for every fold."""

    def __init__(self, folds, cin, cout, kernel, *, dims=2, padding=0, gen):
        super().__init__()
        k = (kernel,) * dims if isinstance(kernel, int) else tuple(kernel)
        fan_in = cin * math.prod(k)
        bound = 1 / math.sqrt(fan_in)
        w = _uniform((cout, cin, *k), bound, gen)
        b = _uniform((cout,), bound, gen)
        self.weight = nn.Parameter(w.repeat(folds, *([1] * (1 + dims))))
        self.bias = nn.Parameter(b.repeat(folds))
        self.folds, self.padding, self.dims = folds, padding, dims

    def forward(self, x):
        conv = F.conv2d if self.dims == 2 else F.conv3d
        return conv(x, self.weight, self.bias, padding=self.padding, groups=self.folds)


class FoldLinear(nn.Module):
    """A fully connected layer per fold: ``(B, folds, n_in) -> (B, folds, n_out)``."""

    def __init__(self, folds, n_in, n_out, *, gen, bias=True):
        super().__init__()
        bound = 1 / math.sqrt(n_in)
        self.weight = nn.Parameter(_uniform((n_in, n_out), bound, gen).repeat(folds, 1, 1))
        self.bias = nn.Parameter(_uniform((n_out,), bound, gen).repeat(folds, 1)) if bias else None

    def forward(self, x):
        out = torch.einsum("bfi,fio->bfo", x, self.weight)
        return out if self.bias is None else out + self.bias


class _Standardise(nn.Module):
    """``(x - mean) / scale`` per fold and channel (buffers set by the trainer)."""

    def __init__(self, folds, channels):
        super().__init__()
        self.register_buffer("mean", torch.zeros(folds, channels))
        self.register_buffer("scale", torch.ones(folds, channels))

    def forward(self, x):  # x: (B, folds, C, ...)
        shape = (1, *self.mean.shape) + (1,) * (x.ndim - 3)
        return (x - self.mean.view(shape)) / self.scale.view(shape)


def _stack(x):
    """(B, folds, C, ...) -> (B, folds*C, ...)"""
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])


class _FoldModel(nn.Module):
    input_rank = 3  # channels, size, size

    def __init__(self, folds, channels):
        super().__init__()
        if folds < 1:
            raise ValueError(f"folds must be >= 1, got {folds}")
        self.folds, self.channels = folds, channels
        self.standardise = _Standardise(folds, channels)


# --------------------------------------------------------------------------- the models
class STSTNet(_FoldModel):
    """STSTNet, the shallow triple-stream three-dimensional CNN.

    Liong, See, Wong, Phan, "Shallow triple stream three-dimensional CNN (STSTNet) for
    micro-expression recognition", FG 2019 (MEGC 2019), doi:10.1109/FG.2019.8756567.

    Input: ``(3, 28, 28)`` maps of the onset -> apex flow ``u``, ``v`` and the optical
    strain (:func:`mer_lab.deep.inputs.flow_maps`). Three parallel 3 x 3 convolution
    streams of 3, 5 and 8 filters (held here as one 16-filter convolution, which is the
    same function with the same parameters), ReLU, batch normalisation, 3 x 3 max
    pooling (stride 3), 2 x 2 average pooling, the 16 x 5 x 5 outputs concatenated into
    one fully connected layer (softmax in the loss).

    Parameters: 1,683 with 3 classes (448 convolution, 32 batch normalisation,
    1,203 fully connected) per fold.
    """

    def __init__(self, n_classes=3, *, channels=3, size=28, folds=1, seed=0, dropout=0.0):
        super().__init__(folds, channels)
        gen = torch.Generator().manual_seed(int(seed))
        self.conv = FoldConv(folds, channels, 16, 3, padding=2, gen=gen)   # streams of 3 + 5 + 8 filters
        self.bn = nn.BatchNorm2d(folds * 16)
        side = (size + 2 + 2 * 1 - 3) // 3 + 1                             # conv pad 2, max-pool 3/3 pad 1
        side //= 2
        self.n_flat = 16 * side * side
        self.dropout = dropout
        self.fc = FoldLinear(folds, self.n_flat, n_classes, gen=gen)

    def forward(self, x):
        x = _stack(self.standardise(x))
        x = self.bn(F.relu(self.conv(x)))
        x = F.max_pool2d(x, 3, stride=3, padding=1)
        if self.dropout:
            x = F.dropout(x, self.dropout, self.training)
        x = F.avg_pool2d(x, 2, stride=2)
        return self.fc(x.reshape(x.shape[0], self.folds, -1))


class OFFApexNet(_FoldModel):
    """OFF-ApexNet: two CNN streams on the horizontal and vertical optical flow.

    Gan, Liong, Yau, Huang, Tan, "OFF-ApexNet on micro-expression recognition system",
    Signal Processing: Image Communication 74 (2019) 129-139,
    doi:10.1016/j.image.2019.02.005.

    Input: ``(2, 28, 28)`` maps of the onset -> apex flow ``u`` and ``v``. Each stream
    (one per component) has two stages of 3 x 3 convolution (6, then 16 filters), ReLU
    and 2 x 2 max pooling; the two 16 x 7 x 7 outputs are concatenated into a
    512-unit fully connected layer (ReLU, dropout) and the output layer. The layer widths
    are mer_lab's choice at the paper's scale (about 0.8 million parameters).

    Parameters: 806,747 with 3 classes per fold (1,880 convolution).
    """

    def __init__(self, n_classes=3, *, channels=2, size=28, folds=1, seed=0, hidden=512, dropout=0.5):
        super().__init__(folds, channels)
        gen = torch.Generator().manual_seed(int(seed))
        # each flow component is its own stream: grouped by fold and by component
        self.conv1 = FoldConv(folds * channels, 1, 6, 3, padding=1, gen=gen)
        self.conv2 = FoldConv(folds * channels, 6, 16, 3, padding=1, gen=gen)
        side = size // 4
        self.n_flat = channels * 16 * side * side
        self.fc1 = FoldLinear(folds, self.n_flat, hidden, gen=gen)
        self.fc2 = FoldLinear(folds, hidden, n_classes, gen=gen)
        self.dropout = dropout

    def forward(self, x):
        x = _stack(self.standardise(x))
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.reshape(x.shape[0], self.folds, -1)))
        x = F.dropout(x, self.dropout, self.training)
        return self.fc2(x)


class CNN3D(_FoldModel):
    """A small 3D CNN over a sequence: TIM-normalised frames or per-frame flow.

    After the spatio-temporal CNNs of the survey literature (e.g. Reddy, Karri, Dubey,
    Mukherjee, "Spontaneous facial micro-expression recognition using 3D spatiotemporal
    convolutional neural networks", IJCNN 2019, doi:10.1109/IJCNN.2019.8852419), at a
    size that trains on a CPU.

    Input: ``(C, T, 28, 28)``: ``C=1`` grey frames (:func:`mer_lab.deep.inputs.frame_maps`,
    after TIM to ``T`` frames) or ``C=2`` flow (:func:`~mer_lab.deep.inputs.flow_sequence_maps`).
    Two 3 x 3 x 3 convolutions (8 and 16 filters) with batch normalisation and ReLU, 1 x 2 x 2
    max pooling after the first, global average pooling, one fully connected layer.

    Parameters: 3,795 (C=1) or 4,011 (C=2) with 3 classes per fold.
    """

    input_rank = 4

    def __init__(self, n_classes=3, *, channels=1, size=28, folds=1, seed=0):
        super().__init__(folds, channels)
        gen = torch.Generator().manual_seed(int(seed))
        self.conv1 = FoldConv(folds, channels, 8, 3, dims=3, padding=1, gen=gen)
        self.bn1 = nn.BatchNorm3d(folds * 8)
        self.conv2 = FoldConv(folds, 8, 16, 3, dims=3, padding=1, gen=gen)
        self.bn2 = nn.BatchNorm3d(folds * 16)
        self.fc = FoldLinear(folds, 16, n_classes, gen=gen)

    def forward(self, x):
        x = _stack(self.standardise(x))
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool3d(x, (1, 2, 2))
        x = F.relu(self.bn2(self.conv2(x)))
        x = x.mean(dim=(2, 3, 4))
        return self.fc(x.reshape(x.shape[0], self.folds, -1))


class CNNLSTM(_FoldModel):
    """A CNN per frame followed by an LSTM over the frames.

    After Kim, Baddar, Ro, "Micro-expression recognition with expression-state
    constrained spatio-temporal feature representations", ACM Multimedia 2016,
    doi:10.1145/2964284.2967247 (a CNN's spatial features fed to an LSTM), here on
    per-frame flow at a CPU-sized scale.

    Input: ``(2, T, 28, 28)`` per-frame flow (:func:`mer_lab.deep.inputs.flow_sequence_maps`)
    or any ``(C, T, 28, 28)`` sequence. Per frame: two 3 x 3 convolutions (8, 16
    filters) with ReLU and 2 x 2 max pooling, average-pooled to 16 x 4 x 4; an LSTM
    with 32 hidden units over the frames; the last hidden state into one fully
    connected layer.

    Parameters: 38,411 with C=2 and 3 classes per fold.
    """

    input_rank = 4

    def __init__(self, n_classes=3, *, channels=2, size=28, folds=1, seed=0, hidden=32):
        super().__init__(folds, channels)
        gen = torch.Generator().manual_seed(int(seed))
        self.conv1 = FoldConv(folds, channels, 8, 3, padding=1, gen=gen)
        self.conv2 = FoldConv(folds, 8, 16, 3, padding=1, gen=gen)
        self.hidden = hidden
        self.gates_x = FoldLinear(folds, 16 * 16, 4 * hidden, gen=gen)
        self.gates_h = FoldLinear(folds, hidden, 4 * hidden, gen=gen, bias=False)
        self.fc = FoldLinear(folds, hidden, n_classes, gen=gen)

    def forward(self, x):
        x = self.standardise(x)                              # (B, folds, C, T, H, W)
        b, f, c, t = x.shape[:4]
        frames = x.permute(0, 3, 1, 2, 4, 5).reshape(b * t, f * c, *x.shape[4:])
        z = F.max_pool2d(F.relu(self.conv1(frames)), 2)
        z = F.max_pool2d(F.relu(self.conv2(z)), 2)
        z = F.adaptive_avg_pool2d(z, 4).reshape(b, t, f, -1)  # (B, T, folds, 256)
        gx = torch.stack([self.gates_x(z[:, i]) for i in range(t)], dim=1)
        h = z.new_zeros(b, f, self.hidden)
        cell = z.new_zeros(b, f, self.hidden)
        for i in range(t):
            g = gx[:, i] + self.gates_h(h)
            gi, gf, gg, go = g.chunk(4, dim=-1)
            cell = torch.sigmoid(gf) * cell + torch.sigmoid(gi) * torch.tanh(gg)
            h = torch.sigmoid(go) * torch.tanh(cell)
        return self.fc(h)


#: name -> (class, default input channels, input rank)
MODELS = {"ststnet": STSTNet, "off_apexnet": OFFApexNet, "cnn3d": CNN3D, "cnn_lstm": CNNLSTM}


def build_model(name: str, n_classes: int, *, channels=None, folds: int = 1, seed: int = 0, **kwargs):
    """A fresh fold-stacked model by name (see :data:`MODELS`)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, got {name!r}")
    cls = MODELS[name]
    if channels is not None:
        kwargs["channels"] = channels
    return cls(n_classes, folds=folds, seed=seed, **kwargs)


def count_parameters(model) -> int:
    """Trainable parameters of one fold's network."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad) // model.folds


def tile_state(state: dict, folds: int) -> dict:
    """The state dict of a ``folds=1`` network repeated for ``folds`` folds (every
    fold-stacked tensor holds the folds along its first dimension)."""
    return {k: (v.repeat(folds, *([1] * (v.ndim - 1))) if v.ndim else v.clone()) for k, v in state.items()}
