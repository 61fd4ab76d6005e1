"""The confidentiality probe suite (issue 7): scope, injection, masking and write attempts.

    python -m evals.probes                       # offline router
    python -m evals.probes --model llm-scripted  # an obedient scripted model over the OpenAI protocol

Public surface: the cases, the world, a run, and its report.
"""

from evals.probes.cases import CATEGORIES, ProbeCase, load_cases
from evals.probes.detector import Detector, Leak, Matcher, Secret
from evals.probes.env import probe_environment
from evals.probes.llm import ObedientModel
from evals.probes.report import render, summary
from evals.probes.runner import Outcome, ProbeRun
from evals.probes.world import World, build_world

__all__ = [
    "CATEGORIES",
    "Detector",
    "Leak",
    "Matcher",
    "ObedientModel",
    "Outcome",
    "ProbeCase",
    "ProbeRun",
    "Secret",
    "World",
    "build_world",
    "load_cases",
    "probe_environment",
    "render",
    "summary",
]
