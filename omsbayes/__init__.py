"""omsbayes: Bayesian differential diagnosis of opsoclonus-myoclonus syndrome.

A research and teaching tool, not a medical device.

>>> import omsbayes
>>> model = omsbayes.load_model()
>>> dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
>>> dx.top
'oms'
"""

from __future__ import annotations

from ._version import __version__
from .cases import Case, CaseSet, load_cases, load_public_vignettes
from .diagnosis import ConsensusCriteria, Diagnosis, MustNotMiss
from .errors import CaseFileError, EvidenceError, ModelFileError, OmsBayesError, OmsBayesWarning
from .evaluation import Evaluation, compare_evaluations, evaluate
from .evidence import Likelihood
from .explorer import Explorer, ExplorerState
from .frequencies import NaturalFrequencies, natural_frequencies
from .information import EvidenceImpact, ValueOfInformation
from .model import DiagnosticModel, load_model
from .modelcheck import check_model
from .provenance import Provenance
from .scenarios import Sweep, WhatIf
from .softevidence import Marginal
from .sensitivity import Sensitivity
from .targets import check_targets
from .uncertainty import Uncertainty

__all__ = [
    "__version__",
    "load_model",
    "DiagnosticModel",
    "Diagnosis",
    "ConsensusCriteria",
    "MustNotMiss",
    "Likelihood",
    "Marginal",
    "load_cases",
    "load_public_vignettes",
    "Case",
    "CaseSet",
    "evaluate",
    "compare_evaluations",
    "Evaluation",
    "check_model",
    "check_targets",
    "Provenance",
    "Sensitivity",
    "Uncertainty",
    "EvidenceImpact",
    "ValueOfInformation",
    "WhatIf",
    "Sweep",
    "natural_frequencies",
    "NaturalFrequencies",
    "Explorer",
    "ExplorerState",
    "OmsBayesError",
    "EvidenceError",
    "ModelFileError",
    "CaseFileError",
    "OmsBayesWarning",
]
