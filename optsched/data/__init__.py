"""Where instances come from: seeded generators, named families, real traces and instance
references (files, ``builtin:NAME``). Only the model sits below; building certified datasets
from these sources is a study (:mod:`optsched.studies.dataset`). The shipped instances
(``*.json``) and trace samples (``traces/``) sit in this folder too."""
