"""Generators of hostile documents, built in memory at test time.

Nothing here is committed as a binary file: every bomb, oversized feed or
broken encoding is produced by a function, small or streamed.
"""
