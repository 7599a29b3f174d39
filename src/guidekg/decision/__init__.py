"""The decision layer over the reasoner's classes: plan verdicts and the headline.

Everything clinical it uses (which recommendation names which action, which safety shape judges
which action and with which verdict, which phases an item applies in, which actions are
compatible) is read once per :class:`~guidekg.knowledge.Knowledge` from the ontology and the
shapes by ``queries/plan_*.rq``; the per-patient work is set lookups.
"""
