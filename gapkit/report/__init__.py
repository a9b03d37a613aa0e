"""What a reader sees: the Result base, formatting, plots, findings, the notebooks' helpers,
and artifacts made safe to publish.
"""
