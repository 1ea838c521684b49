"""The run's page for people: `report.html`, one self-contained file rendered from the run's
JUnit (model.py reads it into a node x phase view, html.py renders that view)."""
