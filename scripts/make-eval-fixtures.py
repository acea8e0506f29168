#!/usr/bin/env python3
"""Writes the scikit-learn reference values that src/eval's tests check against: a few fixed, seeded inputs and
the numbers scikit-learn computes for them, as JSON, so the tests need no Python.

Cases (one JSON file each under test/fixtures/eval/):
- binary: 200 samples, classes ["neg", "pos"], P(pos) rounded to 3 decimals (so some scores tie), and the
  same ranking as raw decision scores (logits) for the `scores` input.
- multiclass: 300 samples, 4 classes; "fish" is present in y_true but never the argmax, so its precision is
  0/0 (zero_division=0).
- ties: 240 samples, 4 classes, every probability a multiple of 0.1: many tied scores in every ranking and
  many tied argmaxes (np.argmax takes the first, as src/eval does).
- absent: 120 samples, 4 classes; "d" never occurs in y_true but is predicted: recall 0/0, balanced accuracy
  without it, no ROC-AUC for it (sklearn raises: recorded as null, and so are the macro/weighted ROC-AUC).
- regression: 150 targets and predictions, plus two constant-target cases for R²'s edge (sklearn's
  force_finite: 1.0 for a perfect fit, 0.0 otherwise).

Everything except the calibration error comes from sklearn.metrics. sklearn has no ECE function, so ECE and
the reliability bins are computed here with numpy under the binning src/eval documents: 15 equal-width bins on
the max probability, bin b holding confidences in (b/15, (b+1)/15], found as ceil(15·conf) − 1 (clamped to 0..14).

Run with Debian's interpreter, which has python3-sklearn (`apt-get install python3-sklearn`), not a virtualenv's:
    /usr/bin/python3 scripts/make-eval-fixtures.py [OUT_DIR]     (default: test/fixtures/eval)
Deterministic: fixed seeds, and Python's float repr round-trips every float64 exactly, so a rerun with the same
numpy and sklearn writes the same bytes.
"""
import json
import math
import os
import sys

import numpy as np
import sklearn
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

SEED = 20240601
ECE_BINS = 15


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def ints(a):
    return [int(x) for x in np.asarray(a).ravel()]


def calibration(proba, y_true):
    """ECE and reliability bins on the max probability, with the binning described in the module docstring."""
    conf = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    correct = (pred == y_true).astype(np.float64)
    bins = np.clip(np.ceil(conf * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
    n = len(y_true)
    ece = 0.0
    out = []
    for b in range(ECE_BINS):
        mask = bins == b
        count = int(mask.sum())
        if count == 0:
            out.append({"count": 0, "meanConfidence": None, "accuracy": None})
            continue
        mean_conf = float(conf[mask].mean())
        acc = float(correct[mask].mean())
        ece += count / n * abs(acc - mean_conf)
        out.append({"count": count, "meanConfidence": mean_conf, "accuracy": acc})
    return {"ece": ece, "bins": out}


def curves_for(y_binary, score):
    """sklearn's roc_curve (drop_intermediate=True) and precision_recall_curve for one class against the rest."""
    fpr, tpr, roc_thr = skm.roc_curve(y_binary, score)
    precision, recall, pr_thr = skm.precision_recall_curve(y_binary, score)
    return {
        "roc": {"fpr": floats(fpr), "tpr": floats(tpr), "thresholds": floats(roc_thr[1:])},
        "pr": {"precision": floats(precision), "recall": floats(recall), "thresholds": floats(pr_thr)},
    }


def classification_case(name, class_names, y_true, proba, labels_as, description, scores=None):
    """Every classification number sklearn gives for integer labels `y_true` and probability rows `proba`."""
    k = len(class_names)
    labels = list(range(k))
    y_pred = proba.argmax(axis=1)
    binary = k == 2
    p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    averaged = {}
    for avg in ("macro", "micro", "weighted"):
        ap, ar, af, _ = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg, zero_division=0)
        averaged[f"precision_{avg}"] = float(ap)
        averaged[f"recall_{avg}"] = float(ar)
        averaged[f"f1_{avg}"] = float(af)

    onehot = np.eye(k, dtype=np.int64)[y_true]
    present = support > 0
    # A class absent from y_true has no ROC curve: sklearn raises, recorded as None. Its AP sklearn gives as 0
    # (with a warning), recorded as sklearn gives it; src/eval makes it null (see "absentClasses").
    per_class_auc = [float(skm.roc_auc_score(onehot[:, c], proba[:, c])) if present[c] else None for c in labels]
    per_class_ap = [float(skm.average_precision_score(onehot[:, c], proba[:, c])) for c in labels]
    expected = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "min_class_recall": float(r[present].min()),
        **averaged,
        "log_loss": float(skm.log_loss(y_true, proba, labels=labels)),
    }
    if binary:
        expected["precision"] = float(skm.precision_score(y_true, y_pred, pos_label=1, zero_division=0))
        expected["recall"] = float(skm.recall_score(y_true, y_pred, pos_label=1, zero_division=0))
        expected["f1"] = float(skm.f1_score(y_true, y_pred, pos_label=1, zero_division=0))
        expected["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
        expected["average_precision"] = float(skm.average_precision_score(y_true, proba[:, 1]))
    else:
        for avg in ("macro", "weighted", "micro"):
            try:
                expected[f"roc_auc_{avg}"] = float(skm.roc_auc_score(y_true, proba, multi_class="ovr", average=avg, labels=labels))
            except ValueError:
                expected[f"roc_auc_{avg}"] = None  # sklearn: "Only one class present in y_true" for an absent class
        # sklearn 1.2's average_precision_score takes multiclass targets as an indicator matrix (label_binarize).
        indicator = label_binarize(y_true, classes=labels)
        for avg in ("macro", "weighted", "micro"):
            expected[f"average_precision_{avg}"] = float(skm.average_precision_score(indicator, proba, average=avg))
        expected["roc_auc"] = expected["roc_auc_macro"]
        expected["average_precision"] = expected["average_precision_macro"]
        if present.all():
            check = skm.roc_auc_score(y_true, proba, multi_class="ovr", average=None, labels=labels)
            assert np.allclose(check, per_class_auc, rtol=0, atol=1e-15), "per-class ovr AUC disagrees with roc_auc_score"

    calib = calibration(proba, y_true)
    expected["ece"] = calib["ece"]
    curve_classes = [1] if binary else [c for c in labels if present[c]]
    case = {
        "generatedBy": "scripts/make-eval-fixtures.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "name": name,
        "description": description,
        "classNames": class_names,
        "absentClasses": [class_names[c] for c in labels if not present[c]],
        "labels": [class_names[i] for i in y_true] if labels_as == "names" else ints(y_true),
        "probabilities": [floats(row) for row in proba],
        "expected": {
            "metrics": expected,
            "predictions": ints(y_pred),
            "confusionMatrix": [ints(row) for row in skm.confusion_matrix(y_true, y_pred, labels=labels)],
            "perClass": {
                "precision": floats(p),
                "recall": floats(r),
                "f1": floats(f),
                "support": ints(support),
                "rocAuc": per_class_auc,
                "averagePrecision": per_class_ap,
            },
            "curves": {class_names[c]: curves_for(onehot[:, c], proba[:, c]) for c in curve_classes},
            "calibration": calib,
        },
    }
    if scores is not None:
        case["scores"] = floats(scores)
    return case


def binary_case(rng):
    n = 200
    y = (rng.random(n) < 0.4).astype(np.int64)
    logit = np.where(y == 1, 1.1, -0.9) + rng.normal(0, 1.3, n)
    p_pos = np.round(1 / (1 + np.exp(-logit)), 3)
    # Keep P(pos) and the logits in the same order, ties included: the logit of the rounded probability.
    scores = np.log(p_pos / (1 - p_pos))
    proba = np.stack([1 - p_pos, p_pos], axis=1)
    return classification_case(
        "binary",
        ["neg", "pos"],
        y,
        proba,
        "names",
        "200 samples, 40% positive, P(pos) rounded to 3 decimals (ties); `scores` are the logits of those probabilities",
        scores=scores,
    )


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multiclass_case(rng):
    n, k = 300, 4
    y = rng.integers(0, k, n)
    z = rng.normal(0, 1.0, (n, k))
    z[np.arange(n), y] += 1.6
    # "fish" (class 3) is always far below the best other class: it is in y_true but never predicted.
    z[:, 3] = np.minimum(z[:, 3], z[:, :3].max(axis=1) - 0.25)
    proba = softmax(z)
    assert not (proba.argmax(axis=1) == 3).any() and (y == 3).any()
    return classification_case(
        "multiclass",
        ["cat", "dog", "bird", "fish"],
        y,
        proba,
        "names",
        "300 samples, 4 classes; fish is in y_true but never predicted (precision 0/0 -> 0)",
    )


def ties_case(rng):
    n, k = 240, 4
    y = rng.integers(0, k, n)
    base = np.full(k, 0.6)
    rows = []
    for i in range(n):
        alpha = base.copy()
        alpha[y[i]] += 1.2
        counts = rng.multinomial(10, rng.dirichlet(alpha))
        rows.append(counts / 10.0)
    proba = np.array(rows)
    assert np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    return classification_case(
        "ties",
        ["a", "b", "c", "d"],
        y,
        proba,
        "indices",
        "240 samples, 4 classes, every probability a multiple of 0.1: many tied scores and tied argmaxes (first wins)",
    )


def absent_case(rng):
    n, k = 120, 4
    y = rng.integers(0, 3, n)  # class "d" (3) never occurs in y_true ...
    z = rng.normal(0, 1.0, (n, k))
    z[np.arange(n), y] += 1.4
    proba = softmax(z)
    assert (proba.argmax(axis=1) == 3).any()  # ... but is predicted sometimes
    return classification_case(
        "absent",
        ["a", "b", "c", "d"],
        y,
        proba,
        "names",
        "120 samples, 4 classes; d never occurs in y_true but is predicted (recall 0/0 -> 0; no ROC curve for d)",
    )


def regression_case(rng):
    n = 150
    y = rng.normal(10, 4, n)
    pred = y + rng.normal(0.3, 1.5, n)

    def scores(t, p):
        mse = float(skm.mean_squared_error(t, p))
        return {
            "mae": float(skm.mean_absolute_error(t, p)),
            "mse": mse,
            "rmse": float(skm.mean_squared_error(t, p, squared=False)),
            "r2": float(skm.r2_score(t, p)),
        }

    constant = np.full(8, 3.0)
    off = constant + np.linspace(-0.5, 0.5, 8)
    return {
        "generatedBy": "scripts/make-eval-fixtures.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "name": "regression",
        "description": "150 targets ~ N(10, 4²), predictions = targets + N(0.3, 1.5²); plus constant targets (R² edge)",
        "cases": [
            {"name": "noisy", "targets": floats(y), "predictions": floats(pred), "expected": scores(y, pred)},
            {"name": "constant-target-perfect", "targets": floats(constant), "predictions": floats(constant), "expected": scores(constant, constant)},
            {"name": "constant-target-off", "targets": floats(constant), "predictions": floats(off), "expected": scores(constant, off)},
        ],
    }


def write(out_dir, case):
    path = os.path.join(out_dir, f"{case['name']}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(case, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "test", "fixtures", "eval")
    os.makedirs(out_dir, exist_ok=True)
    for i, make in enumerate((binary_case, multiclass_case, ties_case, regression_case, absent_case)):
        write(out_dir, make(np.random.default_rng(SEED + i)))


if __name__ == "__main__":
    main()
