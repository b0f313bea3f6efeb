"""A comparison renders each synthetic clip once, not once per method."""

from mer_lab import compare as mc
from mer_lab.datasets import _motion


def test_a_comparison_corpus_keeps_every_rendered_clip(monkeypatch):
    rendered = []
    real = _motion.render
    monkeypatch.setattr(_motion, "render", lambda *a, **k: rendered.append(1) or real(*a, **k))
    mc.clear_memory()
    choice = mc.CorpusChoice("synthetic", n_subjects=3, clips_per_subject=30, size=32, seed=5)
    corpus = mc.get_corpus(choice)
    assert len(corpus) == 90 > 64                     # more clips than a plain corpus keeps (64)
    for _ in range(2):                                 # two methods reading every clip
        for uid in corpus.uids:
            corpus.cube(uid)
    assert len(rendered) == 90
    mc.clear_memory()
