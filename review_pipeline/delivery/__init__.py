"""Delivery: the pack emails and their ledger (``ops.outbox``).

message.py builds the email of a pack, transport.py sends it (SMTP or .eml
files), outbox.py keeps the ledger, sender.py ties them together and
pipeline.py holds the stage functions the DAGs call. See docs/delivery.md.
"""
