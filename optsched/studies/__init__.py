"""Studies built on the solvers and policies: certifying a policy over a family
(certify, enumerate), shrinking and explaining counterexamples (shrink, explain) and
reproducing published experiments (reproduce)."""
