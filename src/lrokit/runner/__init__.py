"""The conformance runner: a safe HTTP target, scenarios that record exchanges, verdicts per
rule, and the reporters that render them."""
