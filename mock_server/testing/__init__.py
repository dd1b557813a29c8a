"""Use the mock inside your own tests: `server.MockServer` (any test framework, sync or async) and
`plugin`, the pytest plugin registered with the `pytest11` entry point (fixtures `dumpling_mock`
and `dumpling_mock_factory`). Import the public names from `mock_server` itself.

Nothing is imported here: pytest loads `plugin` in every run of a project that installed
dumpling-mock, and it must stay cheap until a test asks for a mock.
"""
