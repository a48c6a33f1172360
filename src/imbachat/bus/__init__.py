"""The realtime bus: how a change made on one node is announced to every node."""
