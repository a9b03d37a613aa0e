"""What users rely on: the input tables and their rules (schema), the KPI facts (catalog), the
artifacts a run writes, and reading, checking and quarantining the input once (loading, validation).
"""
