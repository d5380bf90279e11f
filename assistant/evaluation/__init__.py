"""The grounding evaluation: eval sets (``evalset``), the support judge (``judge``), the run (``run``) and
its reports and CI gate (``report``). Nothing in the answering pipeline imports from here."""
