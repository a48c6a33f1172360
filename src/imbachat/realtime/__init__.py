"""Live chat over WebSockets: the gateway, the per-node hub, presence."""
