"""The ASGI app assembled from the contract: routes, admin, front door, CORS, error handlers."""
