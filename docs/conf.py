"""Sphinx configuration: numpydoc docstrings, autosummary API pages."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import sklearn_grbm  # noqa: E402

project = "sklearn-grbm"
author = "The sklearn-grbm developers"
release = version = sklearn_grbm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
exclude_patterns = ["_build", "generated/*.examples"]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
html_theme = "alabaster"
