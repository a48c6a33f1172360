"""HTTP edges: thin handlers that parse, call a service and render an envelope."""
