"""Reports over a callout's attempts, read across the callout, call and email packages (which
stay unaware of the reports)."""
