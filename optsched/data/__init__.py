"""Where instances come from and where datasets go: seeded generators, named families,
real traces, certified datasets and the backends that build them. The shipped
instances (``*.json``) and trace samples (``traces/``) sit in this folder too."""
