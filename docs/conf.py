"""Sphinx configuration: numpydoc docstrings, autosummary API pages and the
sphinx-gallery of ``examples/``, in the PyData theme. Builds and reads offline
(no intersphinx; MathJax is copied into the build by sphinx-mathjax-offline)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import sklearn_grbm

project = "sklearn-grbm"
author = "The sklearn-grbm developers"
copyright = "The sklearn-grbm developers"
release = version = sklearn_grbm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax ships with the build: equations render offline
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
templates_path = []
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_sidebars = {"**": []}  # no section navigation column: wide equations get the width
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
}
