"""What microcx tells the floors above it (they connect receivers; microcx imports none of them)."""

from django.dispatch import Signal

# Sent inside the deciding transaction when a manager approves or turns down a gesture.
# Arguments: gesture (approved or rejected), title and body (words for its proposer).
gesture_decided = Signal()
