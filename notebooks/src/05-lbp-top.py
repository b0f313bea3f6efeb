# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # LBP-TOP: texture that changes over time
#
# A micro-expression leaves almost no trace in a single frame: the skin moves by a pixel
# or two. What does change is the *local texture pattern*: a brow moving up turns the
# little ridges and shadows around it, a pulled lip corner stretches the skin next to it.
# **Local binary patterns (LBP)** describe such patterns with a few bits per pixel: is
# each neighbour brighter or darker than me? Counting how often each pattern occurs in a
# region gives a histogram that ignores the overall brightness and contrast of the face.
#
# One frame is not enough for an ME, so Zhao and Pietikäinen (2007) computed LBP on
# **three orthogonal planes** (LBP-TOP) of the video volume: the ordinary frame (XY) and
# two slices that mix space and time (XT and YT). LBP-TOP was the baseline of almost
# every ME dataset paper, and the thesis's Table 3 compares it with MDMO and Sparse
# MDMO. In this chapter you will
#
# 1. code one pixel by hand, then a whole image in a few lines of numpy;
# 2. meet the *uniform* patterns and the u2 / riu2 mappings;
# 3. extend the codes to the three planes and build block histograms, checking each step
#    against `mer_lab.features.lbp`;
# 4. compare the family (LBP-XYOT, LBP-SIP, LBP-MOP, ELBP-TOP, HOG-TOP, HIGO-TOP) by
#    what they keep, how long their vectors are and how fast they are;
# 5. run a small leave-one-subject-out check against the majority baseline.

# %%
import time

import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pandas as pd
from skimage.feature import local_binary_pattern

from mer_lab.cube import key_frames, to_grey
from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus
from mer_lab.features import hog, lbp
from mer_lab.preprocess.face import crop_face
from mer_lab.preprocess.tim import tim
from mer_lab import viz

viz.setup_notebook()  # BokehJS from the installed packages: plots draw without internet

DATASET = "synthetic"  # or a dataset that datasets_table() shows as found, e.g. "casme2"

# %% [markdown]
# A small corpus keeps the chapter fast: 6 subjects, 3 classes, 64x64 frames. With a
# licensed dataset we take its 6 first subjects and its 3 largest classes.

# %%
if DATASET == "synthetic":
    corpus = make_corpus(n_subjects=6, clips_per_subject=6, size=64, seed=0,
                         classes=["happiness", "surprise", "disgust"])
else:
    full = load(DATASET)
    corpus = full.filter(label=list(full.class_counts().index[:3]),
                         subject=list(full.samples["subject"].unique()[:6]))
corpus

# %% [markdown]
# LBP-TOP works on a clip of fixed size: grey frames, the expression only (onset to
# offset), resampled to 10 frames with TIM (chapter 3), as in the thesis. Real frames are
# also shrunk to `SIZE` pixels here (a real pipeline would crop the face first, chapter 2).

# %%
SIZE = 64


def prepare(cube, n_frames=10):
    """Grey, onset..offset, SIZE x SIZE, then TIM to n_frames (None: keep every frame)."""
    cube = to_grey(cube) if "channel" in cube.dims else cube
    k = key_frames(cube)
    cube = cube.isel(time=slice(k["onset"], k["offset"] + 1))
    if (cube.sizes["y"], cube.sizes["x"]) != (SIZE, SIZE):
        cube = crop_face(cube, box=(0, 0, cube.sizes["x"], cube.sizes["y"]), margin=0, size=SIZE)
    return tim(cube, n_frames) if n_frames else cube


# %%
AXES = {"x": "x (px)", "y": "y (px)", "t": "t (frame)"}


def image(arr, title, *, dims="xy", cmap="viridis", clabel="value", width=220, height=220, clim=None):
    """A 2-D array as an image, row 0 at the top; dims names its (column, row) axes."""
    n_rows, n_cols = np.shape(arr)
    img = hv.Image(np.asarray(arr, float)[::-1], bounds=(-0.5, -0.5, n_cols - 0.5, n_rows - 0.5),
                   kdims=list(dims), vdims=[clabel])
    opts = dict(cmap=cmap, colorbar=True, invert_yaxis=True, title=title, xlabel=AXES[dims[0]],
                ylabel=AXES[dims[1]], frame_width=width, frame_height=height, tools=["hover"])
    return img.opts(**opts, **({"clim": clim} if clim else {}))


# %% [markdown]
# ## 1. One pixel, eight bits
#
# Take a 3x3 patch. The centre is 100. Walk around it starting on the right and turning
# counter-clockwise on the screen (right, up-right, up, up-left, left, down-left, down,
# down-right: scikit-image's order, used by mer_lab). Each neighbour that is at least as
# bright as the centre writes a 1, the others a 0. Bit `p` is worth `2**p`.

# %%
patch = np.array([[90, 120, 130],
                  [70, 100, 140],
                  [60, 95, 180]])
ring = [patch[1, 2], patch[0, 2], patch[0, 1], patch[0, 0],
        patch[1, 0], patch[2, 0], patch[2, 1], patch[2, 2]]
bits = [int(g >= patch[1, 1]) for g in ring]
code = sum(b << p for p, b in enumerate(bits))
bits, code

# %% [markdown]
# In the picture, the left panel is the patch (grey levels) and the right panel the bit
# each neighbour writes, with its bit number `p`. The bright right-hand side of the patch
# sets bits 0, 1, 2 and 7: code 1 + 2 + 4 + 128 = 135.

# %%
def grid(values, labels, title, cmap="gray"):
    """A small labelled grid (rows top to bottom) for schematics."""
    n_rows, n_cols = values.shape
    img = hv.Image(values, bounds=(-0.5, -0.5, n_cols - 0.5, n_rows - 0.5), kdims=["col", "row"])  # row 0 on top
    text = hv.Labels([(c, n_rows - 1 - r, labels[r][c]) for r in range(n_rows) for c in range(n_cols)],
                     kdims=["col", "row"], vdims="text")
    return (img.opts(cmap=cmap, xaxis=None, yaxis=None, frame_width=240, frame_height=240, title=title)
            * text.opts(text_color="red", text_font_size="12pt"))


# %%
where = [(1, 2), (0, 2), (0, 1), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
bit_img, bit_txt = np.full((3, 3), 0.5), [["", "", ""] for _ in range(3)]
for p, ((r, c), b) in enumerate(zip(where, bits)):
    bit_img[r, c], bit_txt[r][c] = b, f"{b} (p={p})"
bit_txt[1][1] = f"code\n{code}"

# %%
grid(patch, patch.astype(str).tolist(), "grey levels") + grid(bit_img, bit_txt, "bits: neighbour >= centre?", "Blues")

# %% [markdown]
# ### A whole image in numpy
#
# The same comparison for every pixel at once: shift the image by each of the 8 offsets
# and compare with the unshifted centre. No loop over pixels, one comparison per
# neighbour. The border pixels have no full ring and get no code.

# %%
OFFSETS = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]  # (dy, dx), p = 0..7


def lbp_image(img):
    """Radius-1, 8-neighbour LBP codes of the interior pixels (neighbours on the pixel grid)."""
    h, w = img.shape
    centre = img[1:-1, 1:-1]
    codes = np.zeros(centre.shape, np.int64)
    for p, (dy, dx) in enumerate(OFFSETS):
        codes += (img[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= centre).astype(np.int64) << p
    return codes


# %% [markdown]
# Let's check it against mer_lab on a real clip. `lbp.lbp_top_codes` returns the code of
# every plane through every voxel; its `"XY"` codes are plain image LBP. mer_lab offers
# two neighbour models: `"rounded"` puts the diagonal neighbours on the nearest pixel (as
# our function and the original MATLAB LBP-TOP do), `"interpolated"` reads them
# bilinearly at distance exactly 1 (as scikit-image's `local_binary_pattern` does).

# %%
uid = corpus.samples["amplitude"].idxmax() if "amplitude" in corpus.samples else corpus.uids[0]
clip = prepare(corpus.cube(uid), n_frames=None)   # every frame of the expression
frame = clip.values[1]                             # codes start one frame in (Rt = 1)
mine = lbp_image(frame)
rounded = lbp.lbp_top_codes(clip, neighbours="rounded")["XY"].values[0]
interp = lbp.lbp_top_codes(clip, neighbours="interpolated")["XY"].values[0]
skimage_codes = local_binary_pattern(frame, 8, 1)[1:-1, 1:-1]

# %%
print("numpy == mer_lab rounded:        ", np.array_equal(mine, rounded))
print("scikit-image == mer_lab interp.: ", np.array_equal(skimage_codes, interp))
print(f"rounded and interpolated codes agree at {np.mean(rounded == interp):.0%} of the pixels")

# %% [markdown]
# The two neighbour models disagree at a fair share of pixels: on smooth skin the four
# diagonal neighbours are often within a grey level of the centre, and whether one reads
# them on the grid or a little closer flips the bit. Both are "LBP"; a paper should say
# which one it used.

# %% [markdown]
# ## 2. Uniform patterns: u2 and riu2
#
# Of the 256 codes, a few dominate natural images: those whose circular bit string
# changes between 0 and 1 at most twice (`00011100`, `11111111`). They are edges, corners,
# spots and flat areas. Ojala et al. called them **uniform**. Count them:

# %%
all_codes = np.arange(256)
code_bits = (all_codes[:, None] >> np.arange(8)) & 1                    # (256, 8)
transitions = (code_bits != np.roll(code_bits, 1, axis=1)).sum(axis=1)
uniform = transitions <= 2
print(f"{uniform.sum()} uniform codes of 256")

# %% [markdown]
# Two mappings turn codes into histogram bins:
#
# - **u2**: every uniform code keeps its own bin (numbered in increasing code order), all
#   the others share one last bin: 58 + 1 = **59 bins** for P = 8 (`P(P-1) + 3` in general).
# - **riu2** (rotation-invariant uniform): a uniform code is replaced by its number of
#   ones (0..8), whatever the rotation; non-uniform codes go to bin 9: **P + 2 = 10 bins**.
#   riu2 = 8 means "all neighbours at least as bright" (a flat area or a dark spot),
#   0 a bright spot, 3-5 an edge.

# %%
u2 = np.full(256, 58)
u2[uniform] = np.arange(58)
riu2 = np.where(uniform, code_bits.sum(axis=1), 9)

# %%
codes_u2 = lbp.lbp_top_codes(clip, neighbours="rounded", mapping="u2")["XY"].values[0]
codes_riu2 = lbp.lbp_top_codes(clip, neighbours="rounded", mapping="riu2")["XY"].values[0]
print("u2 table == mer_lab:", np.array_equal(u2[mine], codes_u2),
      "| riu2 table == mer_lab:", np.array_equal(riu2[mine], codes_riu2))
print(f"uniform patterns cover {uniform[mine].mean():.0%} of this frame's pixels")


# %% [markdown]
# The three maps below show the frame's codes. On the face, where the skin is shaded
# smoothly, neighbouring pixels share a code that says on which side the brighter
# neighbours lie, so the codes form bands; the dark brows, eyes and mouth add stripes of
# their own. The flat background is a speckle: there neighbours differ only by texture
# and sensor noise, and every bit is a coin flip. riu2 forgets the direction: the face
# turns into edge labels (about 4 of the 8 neighbours brighter) and the background into a
# mix of spots (0), flat patches (8) and non-uniform codes (9).

# %%
(image(mine, "raw code (0-255)", clabel="code") + image(codes_u2, "u2 label (0-58)", clabel="u2 bin")
 + image(codes_riu2, "riu2 label (0-9)", clabel="riu2 bin")).cols(3)

# %% [markdown]
# ## 3. Three orthogonal planes
#
# A clip is a volume `(time, y, x)`. Through every voxel pass three planes:
#
# | plane | slice | its rows, its columns | what it sees |
# |---|---|---|---|
# | XY | `cube[t]` | y, x | appearance: the texture of one frame |
# | XT | `cube[:, y, :]` | t, x | one image row over time: *horizontal* motion tilts its stripes |
# | YT | `cube[:, :, x]` | t, y | one image column over time: *vertical* motion tilts its stripes |
#
# A still pixel draws a straight vertical line down an XT or YT slice (the same value at
# every time); a pixel that moves draws a slanted one. The temporal neighbours on an XT
# or YT ring are the same pixel one frame earlier and later, so their bits record whether
# it got brighter or darker: motion, flicker, and sensor noise alike.
#
# We cut the slices through the row and the column where the clip changes most between
# onset and apex (red lines on the apex frame).

# %%
apex = key_frames(clip)["apex"]
change = np.abs(clip.values[apex].astype(float) - clip.values[0].astype(float))
y0 = int(clip["y"][change.sum(axis=1).argmax()])
x0 = int(clip["x"][change.sum(axis=0).argmax()])
print(f"{clip.attrs.get('sample')} ({clip.attrs.get('emotion')}): row y = {y0}, column x = {x0}, apex at position {apex}")

# %% [markdown]
# Top row: the apex frame, the XT slice (row `y0`, frame after frame, time running down)
# and how that slice differs from its first (onset) row. Bottom row: the same for the YT
# slice through column `x0`. In the grey levels the expression is invisible, a movement
# of about a pixel. The difference panels show it: red and blue bands appear where the
# face moves, grow until the apex and fade after it. This is what the temporal bits of
# the XT and YT codes pick up, together with the noise that speckles the rest.

# %%
xt = clip.values[:, y0, :].astype(float)
yt = clip.values[:, :, x0].astype(float)
lim = max(np.abs(xt - xt[0]).max(), np.abs(yt - yt[0]).max())
diff = dict(cmap="RdBu_r", clabel="change (grey levels)", clim=(-lim, lim), height=140)

# %%
apex_view = image(clip.values[apex], "apex frame", cmap="gray", clabel="grey level")
apex_view = apex_view * hv.HLine(y0).opts(color="red") * hv.VLine(x0).opts(color="red")
(apex_view + image(xt, f"XT slice, row y = {y0}", dims="xt", cmap="gray", clabel="grey level", height=140)
 + image(xt - xt[0], "XT: change since onset", dims="xt", **diff)
 + image(yt, f"YT slice, column x = {x0}", dims="yt", cmap="gray", clabel="grey level", height=140)
 + image(yt - yt[0], "YT: change since onset", dims="yt", **diff)).cols(3).opts(shared_axes=False)

# %% [markdown]
# Now the codes of each plane (riu2, to keep the colours readable). `lbp_top_codes`
# returns DataArrays that keep the clip's coordinates, so we select the same frame, row
# and column by value. In the XT and YT maps most columns keep one colour from top to
# bottom: a still pixel keeps its spatial bits, and a temporal bit flipped by noise moves
# its riu2 label by one at most. Where the face moves, a column changes colour for a few
# frames (compare with the change panels above). The histograms of these maps, block by
# block, are what LBP-TOP keeps: the expression has to show up as a small shift in them.

# %%
codes = lbp.lbp_top_codes(clip, mapping="riu2")
(image(codes["XY"].sel(time=clip["time"][apex], method="nearest"), "XY codes at the apex", clabel="riu2 bin")
 + image(codes["XT"].sel(y=y0), f"XT codes, row y = {y0}", dims="xt", clabel="riu2 bin", height=140)
 + image(codes["YT"].sel(x=x0), f"YT codes, column x = {x0}", dims="yt", clabel="riu2 bin",
         height=140)).cols(3).opts(shared_axes=False)

# %% [markdown]
# ### What LBP-TOP sees of the skin: appearance off and on
#
# Real action units wrinkle and bulge the skin (FACS): that is what an appearance
# descriptor can pick up, more than a one-pixel shift. The synthetic corpus paints these
# cues with its `appearance` knob (chapter 1); with `appearance=0` the same clips only
# move, with the same noise. Below, the same 10-frame clip rendered both ways: the
# middle-minus-first-frame difference of each, then, per 8x8 block and plane, how far
# apart the two renderings' LBP-TOP histograms are (L1 distance between the normalised
# histograms: 0 identical, 2 disjoint). Everything that differs is the appearance change.

# %%
def rendered_both_ways(uid):
    """The clip of uid with the appearance cues off and as the corpus draws them (synthetic only)."""
    plain = make_corpus(n_subjects=6, clips_per_subject=6, size=64, seed=0,
                        classes=["happiness", "surprise", "disgust"], appearance=0)
    return prepare(plain.cube(uid)), prepare(corpus.cube(uid))


def block_map(d, title):
    n = d.shape[0]
    return hv.Image(d[::-1], bounds=(-0.5, -0.5, n - 0.5, n - 0.5), kdims=["block column", "block row"],
                    vdims=["L1 distance"]).opts(cmap="magma", colorbar=True, clim=(0, None), invert_yaxis=True,
                                                title=title, frame_width=140, frame_height=140, tools=["hover"])


# %%
if DATASET == "synthetic":
    off, on = rendered_both_ways(uid)
    mid = off.sizes["time"] // 2
    h_off = lbp.lbp_top(off, blocks=(8, 8, 1)).reshape(8, 8, 3, 59)
    h_on = lbp.lbp_top(on, blocks=(8, 8, 1)).reshape(8, 8, 3, 59)
    gap = np.abs(h_on - h_off).sum(axis=-1)  # (block row, block column, plane)
    panels = [image(c.values[mid].astype(float) - c.values[0].astype(float), f"{name}: middle - first",
                    cmap="RdBu_r", clabel="change (grey levels)", clim=(-10, 10), width=180, height=180)
              for name, c in (("appearance off", off), ("appearance on", on))]
    panels += [block_map(gap[..., k], f"on vs off: {plane}") for k, plane in enumerate(("XY", "XT", "YT"))]
    layout = hv.Layout(panels).cols(5).opts(shared_axes=False)
else:
    layout = hv.Div("<p>The appearance knob belongs to the synthetic corpus: set DATASET = 'synthetic'.</p>")
layout

# %% [markdown]
# (Each cell of a block map is one of the 8x8 blocks, row 0 at the top.) The two
# renderings differ only in the blocks over the AU's furrows and wrinkles, in all three
# planes: XY because the texture itself changed, XT and YT because grey levels change over
# time where a furrow deepens. The shifts are small, a few per cent of a histogram, about
# as large as what the noise does from one frame to the next; a classifier has to find
# them in 11 328 features. Section 6 measures what they are worth.

# %% [markdown]
# ### Block histograms
#
# A histogram of the whole face would mix the brows with the mouth. LBP-TOP therefore
# cuts the volume of centres into `rows x cols x time` blocks and takes one histogram per
# block and plane, each normalised to sum 1, concatenated block by block (XY, XT, YT
# within a block). From scratch, for one plane:

# %%
def block_histograms(labels, n_bins, rows, cols):
    """(T, Y, X) labels -> (rows * cols, n_bins) histograms summing to 1 (one time block)."""
    _, Y, X = labels.shape
    r_edges, c_edges = np.arange(rows + 1) * Y // rows, np.arange(cols + 1) * X // cols
    hists = [np.bincount(labels[:, r_edges[i]:r_edges[i + 1], c_edges[j]:c_edges[j + 1]].ravel(), minlength=n_bins)
             for i in range(rows) for j in range(cols)]
    return np.array(hists) / np.sum(hists, axis=1, keepdims=True)


# %% [markdown]
# and the whole descriptor on the 10-frame clip, checked against `lbp.lbp_top`:

# %%
clip10 = prepare(corpus.cube(uid))
labels = lbp.lbp_top_codes(clip10, mapping="u2")
scratch = np.concatenate([block_histograms(labels[p].values, 59, 2, 2) for p in ("XY", "XT", "YT")], axis=1).ravel()
theirs = lbp.lbp_top(clip10, mapping="u2", blocks=(2, 2, 1))
print(len(theirs), "features; same as mer_lab:", np.allclose(scratch, theirs))

# %% [markdown]
# The figure shows the 2x2-block descriptor as a grid: one row per (block, plane), one
# column per u2 bin. Three columns hold about a third of every histogram: bin 58 (the
# non-uniform codes), bin 57 (code 255: no neighbour darker than the centre) and bin 0
# (code 0: every neighbour darker). The XT and YT rows are a little more concentrated
# than the XY rows and have peaks of their own: edge codes whose two temporal bits are
# both set (the same pixel one frame earlier and later is at least as bright, which a
# still pixel with an unchanged grey level satisfies, since ties count as "at least").
# The rows of different blocks look much alike: an expression shows up as small shifts
# of these shares, which is why the classifier needs them all.

# %%
names = [f"{b} {p}" for b in ("r0c0", "r0c1", "r1c0", "r1c1") for p in ("XY", "XT", "YT")]
hist_rows = theirs.reshape(12, 59)

# %%
heat = hv.HeatMap([(k, names[i], hist_rows[i, k]) for i in range(12) for k in range(59)],
                  kdims=[hv.Dimension("bin", label="u2 bin"), hv.Dimension("row", label="block, plane")],
                  vdims=[hv.Dimension("share", label="share of the block's codes")])
heat.opts(cmap="magma", colorbar=True, frame_width=620, frame_height=300, tools=["hover"], invert_yaxis=True,
          title=f"LBP-TOP of {clip10.attrs.get('sample')}, blocks 2x2x1 ({len(theirs)} features)", logz=False)

# %% [markdown]
# With the thesis's settings (8x8x1 blocks, P = 8, u2) the vector has
# 8 x 8 x 3 x 59 = **11 328** features, for a few hundred clips: one reason why the SVM
# sees far more features than samples.

# %%
print(len(lbp.lbp_top(clip10, blocks=(8, 8, 1))), "features with 8x8x1 blocks")

# %% [markdown]
# ## 4. The LBP-TOP family
#
# The variants keep different parts of the volume:
#
# - **LBP-XYOT** drops the XY plane: only the two planes that see motion remain (and the
#   plane most tied to a person's identity goes).
# - **LBP-SIP** (six intersection points): with P = 4 the three rings share points. Only
#   six distinct neighbours remain, four in the frame and two in time (previous and next
#   frame). One 4-bit spatial code (16 bins) and one 2-bit temporal code (4 bins) per
#   voxel: 20 bins per block.
# - **LBP-MOP** (mean orthogonal planes) codes only three *mean images* per block: the
#   mean frame, the mean XT slice and the mean YT slice. Much cheaper.
# - **ELBP-TOP** adds two second-order patterns to LBP-TOP that do not use the centre:
#   *radial* differences (ring point against the point at the same angle on a smaller
#   ring) and *angular* differences (each ring point against its neighbour on the ring).
# - **HOG-TOP / HIGO-TOP** replace binary patterns by gradient orientations on the three
#   planes; HOG weights each vote by the gradient magnitude, HIGO counts votes only.
#
# The six LBP-SIP points of a voxel, from scratch (the voxel at the centre of the clip):

# %%
vol = clip10.values.astype(int)
t, y, x = 5, 32, 32
c = vol[t, y, x]
spatial = [vol[t, y, x + 1] >= c, vol[t, y - 1, x] >= c, vol[t, y, x - 1] >= c, vol[t, y + 1, x] >= c]
temporal = [vol[t - 1, y, x] >= c, vol[t + 1, y, x] >= c]
sum(int(b) << p for p, b in enumerate(spatial)), sum(int(b) << p for p, b in enumerate(temporal))

# %% [markdown]
# LBP-MOP's three mean images of the whole clip (one block). The mean frame is a slightly
# blurred face; the mean XT image (all rows averaged) and the mean YT image (all columns
# averaged) are the face's profiles repeated frame after frame. A micro-expression changes
# them by a fraction of a grey level, which their codes have to catch. With 8x8 blocks
# each block averages only its own rows or columns, so the profiles become local.

# %%
(image(vol.mean(axis=0), "mean XY (over t)", cmap="gray", clabel="grey level")
 + image(vol.mean(axis=1), "mean XT (over y)", dims="xt", cmap="gray", clabel="grey level", height=100)
 + image(vol.mean(axis=2), "mean YT (over x)", dims="yt", cmap="gray", clabel="grey level",
         height=100)).cols(3).opts(shared_axes=False)

# %% [markdown]
# ELBP-TOP's second-order bits on one ring, for the XY plane of the same voxel: radial
# bits compare the radius-2 ring with the radius-1 ring (rounded to the pixel grid), and
# angular bits compare each radius-2 point with the next one.

# %%
angles = 2 * np.pi * np.arange(8) / 8
outer = [vol[t, y + int(np.rint(-2 * np.sin(a))), x + int(np.rint(2 * np.cos(a)))] for a in angles]
inner = [vol[t, y + int(np.rint(-np.sin(a))), x + int(np.rint(np.cos(a)))] for a in angles]
radial = [int(o >= i) for o, i in zip(outer, inner)]
angular = [int(outer[p] >= outer[(p + 1) % 8]) for p in range(8)]
radial, angular

# %% [markdown]
# Now all of them side by side on a few prepared clips, with the thesis's 8x8x1 blocks.
# The time is per clip of 10 frames of 64x64 pixels (timings on a shared machine are
# noisy; the order of magnitude is what counts).

# %%
FAMILY = {
    "LBP-TOP": (lbp.lbp_top, "XY + XT + YT codes, P=8, u2"),
    "LBP-XYOT": (lbp.lbp_xyot, "XT + YT codes only"),
    "LBP-SIP": (lbp.lbp_sip, "6 unique neighbours: 16 + 4 bins"),
    "LBP-MOP": (lbp.lbp_mop, "codes of 3 mean images per block"),
    "ELBP-TOP": (lbp.elbp_top, "LBP-TOP + radial + angular differences, R=2/1"),
    "HOG-TOP": (hog.hog_top, "gradient orientations, magnitude-weighted, 8 bins"),
    "HIGO-TOP": (hog.higo_top, "gradient orientations, unweighted, 8 bins"),
}

# %%
sample_clips = [prepare(corpus.cube(u)) for u in corpus.uids[:4]]
for func, _ in FAMILY.values():   # one call each first, so that one-off set-up costs are not timed
    func(sample_clips[0], blocks=(8, 8, 1))

# %%
rows = []
for name, (func, keeps) in FAMILY.items():
    start = time.perf_counter()
    vectors = [func(c, blocks=(8, 8, 1)) for c in sample_clips]
    ms = 1000 * (time.perf_counter() - start) / len(sample_clips)
    rows.append({"method": name, "keeps": keeps, "features": vectors[0].size, "ms per clip": round(ms, 1)})

# %%
family = pd.DataFrame(rows).set_index("method")
family

# %% [markdown]
# The figure puts the two costs side by side (log scales). LBP-SIP and the HOG pair are
# short; ELBP-TOP is three LBP-TOPs long; LBP-MOP has LBP-TOP's length at a fraction of
# its time.

# %%
table = family.reset_index().assign(label_x=lambda d: d["features"] * 1.12)

# %%
points = hv.Points(table, kdims=[hv.Dimension("features", label="feature length"),
                                 hv.Dimension("ms per clip", label="time per clip (ms)")],
                   vdims=["method"]).opts(size=10, color="#1f77b4", tools=["hover"])
labels = hv.Labels(table, kdims=["label_x", "ms per clip"], vdims="method").opts(
    text_font_size="9pt", text_align="left")
(points * labels).opts(logx=True, logy=True, frame_width=560, frame_height=300, xlim=(800, 120000),
                       title="The LBP-TOP family: length and speed (8x8x1 blocks)")

# %% [markdown]
# ### What survives a change of lighting, or noise?
#
# LBP only compares grey levels, so any change that keeps their order keeps every code.
# Gradient histograms see the change itself. We try three changes on the 10-frame clip
# (in floating point, so that no rounding gets in the way):
#
# - a **gamma curve** `255 (I / 255) ** 0.6`: brighter shadows, the order of grey levels kept;
# - an **uneven light**: a ramp from 60 % brightness on the left to 140 % on the right;
# - **sensor noise** with a standard deviation of one grey level.
#
# and measure how far each descriptor moves: the L1 distance between the two vectors
# divided by the number of histograms (each sums to 1: 0 = unchanged, 2 = nothing in
# common). LBP uses `neighbours="rounded"` so that no interpolation mixes grey levels.

# %%
grey = clip10.values.astype(float)
changes = {
    "gamma 0.6": 255 * (grey / 255) ** 0.6,
    "light ramp 60-140 %": grey * np.linspace(0.6, 1.4, grey.shape[2]),
    "noise, 1 grey level": grey + np.random.default_rng(0).normal(0, 1, grey.shape),
}

# %%
describe = {"LBP-TOP": lambda c: lbp.lbp_top(c, blocks=(4, 4, 1), neighbours="rounded"),
            "HOG-TOP": lambda c: hog.hog_top(c, blocks=(4, 4, 1)),
            "HIGO-TOP": lambda c: hog.higo_top(c, blocks=(4, 4, 1))}

# %%
moved = [(change, name, np.abs(f(clip10) - f(clip10.copy(data=new))).sum() / (4 * 4 * 3))
         for change, new in changes.items() for name, f in describe.items()]
hv.Bars(moved, kdims=[hv.Dimension("change"), hv.Dimension("method")],
        vdims=[hv.Dimension("moved", label="L1 change per histogram (0-2)")]).opts(
    frame_width=640, frame_height=240, tools=["hover"], multi_level=True,
    title="How far each descriptor moves under a change of the clip")

# %% [markdown]
# Under the gamma curve LBP-TOP does not move at all: the order of grey levels is all it
# looks at, while the gradient histograms move a little. The light ramp and the noise
# tell another story. On smooth skin neighbouring pixels differ by a grey level or less,
# so a ramp that adds a fraction of a grey level per pixel, or a little noise, reorders
# many of them and flips their bits: on this clip LBP-TOP moves most under the ramp, and
# much under noise. HOG-TOP, whose votes are weighted by gradient strength, is the least
# disturbed by both; HIGO-TOP counts a faint gradient as much as a strong edge, so noise
# moves it most. The thesis (after Li et al.) calls HIGO the more robust of the two to
# changes of illumination, since a dim and a bright edge vote alike; this smooth synthetic
# face, whose gradients are mostly faint, does not show that advantage. Claims like this
# one are worth checking on your own data.

# %% [markdown]
# ## 5. Play with the parameters
#
# The radius sets how far the ring reaches (in pixels and in frames), the number of
# points the resolution of the ring and the number of bins, the mapping how bins are
# merged, and the blocks how finely the face is cut. Watch the histogram of the block at
# the centre of the face and the total length in the title. With `none`, P = 16 gives
# 65 536 bins per plane: the vector becomes longer than any dataset is large.

# %%
def lbp_histogram(radius=1, points=8, mapping="u2", blocks=4, plane="XT"):
    v = lbp.lbp_top(clip10, radii=(radius, radius, min(radius, 4)), points=(points,) * 3, mapping=mapping,
                    blocks=(blocks, blocks, 1))
    nb = lbp.n_bins(points, mapping)
    centre_block = (blocks // 2) * blocks + blocks // 2
    hist = v.reshape(blocks * blocks, 3, nb)[centre_block, ("XY", "XT", "YT").index(plane)]
    return hv.Spikes((np.arange(nb), hist), kdims=[hv.Dimension("bin", label=f"{mapping} bin")],
                     vdims=[hv.Dimension("share", label="share of the block's codes")]).opts(
        frame_width=560, frame_height=220, line_width=2, color="#d62728",
        title=f"{plane}, centre block of {blocks}x{blocks}x1: {v.size} features in all")


# %%
widgets.interact(lbp_histogram, radius=(1, 3), points=[4, 8, 12, 16], mapping=["u2", "riu2", "none"],
                 blocks=(1, 8), plane=["XY", "XT", "YT"]);

# %% [markdown]
# ## 6. Does it recognise anything? A small LOSO check
#
# Leave-one-subject-out (LOSO): train on all subjects but one, test on the one left out,
# repeat for every subject, and score the pooled predictions with **macro F1** (the mean
# of the per-class F1 scores; chapter 8). The mer_lab transformers (`lbp.LBPTOP`, ...)
# follow the scikit-learn contract and hold no state, so we compute every clip's features
# once and cross-validate only the classifier (a linear SVM on standardised features;
# chapter 7 does the thesis's grid search). The majority-class dummy is the floor.

# %%
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


# %%
cubes = [prepare(cube) for _, cube in corpus.cubes()]
y, groups = corpus.labels, corpus.groups
print(len(cubes), "clips,", len(set(groups)), "subjects")

# %%
extractors = {
    "LBP-TOP": lbp.LBPTOP(blocks=(4, 4, 1)),
    "LBP-XYOT": lbp.LBPXYOT(blocks=(4, 4, 1)),
    "LBP-SIP": lbp.LBPSIP(blocks=(4, 4, 1)),
    "HIGO-TOP": hog.HIGOTOP(blocks=(4, 4, 1)),
}
features = {name: ext.fit_transform(cubes) for name, ext in extractors.items()}
{name: X.shape for name, X in features.items()}

# %%
def loso(model, X):
    pred = cross_val_predict(model, X, y, groups=groups, cv=LeaveOneGroupOut())
    return {"accuracy": accuracy_score(y, pred), "macro F1": f1_score(y, pred, average="macro")}


# %%
results = {name: loso(make_pipeline(StandardScaler(), SVC(kernel="linear")), X) for name, X in features.items()}
results["majority baseline"] = loso(DummyClassifier(strategy="most_frequent"), features["LBP-SIP"])
scores = pd.DataFrame(results).T.round(3)
scores

# %%
bars = hv.Bars(scores.reset_index(names="method"), kdims=["method"],
               vdims=[hv.Dimension("macro F1", range=(0, 1))])
floor = hv.HLine(scores.loc["majority baseline", "macro F1"]).opts(color="gray", line_dash="dashed")
(bars * floor).opts(frame_width=420, frame_height=240, title=f"LOSO macro F1 on {corpus.name} (dashed: majority)")

# %% [markdown]
# On the synthetic corpus (6 subjects, 12 clips per class) the descriptors land above the
# baseline, but their ranking moves when you change the corpus's `seed`: with 36 clips, a
# single clip is almost 3 points of accuracy. Such small checks tell you that a pipeline
# *works*; only the full protocol (chapter 10) tells you which method is *better*.
#
# The same check for LBP-TOP on the same clips rendered with `appearance=0` (motion only)
# shows how much of what it recognises comes from the skin's appearance changes:

# %%
if DATASET == "synthetic":
    plain = make_corpus(n_subjects=6, clips_per_subject=6, size=64, seed=0,
                        classes=["happiness", "surprise", "disgust"], appearance=0)
    X_plain = lbp.LBPTOP(blocks=(4, 4, 1)).fit_transform([prepare(c) for _, c in plain.cubes()])
    svm = make_pipeline(StandardScaler(), SVC(kernel="linear"))
    print(pd.DataFrame({"appearance off": loso(svm, X_plain), "appearance on": loso(svm, features["LBP-TOP"])}).round(3))

# %% [markdown]
# ## Summary
#
# - LBP writes one bit per neighbour (brighter or darker than the centre); the code of a
#   pixel is invariant to any change that keeps the order of grey levels.
# - Uniform patterns (at most two 0/1 transitions) cover most pixels; u2 keeps them apart
#   (59 bins for P = 8), riu2 also merges their rotations (10 bins).
# - LBP-TOP codes the XY, XT and YT planes through every voxel: XY sees appearance, XT and
#   YT see horizontal and vertical change over time (including noise). Histograms per
#   block and plane are concatenated: 11 328 features with the thesis's 8x8x1 blocks.
# - The variants trade what they keep for length and speed: LBP-XYOT drops appearance,
#   LBP-SIP keeps six neighbours, LBP-MOP codes mean images, ELBP-TOP adds
#   second-order patterns; HOG/HIGO-TOP use gradient orientations instead.
#
# ## Exercises
#
# 1. **Monotonic invariance.** Compute `lbp.lbp_top(clip10, neighbours="rounded")` and
#    the same for `clip10.copy(data=np.sqrt(clip10.values.astype(float)))`. Are they
#    equal? Which neighbour model can break the equality, and why? *Hint: a square root
#    keeps the order of grey levels; bilinear interpolation mixes them first.*
# 2. **The MEGC 2019 setting.** The MEGC 2019 LBP-TOP baseline used P = 4, radii
#    (1, 1, 4) and 5x5 blocks. What is its feature length with `mapping="none"`? Add it to
#    `extractors` and compare its LOSO macro F1. *Hint: `lbp.LBPTOP(radii=(1, 1, 4),
#    points=(4, 4, 4), mapping="none", blocks=(5, 5, 1))`; with Rt = 4 a 10-frame clip
#    keeps only 2 centre frames.*
# 3. **Harder data.** Rebuild the corpus with `difficulty="hard"` (more noise, head drift,
#    flicker, smaller motions, shallower wrinkles) and re-run section 6. Which descriptor suffers most? *Hint:
#    look at the XT/YT code maps of section 3 again: what does noise do to the temporal
#    bits?*
# 4. **Which plane matters?** Write `lbp_xy_only(cube)` returning the XY part of
#    `lbp.lbp_top` (for each block the first 59 values) and compare it with LBP-XYOT in
#    the LOSO check. *Hint: `v.reshape(n_blocks, 3, 59)[:, 0]`.*
