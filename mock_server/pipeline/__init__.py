"""The request pipeline, one module per stage: route -> validate request -> negotiate -> respond (mock or forward) -> validate response."""
