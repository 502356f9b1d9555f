"""calfdx.sklearn.CalfdxClassifier: scikit-learn's checks, and the tools it must work in."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss, make_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import calfdx
from calfdx.sklearn import CalfdxClassifier

# scikit-learn's checks draw X as random numbers (floats, ints, a few columns). calfdx's X is
# categorical: the states of the model's findings, one column per finding. On numeric X,
# fit rightly raises (EvidenceError, a ValueError naming the bad column or value), so every
# check that fits on generated numbers cannot apply. Each is re-done below on categorical
# data where its point carries over (named in brackets).
_NUMERIC_X = "fits on random numeric X with 2-10 columns; calfdx's X holds states of its findings"
EXPECTED_FAILED_CHECKS = {
    "check_fit_score_takes_y": _NUMERIC_X,
    "check_estimators_overwrite_params": f"{_NUMERIC_X} [test_fit_keeps_params]",
    "check_dont_overwrite_parameters": f"{_NUMERIC_X} [test_fit_keeps_params]",
    "check_estimators_fit_returns_self": f"{_NUMERIC_X} [test_fit_returns_self]",
    "check_readonly_memmap_input": f"{_NUMERIC_X}; read-only memmaps are numeric only",
    "check_n_features_in_after_fitting": f"{_NUMERIC_X} [test_feature_names_and_count]",
    "check_positive_only_tag_during_fit": f"{_NUMERIC_X}; negative numbers are not states",
    "check_estimators_dtypes": f"{_NUMERIC_X} (float32/int64 dtypes)",
    "check_dtype_object": f"{_NUMERIC_X} (numbers cast to object) [test_array_input]",
    "check_pipeline_consistency": f"{_NUMERIC_X} [test_in_a_pipeline_and_grid_search]",
    "check_estimators_pickle": f"{_NUMERIC_X} [test_pickle_round_trip]",
    "check_f_contiguous_array_estimator": f"{_NUMERIC_X}; memory layout is a numeric concern",
    "check_classifier_data_not_an_array": f"{_NUMERIC_X} [test_array_input]",
    "check_classifiers_one_label": f"{_NUMERIC_X} [test_one_label_still_gives_a_posterior]",
    "check_classifiers_classes": (
        f"{_NUMERIC_X}; also classes_ is every cause of the model, not unique(y) "
        "[test_classes_are_every_cause]"
    ),
    "check_classifiers_train": f"{_NUMERIC_X} [test_fit_and_predict_agree]",
    "check_supervised_y_2d": _NUMERIC_X,
    "check_methods_sample_order_invariance": f"{_NUMERIC_X} [test_row_order_and_subsets]",
    "check_methods_subset_invariance": f"{_NUMERIC_X} [test_row_order_and_subsets]",
    "check_fit2d_1sample": f"{_NUMERIC_X} [test_one_label_still_gives_a_posterior]",
    "check_fit2d_1feature": f"{_NUMERIC_X}; one finding column is fine [test_array_input]",
    "check_dict_unchanged": f"{_NUMERIC_X} [test_predict_changes_nothing]",
    "check_fit_idempotent": f"{_NUMERIC_X} [test_fit_is_idempotent]",
    "check_fit_check_is_fitted": f"{_NUMERIC_X} [test_unfitted_raises]",
    "check_n_features_in": f"{_NUMERIC_X} [test_feature_names_and_count]",
    "check_fit2d_predict1d": f"{_NUMERIC_X}; 1-D X is rejected [test_array_input]",
}


@parametrize_with_checks(  # type: ignore[untyped-decorator]  # scikit-learn has no stubs
    [CalfdxClassifier()], expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS
)
def test_sklearn_estimator_checks(estimator: CalfdxClassifier, check: object) -> None:
    """Run scikit-learn's checks; those listed above are expected to fail, with reasons."""
    check(estimator)  # type: ignore[operator]


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """A simulated cohort in which every cause occurs."""
    cases = calfdx.load_model().simulate(20_000, seed=11, missing=0.2)
    assert cases["cause"].nunique() == 23
    return cases


@pytest.fixture(scope="module")
def xy(cohort: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return cohort.drop(columns="cause"), cohort["cause"]


@pytest.fixture(scope="module")
def fitted(xy: tuple[pd.DataFrame, pd.Series]) -> CalfdxClassifier:
    X, y = xy
    return CalfdxClassifier(prior_strength=20).fit(X, y)


def test_fit_is_model_fit_and_proba_is_diagnose_batch(
    xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier
) -> None:
    X, y = xy
    model = calfdx.load_model().fit(X.assign(cause=y), prior_strength=20)
    assert fitted.model_.content_hash == model.content_hash
    head = X.head(50)
    expected = calfdx.diagnose_batch(head, model=model)[list(fitted.classes_)].to_numpy()
    np.testing.assert_allclose(fitted.predict_proba(head), expected, rtol=0, atol=1e-15)
    one = model.diagnose({str(k): v for k, v in head.iloc[0].items()})
    proba = dict(zip(fitted.classes_, fitted.predict_proba(head.iloc[:1])[0], strict=True))
    assert all(abs(proba[c] - p) < 1e-12 for c, p in one.posterior.items())


def test_classes_are_every_cause(fitted: CalfdxClassifier) -> None:
    assert list(fitted.classes_) == sorted(c.id for c in calfdx.load_model().causes)


def test_fit_and_predict_agree(
    xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier
) -> None:
    X, y = xy
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (fitted.predict(X) == fitted.classes_[proba.argmax(axis=1)]).all()
    np.testing.assert_allclose(np.exp(fitted.predict_log_proba(X)), proba, atol=1e-15)
    assert fitted.score(X, y) > 0.6


def test_fit_returns_self_and_keeps_params(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = xy
    model = calfdx.load_model()
    clf = CalfdxClassifier(model, prior_strength=5, update_prior=False, dvt_threshold=0.05)
    before = clf.get_params()
    assert clf.fit(X.head(500), y.head(500)) is clf
    after = clf.get_params()
    assert after == before
    assert after["model"] is model
    assert clf.model_.dvt_threshold == 0.05
    # update_prior=False keeps the prior of the starting tables.
    assert clf.model_.prior.equals(model.prior)


test_fit_keeps_params = test_fit_returns_self_and_keeps_params
test_fit_returns_self = test_fit_returns_self_and_keeps_params


def test_set_params_and_clone() -> None:
    clf = CalfdxClassifier().set_params(prior_strength=3.0, setting="primary_care")
    assert clf.get_params()["prior_strength"] == 3.0
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "model_")


def test_feature_names_and_count(
    xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier
) -> None:
    X, _ = xy
    assert fitted.n_features_in_ == len(calfdx.load_model().vocabulary)
    assert list(fitted.feature_names_in_) == list(X.columns)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(X.iloc[:5, ::-1].rename(columns=str.upper))


def test_array_input(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """A 2-D array is every finding in vocabulary order; anything else is an error."""
    X, y = xy
    head, labels = X.head(300), y.head(300).to_numpy()
    array = head.astype(object).to_numpy()
    from_array = CalfdxClassifier().fit(array, labels)
    from_frame = CalfdxClassifier().fit(head, labels)
    np.testing.assert_allclose(from_array.predict_proba(array), from_frame.predict_proba(head))
    assert not hasattr(from_array, "feature_names_in_")
    one = CalfdxClassifier().fit(head[["swelling"]], labels)
    assert one.n_features_in_ == 1
    with pytest.raises(calfdx.EvidenceError, match="one column per finding"):
        CalfdxClassifier().fit(array[:, :3], labels)
    with pytest.raises(ValueError, match="features"):
        from_array.predict(array[0])
    with pytest.raises(calfdx.EvidenceError, match="2D array"):
        CalfdxClassifier().fit(array[:, 0], labels)
    with pytest.raises(calfdx.UnknownStateError, match="swelling"):
        CalfdxClassifier().fit(head.assign(swelling="maybe"), labels)
    with pytest.raises(calfdx.EvidenceError, match="not in the model"):
        CalfdxClassifier().fit(head, ["gout"] * len(head))
    with pytest.raises(calfdx.EvidenceError, match="pass the true causes as y"):
        CalfdxClassifier().fit(head.assign(cause=labels), labels)


def test_unfitted_raises(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(NotFittedError):
        CalfdxClassifier().predict(xy[0].head())


def test_fit_is_idempotent(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = xy
    clf = CalfdxClassifier(prior_strength=10)
    first = clf.fit(X.head(2000), y.head(2000)).predict_proba(X.tail(100))
    clf.fit(X.iloc[5000:6000], y.iloc[5000:6000])
    again = clf.fit(X.head(2000), y.head(2000)).predict_proba(X.tail(100))
    np.testing.assert_array_equal(first, again)


def test_row_order_and_subsets(
    xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier
) -> None:
    X, _ = xy
    head = X.head(200)
    full = fitted.predict_proba(head)
    order = np.random.default_rng(3).permutation(len(head))
    np.testing.assert_allclose(fitted.predict_proba(head.iloc[order]), full[order], atol=0)
    np.testing.assert_allclose(fitted.predict_proba(head.iloc[50:60]), full[50:60], atol=0)


def test_predict_changes_nothing(
    xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier
) -> None:
    X, _ = xy
    head = X.head(100)
    copy = head.copy()
    state = dict(vars(fitted))
    fitted.predict_proba(head)
    fitted.predict(head)
    assert vars(fitted) == state
    pd.testing.assert_frame_equal(head, copy)


def test_one_label_still_gives_a_posterior(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """One case, or cases of one cause, update the tables; every cause keeps a posterior."""
    X, _ = xy
    clf = CalfdxClassifier().fit(X.head(1), ["dvt"])
    assert clf.predict_proba(X.head(3)).shape == (3, 23)
    clf = CalfdxClassifier(prior_strength=1).fit(X.head(50), ["cramp"] * 50)
    assert (clf.predict(X.head(20)) == "cramp").mean() > 0.5


def test_pickle_round_trip(xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier) -> None:
    X, _ = xy
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        again.predict_proba(X.head(50)), fitted.predict_proba(X.head(50))
    )


def test_dvt_alert(xy: tuple[pd.DataFrame, pd.Series], fitted: CalfdxClassifier) -> None:
    X, _ = xy
    alert = fitted.predict_alert(X.head(200))
    dvt = fitted.predict_proba(X.head(200))[:, list(fitted.classes_).index("dvt")]
    np.testing.assert_array_equal(alert, dvt >= fitted.model_.dvt_threshold)


def test_cross_val_score(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = xy
    folds = KFold(3, shuffle=True, random_state=0)
    accuracy = cross_val_score(CalfdxClassifier(prior_strength=20), X, y, cv=folds)
    assert accuracy.shape == (3,)
    assert (accuracy > 0.6).all()
    causes = sorted(c.id for c in calfdx.load_model().causes)
    scorer = make_scorer(
        log_loss, greater_is_better=False, response_method="predict_proba", labels=causes
    )
    loss = -cross_val_score(CalfdxClassifier(prior_strength=20), X, y, cv=folds, scoring=scorer)
    assert (loss > 0).all()
    assert (loss < 1.5).all()


def test_in_a_pipeline_and_grid_search(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = xy
    head, labels = X.head(3000), y.head(3000)
    pipeline = make_pipeline(CalfdxClassifier(prior_strength=20)).fit(head, labels)
    np.testing.assert_array_equal(
        pipeline.predict(head), CalfdxClassifier(prior_strength=20).fit(head, labels).predict(head)
    )
    search = GridSearchCV(
        CalfdxClassifier(),
        {"prior_strength": [1.0, 100.0]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(head, labels)
    assert search.best_params_["prior_strength"] in (1.0, 100.0)


def test_calibrated_classifier_and_calibration_curve(xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = xy
    folds = KFold(3, shuffle=True, random_state=0)
    calibrated = CalibratedClassifierCV(CalfdxClassifier(), cv=folds, method="isotonic")
    calibrated.fit(X, y)
    assert list(calibrated.classes_) == sorted(y.unique())
    proba = calibrated.predict_proba(X.head(500))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    clf = CalfdxClassifier().fit(X.head(10_000), y.head(10_000))
    p_dvt = clf.predict_proba(X.tail(10_000))[:, list(clf.classes_).index("dvt")]
    observed, predicted = calibration_curve(y.tail(10_000) == "dvt", p_dvt, n_bins=5)
    # The cohort is drawn from the model: its P(DVT) is calibrated, within each bin's sampling
    # error (3 binomial standard errors, plus 0.02 for the fit on 10,000 cases).
    counts = np.histogram(p_dvt, bins=np.linspace(0.0, 1.0, 6))[0]
    counts = counts[counts > 0]
    error = 3 * np.sqrt(predicted * (1 - predicted) / counts) + 0.02
    assert (np.abs(observed - predicted) < error).all(), (observed, predicted, counts)


def test_a_child_learns_only_with_its_parent(model: calfdx.Model) -> None:
    """Check a child column without its parent's column leaves the child's table as it was."""
    cases = model.simulate(3000, seed=21)
    y = cases["cause"].astype(str)
    alone = CalfdxClassifier().fit(cases[["redness", "side"]], y).model_
    both = CalfdxClassifier().fit(cases[["redness", "warmth", "side"]], y).model_
    for warm in ("yes", "no"):
        before = model.likelihood("redness", "dvt", parent_state=warm)
        assert alone.likelihood("redness", "dvt", parent_state=warm) == before
        assert both.likelihood("redness", "dvt", parent_state=warm) != before
    assert alone.likelihood("side", "dvt") != model.likelihood("side", "dvt")
