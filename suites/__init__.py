"""The suites users run: `pytest suites/cri`, `suites/oci`, `suites/smoke` in a checkout, or
`pytest --pyargs harness.suites.cri` where the harness is installed from its wheel."""
