"""Settings and the small rules every layer shares: names, months, private files, secrets.

The lowest layer: it imports nothing else of the playground.
"""
