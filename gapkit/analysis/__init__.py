"""Gap identification: tested gaps, key drivers, importance-performance, the journey, comments
and the action plan.
"""
