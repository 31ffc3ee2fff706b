"""Studies built on the solvers and policies: certifying a policy over a family
(certify, enumerate), shrinking and explaining counterexamples (shrink, explain), reproducing
published experiments (reproduce, sensitivity), comparing policies with the hindsight optimum
(compare), certified datasets and where their tasks run (dataset, execution) and the
exact-solving benchmark harness (benchmark)."""
