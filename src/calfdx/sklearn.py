"""calfdx as a scikit-learn classifier: :class:`CalfdxClassifier`.

Needs scikit-learn (``pip install "calfdx[sklearn]"``). This module is not imported by
``import calfdx``; import it as ``from calfdx.sklearn import CalfdxClassifier``.

The classifier is the calfdx network. ``fit`` updates its tables with labelled cases by
Bayesian updating, the shipped tables (or the tables of ``model``) being the Dirichlet
prior (:meth:`calfdx.Model.fit`); ``predict_proba`` is the posterior of every cause from the
batch engine (:func:`calfdx.diagnose_batch`). So it drops into ``cross_val_score``,
``CalibratedClassifierCV``, ``GridSearchCV`` (over ``prior_strength``, say) and
``calibration_curve``.

Input is categorical: ``X`` is a pandas DataFrame with one column per finding (any subset
of the vocabulary), holding state names (strings or categoricals), ``True``/``False`` for
yes/no findings and NaN for unknown, such as :meth:`calfdx.Model.simulate` returns without
its ``cause`` column. A 2-D array is read as every finding of the model in vocabulary
order. ``y`` holds cause ids. A finding with a parent finding (``Finding.parent``, e.g.
``redness`` under ``warmth``) learns only from the rows where its parent is known too, so
give the parent's column with it (see :meth:`calfdx.Model.fit`).

``classes_`` is every cause of the model (sorted, as scikit-learn sorts labels), not only
the causes seen in ``y``: the network gives every cause a posterior whatever the training
cases held. Scorers that infer the labels from the test fold (``neg_log_loss``) need
``labels=clf.classes_`` when a fold may miss a cause; ``CalibratedClassifierCV`` needs every
cause in ``y``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt
from scipy.sparse import issparse

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - depends on the environment
    msg = 'calfdx.sklearn needs scikit-learn >= 1.6: pip install "calfdx[sklearn]".'
    raise ImportError(msg) from error

from ._api import diagnose_batch, resolve_model
from ._evaluate import CAUSE_COLUMN
from ._exceptions import EvidenceError
from ._model import Model

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.utils import Tags

__all__ = ["CalfdxClassifier"]


class CalfdxClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The calfdx network as a scikit-learn classifier of the cause of calf pain.

    Parameters
    ----------
    model : Model, optional
        The starting tables: the Dirichlet prior of :meth:`fit`. Default: the tables
        shipped with calfdx.
    setting : str, optional
        Use the priors of this setting of ``model`` (:meth:`Model.with_setting`).
    prior_strength : float, optional
        The pseudo-count of every number of the starting tables; default: each number's
        effective sample size. Small values let the cases dominate.
    update_prior : bool, default=True
        Also learn the prior of the causes from the case mix of ``y``.
    dvt_threshold : float, optional
        The DVT alert threshold of the fitted model (:meth:`predict_alert`); default: the
        model's.

    Attributes
    ----------
    model_ : Model
        The fitted model.
    classes_ : ndarray of str
        Every cause of the model, sorted: the columns of :meth:`predict_proba`.
    n_features_in_ : int
        Number of columns of ``X`` at fit.
    feature_names_in_ : ndarray of str
        The columns of ``X`` at fit, when ``X`` was a DataFrame.

    Examples
    --------
    >>> import calfdx
    >>> from calfdx.sklearn import CalfdxClassifier
    >>> cohort = calfdx.load_model().simulate(2000, seed=1, missing=0.2)
    >>> X, y = cohort.drop(columns="cause"), cohort["cause"]
    >>> clf = CalfdxClassifier(prior_strength=20).fit(X, y)
    >>> clf.predict_proba(X.head(2)).shape
    (2, 23)
    >>> bool(0.4 < clf.score(X, y) < 1)
    True
    """

    def __init__(
        self,
        model: Model | None = None,
        *,
        setting: str | None = None,
        prior_strength: float | None = None,
        update_prior: bool = True,
        dvt_threshold: float | None = None,
    ) -> None:
        self.model = model
        self.setting = setting
        self.prior_strength = prior_strength
        self.update_prior = update_prior
        self.dvt_threshold = dvt_threshold

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_label = False
        return tags

    def _frame(self, X: Any, vocabulary: tuple[str, ...]) -> pd.DataFrame:
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            if issparse(X):
                msg = "Sparse input is not supported: pass a DataFrame of findings."
                raise TypeError(msg)
            if np.iscomplexobj(X):
                msg = "Complex data not supported: pass a DataFrame of findings."
                raise EvidenceError(msg)
            array = np.asarray(X, dtype=object)
            if array.ndim == 2 and array.shape[1] == 0:
                msg = (
                    f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of "
                    "1 is required."
                )
                raise EvidenceError(msg)
            if array.ndim != 2:
                msg = (
                    f"Expected a 2D array or a DataFrame of findings. Got an array of "
                    f"{array.ndim} dimension(s) instead."
                )
                raise EvidenceError(msg)
            if array.shape[1] != len(vocabulary):
                msg = (
                    f"An array X must have one column per finding of the model "
                    f"({len(vocabulary)}, in vocabulary order). Got {array.shape[1]} columns; "
                    "pass a DataFrame to give any subset of the findings by name."
                )
                raise EvidenceError(msg)
            frame = pd.DataFrame(array, columns=list(vocabulary))
        if len(frame) == 0:
            msg = "Found array with 0 sample(s) (shape=(0, ...)); a minimum of 1 is required."
            raise EvidenceError(msg)
        if CAUSE_COLUMN in frame.columns:
            msg = f"X has a {CAUSE_COLUMN!r} column: pass the true causes as y, not in X."
            raise EvidenceError(msg)
        return frame

    def fit(self, X: Any, y: Any) -> Self:
        """Learn the tables from labelled cases, the starting tables being the prior.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array
            Findings, one row per patient (see the module documentation).
        y : array-like of str
            The true cause of each patient (cause ids of the model).

        Returns
        -------
        CalfdxClassifier
            This estimator, fitted.

        Raises
        ------
        EvidenceError
            Unknown findings, states or causes, or no cases.
        """
        if y is None:
            msg = f"{type(self).__name__} requires y to be passed, but the target y is None."
            raise EvidenceError(msg)
        numeric = np.asarray(y)
        if numeric.dtype.kind in "fc" and not np.isfinite(numeric).all():
            msg = "Input y contains NaN or infinity: y holds cause ids."
            raise EvidenceError(msg)
        check_classification_targets(y)
        base = resolve_model(self.model)
        if self.setting is not None:
            base = base.with_setting(self.setting)
        validate_data(self, X, reset=True, skip_check_array=True)
        frame = self._frame(X, tuple(base.vocabulary))
        labels = np.asarray(y, dtype=object)
        if labels.ndim != 1 or len(labels) != len(frame):
            msg = f"y should be a 1d array with one cause per row of X. Got shape {labels.shape}."
            raise EvidenceError(msg)
        cases = frame.assign(**{CAUSE_COLUMN: labels})
        fitted = base.fit(
            cases, prior_strength=self.prior_strength, update_prior=self.update_prior
        )
        if self.dvt_threshold is not None:
            fitted = fitted.with_dvt_threshold(self.dvt_threshold)
        self.model_ = fitted
        self.classes_ = np.array(sorted(cause.id for cause in fitted.causes), dtype=object)
        return self

    def _scores(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        validate_data(self, X, reset=False, skip_check_array=True)
        frame = self._frame(X, tuple(self.model_.vocabulary))
        scores: pd.DataFrame = diagnose_batch(frame, model=self.model_)
        return scores

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Return the posterior of every cause (columns in the order of ``classes_``).

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array
            Findings, one row per patient.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Each row sums to 1.
        """
        scores = self._scores(X)
        return scores[list(self.classes_)].to_numpy(dtype=np.float64)

    def predict_log_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Return the log of :meth:`predict_proba` (``-inf`` for probability zero)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Return the most probable cause of each patient.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array
            Findings, one row per patient.

        Returns
        -------
        ndarray of str
        """
        probabilities = self.predict_proba(X)
        result: npt.NDArray[Any] = self.classes_[np.argmax(probabilities, axis=1)]
        return result

    def predict_alert(self, X: Any) -> npt.NDArray[np.bool_]:
        """Return the DVT alert of each patient (P(DVT) at or above ``model_.dvt_threshold``).

        Examples
        --------
        >>> import pandas as pd
        >>> from calfdx.sklearn import CalfdxClassifier
        >>> X = pd.DataFrame({"swelling": ["yes", "no"], "side": ["unilateral", "bilateral"]})
        >>> clf = CalfdxClassifier(dvt_threshold=0.05).fit(X, ["dvt", "cramp"])
        >>> clf.predict_alert(X).tolist()
        [True, False]
        """
        alert: npt.NDArray[np.bool_] = self._scores(X)["dvt_alert"].to_numpy(dtype=np.bool_)
        return alert
