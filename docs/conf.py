"""Sphinx configuration: numpydoc docstrings, autosummary API pages and the
sphinx-gallery of ``examples/``. Builds offline (no intersphinx)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import sklearn_grbm  # noqa: E402

project = "sklearn-grbm"
author = "The sklearn-grbm developers"
copyright = "The sklearn-grbm developers"
release = version = sklearn_grbm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
templates_path = []
html_theme = "alabaster"
html_static_path = ["_static"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
}
