"""Every method on the default synthetic corpus, as the dashboard runs them.

Prints, per method, LOSO accuracy and macro F1 (linear SVM, no search, Farneback flow)
and the time it took with the caches cold, then the time of the whole comparison again
with the caches warm and after one widget change (the classifier's C). The dashboard's
goals: a cold comparison of all methods in under 2 minutes on 2 cores, a widget change
with features cached in under 1 s.

    .venv/bin/python benchmarks/bench_compare.py [--difficulty easy|default|hard]
"""

import argparse
import os
import tempfile
import time
import warnings

warnings.simplefilter("ignore")


def cpu() -> float:
    """CPU seconds of this process and its finished child processes."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--difficulty", default="default", choices=["easy", "default", "hard"])
    parser.add_argument("--engine", default="farneback", choices=["farneback", "dis", "tvl1"])
    parser.add_argument("--deep", action="store_true", help="also the deep methods (STSTNet, ...; slow)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="workers for the clips and folds, as the dashboard uses (2)")
    args = parser.parse_args()
    os.environ["MER_LAB_CACHE"] = tempfile.mkdtemp(prefix="mer_lab_bench_")  # cold caches

    from mer_lab import compare as mc
    from mer_lab.methods import METHODS

    # the networks of mer_lab.deep train for minutes per method: benchmarks/bench_deep.py times them
    methods = [name for name, m in METHODS.items() if m.classifier is None or args.deep]
    choice = mc.CorpusChoice("synthetic", difficulty=args.difficulty)
    corpus = mc.get_corpus(choice)
    print(f"{corpus!r}\nengine {args.engine}, linear SVM (C=1), LOSO, no search\n")
    print(f"{'method':<12} {'accuracy':>9} {'macro F1':>9} {'cold s':>8} {'CPU s':>7}  load average")
    total = total_cpu = 0.0
    load0 = os.getloadavg()[0]
    for name in methods:
        t, c = time.perf_counter(), cpu()
        res = mc.compare(choice, [name], common={"engine": args.engine}, classifier="svm_linear",
                         classifier_params={"C": 1.0}, n_jobs=args.jobs)
        dt, dc = time.perf_counter() - t, cpu() - c
        total += dt
        total_cpu += dc
        row = res.scores.iloc[0]
        print(f"{name:<12} {row['accuracy']:9.3f} {row['macro_f1']:9.3f} {dt:8.1f} {dc:7.1f}  "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    print(f"\ncold comparison of all {len(methods)} methods: {total:.1f} s wall, {total_cpu:.1f} s CPU "
          f"(this process and its workers; load average {load0:.2f} -> {os.getloadavg()[0]:.2f})")
    mc.clear_memory()
    t = time.perf_counter()
    mc.compare(choice, methods, common={"engine": args.engine}, classifier="svm_linear", classifier_params={"C": 1.0},
               n_jobs=args.jobs)
    print(f"the same with the disk caches warm (fresh process memory): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    mc.compare(choice, ["baseline", "lbp_top", "hoof", "biwoof", "mdmo"], common={"engine": args.engine},
               classifier="svm_linear", classifier_params={"C": 10.0}, n_jobs=args.jobs)
    print(f"a widget change (C 1 -> 10) on the dashboard's 5 default methods: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
