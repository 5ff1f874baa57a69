"""The report: metrics tables, markdown and figures."""
