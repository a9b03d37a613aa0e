"""The desired state: SMART checks of goals, their progress, and proposed targets.
"""
