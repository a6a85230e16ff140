"""Voice agents: who calls the debtor, with which voice, number and script."""
